"""Stand-in for the Qt half of ``slicer.app`` (``qSlicerApplication``): what needs a running Slicer GUI.

The data behind it is real (scene, application logic, volumes logic from ``slicer-core``); only the Qt objects
are imitated, each after the Slicer 5.10 class it replaces:
- ``coreIOManager().loadNodes("VolumeFile", ...)``: ``qSlicerVolumesReader::load`` calls
  ``vtkSlicerVolumesLogic::AddArchetypeVolume(fileName, name, options)``; the name defaults to the file's
  base name (``QFileInfo::baseName``: text before the first dot).
- ``layoutManager().sliceWidget(name)``: ``qMRMLSliceWidget`` with ``sliceView().cornerAnnotation()`` (the
  annotation DataProbe rewrites) and ``overlayCornerAnnotation()``; both are real ``vtkCornerAnnotation``s.
- :func:`data_probe_update` does what DataProbe's ``SliceViewAnnotations.updateSliceViewFromGUI`` does to
  each slice view on every slice change (``Modules/Scripted/DataProbe/DataProbeLib/SliceViewAnnotations.py``):
  it writes all four corners of ``sliceView().cornerAnnotation()`` (cleared, then its own texts).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

SLICE_VIEWS = ("Red", "Yellow", "Green")


class _SliceView:
    def __init__(self) -> None:
        import vtk

        self._annotation = vtk.vtkCornerAnnotation()
        self.renders = 0

    def cornerAnnotation(self):
        return self._annotation

    def scheduleRender(self) -> None:
        self.renders += 1

    def forceRender(self) -> None:
        self.renders += 1


class _SliceWidget:
    def __init__(self) -> None:
        import vtk

        self._view = _SliceView()
        self._overlay = vtk.vtkCornerAnnotation()

    def sliceView(self):
        return self._view

    def overlayCornerAnnotation(self):
        return self._overlay


class _LayoutManager:
    def __init__(self) -> None:
        self.widgets = {name: _SliceWidget() for name in SLICE_VIEWS}

    def sliceViewNames(self):
        return list(self.widgets)

    def sliceWidget(self, name: str):
        return self.widgets.get(name)


def data_probe_update(layout_manager, texts: tuple[str, str, str, str] = ("B: volume", "", "", "")) -> None:
    """Do to every slice view what DataProbe does on a slice change: rewrite all four main corner texts."""
    for name in layout_manager.sliceViewNames():
        view = layout_manager.sliceWidget(name).sliceView()
        annotation = view.cornerAnnotation()
        for position in range(4):
            annotation.SetText(position, "")
        for position, text in enumerate(texts):
            annotation.SetText(position, text)
        view.scheduleRender()


class _CoreIOManager:
    def __init__(self, core) -> None:
        self._core = core

    def fileType(self, filename) -> str:
        return "VolumeFile"

    def loadNodes(self, filetype, properties, loaded, messages) -> bool:
        if filetype != "VolumeFile":
            raise NotImplementedError(f"the stand-in reads volumes only, not {filetype}")
        path = Path(properties["fileName"])
        name = properties.get("name") or path.name.split(".")[0]
        options = 1 if properties.get("labelmap") else 0
        node = self._core.logics["volumes"].AddArchetypeVolume(str(path), name, options)
        if node is None:
            return False
        loaded.AddItem(node)
        return True


class App:
    """``slicer.app`` for tests: testing mode on, no main window, real scene and application logic behind it."""

    applicationName = "Slicer"

    def __init__(self, core, temporary_path: str | None = None) -> None:
        self._core = core
        self.temporaryPath = temporary_path or tempfile.gettempdir()
        self._layout = _LayoutManager()
        self._io = _CoreIOManager(core)
        self.cursorDepth = 0

    def mrmlScene(self):
        return self._core.scene

    def applicationLogic(self):
        return self._core.app_logic

    def coreIOManager(self):
        return self._io

    def layoutManager(self):
        return self._layout

    def testingEnabled(self) -> bool:
        return True

    def setOverrideCursor(self, _cursor) -> None:
        self.cursorDepth += 1

    def restoreOverrideCursor(self) -> None:
        self.cursorDepth -= 1

    def pauseRender(self) -> None:
        return None

    def resumeRender(self) -> None:
        return None

    def processEvents(self) -> None:
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()
