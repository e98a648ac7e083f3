"""Stand-in for ``slicer.util``: the functions NBRiskModule calls, with Slicer's names and semantics."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import SimpleITK as sitk

import slicer
from slicer.mrml import FLIP

messages: list[tuple[str, str, str]] = []   # (kind, text, detailedText)
confirm_answer = False                      # what confirmOkCancelDisplay answers
pip_installed: list[list[str]] = []
reloaded: list[str] = []


# ---- UI -----------------------------------------------------------------------------------------------
def loadUI(path):
    import ctk
    import qt

    loader = qt.QUiLoader()
    from slicer.widgets import CUSTOM_WIDGETS

    for cls in (*CUSTOM_WIDGETS, ctk.ctkCollapsibleButton, ctk.ctkPathLineEdit):
        loader.registerCustomWidget(cls)
    if not Path(path).is_file():
        raise RuntimeError(f"Could not load UI file: file not found {path}")
    # Slicer wires mrmlSceneChanged(vtkMRMLScene*) -> setMRMLScene through <connections>; those C++
    # signatures do not exist here, so drop them (the fake qMRMLWidget.setMRMLScene propagates instead).
    import re

    text = re.sub(r"<connections>.*</connections>", "", Path(path).read_text(encoding="utf-8"), flags=re.S)
    buffer = qt.QBuffer()
    buffer.setData(qt.QByteArray(text.encode("utf-8")))
    buffer.open(qt.QIODevice.ReadOnly)
    widget = loader.load(buffer)
    buffer.close()
    if widget is None:
        raise RuntimeError(f"Could not load UI file: {path}: {loader.errorString()}")
    for box in widget.findChildren(ctk.ctkCollapsibleButton):
        box.setTitle(str(box.property("text") or ""))
    return widget


def childWidgetVariables(widget):
    import qt

    ui = type("", (), {})()
    for child in widget.findChildren(qt.QWidget):
        if child.objectName():
            setattr(ui, child.objectName(), child)
    return ui


class VTKObservationMixin:
    def __init__(self) -> None:
        self.Observations: list[tuple[object, object, object, int]] = []

    def addObserver(self, obj, event, method, group="none", priority=0.0) -> None:
        tag = obj.AddObserver(event, method, priority)
        self.Observations.append((obj, event, method, tag))

    def removeObserver(self, obj, event, method) -> None:
        for entry in list(self.Observations):
            if entry[0] is obj and entry[1] == event and entry[2] == method:
                obj.RemoveObserver(entry[3])
                self.Observations.remove(entry)

    def removeObservers(self, method=None) -> None:
        for obj, event, meth, tag in list(self.Observations):
            if method is None or meth == method:
                obj.RemoveObserver(tag)
                self.Observations.remove((obj, event, meth, tag))


def errorDisplay(text, windowTitle=None, parent=None, standardButtons=None, **kwargs) -> None:
    messages.append(("error", str(text), str(kwargs.get("detailedText", ""))))


def warningDisplay(text, windowTitle=None, parent=None, standardButtons=None, **kwargs) -> None:
    messages.append(("warning", str(text), str(kwargs.get("detailedText", ""))))


def infoDisplay(text, windowTitle=None, parent=None, standardButtons=None, **kwargs) -> None:
    messages.append(("info", str(text), str(kwargs.get("detailedText", ""))))


def confirmOkCancelDisplay(text, windowTitle=None, parent=None, **kwargs) -> bool:
    messages.append(("confirm", str(text), str(kwargs.get("detailedText", ""))))
    return confirm_answer


def pip_install(requirements) -> None:
    pip_installed.append(list(requirements) if not isinstance(requirements, str) else requirements.split())


def reloadScriptedModule(name: str) -> None:
    reloaded.append(name)


def delayDisplay(message, autoCloseMsec=1000, parent=None, **kwargs) -> None:
    messages.append(("delay", str(message), ""))


@contextlib.contextmanager
def tryWithErrorDisplay(message=None, show=True, waitCursor=False):
    try:
        yield
    except Exception as exc:
        if show:
            errorDisplay(f"{message}\n\n{exc}" if message else str(exc))
        raise


def settingsValue(key, default, converter=lambda v: v, settings=None):
    return default


def toBool(value) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


def getNode(pattern="*", index=0, scene=None):
    node = (scene or slicer.mrmlScene).GetFirstNodeByName(pattern)
    if node is None:
        raise slicer.util.MRMLNodeNotFoundException(pattern)
    return node


class MRMLNodeNotFoundException(Exception):
    pass


# ---- arrays and volumes -------------------------------------------------------------------------------
def arrayFromVolume(volumeNode) -> np.ndarray:
    return volumeNode.array


def updateVolumeFromArray(volumeNode, narray) -> None:
    volumeNode.array = np.array(narray, copy=True)
    volumeNode.Modified()


def addVolumeFromArray(narray, ijkToRAS=None, name=None, nodeClassName=None):
    node = slicer.mrmlScene.AddNewNodeByClass(nodeClassName or "vtkMRMLScalarVolumeNode", name or "")
    if ijkToRAS is not None:
        matrix = np.asarray(ijkToRAS, dtype=float)
        spacing = np.linalg.norm(matrix[:3, :3], axis=0)
        node.SetSpacing(spacing)
        node.SetIJKToRASDirections(matrix[:3, :3] / spacing)
        node.SetOrigin(matrix[:3, 3])
    updateVolumeFromArray(node, narray)
    return node


def loadVolume(filename, properties=None, returnNode=False):
    """Read with SimpleITK (LPS) and store in RAS, as Slicer's volume reader does."""
    image = sitk.ReadImage(str(filename))
    node = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", Path(filename).name.split(".")[0])
    node.SetSpacing(image.GetSpacing())
    node.SetOrigin(FLIP @ np.array(image.GetOrigin()))
    node.SetIJKToRASDirections(FLIP @ np.array(image.GetDirection()).reshape(3, 3))
    updateVolumeFromArray(node, sitk.GetArrayFromImage(image))
    return node


