"""Stand-in for ``slicer.parameterNodeWrapper``: typed fields stored on a real ``vtkMRMLScriptedModuleNode``.

Kept because its GUI half needs Slicer's Qt widgets. Checked against Slicer 5.10's
``Base/Python/slicer/parameterNodeWrapper`` (serializers.py, guiConnectors.py, validators.py):
- every annotation must be a serialisable type (int/float/str/bool/Path/enum/MRML node/list/dict/tuple/Union,
  optionally ``Annotated``); str and Path values are validated with ``IsInstance`` (a Path given to a str
  field raises ``TypeError``) and written with ``SetParameter(name, str(value))``; an unset Path reads back as
  ``Path()``, i.e. ``.``; MRML nodes are node references, so a removed node reads back as None;
- ``connectGui`` binds widgets carrying the ``SlicerParameterName`` dynamic property and raises for a name that
  is not a field or a widget/type pair the real connectors cannot represent; the ctkPathLineEdit connector
  writes ``str(value)`` (so an unset Path shows ``.``), exactly as ``ctkPathLineEditToPathConnector.write``.
"""

from __future__ import annotations

import enum
import json
import pathlib
import types
import typing

import vtk
from slicer import vtkMRMLNode

MODIFIED_EVENT = vtk.vtkCommand.ModifiedEvent


class Choice:
    def __init__(self, choices) -> None:
        self.choices = tuple(choices)


class WithinRange:
    def __init__(self, minimum, maximum) -> None:
        self.minimum, self.maximum = minimum, maximum


class Default:
    def __init__(self, value) -> None:
        self.value = value


def _split(tp):
    if typing.get_origin(tp) is typing.Annotated:
        args = typing.get_args(tp)
        return args[0], args[1:]
    return tp, ()


def _is_node(tp) -> bool:
    return isinstance(tp, type) and issubclass(tp, vtkMRMLNode)


def _check_type(tp, name: str) -> None:
    base, _ = _split(tp)
    origin = typing.get_origin(base)
    if origin in (list, tuple, dict, typing.Union, types.UnionType):
        for arg in typing.get_args(base):
            if arg is not type(None) and arg is not Ellipsis:
                _check_type(arg, name)
        return
    if base in (int, float, str, bool, typing.Any, list, dict, pathlib.Path, pathlib.PurePath) or _is_node(base):
        return
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return
    raise Exception(f"Unable to find serializer for parameter '{name}' of type {tp}")


def _empty(tp):
    base, annotations = _split(tp)
    for a in annotations:
        if isinstance(a, Default):
            return a.value
    if _is_node(base):
        return None
    origin = typing.get_origin(base)
    if origin is dict or base is dict:
        return {}
    if origin is list or base is list:
        return []
    if base in (pathlib.Path, pathlib.PurePath):
        return pathlib.Path()
    return {int: 0, float: 0.0, str: "", bool: False}.get(base)


def parameterNodeWrapper(cls):
    hints = typing.get_type_hints(cls, include_extras=True)
    for name, tp in hints.items():
        _check_type(tp, name)
    defaults = {name: getattr(cls, name) if hasattr(cls, name) else _empty(tp) for name, tp in hints.items()}

    def __init__(self, parameterNode) -> None:
        self.parameterNode = parameterNode
        self._gui: dict[int, list] = {}
        for name, value in defaults.items():
            if not _is_node(_split(hints[name])[0]) and not parameterNode.HasParameter(name):
                _write(parameterNode, name, hints[name], value)

    def make_property(name):
        def getter(self):
            return _read(self.parameterNode, name, hints[name])

        def setter(self, value):
            _validate(name, hints[name], value)
            _write(self.parameterNode, name, hints[name], value)

        return property(getter, setter)

    namespace = {"__init__": __init__, "allParameters": dict(hints), "__doc__": cls.__doc__,
                 "connectGui": _connect_gui, "disconnectGui": _disconnect_gui,
                 "AddObserver": lambda self, event, cb, priority=0.0: self.parameterNode.AddObserver(event, cb),
                 "RemoveObserver": lambda self, tag: self.parameterNode.RemoveObserver(tag)}
    for name in hints:
        namespace[name] = make_property(name)
    return type(cls.__name__, (), namespace)


