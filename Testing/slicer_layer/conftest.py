"""Fixtures for the Slicer layer: paths, and the PySide6-based stand-in for slicer/qt/ctk/vtk."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR = ROOT / "NBRiskModule"
STANDIN_DIR = Path(__file__).resolve().parent / "standin"
ARTIFACTS = ROOT / "Testing" / "artifacts"
STANDIN_MODULES = ("slicer", "qt", "ctk", "vtk", "NBRiskLib", "NBRiskModule")


def _purge() -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in STANDIN_MODULES:
            del sys.modules[name]


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Install the stand-in modules, a QApplication (offscreen) and a fresh scene; return the fake ``slicer``."""
    pytest.importorskip("PySide6", reason="the Slicer stand-in needs PySide6")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    _purge()
    monkeypatch.syspath_prepend(str(MODULE_DIR))
    monkeypatch.syspath_prepend(str(STANDIN_DIR))
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    import slicer

    slicer.app.temporaryPath = str(tmp_path)
    slicer.util.messages.clear()
    slicer.util.pip_installed.clear()
    slicer.util.confirm_answer = False
    yield slicer
    app.processEvents()
    _purge()


@pytest.fixture
def artifacts_dir() -> Path:
    """Folder for review artefacts (screenshots); ignored by git."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def errors(slicer_module) -> list[str]:
    return [text for kind, text, _ in slicer_module.util.messages if kind == "error"]


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
