"""Stand-in for Slicer's ``slicer`` package: a fake scene, fake app, MRML node classes and MRML widgets."""

from __future__ import annotations

import tempfile

from slicer.mrml import (  # noqa: F401
    vtkMRMLLabelMapVolumeNode,
    vtkMRMLMarkupsFiducialNode,
    vtkMRMLNode,
    vtkMRMLScalarVolumeNode,
    vtkMRMLScene,
    vtkMRMLScriptedModuleNode,
    vtkMRMLSegmentationNode,
    vtkMRMLSegmentEditorNode,
    vtkMRMLTableNode,
    vtkMRMLVolumeNode,
)
from slicer.widgets import (  # noqa: F401
    qMRMLNodeComboBox,
    qMRMLSegmentEditorWidget,
    qMRMLWidget,
    qSlicerMarkupsPlaceWidget,
)


class _CornerAnnotation:
    def __init__(self) -> None:
        self.texts: dict[int, str] = {}

    def SetText(self, position: int, text: str) -> None:
        self.texts[position] = text

    def GetText(self, position: int) -> str:
        return self.texts.get(position, "")


class _SliceView:
    def __init__(self) -> None:
        self._annotation = _CornerAnnotation()
        self.renders = 0

    def cornerAnnotation(self):
        return self._annotation

    def forceRender(self) -> None:
        self.renders += 1


class _SliceWidget:
    def __init__(self) -> None:
        self._view = _SliceView()

    def sliceView(self):
        return self._view


class _LayoutManager:
    def __init__(self) -> None:
        self.widgets = {name: _SliceWidget() for name in ("Red", "Yellow", "Green")}

    def sliceViewNames(self):
        return list(self.widgets)

    def sliceWidget(self, name: str):
        return self.widgets[name]


class _ModuleManager:
    def connect(self, *_args) -> None:
        return None

    def disconnect(self, *_args) -> None:
        return None


class _App:
    def __init__(self) -> None:
        self.temporaryPath = tempfile.gettempdir()
        self._layout = _LayoutManager()
        self.cursorDepth = 0

    def layoutManager(self):
        return self._layout

    def moduleManager(self):
        return _ModuleManager()

    def testingEnabled(self) -> bool:
        return True

    def setOverrideCursor(self, _cursor) -> None:
        self.cursorDepth += 1

    def restoreOverrideCursor(self) -> None:
        self.cursorDepth -= 1

    def processEvents(self) -> None:
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()


app = _App()
mrmlScene = vtkMRMLScene()
selfTests: dict = {}

from slicer import util  # noqa: E402, F401
