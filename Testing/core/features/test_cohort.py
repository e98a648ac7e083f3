"""Cohort extraction: manifest, failures recorded, resume, atomic output, provenance, presets CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import SimpleITK as sitk

from nbrisk.cli import main
from nbrisk.errors import InputError
from nbrisk.features import case as single_case
from nbrisk.features import cohort
from nbrisk.features.presets import available_presets, load_preset, validate_pyradiomics_params

pytestmark = pytest.mark.radiomics


@pytest.fixture
def cohort_dir(phantom_cohort: Path, tmp_path: Path) -> Path:
    d = tmp_path / "cohort"
    shutil.copytree(phantom_cohort.parent, d)
    return d


def test_manifest_extraction_with_failure_and_resume(cohort_dir: Path, capsys) -> None:
    manifest = pd.read_csv(cohort_dir / "manifest.csv")
    manifest.loc[2, "mask"] = "missing_mask.nrrd"
    manifest.to_csv(cohort_dir / "manifest.csv", index=False)
    out = cohort_dir / "res" / "features.csv"
    rc = main(["extract", "--manifest", str(cohort_dir / "manifest.csv"), "--preset", "pyradiomics-default",
               "--out", str(out), "-j", "2"])
    assert rc == 1
    df = pd.read_csv(out, dtype={"case_id": str})
    assert list(df["case_id"]) == [c for i, c in enumerate(manifest["case_id"]) if i != 2]  # manifest order
    assert df.columns[0] == "case_id" and len(df.columns) == 1 + 107
    assert "original_glcm_Contrast" in df.columns and "wavelet" not in " ".join(df.columns)
    errs = pd.read_csv(out.with_name("features.errors.csv"))
    assert list(errs["case_id"]) == ["case003"] and "missing_mask.nrrd" in errs["message"][0]
    prov = json.loads(out.with_name("features.provenance.json").read_text(encoding="utf-8"))
    assert prov["preset"] == "pyradiomics-default"
    assert prov["preset_sha256"] == load_preset("pyradiomics-default").sha256
    assert prov["pyradiomics_version"] and prov["nbrisk_version"] and prov["n_failed"] == 1
    # fix the broken row and re-run: only that case is computed, the rest are skipped
    manifest.loc[2, "mask"] = "case003_mask.nrrd"
    manifest.to_csv(cohort_dir / "manifest.csv", index=False)
    capsys.readouterr()
    rc = main(["extract", "--manifest", str(cohort_dir / "manifest.csv"), "--preset", "pyradiomics-default",
               "--out", str(out)])
    assert rc == 0
    assert "1 extracted, 7 already done, 0 failed" in capsys.readouterr().out
    df2 = pd.read_csv(out, dtype={"case_id": str})
    assert list(df2["case_id"]) == list(manifest["case_id"])
    pd.testing.assert_frame_equal(df2.drop(index=2).reset_index(drop=True), df)
    assert not out.with_name("features.errors.csv").exists()
    # resuming with another preset is refused instead of mixing feature sets
    assert main(["extract", "--manifest", str(cohort_dir / "manifest.csv"), "--preset", "kim2024-mri-2d",
                 "--out", str(out)]) == 2


def test_killed_run_keeps_whole_rows_and_resumes(cohort_dir: Path, monkeypatch) -> None:
    calls = {"n": 0}
    real = cohort.extract_row

    def dying(row, preset_ref, options):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # the user presses Ctrl-C on the 4th case
        return real(row, preset_ref, options)

    monkeypatch.setattr(cohort, "extract_row", dying)
    out = cohort_dir / "features.csv"
    with pytest.raises(KeyboardInterrupt):
        cohort.extract_manifest(cohort_dir / "manifest.csv", "pyradiomics-default", out)
    assert not out.exists()  # nothing half-written
    assert len(list(cohort.sidecar_paths(out)[2].glob("*.json"))) == 3  # three finished cases kept
    monkeypatch.setattr(cohort, "extract_row", real)
    res = cohort.extract_manifest(cohort_dir / "manifest.csv", "pyradiomics-default", out)
    assert (res.n_skipped, res.n_extracted, res.n_failed) == (3, 5, 0)
    assert len(pd.read_csv(out)) == 8
    assert not cohort.sidecar_paths(out)[2].exists()


def test_reader_column_and_relative_paths(cohort_dir: Path) -> None:
    m = pd.read_csv(cohort_dir / "manifest.csv").head(2)
    both = pd.concat([m.assign(reader="R1"), m.assign(reader="R2")])
    both.to_csv(cohort_dir / "readers.csv", index=False)
    res = cohort.extract_manifest(cohort_dir / "readers.csv", "pyradiomics-default", cohort_dir / "r.csv")
    df = pd.read_csv(res.out_csv, dtype=str)
    assert list(df.columns[:2]) == ["case_id", "reader"] and len(df) == 4
    dup = pd.concat([m, m])
    dup.to_csv(cohort_dir / "dup.csv", index=False)
    with pytest.raises(InputError, match="duplicate case_id"):
        cohort.read_manifest(cohort_dir / "dup.csv")
    m.drop(columns=["mask"]).to_csv(cohort_dir / "nomask.csv", index=False)
    with pytest.raises(InputError, match=r"missing column\(s\) \['mask'\]"):
        cohort.read_manifest(cohort_dir / "nomask.csv")


def test_single_case_cli_output(cohort_dir: Path, capsys) -> None:
    out = cohort_dir / "one" / "f.csv"
    rc = main(["extract", "--image", str(cohort_dir / "case001_image.nrrd"), "--mask",
               str(cohort_dir / "case001_mask.nrrd"), "--preset", "pyradiomics-default", "--out", str(out)])
    assert rc == 0
    df = pd.read_csv(out)
    assert df["case_id"][0] == "case001_image" and df.shape == (1, 108)
    img = sitk.ReadImage(str(cohort_dir / "case001_image.nrrd"))
    truth = sitk.GetArrayFromImage(sitk.ReadImage(str(cohort_dir / "case001_mask.nrrd")))
    assert df["original_firstorder_Mean"][0] == pytest.approx(sitk.GetArrayFromImage(img)[truth > 0].mean(), rel=1e-9)
    vox = float(pd.Series(img.GetSpacing()).prod())
    assert df["original_shape_VoxelVolume"][0] == pytest.approx(truth.sum() * vox, rel=1e-9)


def test_presets_cli_lists_exact_counts(capsys) -> None:
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    expected = {"pyradiomics-default": 107, "jia2023-mri": 1874, "kim2024-mri-2d": 930, "bi2025-ct": 2525,
                "zhang2026-ct": 2618}
    assert set(expected) <= set(available_presets())
    for name, n in expected.items():
        line = next(ln for ln in out.splitlines() if ln.startswith(name))
        assert int(line.split()[1]) == n == load_preset(name).feature_count
    assert main(["presets", "--show", "kim2024-mri-2d"]) == 0
    assert "largest_axial" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["pyradiomics-default", "jia2023-mri", "kim2024-mri-2d", "bi2025-ct", "zhang2026-ct"])
def test_every_shipped_preset_passes_pyradiomics_schema(name: str) -> None:
    p = load_preset(name)
    validate_pyradiomics_params(p.pyradiomics, name)
    assert p.citation and p.rationale and p.modality in ("MR", "CT", "any")


def test_bad_preset_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("nbrisk: {name: x, colour: red}\npyradiomics: {imageType: {Original: {}}}\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown key"):
        load_preset(bad)
    bad.write_text("pyradiomics: {imageType: {Original: {}}, setting: {binWidth: -5, interpolator: nope}}\n",
                   encoding="utf-8")
    with pytest.raises(InputError, match="schema"):
        load_preset(bad)
    bad.write_text("pyradiomics: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML"):
        load_preset(bad)
    with pytest.raises(InputError, match="not found"):
        load_preset(tmp_path / "nope.yaml")


def test_multiphase_cohort_and_single_case_cli(tmp_path: Path, capsys) -> None:
    from nbrisk.synthetic.phantom import make_cohort

    raw = tmp_path / "two.yaml"
    raw.write_text("nbrisk: {name: two, phases: [arterial, venous]}\n"
                   "pyradiomics: {imageType: {Original: {}}, featureClass: {shape: null, firstorder: null}}\n")
    manifest = make_cohort(tmp_path / "c", 2, seed=1, size=(48, 48, 16), phases=("arterial", "venous"))
    res = cohort.extract_manifest(manifest, raw, tmp_path / "m.csv")
    df = pd.read_csv(res.out_csv)
    assert df.shape == (2, 1 + 14 + 2 * 18)
    # the tumour enhances later
    assert df["arterial_original_firstorder_Mean"][0] < df["venous_original_firstorder_Mean"][0]
    c = tmp_path / "c"
    out = tmp_path / "one.csv"
    assert main(["extract", "--image", f"arterial={c / 'case001_arterial.nrrd'}", "--image",
                 f"venous={c / 'case001_venous.nrrd'}", "--mask", str(c / "case001_mask.nrrd"), "--preset", str(raw),
                 "--out", str(out)]) == 0
    one = pd.read_csv(out)
    assert one.drop(columns="case_id").iloc[0].tolist() == pytest.approx(df.drop(columns="case_id").iloc[0].tolist())
    capsys.readouterr()
    assert main(["extract", "--image", str(c / "case001_venous.nrrd"), "--mask", str(c / "case001_mask.nrrd"),
                 "--preset", str(raw), "--out", str(tmp_path / "x.csv")]) == 2
    assert "needs one image per phase: --image arterial=PATH --image venous=PATH" in capsys.readouterr().err


def test_readers_of_one_image_share_its_n4(tmp_path: Path, monkeypatch) -> None:
    """A reader study extracts each image once per reader: the preset's N4 runs once per image."""

    from nbrisk.features import extract as features
    from nbrisk.features import preprocess
    from nbrisk.features.presets import _build
    from nbrisk.synthetic.phantom import make_cohort

    manifest = make_cohort(tmp_path / "mr", 2, seed=4, modality="mr", size=(64, 64, 24))
    m = pd.read_csv(manifest)
    for case in m["case_id"]:  # reader 2: the truth dilated by one voxel
        truth = sitk.ReadImage(str(tmp_path / "mr" / f"{case}_mask.nrrd"))
        sitk.WriteImage(sitk.BinaryDilate(truth, [1, 1, 1]), str(tmp_path / "mr" / f"{case}_r2.nrrd"))
    rows = pd.concat([m.assign(reader="R1"), m.assign(reader="R2", mask=m["case_id"] + "_r2.nrrd")])
    rows.to_csv(tmp_path / "mr" / "readers.csv", index=False)  # readers of one case are not adjacent
    assert [len(g) for g in cohort.image_groups(rows.to_dict("records"))] == [2, 2]
    preset = _build({"nbrisk": {"name": "n4-test", "preprocessing": {"n4": {"iterations": [5, 5]}}},
                     "pyradiomics": {"imageType": {"Original": {}},
                                     "featureClass": {"shape": None, "firstorder": None, "glcm": None},
                                     "setting": {"binCount": 16, "label": 1}}}, "n4-test", "")
    calls = []
    real = preprocess.n4_correct
    monkeypatch.setattr(preprocess, "n4_correct", lambda img, opts: calls.append(1) or real(img, opts))
    monkeypatch.setattr(cohort, "load_preset", lambda ref: preset)
    features._N4_MEMO.clear()
    res = cohort.extract_manifest(tmp_path / "mr" / "readers.csv", "n4-test", tmp_path / "f.csv", jobs=1)
    assert res.n_extracted == 4 and len(calls) == 2
    got = pd.read_csv(res.out_csv, float_precision="round_trip").set_index(["case_id", "reader"])
    for r in rows.to_dict("records"):  # each row alone, N4 computed afresh
        features._N4_MEMO.clear()
        image, mask = single_case.load_row_inputs({**r, "image": str(tmp_path / "mr" / r["image"]),
                                              "mask": str(tmp_path / "mr" / r["mask"])}, preset)
        alone = features.extract_features(image, mask.image, preset).values
        row = got.loc[(r["case_id"], r["reader"])]
        bad = {k: (float(row[k]), v) for k, v in alone.items() if float(row[k]) != v}
        assert list(row.index) == list(alone) and not bad, list(bad.items())[:3]
    assert len(calls) == 6
    # another image, or other N4 options, is never served the cached result
    img = sitk.ReadImage(str(tmp_path / "mr" / m["image"][0]))
    a = features._n4_once(img, {"iterations": [5, 5]})
    assert features._n4_once(img, {"iterations": [5, 5]}) is a and len(calls) == 7
    assert features._n4_once(img, {"iterations": [6, 5]}) is not a and len(calls) == 8
    other = sitk.Image(img)
    other[0, 0, 0] = other[0, 0, 0] + 1
    assert features._n4_once(other, {"iterations": [6, 5]}) is not a and len(calls) == 9


