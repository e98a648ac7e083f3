"""The panel's state as a ``parameterNodeWrapper`` class, saved with the scene so reopening restores the panel.

Field names are an API: the ``.ui`` binds widgets to them through the ``SlicerParameterName`` dynamic property
(checked by ``Testing/slicer_layer/test_static_ui.py``). Annotations are real objects (no string-only
TYPE_CHECKING imports): ``parameterNodeWrapper`` resolves them at runtime. File and folder fields are ``str``
(empty = unset) and bound in ``widget.py``: Slicer's ctkPathLineEdit connector needs ``Path``, whose unset
value ``Path()`` would show as ".".
"""

from slicer import (
    vtkMRMLMarkupsFiducialNode,
    vtkMRMLMarkupsROINode,
    vtkMRMLScalarVolumeNode,
    vtkMRMLSegmentationNode,
    vtkMRMLTableNode,
)
from slicer.parameterNodeWrapper import parameterNodeWrapper


@parameterNodeWrapper
class NBRiskParameterNode:
    """Inputs, choices and the last results of the NBRisk panel.

    inputVolume - CT or MRI volume the tumour is measured on.
    segmentation / tumourSegmentName - segmentation node and the name of the tumour segment in it.
    tumourSeeds / backgroundSeeds - point lists (RAS in the scene, converted to LPS for the core).
    tumourBox - optional markups ROI around the tumour (its axis-aligned LPS bounds are the grow's box prompt).
    largestSlice2D - grow and measure on the single axial slice with the largest tumour area (seed 003).
    bundlePath - the .nbrisk model bundle; clinicalInputs - values typed into the generated fields.
    lastPrediction - JSON of the last prediction.json, re-shown when a saved scene is reopened.
    checklistPath - where the IDRF checklist is saved/loaded; checklistJson - its current state.
    studyManifest, readers, studyDirectory, importReader, importFolder - reader-study section.
    """

    inputVolume: vtkMRMLScalarVolumeNode
    segmentation: vtkMRMLSegmentationNode
    tumourSegmentName: str = "Tumour"
    tumourSeeds: vtkMRMLMarkupsFiducialNode
    backgroundSeeds: vtkMRMLMarkupsFiducialNode
    tumourBox: vtkMRMLMarkupsROINode
    largestSlice2D: bool = False
    preset: str = ""
    bundlePath: str = ""
    clinicalInputs: dict[str, str]
    resultsTable: vtkMRMLTableNode
    lastPrediction: str = ""
    checklistPath: str = ""
    checklistJson: str = ""
    studyManifest: str = ""
    readers: str = "R1,R2"
    studyDirectory: str = ""
    importReader: str = "R1"
    importFolder: str = ""
    studyResults: str = ""
