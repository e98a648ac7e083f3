"""Fake MRML scene and nodes: same method names as Slicer's, plain Python + numpy + SimpleITK inside.

Volumes keep voxels in KJI order with RAS geometry (spacing, origin, IJK->RAS directions), as Slicer does.
Segments are stored as SimpleITK images in LPS and resampled (nearest neighbour) onto whatever reference
volume they are exported to.
"""

from __future__ import annotations

import itertools

import numpy as np
import SimpleITK as sitk

MODIFIED_EVENT = 33
FLIP = np.diag([-1.0, -1.0, 1.0])


class vtkMRMLNode:
    _counter = itertools.count(1)

    def __init__(self) -> None:
        self._id = ""
        self._name = ""
        self._attributes: dict[str, str] = {}
        self._observers: dict[int, tuple[int, object]] = {}
        self._singleton = ""
        self._references: dict[str, object] = {}

    @classmethod
    def GetClassName(cls) -> str:
        return cls.__name__

    def IsA(self, class_name: str) -> bool:
        return any(k.__name__ == class_name for k in type(self).__mro__)

    def GetID(self) -> str:
        return self._id

    def GetName(self) -> str:
        return self._name

    def SetName(self, name: str) -> None:
        self._name = name
        self.Modified()

    def GetAttribute(self, key: str):
        return self._attributes.get(key)

    def SetAttribute(self, key: str, value: str) -> None:
        self._attributes[key] = value

    def SetSingletonTag(self, tag: str) -> None:
        self._singleton = tag

    def GetSingletonTag(self) -> str:
        return self._singleton

    def UnRegister(self, _owner) -> None:
        return None

    def AddObserver(self, event, callback, priority=0.0) -> int:
        tag = next(self._counter)
        self._observers[tag] = (event, callback)
        return tag

    def RemoveObserver(self, tag: int) -> None:
        self._observers.pop(tag, None)

    def InvokeEvent(self, event, data=None) -> None:
        for ev, callback in list(self._observers.values()):
            if ev == event:
                callback(self, event)

    def Modified(self) -> None:
        self.InvokeEvent(MODIFIED_EVENT)

    def GetParentTransformNode(self):
        return None

    def CreateDefaultDisplayNodes(self) -> None:
        return None

    def GetDisplayNode(self):
        return None

    def GetNodeReference(self, role: str):
        return self._references.get(role)


class vtkMRMLScriptedModuleNode(vtkMRMLNode):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, object] = {}

    def GetParameter(self, name: str) -> str:
        return str(self.values.get(name, ""))

    def SetParameter(self, name: str, value: str) -> None:
        self.values[name] = value
        self.Modified()


class _ImageData:
    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def GetDimensions(self):
        return tuple(reversed(self._array.shape))

    def GetScalarRange(self):
        return float(self._array.min()), float(self._array.max())


class vtkMRMLVolumeNode(vtkMRMLNode):
    ImageDataModifiedEvent = 18002

    def __init__(self) -> None:
        super().__init__()
        self.array: np.ndarray | None = None
        self._spacing = (1.0, 1.0, 1.0)
        self._origin = (0.0, 0.0, 0.0)
        self._directions = np.eye(3)

    def GetImageData(self):
        return None if self.array is None else _ImageData(self.array)

    def GetSpacing(self):
        return self._spacing

    def SetSpacing(self, spacing) -> None:
        self._spacing = tuple(float(s) for s in spacing)

    def GetOrigin(self):
        return self._origin

    def SetOrigin(self, origin) -> None:
        self._origin = tuple(float(s) for s in origin)

    def GetIJKToRASDirections(self, out) -> None:
        out[:] = self._directions

    def SetIJKToRASDirections(self, directions) -> None:
        self._directions = np.array(directions, dtype=float).reshape(3, 3)

    def ijk_to_ras(self) -> np.ndarray:
        matrix = np.eye(4)
        matrix[:3, :3] = self._directions * np.array(self._spacing)
        matrix[:3, 3] = self._origin
        return matrix

    def to_lps_image(self) -> sitk.Image:
        """The stand-in's own RAS->LPS conversion (an independent oracle for the module's)."""
        image = sitk.GetImageFromArray(self.array)
        image.SetSpacing(self._spacing)
        image.SetOrigin(tuple(FLIP @ np.array(self._origin)))
        image.SetDirection(tuple((FLIP @ self._directions).ravel()))
        return image


class vtkMRMLScalarVolumeNode(vtkMRMLVolumeNode):
    pass


class vtkMRMLLabelMapVolumeNode(vtkMRMLVolumeNode):
    pass


class _Segment:
    def __init__(self, name: str, color) -> None:
        self._name, self._color, self.image = name, tuple(color), None

    def GetName(self) -> str:
        return self._name

    def SetName(self, name: str) -> None:
        self._name = name

    def GetColor(self):
        return self._color

    def SetColor(self, r, g=None, b=None) -> None:
        self._color = tuple(r) if g is None else (r, g, b)


