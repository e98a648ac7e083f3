"""The panel built through NBRiskModule.py on the PySide6 stand-in: setup, binding, states, restore, reload."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import errors
from .panel_helpers import build_module_widget, prediction_json, prop, save_screenshot, set_prop, small_volume

pytestmark = pytest.mark.gui


def test_setup_loads_the_ui_without_asking_or_installing_anything(standin) -> None:
    module, widget = build_module_widget()
    assert module.parent.title == "NBRisk"
    assert "not for clinical use" in module.parent.helpText.lower()
    assert "Jia" in module.parent.helpText and "Kim" in module.parent.helpText and "Monclair" in module.parent.helpText
    panel = widget.panel
    assert panel.uiWidget.objectName() == "NBRisk"
    assert [k for k, *_ in standin.util.messages] == []          # no dialog at setup
    assert standin.util.pip_installed == []
    presets = [panel.ui.presetComboBox.itemText(i) for i in range(prop(panel.ui.presetComboBox, "count"))]
    assert "jia2023-mri" in presets and "kim2024-mri-2d" in presets
    histology = [panel.ui.histologyComboBox.itemText(i) for i in range(prop(panel.ui.histologyComboBox, "count"))]
    assert histology[0] == "unknown" and "neuroblastoma" in histology
    assert prop(panel.ui.idrfTableWidget, "rowCount") == 0


def test_widgets_and_parameter_node_stay_in_sync(standin, tmp_path: Path) -> None:
    _, widget = build_module_widget()
    panel = widget.panel
    p = panel.parameterNode
    volume = small_volume(standin, tmp_path)
    p.inputVolume = volume
    assert panel.ui.inputVolumeSelector.currentNode() is volume
    set_prop(panel.ui.tumourSegmentNameLineEdit, "text", "Mass")
    assert p.tumourSegmentName == "Mass"
    panel.ui.largestSlice2DCheckBox.setChecked(True)
    assert p.largestSlice2D is True
    panel.ui.bundlePathLineEdit.setCurrentPath(str(tmp_path / "model.nbrisk"))
    assert p.bundlePath == str(tmp_path / "model.nbrisk")
    p.readers = "A,B,C"
    assert prop(panel.ui.readersLineEdit, "text") == "A,B,C"


def test_buttons_enable_only_when_their_inputs_exist(standin, tmp_path: Path) -> None:
    _, widget = build_module_widget()
    panel, p = widget.panel, widget.panel.parameterNode
    assert not prop(panel.ui.growButton, "enabled") and not prop(panel.ui.predictButton, "enabled")
    p.inputVolume = small_volume(standin, tmp_path)
    p.segmentation = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    assert not prop(panel.ui.growButton, "enabled")
    p.tumourSeeds = standin.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
    assert prop(panel.ui.growButton, "enabled")
    assert not prop(panel.ui.predictButton, "enabled")
    p.bundlePath = str(tmp_path / "model.nbrisk")
    assert prop(panel.ui.predictButton, "enabled") and prop(panel.ui.loadBundleButton, "enabled")
    assert not prop(panel.ui.exportStudyButton, "enabled")
    p.studyDirectory = str(tmp_path / "study")
    assert prop(panel.ui.exportStudyButton, "enabled")


def test_user_errors_show_the_core_one_line_message(standin, tmp_path: Path) -> None:
    _, widget = build_module_widget()
    panel, p = widget.panel, widget.panel.parameterNode
    p.inputVolume = small_volume(standin, tmp_path)
    p.segmentation = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    p.tumourSeeds = standin.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
    panel.onGrow()
    assert errors(standin) == ["Growing the tumour failed: No tumour seeds: place at least one point inside the "
                               "tumour, or paint segment 'NBRisk seeds' with the Segment Editor."]
    assert prop(panel.ui.statusLabel, "text") == errors(standin)[0]
    assert standin.app.cursorDepth == 0                    # wait cursor restored


def test_grow_warnings_are_shown_under_the_segment(standin, tmp_path: Path, monkeypatch) -> None:
    """A leak the core's guard caught (or any other warning of the grow) reaches the radiologist."""
    _, widget = build_module_widget()
    panel, p = widget.panel, widget.panel.parameterNode
    p.inputVolume = small_volume(standin, tmp_path)
    p.segmentation = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    p.tumourSeeds = standin.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
    note = "the ROI leaked into surrounding tissue (90000 voxels); kept the stricter result (4000 voxels)"
    for notes, shown in (([note], True), ([], False)):
        monkeypatch.setattr(panel.logic, "grow_tumour",
                            lambda *a, notes=notes: {"volume_ml": 8.0, "slices": 10, "notes": notes})
        panel.onGrow()
        assert errors(standin) == []
        text = prop(panel.ui.segmentationInfoLabel, "text")
        assert text.startswith("Tumour: 8.0 ml on 10 slice(s)")
        assert (f"Check: {note}" in text) is shown
        assert ("check the warning" in prop(panel.ui.statusLabel, "text")) is shown


