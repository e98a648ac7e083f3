"""Reader study: blinded export, import checks, ROI perturbation and the full analyse round trip."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from nbrisk.cli import main
from nbrisk.errors import InputError
from nbrisk.reproducibility.perturb import Perturbation, perturb_mask, pseudo_reader_masks, write_pseudo_readers
from nbrisk.reproducibility.study import Study, export_study, sha256_file
from nbrisk.reproducibility.study_import import import_reader

SMALL_PRESET = """\
pyradiomics:
  imageType: {Original: {}}
  featureClass: {shape: , firstorder: }
  setting: {binWidth: 25, label: 1}
"""


# ------------------------------------------------------------------------------------------ helpers
def write_slicer_seg(mask: sitk.Image, path: Path, name: str = "tumour", crop: bool = True) -> Path:
    """Write a Slicer-style .seg.nrrd (one segment, optionally cropped to the ROI like Slicer does)."""
    import nrrd

    arr = sitk.GetArrayFromImage(mask).astype(np.uint8)
    origin = np.array(mask.GetOrigin())
    if crop:
        nz = np.argwhere(arr)
        lo, hi = nz.min(axis=0), nz.max(axis=0) + 1
        arr = arr[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        origin = np.array(mask.TransformIndexToPhysicalPoint([int(v) for v in lo[::-1]]))
    header = {
        "type": "unsigned char",
        "dimension": 3,
        "space": "left-posterior-superior",
        "space directions": np.diag(mask.GetSpacing()),
        "kinds": ["domain"] * 3,
        "encoding": "gzip",
        "space origin": origin,
        "Segment0_ID": "Segment_1",
        "Segment0_Name": name,
        "Segment0_LabelValue": "1",
        "Segment0_Layer": "0",
    }
    nrrd.write(str(path), np.ascontiguousarray(arr), header, index_order="C")
    return path


def volume(m: sitk.Image) -> int:
    return int(np.count_nonzero(sitk.GetArrayViewFromImage(m)))


def truth(cohort: Path, case_id: str) -> sitk.Image:
    return sitk.ReadImage(str(cohort / f"{case_id}_mask.nrrd"))


def key_rows(study: Path) -> list[dict]:
    with open(study / "key" / "key.csv", newline="") as fh:
        return list(csv.DictReader(fh))


# Simulated readers: (reader, pass) -> (ROI change of the true tumour, file format)
READERS = {
    ("R1", "1"): ("dilate:1", "seg"),
    ("R1", "2"): ("original", "nii"),
    ("R2", "1"): ("erode:1", "nrrd"),
    ("R2", "2"): ("volume:+10", "seg"),
}


def simulate_reader(study: Path, cohort: Path, reader: str, out: Path) -> Path:
    """Fill ``out`` like a reader would: one segmentation per code, in the formats of READERS."""
    for row in key_rows(study):
        if row["reader"] != reader:
            continue
        change, fmt = READERS[(reader, row["pass"])]
        mask = perturb_mask(truth(cohort, row["case_id"]), change)
        folder = out / f"pass{row['pass']}" / "segmentations"
        folder.mkdir(parents=True, exist_ok=True)
        if fmt == "seg":
            write_slicer_seg(mask, folder / f"{row['code']} segmentation.seg.nrrd")
        elif fmt == "nii":
            sitk.WriteImage(mask, str(folder / f"{row['code']}_label.nii.gz"))
        else:
            sitk.WriteImage(mask, str(folder / f"{row['code']}.nrrd"), True)
    return out


@pytest.fixture(scope="module")
def exported(phantom_cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    study = tmp_path_factory.mktemp("study") / "S"
    rc = main(
        [
            "study",
            "export",
            "--manifest",
            str(phantom_cohort),
            "--readers",
            "R1,R2",
            "--repeats",
            "2",
            "--out",
            str(study),
            "--seed",
            "5",
        ]
    )
    assert rc == 0
    return study


# --------------------------------------------------------------------------------------- perturbation
def test_perturbations_have_the_intended_geometry(phantom_cohort: Path) -> None:
    m = truth(phantom_cohort.parent, "case001")
    v = volume(m)
    arr = sitk.GetArrayFromImage(m).astype(bool)
    assert volume(perturb_mask(m, "volume:+10")) == round(1.1 * v)
    assert volume(perturb_mask(m, "volume:-10")) == round(0.9 * v)
    dil, ero = (sitk.GetArrayFromImage(perturb_mask(m, s)).astype(bool) for s in ("dilate:1", "erode:1"))
    assert (dil >= arr).all() and dil.sum() > v  # grows, keeps every voxel
    assert (ero <= arr).all() and 0 < ero.sum() < v
    # 1 mm in plane = one voxel (spacing 1x1x2): the through-plane neighbours (2 mm) are not added
    from scipy import ndimage

    cross = ndimage.generate_binary_structure(3, 1)
    cross[0, 1, 1] = cross[2, 1, 1] = False
    assert (dil == ndimage.binary_dilation(arr, cross)).all()
    shifted = sitk.GetArrayFromImage(perturb_mask(m, "shift:2,0,4")).astype(bool)  # x +2 voxels, z +2 voxels
    assert (shifted[2:, :, 2:] == arr[:-2, :, :-2]).all()
    masks = pseudo_reader_masks(m)
    assert list(masks) == ["original", "volume_-10pct", "volume_+10pct", "shift_1_1_0mm"]
    assert Perturbation.parse("dilate:1.5").name == "dilate_1.5mm"
    for bad in ("grow:1", "dilate:x", "shift:1,2", "erode:-1"):
        with pytest.raises(InputError):
            Perturbation.parse(bad)
    with pytest.raises(InputError, match="removes the whole ROI"):
        perturb_mask(m, "erode:40")


def test_write_pseudo_readers_manifest(phantom_cohort: Path, tmp_path: Path) -> None:
    cohort = phantom_cohort.parent
    cases = [(c, cohort / f"{c}_image.nrrd", cohort / f"{c}_mask.nrrd") for c in ("case001", "case002")]
    manifest = write_pseudo_readers(cases, tmp_path / "pseudo", ["erode:1", "volume:+10"])
    rows = pd.read_csv(manifest)
    assert rows[["case_id", "reader"]].to_numpy().tolist() == [
        ["case001", "original"],
        ["case001", "erode_1mm"],
        ["case001", "volume_+10pct"],
        ["case002", "original"],
        ["case002", "erode_1mm"],
        ["case002", "volume_+10pct"],
    ]
    specs = {"original": "original", "erode_1mm": "erode:1", "volume_+10pct": "volume:+10"}
    for row in rows.itertuples():
        expected = perturb_mask(truth(cohort, row.case_id), specs[row.reader])
        got = sitk.ReadImage(row.mask)
        assert np.array_equal(sitk.GetArrayFromImage(got), sitk.GetArrayFromImage(expected))
        assert Path(row.image) == (cohort / f"{row.case_id}_image.nrrd").resolve()


def test_cli_study_perturb_writes_a_pseudo_reader_manifest(
    phantom_cohort: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "pseudo"
    rc = main(
        ["study", "perturb", "--manifest", str(phantom_cohort), "--out", str(out), "--perturb", "dilate:1"]
    )
    assert rc == 0
    rows = pd.read_csv(out / "manifest.csv")
    assert len(rows) == 16
    assert sorted(set(rows["reader"])) == ["dilate_1mm", "original"]
    assert "wrote 16 pseudo-reader masks for 8 cases" in capsys.readouterr().out
    rc = main(["study", "perturb", "--manifest", str(phantom_cohort), "--out", str(out)])
    assert rc == 2
    assert "already exists" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- export
def test_export_is_blinded_checksummed_and_never_overwritten(
    exported: Path, phantom_cohort: Path, capsys
) -> None:
    study = Study.open(exported)
    assert study.info["readers"] == ["R1", "R2"]
    assert study.info["repeats"] == 2
    case_ids = [f"case{i:03d}" for i in range(1, 9)]
    reader_files = [p for p in (exported / "readers").rglob("*") if p.is_file()]
    assert len(reader_files) == 4 * (8 + 3)  # 4 packages: 8 images + manifest, SHA256SUMS, README
    for p in reader_files:  # no case id (nor the source file names) in names or contents
        blob = p.read_bytes()
        for cid in case_ids:
            assert cid.encode() not in blob, p
            assert cid not in str(p.relative_to(exported))
    codes: dict[tuple[str, str], list[str]] = {}
    cases_in_order: dict[tuple[str, str], list[str]] = {}
    for r in key_rows(exported):  # sorted by reader, pass, order
        codes.setdefault((r["reader"], r["pass"]), []).append(r["code"])
        cases_in_order.setdefault((r["reader"], r["pass"]), []).append(r["case_id"])
    all_codes = [c for cs in codes.values() for c in cs]
    assert len(set(all_codes)) == 32  # every (reader, pass, case) has its own code
    orders = cases_in_order
    assert orders[("R1", "1")] != orders[("R1", "2")]  # the repeat is in another order
    for rp, cs in codes.items():
        folder = exported / "readers" / rp[0] / f"pass{rp[1]}"
        sums = dict(line.split("  ")[::-1] for line in (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines())
        assert len(sums) == 8
        for name, digest in sums.items():
            assert sha256_file(folder / name) == digest
        # images keep voxels and geometry of the source exactly
        row = next(r for r in key_rows(exported) if r["code"] == cs[0])
        src = sitk.ReadImage(str(phantom_cohort.parent / f"{row['case_id']}_image.nrrd"))
        out = sitk.ReadImage(str(folder / "images" / f"{cs[0]}.nrrd"))
        assert np.array_equal(sitk.GetArrayFromImage(src), sitk.GetArrayFromImage(out))
        assert out.GetSpacing() == src.GetSpacing() and out.GetOrigin() == src.GetOrigin()
        header = (folder / "images" / f"{cs[0]}.nrrd").read_bytes().split(b"\n\n")[0].decode().splitlines()
        fields = {re.split(r":=?", line)[0] for line in header[1:] if not line.startswith("#")}
        assert fields == {
            "type",
            "dimension",
            "space",
            "sizes",
            "space directions",
            "kinds",
            "endian",
            "encoding",
            "space origin",
            "nbrisk_code",
        }
    digests = [r["image_sha256"] for r in key_rows(exported)]
    assert len(set(digests)) == 32  # the same case has a different checksum in every package
    before = sorted(p.relative_to(exported) for p in exported.rglob("*"))
    rc = main(
        ["study", "export", "--manifest", str(phantom_cohort), "--readers", "R1", "--out", str(exported)]
    )
    assert rc == 2
    assert "never overwritten" in capsys.readouterr().err
    assert sorted(p.relative_to(exported) for p in exported.rglob("*")) == before


def test_export_strips_source_header_fields(tmp_path: Path) -> None:
    img = sitk.Image(20, 20, 6, sitk.sitkInt16) + 5
    img.SetSpacing((0.8, 0.8, 3.0))
    img.SetMetaData("PatientName", "DOE^JANE")
    img.SetMetaData("0010|0020", "PID-998877")
    sitk.WriteImage(img, str(tmp_path / "src.nrrd"))
    assert b"DOE^JANE" in (tmp_path / "src.nrrd").read_bytes()
    (tmp_path / "cases.csv").write_text("case_id,image\nPID-998877,src.nrrd\nPID-112233,src.nrrd\n", encoding="utf-8")
    res = export_study(tmp_path / "cases.csv", tmp_path / "study", ["A"], seed=1)
    for p in (res.study_dir / "readers").rglob("*"):
        if p.is_file():
            blob = p.read_bytes()
            assert b"DOE" not in blob and b"PID-" not in blob and b"src.nrrd" not in blob, p
    assert b"PID-998877" in res.key_csv.read_bytes()  # only the key links codes to ids
    with pytest.raises(InputError, match="must be unique"):
        export_study(tmp_path / "cases.csv", tmp_path / "s2", ["A", "A"])
    (tmp_path / "dup.csv").write_text("case_id,image\nx,src.nrrd\nx,src.nrrd\n", encoding="utf-8")
    with pytest.raises(InputError, match="unique"):
        export_study(tmp_path / "dup.csv", tmp_path / "s3", ["A"])
    assert not (tmp_path / "s2").exists() and not (tmp_path / "s3").exists()


def write_dicom_series(
    folder: Path, arr: np.ndarray, spacing: tuple[float, float, float], tags: dict
) -> Path:
    """Write a (z, y, x) int16 array as a CT DICOM series with the given extra tags."""
    from nbrisk.io.images import keep_locale

    with keep_locale():
        return _write_dicom_series(folder, arr, spacing, tags)


def _write_dicom_series(folder: Path, arr: np.ndarray, spacing: tuple[float, float, float], tags: dict) -> Path:
    folder.mkdir(parents=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for z in range(arr.shape[0]):
        sl = sitk.GetImageFromArray(arr[z].astype(np.int16))
        sl.SetSpacing(spacing[:2])
        for k, v in {
            "0008|0060": "CT",
            "0008|0016": "1.2.840.10008.5.1.4.1.1.2",
            "0020|000d": "1.2.826.0.1.3680043.9.7.1",
            "0020|000e": "1.2.826.0.1.3680043.9.7.1.2",
            "0008|0018": f"1.2.826.0.1.3680043.9.7.1.2.{z + 1}",
            "0020|0032": f"-10\\-12\\{z * spacing[2]}",
            "0020|0037": "1\\0\\0\\0\\1\\0",
            "0020|0013": str(z + 1),
            "0018|0050": str(spacing[2]),
            "0020|0052": "1.2.826.0.1.3680043.9.7.1.3",
            "0028|0030": f"{spacing[1]}\\\\{spacing[0]}",
            **tags,
        }.items():
            sl.SetMetaData(k, v)
        writer.SetFileName(str(folder / f"slice{z:03d}.dcm"))
        writer.Execute(sl)
    return folder


def write_dicom_seg(series: Path, mask: np.ndarray, out: Path) -> Path:
    """Write a binary DICOM SEG (one segment, 'tumour') of a (z, y, x) mask drawn on a DICOM series."""
    import highdicom as hd
    import pydicom
    from pydicom.sr.codedict import codes

    sources = sorted(
        (pydicom.dcmread(p) for p in series.glob("*.dcm")), key=lambda d: float(d.ImagePositionPatient[2])
    )
    desc = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label="tumour",
        segmented_property_category=codes.SCT.Tissue,
        segmented_property_type=codes.SCT.Neoplasm,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
    )
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=mask.astype(bool),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[desc],
        series_instance_uid=hd.UID(),
        series_number=10,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="test",
        manufacturer_model_name="test",
        software_versions="1",
        device_serial_number="1",
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(out)
    return out


def test_export_converts_dicom_and_removes_every_tag(tmp_path: Path) -> None:
    arr = (np.arange(6 * 16 * 20).reshape(6, 16, 20) % 300 - 100).astype(np.int16)
    tags = {
        "0010|0010": "DOE^JANE",
        "0010|0020": "PID-4455",
        "0010|0030": "20190102",
        "0008|0050": "ACC778899",
        "0008|0080": "St Elsewhere Hospital",
        "0008|1030": "ABDOMEN NB JANE",
    }
    write_dicom_series(tmp_path / "dicom" / "DOE_JANE", arr, (0.7, 0.7, 2.5), tags)
    assert b"DOE^JANE" in (tmp_path / "dicom" / "DOE_JANE" / "slice000.dcm").read_bytes()
    (tmp_path / "cases.csv").write_text("case_id,image\nPID-4455,dicom/DOE_JANE\n", encoding="utf-8")
    res = export_study(tmp_path / "cases.csv", tmp_path / "study", ["R1"], seed=4)
    files = [p for p in (res.study_dir / "readers").rglob("*") if p.is_file()]
    for p in files:
        blob = p.read_bytes()
        for secret in (*tags.values(), "PID-4455", "DOE_JANE", "1.2.826.0.1.3680043"):
            assert secret.encode() not in blob, (p, secret)
    image = next(p for p in files if p.suffix == ".nrrd")
    out = sitk.ReadImage(str(image))
    assert np.array_equal(sitk.GetArrayFromImage(out), arr)
    assert out.GetSpacing() == pytest.approx((0.7, 0.7, 2.5))
    assert out.GetOrigin() == pytest.approx((-10.0, -12.0, 0.0))
    # the reader returns a DICOM SEG drawn on that series: import checks it against the exported grid
    seg_mask = np.zeros_like(arr, dtype=np.uint8)
    seg_mask[2:5, 4:10, 5:12] = 1
    code = image.stem
    write_dicom_seg(tmp_path / "dicom" / "DOE_JANE", seg_mask, tmp_path / "back" / f"{code}.dcm")
    rep = import_reader(res.study_dir, "R1", tmp_path / "back")
    assert rep.ok, rep
    stored = sitk.ReadImage(str(res.study_dir / "masks" / "R1" / "pass1" / f"{code}.nrrd"))
    assert np.array_equal(sitk.GetArrayFromImage(stored), seg_mask)
    write_dicom_series(tmp_path / "dicom" / "burned", arr, (0.7, 0.7, 2.5), {"0028|0301": "YES"})
    (tmp_path / "burned.csv").write_text("case_id,image\nb1,dicom/burned\n", encoding="utf-8")
    with pytest.raises(InputError, match="burned-in"):
        export_study(tmp_path / "burned.csv", tmp_path / "study2", ["R1"])
    assert not (tmp_path / "study2").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".study2")]  # no partial folder left


# ---------------------------------------------------------------------------------------------- import
def test_import_reports_missing_extra_and_mismatched_and_keeps_every_file(
    phantom_cohort: Path, tmp_path: Path, capsys
) -> None:
    cohort = phantom_cohort.parent
    (tmp_path / "m.csv").write_text(
        "case_id,image\n" + "".join(f"case00{i},{cohort}/case00{i}_image.nrrd\n" for i in (1, 2, 3, 4))
    )
    study = export_study(tmp_path / "m.csv", tmp_path / "S", ["R1", "R2"], seed=2).study_dir
    rows = {(r["reader"], r["case_id"]): r["code"] for r in key_rows(study)}
    back = tmp_path / "returned"
    back.mkdir()
    c1, c2, c3 = rows[("R1", "case001")], rows[("R1", "case002")], rows[("R1", "case003")]
    write_slicer_seg(truth(cohort, "case001"), back / f"{c1}.seg.nrrd")
    wrong = sitk.Image(50, 50, 20, sitk.sitkUInt8)  # another grid
    wrong[10:20, 10:20, 5:10] = 1
    sitk.WriteImage(wrong, str(back / f"{c2}.nrrd"))
    sitk.WriteImage(truth(cohort, "case003"), str(back / f"{c3}_a.nii.gz"))
    sitk.WriteImage(truth(cohort, "case003"), str(back / f"{c3}_b.nii.gz"))
    sitk.WriteImage(truth(cohort, "case004"), str(back / f"{rows[('R2', 'case004')]}.nrrd"))
    (back / "notes.txt").write_text("done", encoding="utf-8")
    (back / "images").mkdir()
    (back / "images" / f"{c1}.nrrd").write_bytes(
        (study / "readers/R1/pass1/images" / f"{c1}.nrrd").read_bytes()
    )
    rc = main(["study", "import", "--study", str(study), "--reader", "R1", "--from", str(back)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "imported 1 of 4 segmentations" in out
    assert f"missing: {rows[('R1', 'case004')]}" in out
    assert re.search(rf"mismatched: {c2}\.nrrd: .*size differs", out)
    assert f"mismatched: {c3}_a.nii.gz: 2 files for case {c3}" in out
    assert "extra: notes.txt: no case code" in out
    assert "belongs to reader R2 pass 1" in out
    mask = sitk.ReadImage(
        str(study / "masks/R1/pass1" / f"{c1}.nrrd")
    )  # Slicer's cropped extent, padded back
    assert mask.GetSize() == (96, 96, 48)
    assert np.array_equal(sitk.GetArrayFromImage(mask), sitk.GetArrayFromImage(truth(cohort, "case001")))
    archive = next((study / "returned" / "R1").iterdir())
    kept = {p.relative_to(archive) for p in archive.rglob("*") if p.is_file()}
    returned = {p.relative_to(back) for p in back.rglob("*") if p.is_file()}
    assert kept == (returned - {Path("images") / f"{c1}.nrrd"}) | {
        Path("import.csv")
    }  # unchanged image skipped
    for rel in returned - {Path("images") / f"{c1}.nrrd"}:
        assert sha256_file(archive / rel) == sha256_file(back / rel)
    log = pd.read_csv(archive / "import.csv")
    assert sorted(log["status"].unique()) == ["extra", "imported", "mismatched", "missing"]
    assert set(log.loc[log["status"] == "mismatched", "code"]) == {c2, c3}
    # the reader fixes the problems: a second import adds them, the first import stays archived
    for p in (back / f"{c2}.nrrd", back / f"{c3}_b.nii.gz"):
        p.unlink()
    sitk.WriteImage(truth(cohort, "case002"), str(back / f"{c2}.nrrd"))
    sitk.WriteImage(truth(cohort, "case004"), str(back / f"{rows[('R1', 'case004')]}.nii.gz"))
    rep = import_reader(study, "R1", back)
    assert rep.ok and len(rep.imported) == 4 and not rep.missing
    assert len(list((study / "returned" / "R1").iterdir())) == 2
    with pytest.raises(InputError, match="not in study"):
        import_reader(study, "R9", back)


# ----------------------------------------------------------------------------------------- round trip
@pytest.mark.slow
@pytest.mark.radiomics
def test_round_trip_export_import_analyze(
    exported: Path, phantom_cohort: Path, tmp_path: Path, capsys
) -> None:
    """Export -> two simulated readers (perturbed true masks, 2 passes) -> import -> analyze -> kept list."""
    from nbrisk.features.extract import extract_features
    from nbrisk.reproducibility.agreement import compare_masks

    cohort = phantom_cohort.parent
    for reader in ("R1", "R2"):
        back = simulate_reader(exported, cohort, reader, tmp_path / f"back_{reader}")
        rc = main(["study", "import", "--study", str(exported), "--reader", reader, "--from", str(back)])
        assert rc == 0, capsys.readouterr().out
        assert "imported 16 of 16 segmentations" in capsys.readouterr().out
    preset = tmp_path / "small.yaml"
    preset.write_text(SMALL_PRESET, encoding="utf-8")
    res_dir = tmp_path / "results"
    rc = main(
        [
            "study",
            "analyze",
            "--study",
            str(exported),
            "--preset",
            str(preset),
            "--out",
            str(res_dir),
            "--threshold",
            "0.75",
            "--form",
            "ICC(2,1)",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    names = {p.name for p in res_dir.iterdir()}
    assert {
        "segmentation_agreement.csv",
        "icc_inter.csv",
        "icc_intra_R1.csv",
        "icc_intra_R2.csv",
        "kept.txt",
        "kept_inter.txt",
        "summary.html",
        "icc_report.json",
        "features",
        "plots",
    } <= names
    # Dice/HD95 per case belong to the right case: recompute one from the known simulated masks
    agr = pd.read_csv(res_dir / "segmentation_agreement.csv", dtype={"case_id": str})
    assert set(agr["kind"]) == {"inter", "intra"} and len(agr) == 8 * 4
    t = truth(cohort, "case005")
    expected = compare_masks(perturb_mask(t, "dilate:1"), perturb_mask(t, "erode:1"))
    row = agr[(agr["case_id"] == "case005") & (agr["rater_a"] == "R1_pass1") & (agr["rater_b"] == "R2_pass1")]
    assert row["dice"].iloc[0] == pytest.approx(expected["dice"], abs=1e-9)
    assert row["hd95_mm"].iloc[0] == pytest.approx(expected["hd95_mm"], abs=1e-9)
    assert agr["dice"].min() > 0.6 and agr["dice"].max() < 1.0
    # features of a rater belong to the right case
    feats = pd.read_csv(res_dir / "features" / "R2_pass1.csv", dtype={"case_id": str}).set_index("case_id")
    img = sitk.ReadImage(str(cohort / "case003_image.nrrd"))
    fv = extract_features(img, perturb_mask(truth(cohort, "case003"), "erode:1"), str(preset))
    assert feats.loc["case003", "original_shape_VoxelVolume"] == pytest.approx(
        fv.values["original_shape_VoxelVolume"]
    )
    assert feats.loc["case003", "original_firstorder_Mean"] == pytest.approx(
        fv.values["original_firstorder_Mean"]
    )
    # ICC and the kept list
    inter = pd.read_csv(res_dir / "icc_inter.csv")
    assert list(inter.columns) == ["feature", "form", "icc", "ci_low", "ci_high", "category"]
    assert inter["feature"].nunique() == 14 + 18
    vol = inter[(inter["feature"] == "original_shape_VoxelVolume") & (inter["form"] == "ICC(3,1)")]
    assert vol["icc"].iloc[0] > 0.9  # 1 mm margins keep the ranking of tumour volumes
    kept = (res_dir / "kept.txt").read_text(encoding="utf-8").split()
    per = [set((res_dir / f"kept_{n}.txt").read_text(encoding="utf-8").split())
           for n in ("inter", "intra_R1", "intra_R2")]
    assert kept and set(kept) == set.intersection(*per)
    assert "original_shape_VoxelVolume" not in kept  # dilated vs eroded: volumes agree in rank, not in value
    html = (res_dir / "summary.html").read_text(encoding="utf-8")
    assert "Reader study summary" in html and html.count("data:image/png;base64,") == 9
    assert "R1_pass1 vs R2_pass1" in html
    assert f"kept {len(kept)} features" in out
    rc = main(["study", "analyze", "--study", str(exported), "--preset", str(preset), "--out", str(res_dir)])
    assert rc == 2 and "not empty" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.radiomics
def test_one_reader_study_uses_perturbation_pseudo_readers(phantom_cohort: Path, tmp_path: Path) -> None:
    from nbrisk.reproducibility.study_analysis import analyze_study

    cohort = phantom_cohort.parent
    study = export_study(phantom_cohort, tmp_path / "S", ["solo"], seed=9).study_dir
    back = tmp_path / "back"
    back.mkdir()
    for row in key_rows(study):
        sitk.WriteImage(truth(cohort, row["case_id"]), str(back / f"{row['code']}.nii.gz"))
    assert import_reader(study, "solo", back).ok
    preset = tmp_path / "small.yaml"
    preset.write_text(SMALL_PRESET, encoding="utf-8")
    res = analyze_study(study, preset, tmp_path / "res", perturbations=["erode:1", "dilate:1"])
    assert list(res.icc) == ["perturbation"]
    icc = res.icc["perturbation"]
    assert icc.readers == ["original", "erode_1mm", "dilate_1mm"] and icc.n_cases == 8
    assert (tmp_path / "res" / "icc_perturbation.csv").is_file()
    assert res.agreement.empty
    assert "ROI perturbation" in (tmp_path / "res" / "summary.html").read_text(encoding="utf-8")
    assert res.kept == (tmp_path / "res" / "kept.txt").read_text(encoding="utf-8").split()


@pytest.mark.slow
@pytest.mark.radiomics
def test_analyze_with_model_masks_adds_model_vs_readers(phantom_cohort: Path, tmp_path: Path, capsys) -> None:
    """A model's masks (here: the truth) next to two readers: the report gains 'Model vs readers'."""
    cohort = phantom_cohort.parent
    study = tmp_path / "S"
    assert main(["study", "export", "--manifest", str(phantom_cohort), "--readers", "R1,R2", "--repeats", "1",
                 "--out", str(study), "--seed", "3"]) == 0
    for reader, change in (("R1", "dilate:1"), ("R2", "erode:1")):
        back = tmp_path / f"back_{reader}"
        for row in key_rows(study):
            if row["reader"] == reader:
                folder = back / f"pass{row['pass']}" / "segmentations"
                folder.mkdir(parents=True, exist_ok=True)
                sitk.WriteImage(perturb_mask(truth(cohort, row["case_id"]), change),
                                str(folder / f"{row['code']}.nrrd"))
        assert main(["study", "import", "--study", str(study), "--reader", reader, "--from", str(back)]) == 0
    model_csv = tmp_path / "model.csv"
    cases = sorted({r["case_id"] for r in key_rows(study)})
    model_csv.write_text("case_id,mask\n" + "".join(f"{c},{cohort / (c + '_mask.nrrd')}\n" for c in cases))
    preset = tmp_path / "small.yaml"
    preset.write_text(SMALL_PRESET, encoding="utf-8")
    capsys.readouterr()
    assert main(["study", "analyze", "--study", str(study), "--preset", str(preset), "--out", str(tmp_path / "R"),
                 "--model-masks", str(model_csv), "--consensus", "majority"]) == 0
    out = capsys.readouterr().out
    # the truth lies between a 1 mm dilation and a 1 mm erosion: closer to each reader than they are to each other
    assert "The model is within inter-observer variability on dice" in out
    html = (tmp_path / "R" / "summary.html").read_text(encoding="utf-8")
    assert "Model vs readers" in html and "consensus majority" in html
    summary = pd.read_csv(tmp_path / "R" / "model_vs_readers" / "model_vs_readers_summary.csv").set_index("metric")
    assert summary.loc["dice", "model_mean"] > summary.loc["dice", "inter_reader_mean"]
    assert (tmp_path / "R" / "model_vs_readers" / "plots" / "model_vs_readers_volume_ba.png").is_file()