def test_one_or_two_workers_give_the_same_features_with_n4(tmp_path: Path) -> None:
    """-j 1 (all SimpleITK threads in one process) and -j 2 (a share of them per worker) write the same file.

    N4 and the whole-image z-score sum over the image with ITK threads; their results would depend on the
    thread count, which differs between the two runs, if nbrisk did not fix it.
    """
    from nbrisk.synthetic.phantom import make_cohort

    manifest = make_cohort(tmp_path / "mr", 3, seed=6, modality="mr", size=(64, 64, 24))
    preset = tmp_path / "n4-norm.yaml"
    preset.write_text(
        "nbrisk:\n  name: n4-norm\n  preprocessing:\n    n4: {iterations: [20, 20]}\n"
        "pyradiomics:\n  imageType: {Original: {}}\n  featureClass: {firstorder: null, glcm: null}\n"
        "  setting: {normalize: true, normalizeScale: 100, binWidth: 5, voxelArrayShift: 300, label: 1}\n",
        encoding="utf-8")
    outs = [cohort.extract_manifest(manifest, str(preset), tmp_path / f"j{j}" / "f.csv", jobs=j) for j in (1, 2)]
    assert all(r.n_extracted == 3 and r.n_failed == 0 for r in outs)
    assert outs[0].out_csv.read_bytes() == outs[1].out_csv.read_bytes()
    prov = json.loads(outs[1].provenance_json.read_text(encoding="utf-8"))
    assert prov["simpleitk_fixed_threads"] == "N4 2, image statistics 1 (Platform)"  # the values depend on it