def test_declining_the_install_dialog_gives_a_clear_message(standin, tmp_path: Path) -> None:
    _, widget = build_module_widget()
    panel = widget.panel
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy>=1.0\nnbrisk-surely-not-installed>=1\n", encoding="utf-8")
    panel.requirementsPath = str(requirements)
    panel.ui.installDependenciesButton.click()
    kinds = [k for k, *_ in standin.util.messages]
    assert kinds == ["confirm", "error"]
    assert standin.util.messages[0][2] == "- nbrisk-surely-not-installed>=1"
    assert "cannot run without these Python packages: nbrisk-surely-not-installed>=1" in errors(standin)[0]
    assert standin.util.pip_installed == []
    standin.util.confirm_answer = True
    panel.ui.installDependenciesButton.click()
    assert [args[:2] for args in standin.util.pip_installed] == [["nbrisk-surely-not-installed>=1", "-c"]]


def test_saved_scene_restores_the_last_results(standin, tmp_path: Path) -> None:
    _, first = build_module_widget()
    first.panel.parameterNode.lastPrediction = prediction_json()
    first.cleanup()
    _, second = build_module_widget()                       # same scene, new panel (scene reopened)
    ui = second.panel.ui
    assert prop(ui.riskScoreLabel, "text") == "0.73"
    assert prop(ui.riskClassLabel, "text") == "high risk" and prop(ui.riskCategoryLabel, "text") == "high"
    assert prop(ui.contributionsTableWidget, "rowCount") == 1
    assert ui.contributionsTableWidget.item(0, 0).text() == "original_firstorder_Mean"
    assert "training range" in prop(ui.warningsLabel, "text")


def test_reload_purges_nbrisk_and_nbrisklib(standin) -> None:
    _, widget = build_module_widget()
    assert "NBRiskLib.widget" in sys.modules and "nbrisk.prediction.review" in sys.modules
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "nbrisk"}
    try:
        widget.onReload()
        assert not [m for m in sys.modules if m.split(".")[0] in ("nbrisk", "NBRiskLib")]
        assert standin.util.reloaded == ["NBRiskModule"]
    finally:  # give the rest of the session back the module objects it already holds
        sys.modules.update(saved)


def test_empty_panel_screenshot(standin, artifacts_dir: Path) -> None:
    _, widget = build_module_widget()
    path = save_screenshot(widget.parent, artifacts_dir / "panel_empty.png")
    assert path.stat().st_size > 10_000


def test_segment_editor_and_seed_buttons_follow_the_selection(standin, tmp_path: Path) -> None:
    _, widget = build_module_widget()
    panel, p = widget.panel, widget.panel.parameterNode
    volume = small_volume(standin, tmp_path)
    seg = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    seeds = standin.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
    p.inputVolume, p.segmentation, p.tumourSeeds = volume, seg, seeds
    editor = panel.ui.segmentEditorWidget
    assert editor.segmentationNode() is seg and editor.sourceVolumeNode() is volume
    assert editor.mrmlSegmentEditorNode().GetName() == "NBRisk_SegmentEditor"
    assert panel.ui.tumourSeedsPlaceWidget.currentNode() is seeds
    assert panel.ui.backgroundSeedsPlaceWidget.currentNode() is None
    panel.ui.segmentationSelector.setCurrentNode(None)        # user picks "None" in the selector
    assert p.segmentation is None and editor.segmentationNode() is None


