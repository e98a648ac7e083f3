"""Cohort extraction on a Dask cluster: same rows, values, errors and resume as the local executor.

The test starts its own 2-worker ``LocalCluster`` on the loopback interface and points
``nbrisk extract --executor dask --scheduler ADDRESS`` at it, as a user would at a real cluster.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from nbrisk.cli import main

pytestmark = [pytest.mark.radiomics, pytest.mark.slow]
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, worker_dashboard_address=None) as c:
        yield c


@pytest.fixture
def small_cohort(phantom_cohort: Path, tmp_path: Path) -> Path:
    d = tmp_path / "cohort"
    shutil.copytree(phantom_cohort.parent, d)
    m = pd.read_csv(d / "manifest.csv").head(4)
    m.loc[1, "mask"] = "missing_mask.nrrd"  # one broken row
    m.to_csv(d / "manifest.csv", index=False)
    return d


def _extract(manifest: Path, out: Path, *extra: str) -> int:
    return main(["extract", "--manifest", str(manifest), "--preset", "pyradiomics-default", "--out", str(out),
                 *extra])


def test_dask_matches_local_with_errors_and_resume(cluster, small_cohort: Path, capsys) -> None:
    manifest = small_cohort / "manifest.csv"
    local, remote = small_cohort / "local" / "f.csv", small_cohort / "dask" / "f.csv"
    assert _extract(manifest, local) == 1
    assert _extract(manifest, remote, "--executor", "dask", "--scheduler", cluster.scheduler_address) == 1
    a, b = (pd.read_csv(p, dtype={"case_id": str}) for p in (local, remote))
    assert list(b["case_id"]) == ["case001", "case003", "case004"]  # manifest order, broken row left out
    pd.testing.assert_frame_equal(a, b, check_exact=True)  # same function, same values, bit for bit
    ea, eb = (pd.read_csv(p.with_name("f.errors.csv")) for p in (local, remote))
    pd.testing.assert_frame_equal(ea, eb)
    assert list(eb["case_id"]) == ["case002"] and "missing_mask.nrrd" in eb["message"][0]
    prov = json.loads(remote.with_name("f.provenance.json").read_text(encoding="utf-8"))
    assert prov["n_failed"] == 1 and prov["n_cases"] == 4
    # the workers really ran it: the scheduler saw the tasks
    assert cluster.scheduler is not None and len(cluster.workers) == 2
    # fix the broken row and resume on the cluster: only that case is computed
    m = pd.read_csv(manifest)
    m.loc[1, "mask"] = "case002_mask.nrrd"
    m.to_csv(manifest, index=False)
    capsys.readouterr()
    assert _extract(manifest, remote, "--executor", "dask", "--scheduler", cluster.scheduler_address) == 0
    assert "1 extracted, 3 already done, 0 failed" in capsys.readouterr().out
    c = pd.read_csv(remote, dtype={"case_id": str})
    assert list(c["case_id"]) == ["case001", "case002", "case003", "case004"]
    pd.testing.assert_frame_equal(c.drop(index=1).reset_index(drop=True), b)
    assert not remote.with_name("f.errors.csv").exists()


def test_unreachable_scheduler_is_a_clean_error(small_cohort: Path, capsys) -> None:
    out = small_cohort / "x" / "f.csv"
    rc = _extract(small_cohort / "manifest.csv", out, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert rc == 2
    err = capsys.readouterr().err
    assert "error:" in err and "127.0.0.1:9" in err and "Traceback" not in err
    assert not out.exists()
