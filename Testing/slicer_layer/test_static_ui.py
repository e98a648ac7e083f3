"""Static checks of the .ui against the code (no Qt): widget names, parameter names, widget/field types."""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

MODULE_DIR = Path(__file__).resolve().parents[2] / "NBRiskModule"
UI = MODULE_DIR / "Resources" / "UI" / "NBRiskModule.ui"
LAYER = [*sorted((MODULE_DIR / "NBRiskLib").glob("*.py")), MODULE_DIR / "NBRiskModule.py"]
WIDGET_NAME = re.compile(r"^[a-z][A-Za-z0-9]*(Button|Selector|Label|ComboBox|LineEdit|Widget|TableWidget|CheckBox|"
                         r"SpinBox|TextEdit|TextBrowser|GroupBox|Bar)$")
# which field types the real parameterNodeWrapper connectors accept for each widget class
CONNECTABLE = {"qMRMLNodeComboBox": "vtkMRML", "QLineEdit": "str", "ctkPathLineEdit": "Path", "QCheckBox": "bool",
               "QSpinBox": "int", "QDoubleSpinBox": "float"}


def ui_widgets() -> dict[str, tuple[str, str | None]]:
    """name -> (class, SlicerParameterName or None) for every widget in the .ui."""
    out = {}
    for widget in ET.parse(UI).getroot().iter("widget"):
        param = None
        for prop in widget.findall("property"):
            if prop.get("name") == "SlicerParameterName":
                param = prop.findtext("string") or prop.findtext("cstring")
        out[widget.get("name")] = (widget.get("class"), param)
    return out


def parameter_fields() -> dict[str, str]:
    """Field name -> annotation source of NBRiskParameterNode, read with ast (no slicer import)."""
    tree = ast.parse((MODULE_DIR / "NBRiskLib" / "parameter_node.py").read_text(encoding="utf-8"))
    cls = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "NBRiskParameterNode")
    return {s.target.id: ast.unparse(s.annotation) for s in cls.body if isinstance(s, ast.AnnAssign)}


def ui_references(path: Path) -> set[str]:
    """Names used as self.ui.X / ui.X, plus widget-like string constants (getattr(self.ui, name) lists)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute):
            value = node.value
            if (isinstance(value, ast.Attribute) and value.attr == "ui") or (
                    isinstance(value, ast.Name) and value.id == "ui"):
                names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and WIDGET_NAME.match(node.value):
            names.add(node.value)
    return names


def parameter_references(path: Path) -> set[str]:
    """Attributes read or written on the parameter node (``p.X``, ``node.X``, ``self._parameterNode.X``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute):
            value = node.value
            if (isinstance(value, ast.Name) and value.id in ("p", "node")) or (
                    isinstance(value, ast.Attribute) and value.attr == "_parameterNode"):
                names.add(node.attr)
    return {n for n in names if n[0].islower()} - {"disconnectGui", "connectGui"}


def test_ui_root_is_named_for_the_module() -> None:
    root = ET.parse(UI).getroot()
    assert root.findtext("class") == "NBRisk"
    assert root.find("widget").get("name") == "NBRisk"


def test_every_widget_the_code_uses_exists_in_the_ui() -> None:
    widgets = ui_widgets()
    used = set().union(*(ui_references(p) for p in LAYER))
    assert len(used) > 30
    assert not used - set(widgets), f"missing in {UI.name}: {sorted(used - set(widgets))}"


def test_every_slicer_parameter_name_is_a_parameter_node_field() -> None:
    fields = parameter_fields()
    bound = {name: param for name, (_, param) in ui_widgets().items() if param}
    assert len(bound) >= 9
    unknown = {w: p for w, p in bound.items() if p not in fields}
    assert not unknown, f"SlicerParameterName not in NBRiskParameterNode: {unknown}"


def test_bound_widgets_have_types_the_real_connectors_accept() -> None:
    fields = parameter_fields()
    for name, (cls, param) in ui_widgets().items():
        if param:
            assert cls in CONNECTABLE, f"{name}: no parameterNodeWrapper connector for {cls}"
            assert CONNECTABLE[cls] in fields[param], f"{name} ({cls}) cannot show {param}: {fields[param]}"


def test_code_uses_only_existing_parameter_fields() -> None:
    fields = set(parameter_fields())
    used = set().union(*(parameter_references(p) for p in LAYER))
    assert {"inputVolume", "segmentation", "bundlePath"} <= used
    assert not used - fields, f"not parameter-node fields: {sorted(used - fields)}"


def test_parameter_annotations_are_runtime_objects() -> None:
    """parameterNodeWrapper resolves annotations at runtime: no string annotations or __future__ import."""
    source = (MODULE_DIR / "NBRiskLib" / "parameter_node.py").read_text(encoding="utf-8")
    assert "from __future__ import annotations" not in source
    assert all(not a.startswith(("'", '"')) for a in parameter_fields().values())


def test_each_panel_section_exists() -> None:
    widgets = ui_widgets()
    for section in ("input", "segmentation", "model", "results", "idrf", "study"):
        assert widgets[f"{section}CollapsibleButton"][0] == "ctkCollapsibleButton"
    assert widgets["segmentEditorWidget"][0] == "qMRMLSegmentEditorWidget"
    assert widgets["tumourSeedsPlaceWidget"][0] == "qSlicerMarkupsPlaceWidget"
