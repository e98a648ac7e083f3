"""Segmentation-test fixtures: the interactive benchmark's simulated reader (``bench/bench_interactive_seg.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_interactive_seg

    return bench_interactive_seg
