"""The whole panel flow on generated data with the stand-in: volume -> seeds -> grow -> predict -> checklist ->
export, checking what the panel shows; saves a screenshot of the panel for review (Testing/artifacts)."""

from __future__ import annotations

import importlib.util
import unittest
from pathlib import Path

import pytest

from .conftest import ROOT, errors
from .panel_helpers import prop, save_screenshot, set_prop

pytestmark = [pytest.mark.gui]

NEEDED = {"nbrisk.segmentation.grow": "semiautomatic ROI (branch seg)",
          "nbrisk.cli.predict": "predict CLI (branch bundle)",
          "nbrisk.bundle.format": "bundles", "nbrisk.modeling": "training", "nbrisk.staging.idrf": "IDRF checklist",
          "nbrisk.cli.study": "reader study CLI", "nbrisk.reproducibility.agreement": "Dice"}


def _missing() -> list[str]:
    return [f"{name} ({what})" for name, what in NEEDED.items() if importlib.util.find_spec(name) is None]


def test_module_self_test_clears_the_scene_and_runs_the_flow(standin, monkeypatch) -> None:
    """NBRiskModuleTest.runTest (what Slicer's self-test runs) calls the shared flow on a cleared scene."""
    import NBRiskModule
    from NBRiskLib import selftest

    standin.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "leftover")
    calls = []
    monkeypatch.setattr(selftest, "run_full_flow",
                        lambda test, logic: calls.append((standin.mrmlScene.GetNumberOfNodesByClass(
                            "vtkMRMLScalarVolumeNode"), type(logic).__name__)) or {})
    NBRiskModule.NBRiskModuleTest().runTest()
    assert calls == [(0, "NBRiskModuleLogic")]


@pytest.mark.slow
def test_full_flow_shows_results_and_exports(standin, tmp_path: Path, artifacts_dir: Path) -> None:
    missing = _missing()
    if missing:
        pytest.skip("core pieces not merged yet: " + ", ".join(missing))
    from NBRiskLib import selftest
    from NBRiskModule import NBRiskModuleLogic

    case = unittest.TestCase()
    report = selftest.run_full_flow(case, NBRiskModuleLogic(), work=tmp_path)
    panel = report.pop("panel")
    assert errors(standin) == []
    ui = panel.ui
    # results shown beside the volume: labels, contributions, table node, segment colour, slice text
    assert prop(ui.riskScoreLabel, "text") == f"{report['probability']:.2f}"
    assert prop(ui.riskClassLabel, "text") == report["predicted_class"]
    assert prop(ui.contributionsTableWidget, "rowCount") > 0
    table = panel.parameterNode.resultsTable
    items = [table.GetCellText(r, 0) for r in range(table.GetNumberOfRows())]
    assert "Probability" in items
    assert table.GetCellText(items.index("Probability"), 1) == prop(ui.riskScoreLabel, "text")
    seg = panel.parameterNode.segmentation
    tumour = seg.GetSegmentation().GetSegment(seg.GetSegmentation().GetSegmentIdBySegmentName("Tumour"))
    assert tumour.GetColor() == panel.lastPredictionView.colour
    red = standin.app.layoutManager().sliceWidget("Red").overlayCornerAnnotation().GetText(3)
    assert red.startswith("NBRisk: p=")
    # checklist, stage and export
    assert prop(ui.idrfTableWidget, "rowCount") == report["idrf_rows"] >= 20
    assert report["stage"] != "-" and report["risk_group"] != "-"
    assert report["study_files"]
    assert "Exporting the blinded reader study: done." in prop(ui.statusLabel, "text")
    import qt

    ui.openReportButton.click()
    assert errors(standin) == [] and qt.QDesktopServices.opened[-1].endswith("report.html")
    shot = save_screenshot(panel.uiWidget, artifacts_dir / "panel_full_flow.png")
    assert shot.stat().st_size > 20_000
    (artifacts_dir / "full_flow_report.txt").write_text(
        "\n".join(f"{k}: {v}" for k, v in report.items()) + "\n", encoding="utf-8")
    assert ROOT.is_dir()


@pytest.mark.slow
def test_reader_study_export_import_analyze_and_report_through_the_panel(standin, tmp_path: Path) -> None:
    """Export a 3-case cohort for two readers, simulate their returned label maps, import, analyze, open."""
    import csv

    import numpy as np
    import SimpleITK as sitk

    from nbrisk.synthetic.phantom import make_cohort

    from .panel_helpers import build_module_widget

    manifest = make_cohort(tmp_path / "cohort", 3, seed=5)
    _, widget = build_module_widget()
    panel, p = widget.panel, widget.panel.parameterNode
    p.studyManifest, p.studyDirectory, p.readers = str(manifest), str(tmp_path / "study"), "R1,R2"
    panel.ui.exportStudyButton.click()
    assert panel.runner.wait(300_000) and panel.lastError is None, panel.lastError
    cases = {r["case_id"]: r for r in csv.DictReader(manifest.open())}
    key = list(csv.DictReader((tmp_path / "study" / "key" / "key.csv").open()))
    for reader, shift in (("R1", 0), ("R2", 1)):        # R2 draws one voxel off: imperfect agreement
        out = tmp_path / f"returned_{reader}"
        out.mkdir()
        for row in (r for r in key if r["reader"] == reader):
            truth = sitk.ReadImage(str(manifest.parent / cases[row["case_id"]]["mask"]))
            array = np.roll(sitk.GetArrayFromImage(truth), shift, axis=2)
            mask = sitk.GetImageFromArray(array)
            mask.CopyInformation(truth)
            sitk.WriteImage(mask, str(out / f"{row['code']}_label.nrrd"))
        p.importReader, p.importFolder = reader, str(out)
        panel.ui.importStudyButton.click()
        assert panel.runner.wait(300_000) and panel.lastError is None, panel.lastError
    set_prop(panel.ui.presetComboBox, "currentIndex", panel.ui.presetComboBox.findText("pyradiomics-default"))
    p.studyResults = str(tmp_path / "results")
    panel.ui.analyzeStudyButton.click()
    assert panel.runner.wait(600_000) and panel.lastError is None, panel.lastError
    assert "Analysing the reader study: done." in prop(panel.ui.statusLabel, "text")
    assert (tmp_path / "results").is_dir()
    panel.ui.openStudyReportButton.click()
    import qt

    assert errors(standin) == [] and qt.QDesktopServices.opened[-1].endswith(".html")
    assert prop(panel.ui.statusLabel, "text").startswith("Opened ")
    log = prop(panel.ui.studyLogTextEdit, "plainText")
    assert "$ nbrisk study analyze" in log