def _validate(name, tp, value) -> None:
    base, _ = _split(tp)
    if base in (str, pathlib.Path, pathlib.PurePath) and not isinstance(value, base):
        raise TypeError(f"Value must be of type '{base}', is type '{type(value)}' value '{value}'")


def _write(node, name, tp, value) -> None:
    base, _ = _split(tp)
    if _is_node(base):
        node.SetNodeReferenceID(name, value.GetID() if value is not None else None)
        return
    if base in (str, pathlib.Path, pathlib.PurePath, int, float):
        text = str(value)
    elif base is bool:
        text = "True" if value else "False"
    else:
        text = json.dumps(value)
    if node.GetParameter(name) != text or not node.HasParameter(name):
        node.SetParameter(name, text)


def _read(node, name, tp):
    base, _ = _split(tp)
    if _is_node(base):
        return node.GetNodeReference(name)
    text = node.GetParameter(name)
    if base is str:
        return text
    if base in (pathlib.Path, pathlib.PurePath):
        return base(text)
    if base is bool:
        return text == "True"
    if base in (int, float):
        return base(text)
    return json.loads(text) if text else _empty(tp)


def _connector(widget, tp):
    """Return (read, write, signal) for a widget/type pair the real wrapper supports."""
    import ctk
    import qt
    import slicer

    base, annotations = _split(tp)
    kind = type(widget)
    if kind is slicer.qMRMLNodeComboBox and _is_node(base):
        widget.nodeTypes = [base.__name__]
        return widget.currentNode, widget.setCurrentNode, widget.currentNodeChanged
    if kind is qt.QCheckBox and base is bool:
        return widget.isChecked, widget.setChecked, widget.toggled
    if kind is qt.QLineEdit and base is str:
        return widget.text, widget.setText, widget.textChanged
    if kind is ctk.ctkPathLineEdit and base in (pathlib.Path, pathlib.PurePath):
        def write_path(value):
            widget.currentPath = str(value)  # ctkPathLineEditToPathConnector.write: Path() shows "."

        return (lambda: base(widget.currentPath)), write_path, widget.currentPathChanged
    if kind is qt.QSpinBox and base is int:
        return widget.value, widget.setValue, widget.valueChanged
    if kind is qt.QDoubleSpinBox and base is float:
        return widget.value, widget.setValue, widget.valueChanged
    if kind is qt.QComboBox and base in (str, int, float, bool):
        choice = next((a for a in annotations if isinstance(a, Choice)), None)
        if choice is None:
            raise RuntimeError("ComboBoxToStringableConnector requires the Choice annotation to be used.")
        widget.clear()
        widget.addItems([str(c) for c in choice.choices])
        return (lambda: choice.choices[widget.currentIndex()]), (
            lambda v: widget.setCurrentIndex(choice.choices.index(v))), widget.currentIndexChanged
    raise RuntimeError(f"Unable to create GUI connector from datatype '{tp}' to widget type '{kind}'.")


def _connect_gui(self, gui) -> int:
    bindings = []
    widgets = gui.values() if isinstance(gui, dict) else vars(gui).values()
    for widget in widgets:
        name = widget.property("SlicerParameterName") if hasattr(widget, "property") else None
        if not name:
            continue
        name = str(name)
        if name not in self.allParameters:
            raise ValueError(f"Cannot find parameter '{name}' in {type(self).__name__}")
        read, write, signal = _connector(widget, self.allParameters[name])
        state = {"busy": False}

        def to_widget(*_args, name=name, write=write, state=state):
            if state["busy"]:
                return
            state["busy"] = True
            try:
                write(getattr(self, name))
            finally:
                state["busy"] = False

        def to_param(*_args, name=name, read=read, state=state):
            if state["busy"]:
                return
            state["busy"] = True
            try:
                setattr(self, name, read())
            finally:
                state["busy"] = False

        to_widget()
        signal.connect(to_param)
        tag = self.parameterNode.AddObserver(MODIFIED_EVENT, to_widget)
        bindings.append((signal, to_param, tag))
    key = id(bindings)
    self._gui[key] = bindings
    return key


def _disconnect_gui(self, tag) -> None:
    for signal, slot, observer in self._gui.pop(tag, []):
        signal.disconnect(slot)
        self.parameterNode.RemoveObserver(observer)
