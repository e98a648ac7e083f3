"""Fixtures for the Slicer layer: real MRML from slicer-core, PySide6 for the Qt widgets, PythonQt's rules.

``standin`` returns Slicer's own ``slicer`` package (from Kitware's ``slicer-core``) with a fresh real scene,
application logic and module logics, plus the Qt-only stand-ins (``slicer.app``, MRML/CTK widgets, message
boxes) from ``standin/``. NBRiskLib is imported with PySide6's ``true_property`` so Qt properties behave as in
PythonQt. ``mrml_app`` is the same fixture for the logic tests (no panel).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR = ROOT / "NBRiskModule"
STANDIN_DIR = Path(__file__).resolve().parent / "standin"
ARTIFACTS = ROOT / "Testing" / "artifacts"
PURGED = ("qt", "ctk", "NBRiskLib", "NBRiskModule")


def _purge() -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in PURGED:
            del sys.modules[name]


def _real_slicer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, with_qt: bool):
    from . import harness, real_slicer

    reason = real_slicer.available()
    if reason:
        pytest.skip(reason)
    if with_qt:
        monkeypatch.syspath_prepend(str(STANDIN_DIR))
    return harness.setup_slicer(str(tmp_path), with_qt=with_qt, set_attr=monkeypatch.setattr)


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Real MRML plus the Qt stand-ins and a QApplication (offscreen); NBRiskLib loaded under PythonQt rules."""
    pytest.importorskip("PySide6", reason="the panel tests need PySide6 for the Qt widgets")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    _purge()
    from PySide6.QtWidgets import QApplication

    from . import pythonqt_rules

    slicer, core = _real_slicer(monkeypatch, tmp_path, with_qt=True)
    monkeypatch.syspath_prepend(str(MODULE_DIR))
    finder = pythonqt_rules.install()
    app = QApplication.instance() or QApplication([])
    yield slicer
    app.processEvents()
    pythonqt_rules.uninstall(finder)
    _purge()
    core.scene.Clear(1)


@pytest.fixture
def artifacts_dir() -> Path:
    """Folder for review artefacts (screenshots); ignored by git."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def errors(slicer_module) -> list[str]:
    return [text for kind, text, _ in slicer_module.util.messages if kind == "error"]


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def mrml_app(standin):
    """The panel-free logic tests: real MRML plus ``slicer.app`` (file loading, slice views) from the stand-in."""
    return standin
