"""Stand-in for ``slicer.ScriptedLoadableModule`` (same class names and the behaviour the module relies on).

The widget and test base classes need Slicer's Qt application; the logic's parameter node follows Slicer
5.10's ``ScriptedLoadableModuleLogic.getParameterNode``/``createParameterNode`` on the real scene: a singleton
``vtkMRMLScriptedModuleNode`` tagged with the module name.
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path
from typing import ClassVar

import qt
import slicer


class ScriptedLoadableModule:
    def __init__(self, parent) -> None:
        self.parent = parent
        self.moduleName = type(self).__name__
        parent.title = ""
        parent.categories = []
        parent.dependencies = []
        parent.contributors = []
        parent.helpText = ""
        parent.acknowledgementText = ""

    def resourcePath(self, filename: str) -> str:
        return str(Path(self.parent.path).parent / "Resources" / filename)


class ScriptedLoadableModuleWidget:
    def __init__(self, parent=None) -> None:
        self.moduleName = type(self).__name__.removesuffix("Widget")
        self.developerMode = False
        if parent is None:
            self.parent = slicer.qMRMLWidget()
            self.parent.setLayout(qt.QVBoxLayout())
        else:
            self.parent = parent
        self.layout = self.parent.layout()
        if parent is None:
            self.setup()

    def resourcePath(self, filename: str) -> str:
        module_file = sys.modules[type(self).__module__].__file__
        return str(Path(module_file).parent / "Resources" / filename)

    def setup(self) -> None:
        return None

    def cleanup(self) -> None:
        return None

    def onReload(self) -> None:
        slicer.util.reloadScriptedModule(self.moduleName)


class ScriptedLoadableModuleLogic:
    def __init__(self, parent=None) -> None:
        self.moduleName = type(self).__name__.removesuffix("Logic")
        self.isSingletonParameterNode = True

    def getParameterNode(self):
        node = slicer.mrmlScene.GetSingletonNode(self.moduleName, "vtkMRMLScriptedModuleNode")
        if node is None:
            node = slicer.mrmlScene.CreateNodeByClass("vtkMRMLScriptedModuleNode")
            node.UnRegister(None)
            node.SetSingletonTag(self.moduleName)
            node.SetName(slicer.mrmlScene.GenerateUniqueName(self.moduleName))
            node.SetAttribute("ModuleName", self.moduleName)
            node = slicer.mrmlScene.AddNode(node)
        return node


class ScriptedLoadableModuleTest(unittest.TestCase):
    messages: ClassVar[list[str]] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)

    def delayDisplay(self, message, requestedDelay=None, msec=None) -> None:
        ScriptedLoadableModuleTest.messages.append(message)
        slicer.app.processEvents()

    def runTest(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError
