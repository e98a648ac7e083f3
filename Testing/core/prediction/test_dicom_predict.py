"""`nbrisk predict --dicom-sr`: a DICOM CT series in, a SEG and a TID 1500 SR out that dciodvfy accepts
and that read back to the prediction's values (pyradiomics' lung2 CT as DICOM)."""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from bundle_helpers import PRESET_NAME, PRESET_SHA, install_stub_extraction, synthetic_table, train
from dicom_check import dciodvfy, unexpected_warnings
from nbrisk.bundle.format import save_bundle
from nbrisk.cli import main
from nbrisk.io.images import read_image, read_mask
from nbrisk.prediction.dicom_sr import read_dicom_sr
from nbrisk.staging.idrf import Checklist


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    x, y = synthetic_table()
    return save_bundle(
        tmp_path_factory.mktemp("m") / "dicom.nbrisk",
        train(x, y),
        PRESET_NAME,
        PRESET_SHA,
        training_features=x,
        training_labels=y,
        synthetic=True,
    )


@pytest.fixture
def staging_inputs(tmp_path, capsys):
    cl = Checklist.new("NB-DICOM", reader="reader A")
    cl.set(cl.idrf_ids[0], "present")
    cl.set(cl.idrf_ids[1], "absent")
    cl.set(cl.idrf_ids[2], "not_assessable")
    idrf = tmp_path / "checklist.json"
    idrf.write_text(json.dumps(cl.to_dict()), encoding="utf-8")
    assert (
        main(
            [
                "inrg",
                "--stage",
                "L2",
                "--age-months",
                "20",
                "--histology",
                "neuroblastoma",
                "--grade",
                "poorly_differentiated",
                "--mycn",
                "not_amplified",
                "--11q",
                "absent",
                "--ploidy",
                "hyperdiploid",
                "--json",
            ]
        )
        == 0
    )
    inrg = tmp_path / "inrg.json"
    inrg.write_text(capsys.readouterr().out, encoding="utf-8")
    return idrf, inrg, cl


def test_predict_writes_seg_and_sr_that_read_back(
    bundle, lung_dicom, staging_inputs, monkeypatch, tmp_path, capsys
):
    install_stub_extraction(monkeypatch)
    idrf, inrg, cl = staging_inputs
    folder, label = lung_dicom["lung2"], lung_dicom["lung2_label"]
    out = tmp_path / "pred"
    args = [
        "predict",
        "--model",
        str(bundle),
        "--image",
        str(folder),
        "--mask",
        str(label),
        "--out",
        str(out),
        "--idrf",
        str(idrf),
        "--inrg",
        str(inrg),
        "--no-pdf",
        "--dicom-sr",
        str(tmp_path / "report.dcm"),
        "--sr-features",
        "model",
        "--seg-algorithm-type",
        "SEMIAUTOMATIC",
    ]
    assert main(args) == 0
    stdout = capsys.readouterr().out
    assert f"wrote {tmp_path / 'report.dcm'}" in stdout and f"wrote {tmp_path / 'report_seg.dcm'}" in stdout
    pred = json.loads((out / "prediction.json").read_text(encoding="utf-8"))
    for name in ("report.dcm", "report_seg.dcm"):
        errors, warnings, _ = dciodvfy(tmp_path / name)
        assert errors == [] and unexpected_warnings(warnings) == [], errors + warnings
    content, refs = read_dicom_sr(tmp_path / "report.dcm")
    assert content.risk_score == pred["score"] and content.predicted_class == str(pred["predicted_class"])
    assert content.risk_category == pred["risk_category"]
    assert content.model_sha256 == pred["model"]["file_sha256"] and content.model_name == "test_recipe"
    assert content.model_version == pred["model"]["created"]
    image = read_image(folder)
    mask = read_mask(label, image)
    assert content.volume_ml == pytest.approx(
        mask.voxel_count * np.prod(image.GetSpacing()) / 1000, rel=1e-12
    )
    assert content.features == {k: v for k, v in pred["inputs"].items()}  # the model's 6 radiomics inputs
    assert content.idrf == {row["id"]: row["status"] for row in cl.to_dict()["idrf"]}
    assert list(content.idrf.values())[:3] == ["present", "absent", "not_assessable"]
    inrg_json = json.loads(inrg.read_text(encoding="utf-8"))
    assert (content.inrgss_stage, content.inrg_risk_group, content.inrg_group) == (
        "L2",
        inrg_json["risk"]["risk_group"],
        inrg_json["risk"]["group"],
    ) and content.inrg_group
    seg = pydicom.dcmread(str(tmp_path / "report_seg.dcm"))
    assert refs.seg_sop_instance_uid == seg.SOPInstanceUID
    assert seg.SegmentSequence[0].SegmentAlgorithmType == "SEMIAUTOMATIC"
    ct = pydicom.dcmread(str(sorted(folder.glob("*.dcm"))[0]), stop_before_pixels=True)
    assert refs.source_series_uid == ct.SeriesInstanceUID and refs.study_instance_uid == ct.StudyInstanceUID
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(read_mask(tmp_path / "report_seg.dcm", image).image),
        sitk.GetArrayViewFromImage(mask.image),
    )

    # the SEG as the mask: the SR references it as it is (no second SEG)
    assert (
        main(
            [
                *args[:6],
                str(tmp_path / "report_seg.dcm"),
                "--out",
                str(tmp_path / "p2"),
                "--no-pdf",
                "--dicom-sr",
                str(tmp_path / "again.dcm"),
            ]
        )
        == 0
    )
    assert read_dicom_sr(tmp_path / "again.dcm")[1].seg_sop_instance_uid == seg.SOPInstanceUID
    assert not (tmp_path / "again_seg.dcm").exists()


def test_predict_refuses_an_sr_for_a_non_dicom_image_before_any_work(
    bundle, lung_dicom, monkeypatch, tmp_path, capsys
):
    install_stub_extraction(monkeypatch)
    label = lung_dicom["lung1_label"]
    image = str(label).replace("_label", "_image")
    out = tmp_path / "pred"
    base = [
        "predict",
        "--model",
        str(bundle),
        "--image",
        image,
        "--mask",
        str(label),
        "--out",
        str(out),
        "--no-pdf",
    ]
    assert main([*base, "--dicom-sr", str(tmp_path / "sr.dcm")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a DICOM series" in err and "--new-dicom-references" in err
    assert not out.exists() and not (tmp_path / "sr.dcm").exists()
    assert main([*base, "--sr-features", "model"]) == 2
    assert "needs --dicom-sr" in capsys.readouterr().err
    bad = tmp_path / "checklist.json"
    rows = [{"id": "intraspinal_extension", "status": "maybe"}]
    bad.write_text(json.dumps({"idrf": rows}), encoding="utf-8")
    dicom = [
        *base[:4],
        str(lung_dicom["lung1"]),
        *base[5:],
        "--dicom-sr",
        str(tmp_path / "sr.dcm"),
        "--idrf",
        str(bad),
    ]
    assert main(dicom) == 2
    err = capsys.readouterr().err.strip()
    assert "status 'maybe'" in err and len(err.splitlines()) == 1
    assert not out.exists() and not (tmp_path / "sr.dcm").exists()
    assert main([*base, "--dicom-sr", str(tmp_path / "sr.dcm"), "--new-dicom-references"]) == 0
    errors, warnings, _ = dciodvfy(tmp_path / "sr.dcm")
    assert errors == [] and all("PatientID" in w for w in unexpected_warnings(warnings)), errors + warnings