def test_bundle_card_generates_clinical_fields_that_reach_the_predict_command(standin, tmp_path: Path,
                                                                              monkeypatch) -> None:
    import numpy as np
    import SimpleITK as sitk

    from NBRiskLib import slicer_logic

    _, widget = build_module_widget()
    panel, p = widget.panel, widget.panel.parameterNode
    card = {"not_for_clinical_use": True, "model": {"recipe": "zhang2026-combined", "threshold": 0.5},
            "preset": {"name": "zhang2026-ct", "sha256": "x"},
            "clinical_inputs": [{"name": "ferritin", "type": "float", "unit": "ng/mL", "range": [0, 2000]},
                                {"name": "nse_high", "type": "category", "choices": ["no", "yes"]}]}
    monkeypatch.setattr(panel.logic, "load_bundle_card", lambda path: card)
    volume = small_volume(standin, tmp_path)
    seg = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    mask = sitk.GetImageFromArray(np.pad(np.ones((2, 4, 4), np.uint8), ((3, 3), (6, 6), (6, 6))))
    mask.CopyInformation(slicer_logic.image_from_volume(volume))
    slicer_logic.update_segment_from_mask(mask, seg, slicer_logic.find_or_add_segment(seg, "Tumour"), volume)
    p.inputVolume, p.segmentation, p.bundlePath = volume, seg, str(tmp_path / "m.nbrisk")
    panel.ui.loadBundleButton.click()
    card_text = prop(panel.ui.modelCardTextBrowser, "plainText")
    assert card_text.startswith("Use: Research use only") and "Recipe: zhang2026-combined" in card_text
    assert p.preset == "zhang2026-ct" and prop(panel.ui.presetComboBox, "currentText") == "zhang2026-ct"
    form = panel.ui.clinicalInputsGroupBox.layout()
    assert prop(form, "rowCount") == 2
    ferritin = panel.uiWidget.findChild(type(panel.ui.readersLineEdit), "clinical_ferritin")
    assert ferritin.placeholderText() == "float 0-2000 ng/mL"
    set_prop(ferritin, "text", "310")
    nse = panel._clinicalEditors["nse_high"]
    set_prop(nse, "currentIndex", nse.findText("yes"))
    started = []
    monkeypatch.setattr(panel.runner, "start", lambda args, done, out=None: started.append(args))
    panel.ui.predictButton.click()
    assert errors(standin) == []
    args = started[0]
    assert args[:2] == ["predict", "--model"] and args[args.index("--clinical") + 1:][:2] == ["ferritin=310",
                                                                                              "nse_high=yes"]
    assert args.count("--clinical") == 1 and "--no-pdf" in args
    written = sitk.ReadImage(args[args.index("--mask") + 1])
    assert int(sitk.GetArrayViewFromImage(written).sum()) == 32
    assert p.clinicalInputs["ferritin"] == "310"


