"""Stand-ins for Slicer's MRML Qt widgets (registered with QUiLoader under their Slicer class names).

They show and select *real* MRML nodes (the scene comes from slicer-core). Method/property split as in Slicer
5.10's headers: ``qMRMLNodeComboBox`` has ``nodeTypes`` as a Q_PROPERTY and ``currentNode()`` as a method;
``qMRMLSegmentEditorWidget`` has Q_INVOKABLE ``mrmlSegmentEditorNode()``, ``segmentationNode()``,
``sourceVolumeNode()``, ``activeEffect()``/``setActiveEffect()``; ``qSlicerMarkupsPlaceWidget`` has
``currentNode()`` and the ``placeModeEnabled`` property.
"""

from __future__ import annotations

from PySide6.QtCore import Property, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget


class qMRMLWidget(QWidget):
    """Root of the module .ui; setMRMLScene propagates to MRML children (Slicer does it via .ui connections)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._scene = None

    def setMRMLScene(self, scene) -> None:
        self._scene = scene
        for child in self.findChildren(QWidget):
            if child is not self and hasattr(child, "setMRMLScene") and not isinstance(child, qMRMLWidget):
                child.setMRMLScene(scene)

    def mrmlScene(self):
        return self._scene


class qMRMLNodeComboBox(QComboBox):
    """Node selector: item 0 is 'None', then the scene's nodes of the ``nodeTypes`` classes."""

    currentNodeChanged = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._scene = None
        self._tag = None
        self._nodeTypes: list[str] = []
        self.currentIndexChanged.connect(lambda _i: self.currentNodeChanged.emit(self.currentNode()))

    @property
    def nodeTypes(self) -> list[str]:
        return self._nodeTypes or [str(t) for t in (self.property("nodeTypes") or [])]

    @nodeTypes.setter
    def nodeTypes(self, types) -> None:
        self._nodeTypes = list(types)
        self._refresh()

    def setMRMLScene(self, scene) -> None:
        self._scene = scene
        for event in (scene.NodeAddedEvent, scene.NodeRemovedEvent):
            scene.AddObserver(event, lambda *_: self._refresh())
        self._refresh()

    def _nodes(self) -> list:
        if self._scene is None:
            return []
        nodes, seen = [], set()
        for node_type in self.nodeTypes:
            collection = self._scene.GetNodesByClass(node_type)
            for index in range(collection.GetNumberOfItems()):
                node = collection.GetItemAsObject(index)
                if node.GetID() not in seen and not node.GetHideFromEditors():
                    seen.add(node.GetID())
                    nodes.append(node)
        return nodes

    def _refresh(self) -> None:
        current = self.currentNode()
        self.blockSignals(True)
        self.clear()
        self.addItem("None", "")
        for node in self._nodes():
            self.addItem(node.GetName(), node.GetID())
        index = self.findData(current.GetID()) if current is not None else 0
        self.setCurrentIndex(max(index, 0))
        self.blockSignals(False)
        if (current is not None) and index < 0:
            self.currentNodeChanged.emit(None)

    def currentNode(self):
        node_id = self.currentData()
        return self._scene.GetNodeByID(node_id) if (self._scene is not None and node_id) else None

    def setCurrentNode(self, node) -> None:
        if node is not None and self.findData(node.GetID()) < 0:
            self._refresh()
        self.setCurrentIndex(0 if node is None else max(self.findData(node.GetID()), 0))


class qMRMLSegmentEditorWidget(QWidget):
    """Placeholder for the embedded Segment Editor: records what the module configures."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._editorNode = self._segmentation = self._source = None
        self._activeEffect = None
        layout = QVBoxLayout(self)
        self._label = QLabel("Segment Editor (stand-in)")
        layout.addWidget(self._label)

    def setMRMLScene(self, scene) -> None:
        self._scene = scene

    def setMRMLSegmentEditorNode(self, node) -> None:
        self._editorNode = node

    def mrmlSegmentEditorNode(self):
        return self._editorNode

    def setSegmentationNode(self, node) -> None:
        self._segmentation = node
        self._update()

    def segmentationNode(self):
        return self._segmentation

    def setSourceVolumeNode(self, node) -> None:
        self._source = node
        self._update()

    def sourceVolumeNode(self):
        return self._source

    def activeEffect(self):
        return self._activeEffect

    def setActiveEffect(self, effect) -> None:
        self._activeEffect = effect

    def setActiveEffectByName(self, name: str) -> None:
        self._activeEffect = name or None

    def _update(self) -> None:
        seg = self._segmentation.GetName() if self._segmentation else "-"
        vol = self._source.GetName() if self._source else "-"
        self._label.setText(f"Segment Editor (stand-in): segmentation {seg}, source volume {vol}")


class qSlicerMarkupsPlaceWidget(QWidget):
    """Placeholder for the point-placement button: remembers the active point list and place mode."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._node = None
        self._place = False

    def _get_place(self) -> bool:
        return self._place

    def _set_place(self, value: bool) -> None:
        self._place = bool(value)

    placeModeEnabled = Property(bool, _get_place, _set_place)

    def setMRMLScene(self, scene) -> None:
        self._scene = scene

    def setCurrentNode(self, node) -> None:
        self._node = node

    def currentNode(self):
        return self._node


CUSTOM_WIDGETS = (qMRMLWidget, qMRMLNodeComboBox, qMRMLSegmentEditorWidget, qSlicerMarkupsPlaceWidget)
