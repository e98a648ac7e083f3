"""Image/mask reading, geometry checks and every bad-input error (one line, names the file)."""

from __future__ import annotations

import re
from pathlib import Path

import nrrd
import numpy as np
import pytest
import SimpleITK as sitk

from nbrisk.cli import main
from nbrisk.errors import InputError, InputGeometryError
from nbrisk.io.images import load_case, read_image, read_mask
from nbrisk.synthetic.phantom import PhantomSpec, make_phantom


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(PhantomSpec(size=(40, 36, 12), spacing=(1.2, 1.2, 3.0), tumour_radius_mm=(8, 7, 9),
                                    tumour_offset_mm=(4, 0, 0), origin=(-24.0, -21.6, -18.0)), seed=3)


def _write(img: sitk.Image, path: Path) -> Path:
    sitk.WriteImage(img, str(path))
    return path


def write_dicom_series(img: sitk.Image, folder: Path, skip: int | None = None, z_jitter: dict | None = None) -> Path:
    """Write an int16 volume as a CT DICOM series with proper position/orientation tags."""
    from nbrisk.io.images import keep_locale

    with keep_locale():
        return _write_dicom_series(img, folder, skip, z_jitter)


def _write_dicom_series(img: sitk.Image, folder: Path, skip: int | None, z_jitter: dict | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    img = sitk.Cast(img, sitk.sitkInt16)
    w = sitk.ImageFileWriter()
    w.KeepOriginalImageUIDOn()
    series_uid = "1.2.826.0.1.3680043.8.498.12345"
    direction = img.GetDirection()
    for k in range(img.GetDepth()):
        if k == skip:
            continue
        sl = img[:, :, k]
        pos = list(img.TransformIndexToPhysicalPoint((0, 0, k)))
        if z_jitter and k in z_jitter:
            pos[2] += z_jitter[k]
        tags = {
            "0008|0060": "CT", "0008|0016": "1.2.840.10008.5.1.4.1.1.2",
            "0008|0018": f"{series_uid}.{k + 1}", "0020|000e": series_uid, "0020|000d": series_uid + ".1",
            "0010|0010": "Phantom^Test", "0010|0020": "PID123", "0020|0013": str(k + 1),
            "0020|0032": "\\".join(f"{v:.6f}" for v in pos),
            "0020|0037": "\\".join(f"{v:.6f}" for v in (direction[0], direction[3], direction[6],
                                                        direction[1], direction[4], direction[7])),
            "0018|0050": f"{img.GetSpacing()[2]:.4f}", "0020|0052": series_uid + ".9",
            "0028|1052": "0", "0028|1053": "1",
        }
        for t, v in tags.items():
            sl.SetMetaData(t, v)
        w.SetFileName(str(folder / f"slice{k:03d}.dcm"))
        w.Execute(sl)
    return folder


def test_formats_roundtrip(tmp_path: Path, phantom) -> None:
    ref = sitk.GetArrayFromImage(phantom.image)
    for suffix in (".nrrd", ".nii.gz", ".nii", ".mha"):
        p = _write(phantom.image, tmp_path / f"img{suffix}")
        img = read_image(p)
        np.testing.assert_array_equal(sitk.GetArrayFromImage(img), ref)
        np.testing.assert_allclose(img.GetSpacing(), phantom.image.GetSpacing(), rtol=1e-6)
        np.testing.assert_allclose(img.GetOrigin(), phantom.image.GetOrigin(), atol=1e-4)


def test_dicom_series_sorted_and_checked(tmp_path: Path, phantom) -> None:
    import locale

    folder = write_dicom_series(phantom.image, tmp_path / "series")
    before = locale.setlocale(locale.LC_CTYPE)
    img = read_image(folder)
    assert locale.setlocale(locale.LC_CTYPE) == before  # GDCM's switch to the "C" locale is undone
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), sitk.GetArrayFromImage(phantom.image))
    np.testing.assert_allclose(img.GetSpacing(), phantom.image.GetSpacing(), rtol=1e-4)
    np.testing.assert_allclose(img.GetOrigin(), phantom.image.GetOrigin(), atol=1e-3)
    gap = write_dicom_series(phantom.image, tmp_path / "gap", skip=5)
    with pytest.raises(InputError, match="missing slice"):
        read_image(gap)
    uneven = write_dicom_series(phantom.image, tmp_path / "uneven", z_jitter={6: 0.8})
    with pytest.raises(InputError, match="uneven slice spacing"):
        read_image(uneven)


def _write_seg_nrrd(path: Path, arr_xyz: np.ndarray, segments: list[tuple[str, int, int]], spacing, origin,
                    space: str = "left-posterior-superior") -> Path:
    hdr = {"space": space, "space origin": np.array(origin, float), "kinds": ["domain"] * 3,
           "space directions": np.diag(spacing).astype(float)}
    if arr_xyz.ndim == 4:
        hdr["kinds"] = ["list", "domain", "domain", "domain"]
        hdr["space directions"] = np.vstack([np.full(3, np.nan), np.diag(spacing)])
    for i, (name, value, layer) in enumerate(segments):
        hdr[f"Segment{i}_ID"] = f"Segment_{i + 1}"
        hdr[f"Segment{i}_Name"] = name
        hdr[f"Segment{i}_LabelValue"] = str(value)
        hdr[f"Segment{i}_Layer"] = str(layer)
    nrrd.write(str(path), arr_xyz, hdr)
    return path


