"""The front door: every verb's help, progress on stderr, byte-identical bundles, and nothing stale or
half-written (resume keyed on input content, a lock on --out, killed runs cleaned up)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from bad_inputs import _img, _volume, write

from nbrisk.cli import build_parser, main
from nbrisk.errors import InputError


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def _parsers():
    """(argv prefix, parser) for the top level, every verb and every sub-verb."""
    out = []

    def walk(prefix, parser):
        out.append((prefix, parser))
        for action in parser._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                for name, sub in action.choices.items():
                    walk([*prefix, name], sub)

    walk([], build_parser())
    return out


def test_every_verb_and_sub_verb_has_help_and_a_description(capsys):
    parsers = _parsers()
    assert len(parsers) > 15
    for prefix, parser in parsers:
        assert (parser.description or "").strip(), f"nbrisk {' '.join(prefix)} has no description"
        with pytest.raises(SystemExit) as exc:
            main([*prefix, "--help"])
        assert exc.value.code == 0, prefix
        assert "usage:" in capsys.readouterr().out
    assert main([]) == 0 and "usage:" in capsys.readouterr().out  # bare `nbrisk`


def test_bare_nbrisk_and_help_as_real_processes():
    for argv in ([], ["--help"]):
        proc = subprocess.run([sys.executable, "-m", "nbrisk", *argv], capture_output=True, text=True, env=_env(),
                              timeout=120, check=False)
        assert proc.returncode == 0 and "usage: nbrisk" in proc.stdout and not proc.stderr, proc.stderr


def test_presets_show_into_head_ends_quietly():
    cmd = f"set -o pipefail; {sys.executable} -m nbrisk presets --show jia2023-mri | head -n 2"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=_env(), timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert len(proc.stdout.splitlines()) == 2


# ------------------------------------------------------------------------------------------- determinism
def _tables(root: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    y = np.arange(30) % 2
    x = pd.DataFrame(rng.normal(size=(30, 4)), columns=[f"original_firstorder_F{i}" for i in range(4)])
    x.iloc[:, 1] += 2 * y
    x.insert(0, "case_id", [f"c{i:02d}" for i in range(30)])
    x.to_csv(root / "f.csv", index=False)
    pd.DataFrame({"case_id": x["case_id"], "label": y}).to_csv(root / "l.csv", index=False)
    return root / "f.csv", root / "l.csv"


@pytest.fixture
def progress_now(monkeypatch):
    monkeypatch.setenv("NBRISK_PROGRESS_DELAY", "0")  # show progress even for these small, quick runs


def test_train_twice_gives_byte_identical_bundles(tmp_path, capsys, progress_now):
    f, lab = _tables(tmp_path)
    base = ["train", "--features", str(f), "--labels", str(lab), "--recipe", "lr", "--no-cv"]
    for i in (1, 2):
        assert main([*base, "--out", str(tmp_path / f"m{i}.nbrisk"), "--created", "2026-01-01T00:00:00Z"]) == 0
    err = capsys.readouterr().err
    assert "nbrisk train [1/3]" in err and "nbrisk train [3/3]" in err  # progress on stderr
    assert (tmp_path / "m1.nbrisk").read_bytes() == (tmp_path / "m2.nbrisk").read_bytes()
    # without --created only the card's time can differ; SOURCE_DATE_EPOCH pins it too
    os.environ["SOURCE_DATE_EPOCH"] = "1767225600"
    try:
        assert main([*base, "--out", str(tmp_path / "m3.nbrisk")]) == 0
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]
    assert (tmp_path / "m3.nbrisk").read_bytes() == (tmp_path / "m1.nbrisk").read_bytes()


# ----------------------------------------------------------------------------------------------- cohorts
def _cohort(root: Path, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rows = ["case_id,image,mask"]
    for i in range(n):
        a, m = _volume(seed=i)
        write(_img(a), root / f"c{i}.nrrd")
        write(_img(m), root / f"c{i}_mask.nrrd")
        rows.append(f"c{i},c{i}.nrrd,c{i}_mask.nrrd")
    (root / "cases.csv").write_text("\n".join(rows) + "\n")
    return root / "cases.csv"


def test_resume_reextracts_a_case_whose_image_was_rewritten(tmp_path, capsys):
    manifest = _cohort(tmp_path / "c", 3)
    out = tmp_path / "f.csv"
    argv = ["extract", "--manifest", str(manifest), "--preset", "pyradiomics-default", "--out", str(out)]
    assert main(argv) == 0
    first = pd.read_csv(out).set_index("case_id")
    capsys.readouterr()
    # rewrite c1 with other voxels, same size and same modification time: only the content differs
    img = tmp_path / "c" / "c1.nrrd"
    st = img.stat()
    a = sitk.GetArrayFromImage(sitk.ReadImage(str(img)))
    write(_img(a + 7), img)
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "re-extracting 1 finished case(s) because their image, mask or options changed: c1" in captured.err
    assert "3 cases: 1 extracted, 2 already done" in captured.out
    second = pd.read_csv(out).set_index("case_id")
    col = "original_firstorder_Mean"
    assert second.loc["c1", col] == pytest.approx(first.loc["c1", col] + 7)
    assert second.loc[["c0", "c2"]].equals(first.loc[["c0", "c2"]])
    assert main(argv) == 0 and "0 extracted, 3 already done" in capsys.readouterr().out


def test_a_second_run_on_the_same_out_is_refused_while_the_first_holds_it(tmp_path, capsys):
    manifest = _cohort(tmp_path / "c", 1)
    out = tmp_path / "res" / "f.csv"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from nbrisk.io.outputs import output_lock\n"
        f"with output_lock({str(out)!r}):\n    print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert holder.stdout.readline().strip() == "held"
        argv = ["extract", "--manifest", str(manifest), "--preset", "pyradiomics-default", "--out", str(out)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"another nbrisk run (process {holder.pid}" in err and "choose another --out" in err, err
        assert not out.exists()
    finally:
        holder.send_signal(signal.SIGKILL)  # killed: the kernel drops the lock, no stale lock file blocks
        holder.wait()
    assert main(argv) == 0 and out.exists()
    assert not list(out.parent.glob(".*.lock"))


@pytest.mark.slow
def test_a_killed_cohort_run_resumes_to_the_same_table(tmp_path):
    n = 16  # enough cases that the kill lands mid-run even when each case takes a fraction of a second
    manifest = _cohort(tmp_path / "c", n)
    out = tmp_path / "k" / "f.csv"
    argv = [sys.executable, "-m", "nbrisk", "extract", "--manifest", str(manifest), "--preset", "pyradiomics-default",
            "--out", str(out)]
    proc = subprocess.Popen(argv, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = out.parent / ".f.parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (parts.is_dir() and len(list(parts.glob("*.json"))) >= 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # never a half-written table
    n_parts = len(list(parts.glob("*.json")))
    assert 2 <= n_parts < n
    res = subprocess.run(argv, env=_env(), capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    assert f"{n - n_parts} extracted, {n_parts} already done" in res.stdout
    clean = tmp_path / "clean" / "f.csv"
    assert main(["extract", "--manifest", str(manifest), "--preset", "pyradiomics-default", "--out", str(clean)]) == 0
    assert pd.read_csv(out).equals(pd.read_csv(clean))


def test_a_killed_study_export_leaves_no_partial_folder_behind(tmp_path, capsys):
    manifest = _cohort(tmp_path / "c", 2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a real process id that no longer runs: the export it stood for was killed
    import socket

    host = socket.gethostname().replace("-", "_")[:32]
    stale = tmp_path / f".study.partial-{host}-{dead.pid}-abc123"
    (stale / "readers").mkdir(parents=True)
    (stale / "readers" / "half.nrrd").write_bytes(b"x")
    alive = tmp_path / f".study.partial-{host}-{os.getpid()}-zzz"  # a live run's staging folder is left alone
    alive.mkdir()
    assert main(["study", "export", "--manifest", str(manifest), "--readers", "R1", "--out",
                 str(tmp_path / "study"), "--seed", "1"]) == 0
    assert f"removed {stale}" in capsys.readouterr().err
    assert not stale.exists() and alive.exists() and (tmp_path / "study" / "study.json").is_file()


@pytest.mark.slow
def test_a_killed_study_export_process_is_cleaned_by_the_next_run(tmp_path):
    manifest = _cohort(tmp_path / "c", 6)
    argv = [sys.executable, "-m", "nbrisk", "study", "export", "--manifest", str(manifest), "--readers", "R1,R2",
            "--repeats", "2", "--out", str(tmp_path / "s")]
    proc = subprocess.Popen(argv, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(tmp_path.glob(".s.partial-*")):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = list(tmp_path.glob(".s.partial-*"))
    assert left and not (tmp_path / "s").exists()
    res = subprocess.run(argv, env=_env(), capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0 and "interrupted run" in res.stderr, res.stderr
    assert not list(tmp_path.glob(".s.partial-*")) and (tmp_path / "s" / "study.json").is_file()


# -------------------------------------------------------------------------------------------------- demo
def test_demo_is_written_atomically_and_replaces_only_a_demo(tmp_path, monkeypatch):
    import nbrisk.synthetic.demo as demo

    class Step:
        TITLE = "writes a file"

        @staticmethod
        def run(ctx):
            (ctx.out_dir / "result.txt").write_text(f"seed {ctx.seed}")

    class Broken:
        TITLE = "fails half-way"

        @staticmethod
        def run(ctx):
            (ctx.out_dir / "half.txt").write_text("half")
            raise InputError("step failed")

    out = tmp_path / "demo"
    monkeypatch.setattr(demo, "demo_steps", lambda: [Step])
    demo.run_demo_atomic(demo.DemoContext(out_dir=out, seed=1, log=lambda s: None))
    assert (out / "result.txt").read_text() == "seed 1" and (out / demo.MARKER).is_file()
    monkeypatch.setattr(demo, "demo_steps", lambda: [Step, Broken])
    with pytest.raises(InputError):
        demo.run_demo_atomic(demo.DemoContext(out_dir=out, seed=2, log=lambda s: None))
    assert sorted(p.name for p in out.iterdir()) == [demo.MARKER, "result.txt"]  # the old demo, untouched
    assert (out / "result.txt").read_text() == "seed 1"
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]  # no staging folder left
    monkeypatch.setattr(demo, "demo_steps", lambda: [Step])
    demo.run_demo_atomic(demo.DemoContext(out_dir=out, seed=3, log=lambda s: None))  # an earlier demo: replaced
    assert (out / "result.txt").read_text() == "seed 3"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match="not an nbrisk demo folder"):
        demo.run_demo_atomic(demo.DemoContext(out_dir=mine, log=lambda s: None))
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_progress_waits_a_second_and_never_follows_an_error(capsys, monkeypatch):
    from nbrisk.cli._progress import Steps, cancel_all

    monkeypatch.setenv("NBRISK_PROGRESS_DELAY", "5")
    quick = Steps("x", 2)
    quick("fast step")
    quick.done()
    assert capsys.readouterr().err == ""  # done within the delay: nothing printed
    monkeypatch.setenv("NBRISK_PROGRESS_DELAY", "0.3")
    slow = Steps("x", 2)
    slow("first")
    time.sleep(0.6)
    slow("second")
    slow.done()
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == ["nbrisk x [1/2] first ...", "nbrisk x [2/2] second ..."] and "done in" in err[2]
    failed = Steps("x", 2)
    failed("about to fail")
    cancel_all()  # what main() does after an error
    time.sleep(0.6)
    assert capsys.readouterr().err == ""


def test_single_case_extract_and_perturb_show_progress(tmp_path, capsys, progress_now):
    manifest = _cohort(tmp_path / "c", 2)
    c = tmp_path / "c"
    assert main(["extract", "--image", str(c / "c0.nrrd"), "--mask", str(c / "c0_mask.nrrd"), "--preset",
                 "pyradiomics-default", "--out", str(tmp_path / "one.csv")]) == 0
    err = capsys.readouterr().err
    assert "nbrisk extract [2/3] extracting 107 pyradiomics-default features" in err
    assert main(["study", "perturb", "--manifest", str(manifest), "--out", str(tmp_path / "p")]) == 0
    err = capsys.readouterr().err
    assert "nbrisk study perturb [1/2] c0" in err and "[2/2] c1" in err
