"""Slicer 5.10's Python: Python 3.12 with the package versions Slicer's SuperBuild pins (slow; 5-10 min).

Runs ``Utilities/slicer_py312_env.sh`` with the interpreter named by ``NBRISK_PY312`` (for example
``~/.pyenv/versions/3.12.1/bin/python``) into ``~/.cache/nbrisk/slicer-py312``: the module opens without PyYAML,
pip's plan for NBRisk's requirements replaces no bundled package, the installer installs them with the bundled
pins, and the self-test passes on real MRML. Skipped (with this reason) when ``NBRISK_PY312`` is not set.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_module_installer_and_self_test_in_slicer_5_10_python() -> None:
    python = os.environ.get("NBRISK_PY312")
    if not python:
        pytest.skip("set NBRISK_PY312 to a Python 3.12 interpreter to rebuild Slicer 5.10's Python (5-10 min)")
    venv = Path.home() / ".cache" / "nbrisk" / "slicer-py312"
    done = subprocess.run([str(ROOT / "Utilities" / "slicer_py312_env.sh"), python, str(venv)],
                          capture_output=True, text=True, timeout=1800, check=False)
    log = "\n".join(ln for ln in (done.stdout + done.stderr).splitlines() if not ln.startswith("WARNING: Location"))
    assert done.returncode == 0, log[-3000:]
    assert "PyYAML not installed (as in Slicer 5.10)" in log
    assert "none bundled" in log and "all 33 bundled packages at Slicer 5.10's versions" in log
    assert "self-test passed" in log
