"""Static check: no Qt property of a widget's class is called as a method in the Slicer layer (PythonQt's rule).

Widget classes come from the .ui (``self.ui.<name>``, ``ui.<name>``, ``panel.ui.<name>``) and from
``x = qt.QClass(...)``; a plain ``y = <widget expression>`` passes the class on within a function. Property
names come from Qt's own meta-objects (PySide6 ``staticMetaObject``) for Qt classes and from
``data/slicer_widget_properties.json`` (read from the CTK/Slicer headers) for CTK/MRML classes.
"""

from __future__ import annotations

import ast
import json
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
SLICER_PROPERTIES = HERE / "data" / "slicer_widget_properties.json"


def ui_classes(ui_path: Path) -> dict[str, str]:
    """``{objectName: class}`` for every widget and layout in a .ui file."""
    root = ET.parse(ui_path).getroot()
    found = {w.get("name"): w.get("class") for w in root.iter("widget")}
    found.update({lay.get("name"): lay.get("class") for lay in root.iter("layout") if lay.get("name")})
    return found


@cache
def properties(class_name: str) -> frozenset[str]:
    """Names of the Qt properties of a class (Qt classes from PySide6's meta-object, CTK/MRML from the headers)."""
    slicer_classes = json.loads(SLICER_PROPERTIES.read_text(encoding="utf-8"))
    if class_name in slicer_classes:
        entry = slicer_classes[class_name]
        return frozenset(entry["properties"]) | properties(entry["base"])
    from PySide6 import QtCore, QtGui, QtWidgets

    cls = next((getattr(m, class_name) for m in (QtWidgets, QtGui, QtCore) if hasattr(m, class_name)), None)
    if cls is None or not hasattr(cls, "staticMetaObject"):
        return frozenset()
    meta = cls.staticMetaObject
    return frozenset(bytes(meta.property(i).name()).decode() if not isinstance(meta.property(i).name(), str)
                     else meta.property(i).name() for i in range(meta.propertyCount()))


def _widget_class(node: ast.AST, ui: dict[str, str], local: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return local.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = node.value
        is_ui = (isinstance(owner, ast.Attribute) and owner.attr == "ui") or (
            isinstance(owner, ast.Name) and owner.id == "ui")
        if is_ui:
            return ui.get(node.attr)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
            and node.func.value.id == "qt":
        return node.func.attr
    return None


def violations(source: str, ui: dict[str, str], filename: str = "<source>") -> list[str]:
    """``file:line: widget.prop()`` for every call of a Qt property as a method."""
    found = []
    tree = ast.parse(source, filename)
    scopes = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)] or [tree]
    for scope in scopes:
        local: dict[str, str] = {}
        for node in sorted((n for n in ast.walk(scope) if hasattr(n, "lineno")),
                           key=lambda n: (n.lineno, n.col_offset)):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                cls = _widget_class(node.value, ui, local)
                if cls:
                    local[node.targets[0].id] = cls
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                cls = _widget_class(node.func.value, ui, local)
                if cls and node.func.attr in properties(cls):
                    found.append(f"{filename}:{node.lineno}: {ast.unparse(node.func)}() calls the "
                                 f"{cls}.{node.func.attr} property (an attribute under PythonQt)")
    return sorted(set(found))
