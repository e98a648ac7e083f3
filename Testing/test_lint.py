"""The project's own static checks, with its configuration (pyproject.toml): ruff on the tree, mypy on the core."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    assert found, f"{name} is not installed; install the test extras (pip install -e '.[test]')"
    return found


def test_ruff_passes_on_the_tree() -> None:
    proc = subprocess.run([_tool("ruff"), "check", "NBRiskModule", "Testing", "bench", "Utilities"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_mypy_passes_on_the_core() -> None:
    proc = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True, check=False, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