def test_core_shares_are_disjoint_and_cover_the_allowed_cores() -> None:
    cpus = [0, 1, 2, 3, 4, 5, 6, 8]  # a cgroup may allow any set, with gaps
    for jobs in (2, 3, 4, 8):
        shares = [cohort.core_share(i, jobs, cpus) for i in range(jobs)]
        assert sorted(c for s in shares for c in s) == cpus  # every allowed core, each once
        assert max(map(len, shares)) - min(map(len, shares)) <= 1
    assert cohort.core_share(5, 4, cpus) == cohort.core_share(1, 4, cpus)  # a replaced worker's slot repeats
    assert cohort.core_share(0, 1, cpus) == []  # one worker: not bound
    assert cohort.core_share(0, 3, [0, 1]) == []  # more workers than cores: the kernel balances them


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_cohort_workers_bind_to_their_share(monkeypatch) -> None:
    """Each of the -j workers runs on its own cores (N4's fixed 2 threads then take turns there)."""
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor

    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs 2 cores")
    slot = mp.Value("i", 0)
    with ProcessPoolExecutor(2, initializer=cohort._limit_threads, initargs=(2, slot)) as pool:
        seen = list(pool.map(_affinity_after_a_while, range(8)))
    assert all(n == len(a) for a, n in seen)  # SimpleITK threads = the worker's own cores
    got = {tuple(sorted(a)) for a, _ in seen}
    assert got <= {tuple(cohort.core_share(0, 2, cpus)), tuple(cohort.core_share(1, 2, cpus))}
    assert sorted(c for a in got for c in a) == cpus or len(got) == 1  # both workers seen, or one did all
    monkeypatch.setenv("NBRISK_NO_PIN", "1")
    with ProcessPoolExecutor(1, initializer=cohort._limit_threads, initargs=(2, mp.Value("i", 0))) as pool:
        assert sorted(pool.submit(_affinity_after_a_while, 0).result()[0]) == cpus