def test_opening_the_module_imports_no_optional_heavy_package(standin, tmp_path: Path) -> None:
    """Module load and setup work before the Python packages are installed (they are asked for later).

    Runs in a fresh interpreter with PyYAML made unimportable, as in Slicer 5.10 (which bundles none): the
    panel opens without an error dialog and still lists the presets (defect 3: a module-level ``import yaml``
    in the core failed before the user was offered the install).
    """
    import subprocess
    import textwrap

    from .conftest import MODULE_DIR

    code = textwrap.dedent(f"""
        import sys
        sys.modules["yaml"] = None          # Slicer 5.10 bundles no PyYAML
        sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(MODULE_DIR)!r}]
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        import harness, pythonqt_rules
        slicer, core = harness.setup_slicer({str(tmp_path)!r})
        pythonqt_rules.install()
        from types import SimpleNamespace
        import NBRiskModule
        NBRiskModule.NBRiskModule(SimpleNamespace(path=NBRiskModule.__file__))
        widget = NBRiskModule.NBRiskModuleWidget()
        combo = widget.panel.ui.presetComboBox
        print("messages", slicer.util.messages)
        count = combo.count
        print("presets", count() if callable(count) else count)
        heavy = ("radiomics", "sklearn", "skops", "imblearn", "pandas", "pywt", "matplotlib", "lifelines")
        print(sorted(m for m in heavy if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert "messages []" in lines, out.stdout
    assert int(next(ln for ln in lines if ln.startswith("presets")).split()[1]) > 3
    assert lines[-1] == "[]"


def test_folder_fields_open_folder_dialogs_and_file_fields_file_dialogs(standin) -> None:
    """Defect 6: ctkPathLineEdit's default filters open a *file* dialog; folder fields need CTK's Dirs filter."""
    _, widget = build_module_widget()
    ui = widget.panel.ui
    for name in ("studyDirectoryPathLineEdit", "importFolderPathLineEdit", "studyResultsPathLineEdit"):
        assert getattr(ui, name).opens_folder_dialog(), name
    for name in ("bundlePathLineEdit", "checklistPathLineEdit", "studyManifestPathLineEdit"):
        assert not getattr(ui, name).opens_folder_dialog(), name


def test_unset_path_fields_are_empty_not_a_dot(standin, tmp_path: Path) -> None:
    """Defect 6: Slicer's Path connector shows an unset Path() as '.'; the panel's path fields start empty and
    round-trip what the user types."""
    from NBRiskLib.widget import PATH_FIELDS

    _, widget = build_module_widget()
    ui, p = widget.panel.ui, widget.panel.parameterNode
    assert {name: prop(getattr(ui, name), "currentPath") for name in PATH_FIELDS} == dict.fromkeys(PATH_FIELDS, "")
    ui.importFolderPathLineEdit.setCurrentPath(str(tmp_path))
    assert p.importFolder == str(tmp_path)
    p.studyDirectory = str(tmp_path / "study")
    assert prop(ui.studyDirectoryPathLineEdit, "currentPath") == str(tmp_path / "study")


def test_leaving_the_module_stops_the_segment_editor_effect(standin) -> None:
    """Defect 6: exit() left the embedded Segment Editor's effect active (painting went on in other modules)."""
    _, widget = build_module_widget()
    editor = widget.panel.ui.segmentEditorWidget
    editor.setActiveEffectByName("Paint")
    widget.exit()
    assert editor.activeEffect() is None
    widget.enter()
    assert widget.panel.parameterNode is not None


def test_grow_is_a_preview_the_user_accepts_or_undoes(standin, tmp_path: Path) -> None:
    """Issue 16 (seed 001 in Slicer): seeds are a markups node; the grow lands in a yellow preview segment and
    the tumour segment changes only on Accept; Undo removes the preview and leaves the tumour as it was."""
    import numpy as np
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.zeros((10, 24, 24), dtype=np.int16))
    array = sitk.GetArrayFromImage(image)
    array[3:7, 8:16, 8:16] = 200
    bright = sitk.GetImageFromArray(array)
    bright.SetSpacing((1.0, 1.0, 2.0))
    sitk.WriteImage(bright, str(tmp_path / "bright.nrrd"))
    _, widget = build_module_widget()
    panel, p = widget.panel, widget.panel.parameterNode
    p.inputVolume = standin.util.loadVolume(str(tmp_path / "bright.nrrd"))
    p.segmentation = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    p.segmentation.CreateDefaultDisplayNodes()
    seeds = standin.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
    seeds.AddControlPoint([-12.0, -12.0, 10.0])       # RAS of voxel (12, 12, 5): inside the bright block
    p.tumourSeeds = seeds
    segmentation = p.segmentation.GetSegmentation()
    assert not prop(panel.ui.acceptGrowButton, "enabled")
    panel.onGrow()
    assert errors(standin) == []
    assert segmentation.GetSegmentIdBySegmentName("NBRisk grow preview")
    assert not segmentation.GetSegmentIdBySegmentName("Tumour")      # untouched until accepted
    assert prop(panel.ui.acceptGrowButton, "enabled") and prop(panel.ui.undoGrowButton, "enabled")
    panel.ui.undoGrowButton.click()
    assert not segmentation.GetSegmentIdBySegmentName("NBRisk grow preview")
    assert not segmentation.GetSegmentIdBySegmentName("Tumour")
    assert not prop(panel.ui.acceptGrowButton, "enabled")
    panel.onGrow()
    preview = standin.util.arrayFromSegmentBinaryLabelmap(
        p.segmentation, segmentation.GetSegmentIdBySegmentName("NBRisk grow preview"), p.inputVolume).copy()
    assert preview[5, 12, 12] == 1 and preview.sum() > 0
    panel.ui.acceptGrowButton.click()
    tumour = standin.util.arrayFromSegmentBinaryLabelmap(p.segmentation, segmentation.GetSegmentIdBySegmentName(
        "Tumour"), p.inputVolume)
    np.testing.assert_array_equal(tumour > 0, preview > 0)
    assert errors(standin) == []
    assert not segmentation.GetSegmentIdBySegmentName("NBRisk grow preview")


