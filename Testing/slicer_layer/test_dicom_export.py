"""Issue 21 in Slicer: a volume loaded from the DICOM database exports the tumour as a DICOM SEG and the risk
assessment as a TID 1500 SR that reference the series (real MRML; the DICOM database is a stand-in)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from .conftest import errors

pytestmark = pytest.mark.gui


class _Database:
    """Stands in for ctkDICOMDatabase (Qt): Slicer's database maps a SOP Instance UID to its file."""

    def __init__(self, folder: Path) -> None:
        self.files = {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID): str(f)
                      for f in sorted(folder.iterdir())}

    def fileForInstance(self, uid: str) -> str:
        return self.files.get(uid, "")


def test_export_writes_seg_and_sr_of_the_loaded_series(standin, lung_dicom, tmp_path: Path, monkeypatch) -> None:
    from bundle_helpers import PRESET_NAME, PRESET_SHA, stub_features, synthetic_table, train
    from dicom_check import dciodvfy, unexpected_warnings

    from nbrisk.bundle.format import load_bundle, save_bundle
    from nbrisk.io.images import read_mask
    from nbrisk.prediction.dicom_sr import read_dicom_sr
    from nbrisk.prediction.predict import predict_features

    from .panel_helpers import build_module_widget

    x, y = synthetic_table(40, seed=3)
    path = save_bundle(tmp_path / "m.nbrisk", train(x, y, "lr"), PRESET_NAME, PRESET_SHA, training_features=x,
                       training_labels=y)
    series, label = lung_dicom["lung1"], lung_dicom["lung1_label"]
    database = _Database(series)
    monkeypatch.setattr(standin, "dicomDatabase", database, raising=False)
    _, widget = build_module_widget()
    panel, p, logic = widget.panel, widget.panel.parameterNode, widget.panel.logic
    volume = standin.util.loadVolume(str(label.with_name("lung1_image.nrrd")))
    ct = sitk.ReadImage(str(label.with_name("lung1_image.nrrd")))
    truth = read_mask(label, ct).image
    prediction = predict_features(load_bundle(path), stub_features(ct, truth), case_id="lung1").to_dict()
    with pytest.raises(Exception, match="not loaded from DICOM"):
        logic.export_dicom_results(volume, None, "Tumour", prediction, "", "", tmp_path / "x")
    uids = " ".join(str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in sorted(series.iterdir()))
    volume.SetAttribute("DICOM.instanceUIDs", uids)  # what Slicer's DICOM plugin sets on a loaded series
    segmentation = standin.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    segmentation.CreateDefaultDisplayNodes()
    segmentation.SetReferenceImageGeometryParameterFromVolumeNode(volume)
    from NBRiskLib.slicer_logic import find_or_add_segment, update_segment_from_mask

    update_segment_from_mask(truth, segmentation, find_or_add_segment(segmentation, "Tumour"), volume)
    p.inputVolume, p.segmentation = volume, segmentation
    p.lastPrediction = __import__("json").dumps(prediction)
    panel.ui.exportDicomButton.click()
    assert errors(standin) == []
    files = panel.lastDicomExport
    for f in (files["seg"], files["sr"]):
        errs, warnings, _ = dciodvfy(f)
        assert errs == [] and unexpected_warnings(warnings) == [], errs + warnings
    back = read_mask(files["seg"], ct).image
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(back), sitk.GetArrayViewFromImage(truth))
    content, _refs = read_dicom_sr(files["sr"])
    assert content.risk_score == prediction["score"] and content.risk_category == prediction["risk_category"]
    seg = pydicom.dcmread(files["seg"])
    referenced = {str(i.ReferencedSOPInstanceUID) for s in seg.ReferencedSeriesSequence
                  for i in s.ReferencedInstanceSequence}
    assert referenced and referenced <= set(database.files)