def _reference(segmentationNode, referenceVolumeNode):
    reference = referenceVolumeNode or segmentationNode.GetNodeReference(
        segmentationNode.GetReferenceImageGeometryReferenceRole())
    if reference is None:
        raise RuntimeError("No reference volume is found in the input segmentationNode, therefore a valid "
                           "referenceVolumeNode input is required.")
    return reference


def arrayFromSegmentBinaryLabelmap(segmentationNode, segmentId, referenceVolumeNode=None) -> np.ndarray:
    reference = _reference(segmentationNode, referenceVolumeNode).to_lps_image()
    segment = segmentationNode.GetSegmentation().GetSegment(segmentId)
    if segment is None:
        raise RuntimeError(f"Export of segment failed: no segment {segmentId}")
    if segment.image is None:
        return np.zeros(sitk.GetArrayViewFromImage(reference).shape, dtype=np.uint8)
    resampled = sitk.Resample(segment.image, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0,
                              sitk.sitkUInt8)
    return sitk.GetArrayFromImage(resampled)


def updateSegmentBinaryLabelmapFromArray(narray, segmentationNode, segmentId, referenceVolumeNode=None) -> None:
    reference = _reference(segmentationNode, referenceVolumeNode).to_lps_image()
    image = sitk.GetImageFromArray((np.asarray(narray) > 0).astype(np.uint8))
    image.CopyInformation(reference)
    segmentationNode.GetSegmentation().GetSegment(segmentId).image = image
    segmentationNode.Modified()


def arrayFromMarkupsControlPoints(markupsNode, world=False) -> np.ndarray:
    return np.array(markupsNode.points, dtype=float).reshape(-1, 3)


def updateTableFromArray(tableNode, narrays, columnNames=None, setBoolAsUchar=False):
    if tableNode is None:
        tableNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLTableNode")
    tableNode.RemoveAllColumns()
    names = list(columnNames or [])
    for index, column in enumerate(narrays):
        name = names[index] if index < len(names) else f"Column_{index}"
        tableNode.columns[name] = [str(v) for v in np.asarray(column).tolist()]
    tableNode.Modified()
    return tableNode