def test_seeds_painted_with_the_segment_editor_grow_the_tumour(standin, tmp_path: Path) -> None:
    """Seeds may be Segment Editor strokes in the 'NBRisk seeds' segment instead of markups points; helper
    segments (seeds, preview) never count as anatomy for the IDRF hints."""
    import numpy as np
    import SimpleITK as sitk

    from NBRiskLib import slicer_logic

    array = np.zeros((10, 24, 24), dtype=np.int16)
    array[3:7, 8:16, 8:16] = 200
    image = sitk.GetImageFromArray(array)
    sitk.WriteImage(image, str(tmp_path / "bright.nrrd"))
    _, widget = build_module_widget()
    panel, p = widget.panel, widget.panel.parameterNode
    p.inputVolume = standin.util.loadVolume(str(tmp_path / "bright.nrrd"))
    p.segmentation = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    stroke = np.zeros((10, 24, 24), dtype=np.uint8)
    stroke[5, 11:13, 10:14] = 1                        # a short paint stroke inside the bright block
    seeds_id = slicer_logic.find_or_add_segment(p.segmentation, "NBRisk seeds")
    standin.util.updateSegmentBinaryLabelmapFromArray(stroke, p.segmentation, seeds_id, p.inputVolume)
    assert prop(panel.ui.growButton, "enabled")          # no markups point list needed
    seeds = slicer_logic.painted_seeds_lps(p.segmentation, p.inputVolume)
    assert sorted(seeds) == sorted((float(i), float(j), 5.0) for i in range(10, 14) for j in (11, 12))  # LPS = index
    panel.onGrow()
    assert errors(standin) == []
    preview_id = p.segmentation.GetSegmentation().GetSegmentIdBySegmentName("NBRisk grow preview")
    preview = standin.util.arrayFromSegmentBinaryLabelmap(p.segmentation, preview_id, p.inputVolume)
    assert preview[5, 12, 12] == 1 and preview[0, 0, 0] == 0
    _, names = slicer_logic.structures_from_segmentation(p.segmentation, p.inputVolume)
    assert "NBRisk seeds" not in names.values() and "NBRisk grow preview" not in names.values()