def test_slicer_seg_nrrd_by_name_label_subextent_and_layers(tmp_path: Path, phantom) -> None:
    truth = sitk.GetArrayFromImage(phantom.tumour)  # z, y, x
    sp, org = phantom.image.GetSpacing(), phantom.image.GetOrigin()
    other = np.zeros_like(truth)
    other[2:4, 2:5, 2:6] = 1
    lab = (truth * 1 + other * 2).astype(np.uint8)
    p = _write_seg_nrrd(tmp_path / "a.seg.nrrd", lab.transpose(2, 1, 0), [("Tumor", 1, 0), ("Kidney", 2, 0)], sp, org)
    m = read_mask(p, phantom.image, segment="tumor")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(m.image), truth)
    assert m.segment_name == "Tumor"
    m2 = read_mask(p, phantom.image, label=2)
    assert m2.voxel_count == int(other.sum())
    with pytest.raises(InputError, match="choose one with --segment"):
        read_mask(p, phantom.image)
    # Slicer's default: saved on the extent of the segments only (same grid, shifted origin)
    zz, yy, xx = np.nonzero(lab)
    sub = lab[zz.min():zz.max() + 1, yy.min():yy.max() + 1, xx.min():xx.max() + 1]
    sub_origin = phantom.image.TransformIndexToPhysicalPoint((int(xx.min()), int(yy.min()), int(zz.min())))
    p2 = _write_seg_nrrd(tmp_path / "b.seg.nrrd", sub.transpose(2, 1, 0), [("Tumor", 1, 0), ("Kidney", 2, 0)],
                         sp, sub_origin)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_mask(p2, phantom.image, segment="Tumor").image), truth)
    # RAS header: flip x/y of origin and directions
    ras_origin = (-org[0], -org[1], org[2])
    p3 = tmp_path / "ras.seg.nrrd"
    hdr_dirs = np.diag([-sp[0], -sp[1], sp[2]])
    header = {"space": "right-anterior-superior", "space origin": np.array(ras_origin),
              "space directions": hdr_dirs, "kinds": ["domain"] * 3,
              "Segment0_ID": "s1", "Segment0_Name": "Tumor", "Segment0_LabelValue": "1", "Segment0_Layer": "0"}
    nrrd.write(str(p3), lab.transpose(2, 1, 0), header)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_mask(p3, phantom.image).image), truth)
    # overlapping segments -> two layers (4-D file)
    layers = np.stack([truth.transpose(2, 1, 0), (truth | other).transpose(2, 1, 0)]).astype(np.uint8)
    p4 = _write_seg_nrrd(tmp_path / "c.seg.nrrd", layers, [("Tumor", 1, 0), ("Big", 1, 1)], sp, org)
    assert read_mask(p4, phantom.image, segment="Big").voxel_count == int((truth | other).sum())
    assert read_mask(p4, phantom.image, segment="Tumor").voxel_count == int(truth.sum())


def test_dicom_seg_roundtrip(tmp_path: Path, phantom) -> None:
    import highdicom as hd
    import pydicom
    from pydicom.sr.codedict import codes

    folder = write_dicom_series(phantom.image, tmp_path / "series")
    sources = sorted((pydicom.dcmread(f) for f in folder.glob("*.dcm")), key=lambda d: int(d.InstanceNumber))
    truth = sitk.GetArrayFromImage(phantom.tumour).astype(bool)
    desc = hd.seg.SegmentDescription(
        segment_number=1, segment_label="Tumour", segmented_property_category=codes.SCT.Tissue,
        segmented_property_type=codes.SCT.Neoplasm, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=truth, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[desc], series_instance_uid=hd.UID(), series_number=2, sop_instance_uid=hd.UID(),
        instance_number=1, manufacturer="NBRisk", manufacturer_model_name="test", software_versions="0",
        device_serial_number="1")
    seg.save_as(tmp_path / "seg.dcm")
    img = read_image(folder)
    m = read_mask(tmp_path / "seg.dcm", img, reference_path=folder)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(m.image).astype(bool), truth)
    assert m.segment_name == "Tumour"
    # against the image's header grid alone (what extraction's block read uses): the same mask
    from nbrisk.io.images import Grid

    g = read_mask(tmp_path / "seg.dcm", Grid.of(img), reference_path=folder)
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(g.image), sitk.GetArrayViewFromImage(m.image))
    assert Grid.of(g.image) == Grid.of(m.image)


@pytest.fixture
def case_files(tmp_path: Path, phantom) -> tuple[Path, Path]:
    return _write(phantom.image, tmp_path / "img.nrrd"), _write(phantom.tumour, tmp_path / "mask.nrrd")


def _cli_error(capsys, argv: list[str], *needles: str) -> str:
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    err = "\n".join(ln for ln in err.splitlines() if not re.match(r"nbrisk \S+ \[\d+/\d+\] ", ln))  # progress
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err
    return err


