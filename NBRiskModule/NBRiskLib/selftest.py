"""The end-to-end flow NBRiskModuleTest runs inside Slicer (and the stand-in tests run outside it).

Generated data only: a synthetic abdomen from ``nbrisk.synthetic.phantom`` (tumour, aorta, IVC, vertebra, kidneys...),
a small synthetic training cohort and a bundle trained on it. Steps: volume -> seeds -> grow -> model card ->
predict (CLI subprocess) -> IDRF hints/checklist/INRG -> reader-study export (CLI subprocess).
Never installs packages; a missing package fails the test with the core's message.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import slicer

from NBRiskLib import slicer_logic

RESOURCES = Path(__file__).resolve().parents[1] / "Resources"
SKIP_MARKER = "NBRisk self-test skipped:"  # NBRiskModule/CMakeLists.txt: SKIP_REGULAR_EXPRESSION
PRESET = "pyradiomics-default"
RECIPE = "lr"


def missing_packages() -> list[str]:
    """The requirements not installed in this Python (the self-test never installs; it skips instead)."""
    from NBRiskLib import dependencies

    return dependencies.missing_requirements(dependencies.read_requirements(RESOURCES / "requirements.txt"))


def build_demo_bundle(work: Path, n_cases: int = 10, seed: int = 11) -> Path:
    """Train the ``lr`` recipe on a synthetic cohort and save it as a bundle marked as synthetic."""
    import pandas as pd

    from nbrisk.bundle.format import save_bundle
    from nbrisk.features.cohort import extract_manifest
    from nbrisk.features.presets import load_preset
    from nbrisk.modeling import train
    from nbrisk.synthetic.phantom import make_cohort

    manifest = make_cohort(work / "cohort", n_cases, seed=seed)
    features_csv = work / "cohort_features.csv"
    extract_manifest(manifest, PRESET, features_csv)
    features = pd.read_csv(features_csv)
    labels = pd.read_csv(Path(manifest).parent / "labels.csv")
    trained = train(features, labels, RECIPE, validate=False)
    preset = load_preset(PRESET)
    training = features.set_index("case_id").loc[labels["case_id"], list(trained.feature_names)]
    return save_bundle(work / "selftest.nbrisk", trained, preset.name, preset.sha256, training_features=training,
                       training_labels=list(labels.iloc[:, 1]), synthetic=True,
                       description="NBRisk self-test model trained on synthetic phantoms: meaningless clinically")


def _add_structure_segments(segmentation, volume, phantom) -> None:
    import SimpleITK as sitk

    from nbrisk.synthetic.phantom import STRUCTURES

    labels = sitk.GetArrayFromImage(phantom.structures)
    for name, value in STRUCTURES.items():
        if name == "tumour" or not np.any(labels == value):
            continue
        mask = sitk.GetImageFromArray((labels == value).astype(np.uint8))
        mask.CopyInformation(phantom.structures)
        segment_id = slicer_logic.find_or_add_segment(segmentation, name)
        slicer_logic.update_segment_from_mask(mask, segmentation, segment_id, volume)


def run_full_flow(test, logic, work: Path | None = None) -> dict:
    """Drive the panel through the whole flow; ``test`` is a unittest.TestCase. Return measured numbers."""
    import SimpleITK as sitk

    from nbrisk.io.images import write_image
    from nbrisk.reproducibility.agreement import compare_masks
    from nbrisk.synthetic.phantom import PhantomSpec, make_phantom
    from NBRiskLib.widget import NBRiskPanel

    work = work or Path(tempfile.mkdtemp(prefix="NBRiskSelfTest-", dir=slicer.app.temporaryPath))
    report: dict = {"work_dir": str(work)}
    phantom = make_phantom(PhantomSpec(), seed=7)
    write_image(phantom.image, work / "selftest_case.nrrd")
    volume = slicer.util.loadVolume(str(work / "selftest_case.nrrd"))
    image = slicer_logic.image_from_volume(volume)
    test.assertEqual(image.GetSize(), phantom.image.GetSize())
    np.testing.assert_allclose(image.GetOrigin(), phantom.image.GetOrigin(), atol=1e-6)
    np.testing.assert_allclose(image.GetDirection(), phantom.image.GetDirection(), atol=1e-9)

    panel = NBRiskPanel(RESOURCES / "UI" / "NBRiskModule.ui", logic)
    panel.initializeParameterNode()
    p = panel.parameterNode
    p.inputVolume = volume
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "NBRisk_selftest_ROI")
    segmentation.CreateDefaultDisplayNodes()
    p.segmentation = segmentation
    seeds = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "TumourSeeds")
    seeds.AddControlPoint(list(slicer_logic.lps_to_ras(phantom.tumour_centre_lps)))
    p.tumourSeeds = seeds

    # segmentation: seeds -> grow (core semiautomatic ROI) -> segment on the volume grid; 2-D first, then 3-D
    p.largestSlice2D = True
    panel.onGrow()
    test.assertIsNone(panel.lastError)
    test.assertIn("on 1 slice(s)", panel.ui.segmentationInfoLabel.text)
    panel.onUndoGrow()                       # the preview goes, the tumour segment was never touched
    test.assertFalse(segmentation.GetSegmentation().GetSegmentIdBySegmentName(p.tumourSegmentName))
    p.largestSlice2D = False
    panel.onGrow()
    test.assertIsNone(panel.lastError)
    # box prompt: a markups ROI around the tumour (truth's bounding box + 3 mm); the grow stays inside it
    kji = np.argwhere(sitk.GetArrayViewFromImage(phantom.tumour) > 0)
    low = np.array(phantom.image.TransformIndexToPhysicalPoint([int(v) for v in kji.min(axis=0)[::-1]])) - 3.0
    high = np.array(phantom.image.TransformIndexToPhysicalPoint([int(v) for v in kji.max(axis=0)[::-1]])) + 3.0
    box = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "TumourBox")
    box.SetCenter(list(slicer_logic.lps_to_ras((low + high) / 2)))
    box.SetSize(list(high - low))
    p.tumourBox = box
    panel.onGrow()
    test.assertIsNone(panel.lastError)
    test.assertIn("inside the box", panel.ui.segmentationInfoLabel.text)
    np.testing.assert_allclose(slicer_logic.roi_box_lps(box), [*low, *high], atol=1e-9)
    panel.onAcceptGrow()
    test.assertIsNone(panel.lastError)
    test.assertFalse(panel.logic.has_grow_preview(segmentation))
    segment_id = segmentation.GetSegmentation().GetSegmentIdBySegmentName(p.tumourSegmentName)
    grown = slicer_logic.mask_from_segment(segmentation, segment_id, volume)
    report["dice"] = compare_masks(phantom.tumour, grown)["dice"]
    test.assertGreater(report["dice"], 0.8)
    report["tumour_ml"] = float(sitk.GetArrayViewFromImage(grown).sum()) * float(np.prod(image.GetSpacing())) / 1e3

    # model: bundle card, clinical fields, predict through the CLI in a QProcess
    p.bundlePath = str(build_demo_bundle(work))
    panel.onLoadBundle()
    test.assertIsNone(panel.lastError)
    test.assertIn("Research use only", panel.ui.modelCardTextBrowser.plainText)
    panel.onPredict()
    test.assertIsNone(panel.lastError)
    test.assertTrue(panel.runner.wait(600_000))
    test.assertIsNone(panel.lastError)
    view = panel.lastPredictionView
    test.assertIsNotNone(view)
    test.assertTrue(0.0 <= view.probability <= 1.0)
    test.assertEqual(panel.ui.riskScoreLabel.text, f"{view.probability:.2f}")
    test.assertFalse(view.class_text.strip().lstrip("-").isdigit(), view.class_text)  # a name, never "1"
    test.assertGreater(p.resultsTable.GetNumberOfRows(), 3)
    report["probability"], report["predicted_class"] = view.probability, view.class_text

    # IDRF: structures as segments -> hints -> accept -> INRG -> save/load
    _add_structure_segments(segmentation, volume, phantom)
    panel.onSuggestHints()
    test.assertIsNone(panel.lastError)
    report["idrf_rows"] = panel.ui.idrfTableWidget.rowCount
    report["hints"] = len(panel._checklist.hints)
    test.assertGreaterEqual(report["idrf_rows"], 20)
    test.assertGreater(report["hints"], 0)
    panel.onAcceptHints()
    _answer_open_idrfs_absent(panel)
    test.assertEqual(panel._checklist.open_idrfs(), [])
    panel.ui.ageMonthsSpinBox.value = 30
    for combo, value in (("metastasisComboBox", "none"), ("histologyComboBox", "neuroblastoma"),
                         ("gradeComboBox", "poorly_differentiated"), ("mycnComboBox", "not_amplified"),
                         ("aberration11qComboBox", "absent"), ("ploidyComboBox", "hyperdiploid")):
        widget = getattr(panel.ui, combo)
        widget.currentIndex = widget.findText(value)
    panel.onComputeStaging()
    test.assertIsNone(panel.lastError)
    report["stage"] = panel.ui.stageLabel.text
    report["risk_group"] = panel.ui.riskGroupLabel.text
    report["idrfs_present"] = panel._checklist.positive_count
    test.assertTrue(report["stage"].startswith("L2" if report["idrfs_present"] else "L1"), report["stage"])
    test.assertFalse(report["risk_group"].startswith("unclassifiable"), report["risk_group"])
    p.checklistPath = str(work / "idrf_checklist.json")
    panel.onSaveChecklist()
    panel.onLoadChecklist()
    test.assertIsNone(panel.lastError)
    test.assertTrue((work / "idrf_checklist.json").is_file())

    # reader study: export the current case as a blinded two-reader package
    p.studyDirectory = str(work / "study")
    p.readers = "R1,R2"
    panel.onExportStudy()
    test.assertTrue(panel.runner.wait(600_000))
    test.assertIsNone(panel.lastError)
    report["study_files"] = sorted(x.relative_to(work / "study").as_posix()
                                   for x in (work / "study").rglob("*") if x.is_file())
    for reader in ("R1", "R2"):
        test.assertTrue(any(f.startswith(f"readers/{reader}/") for f in report["study_files"]), reader)
    report["panel"] = panel
    return report


def _answer_open_idrfs_absent(panel) -> None:
    """Answer every still-open IDRF 'absent' through the table's status combo boxes (as a reader would)."""
    from nbrisk.staging import idrf
    from NBRiskLib.idrf_view import STATUS_COLUMN

    table = panel.ui.idrfTableWidget
    for row, item in enumerate(idrf.checklist_view(panel._checklist)):
        if item.is_idrf and item.status in ("unset", "not_assessable"):
            combo = table.cellWidget(row, STATUS_COLUMN)
            combo.currentIndex = combo.findText("absent")