def test_automatic_segmentation_lands_in_the_preview_to_accept(standin, tmp_path: Path) -> None:
    """Issue 20 in Slicer: 'Automatic' runs the built-in model as a CLI job (progress, cancel) and shows the
    result as the yellow preview; Accept makes it the tumour segment, editable in the Segment Editor."""
    import numpy as np
    import SimpleITK as sitk

    from nbrisk.synthetic.phantom import make_cohort

    manifest = make_cohort(tmp_path / "c", 1, seed=11)
    row = manifest.read_text().splitlines()[1].split(",")
    _, widget = build_module_widget()
    panel, p = widget.panel, widget.panel.parameterNode
    models = [panel.ui.autosegModelComboBox.itemData(i) for i in range(prop(panel.ui.autosegModelComboBox, "count"))]
    assert models[0] == "builtin"
    assert not prop(panel.ui.autosegButton, "enabled")
    p.inputVolume = standin.util.loadVolume(str(tmp_path / "c" / row[1]))
    p.segmentation = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    p.segmentation.CreateDefaultDisplayNodes()
    assert prop(panel.ui.autosegButton, "enabled")
    panel.ui.autosegButton.click()
    assert panel.runner.wait(300_000) and panel.lastError is None, panel.lastError
    assert errors(standin) == []
    segmentation = p.segmentation.GetSegmentation()
    preview_id = segmentation.GetSegmentIdBySegmentName("NBRisk grow preview")
    assert preview_id and "Automatic" in prop(panel.ui.segmentationInfoLabel, "text")
    preview = standin.util.arrayFromSegmentBinaryLabelmap(p.segmentation, preview_id, p.inputVolume).copy() > 0
    truth = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "c" / row[2]))) > 0
    dice = 2 * np.logical_and(preview, truth).sum() / (preview.sum() + truth.sum())
    assert dice > 0.8, dice  # the built-in model on a phantom it was not trained on
    panel.ui.acceptGrowButton.click()
    assert segmentation.GetSegmentIdBySegmentName("Tumour") and not segmentation.GetSegmentIdBySegmentName(
        "NBRisk grow preview")


def test_each_placed_seed_updates_the_preview_and_the_panel_counts_them(standin, tmp_path: Path) -> None:
    """Issue 23 in Slicer: with a preview shown, placing another seed re-runs the grow (the interactive method,
    reusing the volume's cached features) and the panel says how many seeds it used."""
    import numpy as np
    import SimpleITK as sitk

    from nbrisk.synthetic.phantom import make_cohort

    manifest = make_cohort(tmp_path / "c", 1, seed=21)
    row = manifest.read_text().splitlines()[1].split(",")
    seeds_csv = (tmp_path / "c" / "seeds.csv").read_text().splitlines()[1].split(",")
    centre = [float(v) for v in seeds_csv[1:4]]  # LPS mm
    _, widget = build_module_widget()
    panel, p = widget.panel, widget.panel.parameterNode
    p.inputVolume = standin.util.loadVolume(str(tmp_path / "c" / row[1]))
    p.segmentation = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    p.segmentation.CreateDefaultDisplayNodes()
    seeds = standin.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
    seeds.AddControlPoint([-centre[0], -centre[1], centre[2]])  # LPS -> RAS
    p.tumourSeeds = seeds
    panel.onGrow()
    assert errors(standin) == [] and "1 tumour and 0 background seed(s) used" in prop(
        panel.ui.segmentationInfoLabel, "text")
    cached = panel.logic.volume_image(p.inputVolume)
    assert panel.logic.volume_image(p.inputVolume) is cached  # one image object per unchanged volume
    seeds.AddControlPoint([-centre[0] - 3.0, -centre[1], centre[2]])  # placing a point re-grows the preview
    assert errors(standin) == []
    assert "2 tumour and 0 background seed(s) used" in prop(panel.ui.segmentationInfoLabel, "text")
    preview_id = p.segmentation.GetSegmentation().GetSegmentIdBySegmentName("NBRisk grow preview")
    preview = standin.util.arrayFromSegmentBinaryLabelmap(p.segmentation, preview_id, p.inputVolume) > 0
    truth = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "c" / row[2]))) > 0
    assert 2 * np.logical_and(preview, truth).sum() / (preview.sum() + truth.sum()) > 0.8