@pytest.mark.parametrize("problem", ["empty", "absent", "one_voxel", "nonint", "truncated", "nan", "4d",
                                     "missing", "geometry"])
def test_bad_inputs_give_one_line_errors_and_no_output(tmp_path: Path, phantom, capsys, problem: str) -> None:
    img_p = _write(phantom.image, tmp_path / "img.nrrd")
    mask_p = tmp_path / "bad_mask.nrrd"
    arr = sitk.GetArrayFromImage(phantom.tumour)
    needle = "bad_mask.nrrd"
    if problem == "empty":
        m = sitk.GetImageFromArray(np.zeros_like(arr))
        expect = "empty"
    elif problem == "absent":
        m = sitk.GetImageFromArray(arr * 3)
        expect = "label 1 is absent"
    elif problem == "one_voxel":
        one = np.zeros_like(arr)
        one[5, 10, 10] = 1
        m = sitk.GetImageFromArray(one)
        expect = "single voxel"
    elif problem == "nonint":
        m = sitk.GetImageFromArray(arr.astype(np.float32) * 0.5)
        expect = "non-integer"
    elif problem == "geometry":
        m = sitk.GetImageFromArray(arr)
        m.SetSpacing((1.0, 1.0, 1.0))
        expect = "spacing differs"
    if problem in ("empty", "absent", "one_voxel", "nonint"):
        m.CopyInformation(phantom.tumour)
    if problem in ("empty", "absent", "one_voxel", "nonint", "geometry"):
        _write(m, mask_p)
    argv_label = ["--label", "1"] if problem == "absent" else []
    if problem == "truncated":
        _write(phantom.tumour, mask_p)
        data = mask_p.read_bytes()
        mask_p.write_bytes(data[: len(data) // 2])
        expect = "cannot read"
    if problem == "missing":
        expect = "not found"
    if problem == "nan":
        a = sitk.GetArrayFromImage(phantom.image).astype(np.float32)
        a[tuple(np.argwhere(arr > 0)[0])] = np.nan  # inside the ROI: extraction reads only the ROI's block
        nan_img = sitk.GetImageFromArray(a)
        nan_img.CopyInformation(phantom.image)
        img_p = _write(nan_img, tmp_path / "nan_img.nrrd")
        _write(phantom.tumour, mask_p)
        needle, expect = "nan_img.nrrd", "NaN"
    if problem == "4d":
        vol = sitk.JoinSeries([sitk.Cast(phantom.image, sitk.sitkFloat32)] * 2)
        img_p = _write(vol, tmp_path / "four_d.nrrd")
        _write(phantom.tumour, mask_p)
        needle, expect = "four_d.nrrd", "4-D"
    out = tmp_path / "out" / "f.csv"
    _cli_error(capsys, ["extract", "--image", str(img_p), "--mask", str(mask_p), *argv_label,
                        "--preset", "pyradiomics-default", "--out", str(out)], needle, expect)
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_geometry_error_names_both_files_and_resample_option(tmp_path: Path, phantom, capsys) -> None:
    img_p = _write(phantom.image, tmp_path / "img.nrrd")
    shifted = sitk.Image(phantom.tumour)
    shifted.SetOrigin(tuple(o + 0.4 for o in phantom.tumour.GetOrigin()))
    mask_p = _write(shifted, tmp_path / "shifted.nrrd")
    with pytest.raises(InputGeometryError, match=r"shifted\.nrrd.*img\.nrrd: origin differs"):
        load_case(img_p, mask_p)
    _cli_error(capsys, ["extract", "--image", str(img_p), "--mask", str(mask_p), "--preset", "pyradiomics-default",
                        "--out", str(tmp_path / "f.csv")], "--resample-mask", "origin differs")
    assert not (tmp_path / "f.csv").exists()
    rc = main(["extract", "--image", str(img_p), "--mask", str(mask_p), "--resample-mask", "--preset",
               "pyradiomics-default", "--out", str(tmp_path / "f.csv")])
    assert rc == 0 and (tmp_path / "f.csv").exists()


def test_label_selection_and_unknown_preset(case_files, tmp_path: Path, phantom, capsys) -> None:
    img_p, _ = case_files
    multi = sitk.GetImageFromArray(sitk.GetArrayFromImage(phantom.structures))
    multi.CopyInformation(phantom.structures)
    mp = _write(multi, tmp_path / "structures.nrrd")
    m = read_mask(mp, phantom.image, label=2)
    assert m.voxel_count == int((sitk.GetArrayFromImage(phantom.structures) == 2).sum())
    _cli_error(capsys, ["extract", "--image", str(img_p), "--mask", str(mp), "--label", "99", "--preset",
                        "pyradiomics-default", "--out", str(tmp_path / "f.csv")], "label 99 is absent")
    _cli_error(capsys, ["extract", "--image", str(img_p), "--mask", str(mp), "--label", "1", "--preset",
                        "no-such-preset", "--out", str(tmp_path / "f.csv")], "unknown preset", "jia2023-mri")
