"""PythonQt's rule, checked statically and at run time: Qt properties are attributes, not methods."""

from __future__ import annotations

from pathlib import Path

import pytest

from .property_calls import properties, ui_classes, violations

pytest.importorskip("PySide6", reason="Qt property lists come from PySide6's meta-objects")
pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "NBRiskModule" / "Resources" / "UI" / "NBRiskModule.ui"
LAYER = [*sorted((ROOT / "NBRiskModule" / "NBRiskLib").glob("*.py")), ROOT / "NBRiskModule" / "NBRiskModule.py"]


def test_property_lists_come_from_qt_and_the_headers() -> None:
    assert {"count", "currentText", "currentIndex"} <= properties("QComboBox")
    assert {"rowCount", "columnCount"} <= properties("QTableWidget")
    assert {"text", "enabled", "visible", "checked"} <= properties("QCheckBox")
    assert {"currentPath", "filters", "enabled"} <= properties("ctkPathLineEdit")
    assert {"collapsed", "text"} <= properties("ctkCollapsibleButton")
    assert "rowCount" not in properties("QFormLayout")      # QFormLayout::rowCount() is a method


def test_the_check_finds_property_calls() -> None:
    """The three defects of issue 16 (widget.py/idrf_view.py .count(), selftest.py rowCount()) are caught."""
    ui = ui_classes(UI)
    source = ("def f(self, panel, ui):\n"
              "    if not self.ui.presetComboBox.count():\n        pass\n"
              "    n = panel.ui.idrfTableWidget.rowCount()\n"
              "    combo = qt.QComboBox()\n    combo.setCurrentIndex(combo.count() - 1)\n"
              "    path = ui.bundlePathLineEdit.currentPath()\n"
              "    layout = ui.clinicalInputsGroupBox.layout()\n    ok = combo.findText('x')\n")
    found = violations(source, ui)
    assert [v.split(":")[1] for v in found] == ["2", "4", "6", "7"], found


def test_no_property_is_called_as_a_method_in_the_slicer_layer() -> None:
    ui = ui_classes(UI)
    found = [v for path in LAYER for v in violations(path.read_text(encoding="utf-8"), ui, path.name)]
    assert not found, "\n".join(found)


def test_nbrisklib_is_loaded_with_true_property_in_the_panel_tests(standin) -> None:
    """The panel tests load NBRiskLib under PySide6's true_property: a property called as a method fails."""
    import qt

    from NBRiskLib import idrf_view

    combo = qt.QComboBox()
    idrf_view.populate_choices(type("UI", (), {"histologyComboBox": combo, **{
        name: qt.QComboBox() for name, _ in idrf_view.INRG_COMBOS if name != "histologyComboBox"},
        "metastasisComboBox": qt.QComboBox()})())
    assert combo.count() > 3 if callable(combo.count) else combo.count > 3
    namespace = {}
    exec(compile("def probe(c):\n    return c.count()\n", idrf_view.__file__, "exec"), idrf_view.__dict__, namespace)
    with pytest.raises(TypeError, match="not callable"):
        namespace["probe"](combo)
