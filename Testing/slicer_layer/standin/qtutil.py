"""Stand-ins for the parts of ``slicer.util`` that need Slicer's Qt application (PythonQt, message boxes, pip).

Everything else in ``slicer.util`` is Slicer's own code from ``slicer-core`` (arrays, segments, tables,
``VTKObservationMixin``, ``getNode`` ...). The fixture puts these functions over the real ones for one test:
- ``loadUI``/``childWidgetVariables``: the real ones use PythonQt's ``QUiLoader`` with Slicer's designer
  plugins and PythonQt's ``name`` property; here PySide6's ``QUiLoader`` gets the stand-in widget classes.
- message boxes are recorded in ``messages`` (the real ones, in testing mode, log and return a fixed value);
  ``confirmOkCancelDisplay`` answers ``slicer.util.confirm_answer``.
- ``pip_install`` records the request instead of running pip in a subprocess.
"""

from __future__ import annotations

import re
from pathlib import Path

messages: list[tuple[str, str, str]] = []   # (kind, text, detailedText)
pip_installed: list[list[str]] = []
reloaded: list[str] = []


def loadUI(path):
    import ctk
    import qt
    from slicer.widgets import CUSTOM_WIDGETS

    loader = qt.QUiLoader()
    for cls in (*CUSTOM_WIDGETS, ctk.ctkCollapsibleButton, ctk.ctkPathLineEdit):
        loader.registerCustomWidget(cls)
    if not Path(path).is_file():
        raise RuntimeError(f"Could not load UI file: file not found {path}")
    # Slicer wires mrmlSceneChanged(vtkMRMLScene*) -> setMRMLScene through <connections>; those C++
    # signatures do not exist here, so drop them (the stand-in qMRMLWidget.setMRMLScene propagates instead).
    text = re.sub(r"<connections>.*</connections>", "", Path(path).read_text(encoding="utf-8"), flags=re.S)
    filters = path_filters(text)  # PySide6's QUiLoader cannot set CTK flag properties: applied after loading
    text = re.sub(r'<property name="filters">\s*<set>[^<]*</set>\s*</property>', "", text)
    buffer = qt.QBuffer()
    buffer.setData(qt.QByteArray(text.encode("utf-8")))
    buffer.open(qt.QIODevice.ReadOnly)
    widget = loader.load(buffer)
    buffer.close()
    if widget is None:
        raise RuntimeError(f"Could not load UI file: {path}: {loader.errorString()}")
    for box in widget.findChildren(ctk.ctkCollapsibleButton):
        box.setTitle(str(box.property("text") or ""))
        box.collapsed = bool(box.property("collapsed"))
    for edit in widget.findChildren(ctk.ctkPathLineEdit):
        if edit.objectName() in filters:
            edit.apply_designer_filters(filters[edit.objectName()])
    return widget


def path_filters(ui_text: str) -> dict[str, str]:
    """``{objectName: 'ctkPathLineEdit::Dirs|...'}`` for every ctkPathLineEdit with a ``filters`` set in a .ui."""
    import xml.etree.ElementTree as ET

    found = {}
    for widget in ET.fromstring(ui_text).iter("widget"):
        if widget.get("class") == "ctkPathLineEdit":
            flags = widget.find("property[@name='filters']/set")
            if flags is not None and flags.text:
                found[widget.get("name")] = flags.text
    return found


def childWidgetVariables(widget):
    import qt

    ui = type("", (), {})()
    for child in widget.findChildren(qt.QWidget):
        if child.objectName():
            setattr(ui, child.objectName(), child)
    return ui


def _record(kind: str, text, kwargs) -> None:
    messages.append((kind, str(text), str(kwargs.get("detailedText", ""))))


def errorDisplay(text, windowTitle=None, parent=None, standardButtons=None, **kwargs) -> None:
    _record("error", text, kwargs)


def warningDisplay(text, windowTitle=None, parent=None, standardButtons=None, **kwargs) -> None:
    _record("warning", text, kwargs)


def infoDisplay(text, windowTitle=None, parent=None, standardButtons=None, **kwargs) -> None:
    _record("info", text, kwargs)


def confirmOkCancelDisplay(text, windowTitle=None, parent=None, **kwargs) -> bool:
    import slicer

    _record("confirm", text, kwargs)
    return bool(getattr(slicer.util, "confirm_answer", False))


def pip_install(requirements, **kwargs) -> None:
    pip_installed.append(list(requirements) if not isinstance(requirements, str) else requirements.split())


def reloadScriptedModule(name: str) -> None:
    reloaded.append(name)


def delayDisplay(message, autoCloseMsec=1000, parent=None, **kwargs) -> None:
    messages.append(("delay", str(message), ""))


OVERRIDES = ("loadUI", "childWidgetVariables", "errorDisplay", "warningDisplay", "infoDisplay",
             "confirmOkCancelDisplay", "pip_install", "reloadScriptedModule", "delayDisplay")
