"""The QProcess runner: runs ``python -m nbrisk`` asynchronously, forwards output, reports errors."""

from __future__ import annotations

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
    assert runner.command[1:3] == ["-m", "nbrisk"]


@pytest.mark.slow
def test_a_user_error_comes_back_as_the_core_message(standin, tmp_path) -> None:
    from NBRiskLib.runner import CliRunner

    runner, done = CliRunner(), []
    runner.start(["study", "export", "--manifest", str(tmp_path / "missing.csv"), "--readers", "R1",
                  "--out", str(tmp_path / "out")], lambda code, last: done.append((code, last)))
    assert runner.wait(120_000)
    code, last = done[0]
    assert code == 2 and "nbrisk study: error:" in last and "missing.csv" in last
    assert not (tmp_path / "out").exists()