class _Segmentation:
    _palette = [(0.5, 0.68, 0.5), (0.95, 0.84, 0.57), (0.69, 0.48, 0.4), (0.44, 0.71, 0.83)]

    def __init__(self, owner) -> None:
        self._owner = owner
        self.segments: dict[str, _Segment] = {}

    def AddEmptySegment(self, segment_id: str = "", name: str = "", color=None) -> str:
        segment_id = segment_id or f"Segment_{len(self.segments) + 1}"
        color = color or self._palette[len(self.segments) % len(self._palette)]
        self.segments[segment_id] = _Segment(name or segment_id, color)
        self._owner.Modified()
        return segment_id

    def GetSegmentIdBySegmentName(self, name: str) -> str:
        for segment_id, segment in self.segments.items():
            if segment.GetName().lower() == name.lower():
                return segment_id
        return ""

    def GetSegment(self, segment_id: str):
        return self.segments.get(segment_id)

    def GetNumberOfSegments(self) -> int:
        return len(self.segments)

    def GetNthSegmentID(self, index: int) -> str:
        return list(self.segments)[index]

    def RemoveSegment(self, segment_id: str) -> None:
        self.segments.pop(segment_id, None)


class vtkMRMLSegmentationNode(vtkMRMLNode):
    def __init__(self) -> None:
        super().__init__()
        self._segmentation = _Segmentation(self)

    def GetSegmentation(self):
        return self._segmentation

    def SetReferenceImageGeometryParameterFromVolumeNode(self, volume) -> None:
        self._references["referenceImageGeometryRef"] = volume

    @staticmethod
    def GetReferenceImageGeometryReferenceRole() -> str:
        return "referenceImageGeometryRef"


class vtkMRMLMarkupsFiducialNode(vtkMRMLNode):
    def __init__(self) -> None:
        super().__init__()
        self.points: list[tuple[float, float, float]] = []

    def AddControlPoint(self, point, label: str = "") -> int:
        self.points.append(tuple(float(v) for v in point))
        self.Modified()
        return len(self.points) - 1

    def RemoveAllControlPoints(self) -> None:
        self.points.clear()
        self.Modified()

    def GetNumberOfControlPoints(self) -> int:
        return len(self.points)

    def GetNthControlPointPosition(self, index: int, out) -> None:
        out[:] = self.points[index]

    GetNthControlPointPositionWorld = GetNthControlPointPosition


class vtkMRMLTableNode(vtkMRMLNode):
    def __init__(self) -> None:
        super().__init__()
        self.columns: dict[str, list[str]] = {}

    def RemoveAllColumns(self) -> None:
        self.columns = {}

    def GetNumberOfColumns(self) -> int:
        return len(self.columns)

    def GetNumberOfRows(self) -> int:
        return max((len(c) for c in self.columns.values()), default=0)

    def GetColumnName(self, index: int) -> str:
        return list(self.columns)[index]

    def GetCellText(self, row: int, column: int) -> str:
        return str(list(self.columns.values())[column][row])


class vtkMRMLSegmentEditorNode(vtkMRMLNode):
    pass


NODE_CLASSES = {cls.__name__: cls for cls in (
    vtkMRMLScriptedModuleNode, vtkMRMLScalarVolumeNode, vtkMRMLLabelMapVolumeNode, vtkMRMLSegmentationNode,
    vtkMRMLMarkupsFiducialNode, vtkMRMLTableNode, vtkMRMLSegmentEditorNode)}


class vtkMRMLScene(vtkMRMLNode):
    NodeAddedEvent, NodeRemovedEvent, StartCloseEvent, EndCloseEvent = 66000, 66001, 66003, 66004

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[vtkMRMLNode] = []
        self._ids = itertools.count(1)

    def CreateNodeByClass(self, class_name: str) -> vtkMRMLNode:
        return NODE_CLASSES[class_name]()

    def AddNode(self, node: vtkMRMLNode) -> vtkMRMLNode:
        node._id = f"{type(node).__name__}{next(self._ids)}"
        node._name = node._name or self.GenerateUniqueName(type(node).__name__.removeprefix("vtkMRML"))
        self.nodes.append(node)
        self.InvokeEvent(self.NodeAddedEvent, node)
        return node

    def AddNewNodeByClass(self, class_name: str, name: str = "") -> vtkMRMLNode:
        node = self.CreateNodeByClass(class_name)
        node._name = name
        return self.AddNode(node)

    def RemoveNode(self, node) -> None:
        if node in self.nodes:
            self.nodes.remove(node)
            self.InvokeEvent(self.NodeRemovedEvent, node)

    def GenerateUniqueName(self, base: str) -> str:
        names = {n.GetName() for n in self.nodes}
        if base not in names:
            return base
        return next(f"{base}_{i}" for i in itertools.count(1) if f"{base}_{i}" not in names)

    def GetNodeByID(self, node_id: str):
        return next((n for n in self.nodes if n.GetID() == node_id), None)

    def GetNodesByClass(self, class_name: str) -> list:
        return [n for n in self.nodes if n.IsA(class_name)]

    def GetFirstNodeByClass(self, class_name: str):
        nodes = self.GetNodesByClass(class_name)
        return nodes[0] if nodes else None

    def GetFirstNodeByName(self, name: str):
        return next((n for n in self.nodes if n.GetName() == name), None)

    def GetSingletonNode(self, tag: str, class_name: str):
        return next((n for n in self.GetNodesByClass(class_name) if n.GetSingletonTag() == tag), None)

    def Clear(self, close: bool = True) -> None:
        self.InvokeEvent(self.StartCloseEvent)
        for node in list(self.nodes):
            self.RemoveNode(node)
        self.InvokeEvent(self.EndCloseEvent)