def _affinity_after_a_while(_: int) -> tuple[set[int], int]:
    import os
    import time

    time.sleep(0.2)  # let the other worker take tasks too
    return os.sched_getaffinity(0), sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()


def test_largest_cases_start_first(tmp_path: Path) -> None:
    """LPT order: groups by decreasing bytes on disk (image once per group, each reader's mask); ties and
    missing files keep the manifest's order, and an image shared by readers is counted once."""
    def f(name: str, n: int) -> str:
        p = tmp_path / name
        p.write_bytes(b"x" * n)
        return str(p)

    series = tmp_path / "series"  # a DICOM folder: the sum of its files
    series.mkdir()
    for i in range(3):
        (series / f"{i}.dcm").write_bytes(b"x" * 400)
    rows = [
        {"case_id": "small", "image": f("a.nrrd", 100), "mask": f("am.nrrd", 10)},
        {"case_id": "readers", "reader": "r1", "image": f("b.nrrd", 500), "mask": f("bm1.nrrd", 10)},
        {"case_id": "readers", "reader": "r2", "image": str(tmp_path / "b.nrrd"), "mask": f("bm2.nrrd", 10)},
        {"case_id": "dicom", "image": str(series), "mask": f("cm.nrrd", 20)},
        {"case_id": "missing", "image": str(tmp_path / "gone.nrrd"), "mask": str(tmp_path / "gone2.nrrd")},
        {"case_id": "tie", "image": f("d.nrrd", 100), "mask": f("dm.nrrd", 10)},
        {"case_id": "two-phase", "image_art": f("e1.nrrd", 300), "image_ven": f("e2.nrrd", 300),
         "mask": f("em.nrrd", 5)},
    ]
    order = [g[0]["case_id"] for g in cohort.largest_first(cohort.image_groups(rows))]
    assert order == ["dicom", "two-phase", "readers", "small", "tie", "missing"]  # 1220, 605, 520, 110, 110, 0


def test_work_order_does_not_change_the_output(tmp_path: Path, monkeypatch) -> None:
    """Whatever order the cases run in (largest first), the CSV keeps the manifest's order."""
    from nbrisk.synthetic.phantom import make_cohort

    manifest = make_cohort(tmp_path / "c", 3, seed=2, size=(48, 48, 16))
    j1 = cohort.extract_manifest(manifest, "pyradiomics-default", tmp_path / "j1" / "f.csv", jobs=1)
    started = []

    def reverse(groups):
        started.extend(g[0]["case_id"] for g in groups[::-1])
        return groups[::-1]

    monkeypatch.setattr(cohort, "largest_first", reverse)
    j2 = cohort.extract_manifest(manifest, "pyradiomics-default", tmp_path / "j2" / "f.csv", jobs=2)
    assert started == sorted(started, reverse=True) and len(started) == 3  # the work ran last case first
    assert j1.out_csv.read_bytes() == j2.out_csv.read_bytes()
