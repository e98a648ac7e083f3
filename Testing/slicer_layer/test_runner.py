"""The QProcess runner: runs ``python -m nbrisk`` asynchronously, forwards output, reports errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui


def test_parse_progress_reads_k_of_n_counters(standin) -> None:
    from NBRiskLib.runner import parse_progress

    assert parse_progress("extracting 3/12 cases") == pytest.approx(0.25)
    assert parse_progress("no counter here") is None
    assert parse_progress("0/0") is None


@pytest.mark.slow
def test_a_successful_job_reports_output_and_exit_code_zero(standin) -> None:
    from NBRiskLib.runner import CliRunner

    runner, lines, done = CliRunner(), [], []
    runner.start(["--version"], lambda code, last: done.append((code, last)), lambda line, f: lines.append(line))
    assert runner.is_running()
    with pytest.raises(RuntimeError, match="already running"):
        runner.start(["--version"], lambda *a: None)
    assert runner.wait(120_000)
    assert done == [(0, lines[-1])] and lines[-1].startswith("nbrisk ")
    assert not runner.is_running()
    assert runner.command[1] == "-c" and runner.command[3] == "nbrisk"


@pytest.mark.slow
def test_a_user_error_comes_back_as_the_core_message(standin, tmp_path) -> None:
    from NBRiskLib.runner import CliRunner

    runner, done = CliRunner(), []
    runner.start(["study", "export", "--manifest", str(tmp_path / "missing.csv"), "--readers", "R1",
                  "--out", str(tmp_path / "out")], lambda code, last: done.append((code, last)))
    assert runner.wait(120_000)
    code, last = done[0]
    assert code == 2 and "nbrisk study export: error:" in last and "missing.csv" in last
    assert not (tmp_path / "out").exists()


def _alive(pid: int) -> bool:
    """True while the process runs (a zombie left for an init that does not reap counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


LAUNCHER = """#!/bin/sh
# Like Slicer's PythonSlicer (CTKAppLauncher): start the real interpreter as a child and wait for it.
"{python}" "$@"
exit $?
"""

SLEEPER = """import os, sys, time
with open(os.environ["NBRISK_TEST_PID_FILE"] + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.replace(os.environ["NBRISK_TEST_PID_FILE"] + ".tmp", os.environ["NBRISK_TEST_PID_FILE"])  # never read half-written
print("working 1/100", flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
def test_cancel_stops_the_python_child_of_a_launcher(standin, tmp_path, monkeypatch) -> None:
    """Defect 5: Cancel killed the PythonSlicer launcher only; its Python child kept running and writing."""
    import stat
    import sys

    from NBRiskLib import runner as runner_module

    launcher = tmp_path / "PythonSlicer"
    launcher.write_text(LAUNCHER.format(python=sys.executable), encoding="utf-8")
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "nbrisk_sleeper.py").write_text(SLEEPER, encoding="utf-8")
    monkeypatch.setattr(runner_module, "python_executable", lambda: str(launcher))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("NBRISK_TEST_PID_FILE", str(tmp_path / "pid"))
    runner, done = runner_module.CliRunner(module="nbrisk_sleeper"), []
    runner.start([], lambda code, last: done.append((code, last)))
    deadline = time.monotonic() + 30
    while not (tmp_path / "pid").exists() and time.monotonic() < deadline:
        runner.finished_process or runner._process.waitForReadyRead(100)
    child = int((tmp_path / "pid").read_text())
    assert _alive(child) and child != runner._process.processId()   # the launcher's child, not the launcher
    runner.cancel()
    assert runner.wait(30_000)
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the Python job survived Cancel"
    assert done and done[0][0] != 0 and "cancelled" in done[0][1]


def test_a_job_that_cannot_start_is_reported_and_frees_the_panel(standin, tmp_path, monkeypatch) -> None:
    """Defect 5: without an errorOccurred handler a failed start never called back (buttons stayed disabled)."""
    from NBRiskLib import runner as runner_module

    monkeypatch.setattr(runner_module, "python_executable", lambda: str(tmp_path / "no" / "PythonSlicer"))
    runner, done = runner_module.CliRunner(), []
    runner.start(["--version"], lambda code, last: done.append((code, last)))
    assert runner.wait(10_000)
    for _ in range(20):
        standin.app.processEvents()
    assert len(done) == 1 and done[0][0] != 0 and "could not start" in done[0][1]
    assert not runner.is_running()


def test_the_finished_process_stays_referenced_past_its_own_signal(standin) -> None:
    """Defect 5: the runner dropped the last reference to its parent-less QProcess inside 'finished'
    (PythonQt then deletes it mid-signal); it now keeps it until the next start."""
    from NBRiskLib.runner import CliRunner

    runner, seen = CliRunner(), []
    runner.start(["--version"], lambda code, last: seen.append(runner.finished_process))
    assert runner.wait(120_000)
    assert seen and seen[0] is not None and seen[0].exitCode() == 0
    assert runner.finished_process is seen[0]
