"""Shared pytest fixtures: pyradiomics' real sample cases (cached outside the repo) and phantoms."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

SDIST = "pyradiomics-bhklab==3.1.4"
SDIST_DIR = "pyradiomics_bhklab-3.1.4"
SAMPLE_CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")


def _cache_dir() -> Path:
    base = os.environ.get("NBRISK_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nbrisk"


def ensure_sample_data() -> Path:
    """Return pyradiomics' ``data`` folder, downloading its source distribution once if needed."""
    cache = _cache_dir()
    data = cache / SDIST_DIR / "data"
    if (data / "lung2_image.nrrd").exists():
        return data
    cache.mkdir(parents=True, exist_ok=True)
    tarball = next(cache.glob("pyradiomics_bhklab-3.1.4.tar.gz"), None)
    if tarball is None:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--no-build-isolation", SDIST, "-d", str(cache)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        tarball = next(cache.glob("pyradiomics_bhklab-3.1.4.tar.gz"), None)
        if tarball is None:
            raise RuntimeError(f"could not download {SDIST} sample data: {proc.stderr[-500:]}")
    with tarfile.open(tarball) as tf:
        members = [m for m in tf.getmembers() if m.name.startswith(f"{SDIST_DIR}/data/")]
        for m in members:  # Debian's 3.11.2 has no extraction filters: refuse anything unsafe ourselves
            if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in Path(m.name).parts:
                raise RuntimeError(f"unsafe member {m.name!r} in {tarball}")
        if hasattr(tarfile, "data_filter"):
            tf.extractall(cache, members=members, filter="data")
        else:
            tf.extractall(cache, members=members)
    return data


@pytest.fixture(scope="session")
def sample_data_dir() -> Path:
    """pyradiomics' sample images, labels and baseline CSVs (real data)."""
    return ensure_sample_data()


@pytest.fixture(scope="session")
def phantom_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic CT cohort (8 cases, two texture classes); returns its manifest.csv."""
    from nbrisk.synthetic.phantom import make_cohort

    return make_cohort(tmp_path_factory.mktemp("cohort"), 8, seed=0)
