"""The panel built through NBRiskModule.py on the PySide6 stand-in: setup, binding, states, restore, reload."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import errors
from .panel_helpers import build_module_widget, prediction_json, save_screenshot, small_volume

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
    presets = [panel.ui.presetComboBox.itemText(i) for i in range(panel.ui.presetComboBox.count())]
    assert "jia2023-mri" in presets and "kim2024-mri-2d" in presets
    histology = [panel.ui.histologyComboBox.itemText(i) for i in range(panel.ui.histologyComboBox.count())]
    assert histology[0] == "unknown" and "neuroblastoma" in histology
    assert panel.ui.idrfTableWidget.rowCount() == 0


def test_widgets_and_parameter_node_stay_in_sync(standin, tmp_path: Path) -> None:
    _, widget = build_module_widget()
    panel = widget.panel
    p = panel.parameterNode
    volume = small_volume(standin, tmp_path)
    p.inputVolume = volume
    assert panel.ui.inputVolumeSelector.currentNode() is volume
    panel.ui.tumourSegmentNameLineEdit.setText("Mass")
    assert p.tumourSegmentName == "Mass"
    panel.ui.largestSlice2DCheckBox.setChecked(True)
    assert p.largestSlice2D is True
    panel.ui.bundlePathLineEdit.setCurrentPath(str(tmp_path / "model.nbrisk"))
    assert p.bundlePath == tmp_path / "model.nbrisk"
    p.readers = "A,B,C"
    assert panel.ui.readersLineEdit.text() == "A,B,C"


def test_buttons_enable_only_when_their_inputs_exist(standin, tmp_path: Path) -> None:
    _, widget = build_module_widget()
    panel, p = widget.panel, widget.panel.parameterNode
    assert not panel.ui.growButton.isEnabled() and not panel.ui.predictButton.isEnabled()
    p.inputVolume = small_volume(standin, tmp_path)
    p.segmentation = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    assert not panel.ui.growButton.isEnabled()
    p.tumourSeeds = standin.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
    assert panel.ui.growButton.isEnabled()
    assert not panel.ui.predictButton.isEnabled()
    p.bundlePath = tmp_path / "model.nbrisk"
    assert panel.ui.predictButton.isEnabled() and panel.ui.loadBundleButton.isEnabled()
    assert not panel.ui.exportStudyButton.isEnabled()
    p.studyDirectory = tmp_path / "study"
    assert panel.ui.exportStudyButton.isEnabled()


def test_user_errors_show_the_core_one_line_message(standin, tmp_path: Path) -> None:
    _, widget = build_module_widget()
    panel, p = widget.panel, widget.panel.parameterNode
    p.inputVolume = small_volume(standin, tmp_path)
    p.segmentation = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    p.tumourSeeds = standin.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "seeds")
    panel.onGrow()
    assert errors(standin) == ["Growing the tumour failed: No tumour seeds: place at least one point inside the "
                               "tumour."]
    assert panel.ui.statusLabel.text() == errors(standin)[0]
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
        text = panel.ui.segmentationInfoLabel.text()
        assert text.startswith("Tumour: 8.0 ml on 10 slice(s)")
        assert (f"Check: {note}" in text) is shown
        assert ("check the warning" in panel.ui.statusLabel.text()) is shown


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
    assert standin.util.pip_installed == [["nbrisk-surely-not-installed>=1"]]


def test_saved_scene_restores_the_last_results(standin, tmp_path: Path) -> None:
    _, first = build_module_widget()
    first.panel.parameterNode.lastPrediction = prediction_json()
    first.cleanup()
    _, second = build_module_widget()                       # same scene, new panel (scene reopened)
    ui = second.panel.ui
    assert ui.riskScoreLabel.text() == "0.73"
    assert ui.riskClassLabel.text() == "1" and ui.riskCategoryLabel.text() == "high"
    assert ui.contributionsTableWidget.rowCount() == 1
    assert ui.contributionsTableWidget.item(0, 0).text() == "original_firstorder_Mean"
    assert "training range" in ui.warningsLabel.text()


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
    p.inputVolume, p.segmentation, p.bundlePath = volume, seg, tmp_path / "m.nbrisk"
    panel.ui.loadBundleButton.click()
    card_text = panel.ui.modelCardTextBrowser.toPlainText()
    assert card_text.startswith("Use: Research use only") and "Recipe: zhang2026-combined" in card_text
    assert p.preset == "zhang2026-ct" and panel.ui.presetComboBox.currentText() == "zhang2026-ct"
    form = panel.ui.clinicalInputsGroupBox.layout()
    assert form.rowCount() == 2
    ferritin = panel.uiWidget.findChild(type(panel.ui.readersLineEdit), "clinical_ferritin")
    assert ferritin.placeholderText() == "float 0-2000 ng/mL"
    ferritin.setText("310")
    nse = panel._clinicalEditors["nse_high"]
    nse.setCurrentIndex(nse.findText("yes"))
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


def test_opening_the_module_imports_no_optional_heavy_package(standin) -> None:
    """Module load and setup must work before the Python packages are installed (they are asked for later)."""
    import subprocess
    import textwrap

    from .conftest import MODULE_DIR, STANDIN_DIR

    code = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(STANDIN_DIR)!r}, {str(MODULE_DIR)!r}]
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from types import SimpleNamespace
        import NBRiskModule
        NBRiskModule.NBRiskModule(SimpleNamespace(path=NBRiskModule.__file__))
        NBRiskModule.NBRiskModuleWidget()
        heavy = ("radiomics", "sklearn", "skops", "imblearn", "pandas", "pywt", "matplotlib", "lifelines")
        print(sorted(m for m in heavy if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
