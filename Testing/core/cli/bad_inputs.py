"""The table of bad inputs every verb must refuse cleanly (used by test_bad_inputs.py and docs/errors.md).

Each :class:`Case` builds its broken input(s) inside a fresh folder and returns the command line. The test
runs it and asserts: the exit status (2; 1 for a cohort whose failed cases go to ``*.errors.csv``), no
traceback and no ITK ``WARNING`` line, one error line naming the file (``names``) and saying the fix
(``fix``, a regular expression), and no file or folder left behind in the case's folder. ``Utilities/
make_errors_doc.py`` runs the same table and writes ``docs/errors.md``; the test checks that the doc is
current.

Inputs are small and made here (a 32x32x16 CT-like volume with a spherical ROI, DICOM series written with
pydicom from it, a bundle trained on a synthetic table), so the whole table runs in well under a minute.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

FIX = (r"\b(re-export|export|give|place|use|pass|check|choose|free|fix|draw|save|remove|rename|get|delete|threshold|"
       r"update|put|wait|write|resample|install|add|run|retrain|register|enter|correct|split|copy|report)")


# --------------------------------------------------------------------------------------------- inputs
def _volume(shape=(16, 32, 32), seed=0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(40, 10, shape).astype(np.int16)
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    m = ((((x - shape[2] // 2) ** 2 + (y - shape[1] // 2) ** 2) / 36 + ((z - shape[0] // 2) ** 2) / 9) <= 1)
    a[m] += 60
    return a, m.astype(np.uint8)


def _img(arr: np.ndarray, spacing=(1.0, 1.0, 2.0), origin=(0.0, 0.0, 0.0)) -> sitk.Image:
    im = sitk.GetImageFromArray(arr)
    im.SetSpacing(spacing[: im.GetDimension()])
    im.SetOrigin(origin[: im.GetDimension()])
    return im


def write(im: sitk.Image, path: Path, compress: bool = True) -> Path:
    sitk.WriteImage(im, str(path), compress)
    return path


def write_dicom_series(folder: Path, arr: np.ndarray, *, spacing=(1.0, 1.0, 2.0), positions=None,
                       series_uid: str | None = None, tilt_mm: float = 0.0, skip: tuple[int, ...] = (),
                       first_instance: int = 1) -> Path:
    """Write ``arr`` (z, y, x) as a CT series of one file per slice with pydicom (LPS, axial)."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    study = "1.2.826.0.1.3680043.8.498.1"
    series = series_uid or generate_uid(entropy_srcs=[str(folder.name), "s"])
    frame = "1.2.826.0.1.3680043.8.498.2"
    for k in range(arr.shape[0]):
        if k in skip:
            continue
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[series, str(k)])
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(str(folder / f"s{k:03d}.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.FrameOfReferenceUID = frame
        ds.Modality = "CT"
        ds.PatientID = "BADINPUT"
        ds.PatientName = "Bad^Input"
        ds.InstanceNumber = first_instance + k
        z = positions[k] if positions is not None else k * spacing[2]
        ds.ImagePositionPatient = [0.0, tilt_mm * k, float(z)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [spacing[1], spacing[0]]
        ds.SliceThickness = spacing[2]
        ds.Rows, ds.Columns = arr.shape[1], arr.shape[2]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept = 0
        ds.RescaleSlope = 1
        ds.PixelData = arr[k].astype("<i2").tobytes()
        ds.save_as(str(folder / f"s{k:03d}.dcm"), enforce_file_format=True)
    return folder


@dataclass
class World:
    """Shared good inputs (made once per session) that cases copy or point to."""

    root: Path
    files: dict[str, Path] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Path:
        return self.files[key]


def make_world(root: Path) -> World:
    import pandas as pd

    root.mkdir(parents=True, exist_ok=True)
    w = World(root)
    arr, m = _volume()
    w.files["arr"] = root / "arr.npy"
    np.save(w.files["arr"], arr)
    w.files["image"] = write(_img(arr), root / "ct.nrrd")
    w.files["mask"] = write(_img(m), root / "ct_mask.nrrd")
    w.files["image_raw"] = write(_img(arr), root / "ct_raw.nrrd", compress=False)
    # a small bundle for pyradiomics-default features (3 features; trained on a synthetic table)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from nbrisk.bundle.format import save_bundle
    from nbrisk.features.presets import load_preset
    from nbrisk.modeling.trained import TrainedModel

    names = ["original_firstorder_Mean", "original_firstorder_Variance", "original_shape_VoxelVolume"]
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.normal([90, 12, 900], [10, 2, 100], size=(30, 3)), columns=names)
    y = pd.Series(np.arange(30) % 2)
    x["original_firstorder_Mean"] += 15 * y
    pipe = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())]).fit(x, y)
    del pipe
    x["age_months"] = np.linspace(6, 90, 30)
    pipe2 = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())]).fit(x, y)
    trained = TrainedModel(pipeline=pipe2, feature_names=names, training_summary={"n": 30}, threshold=0.5,
                           clinical_inputs=[{"name": "age_months", "type": "float", "unit": "months",
                                             "range": [0, 240]}], positive_class=1, metrics={},
                           recipe_name="test_recipe", citation="", kind="classification", classes=[0, 1])
    preset = load_preset("pyradiomics-default")
    w.files["bundle"] = save_bundle(root / "model.nbrisk", trained, preset.name, preset.sha256,
                                    training_features=x, training_labels=y, synthetic=True,
                                    created="2026-01-01T00:00:00+00:00")
    # a feature table + labels for train/cv/evaluate
    feats = x.drop(columns="age_months").copy()
    feats.insert(0, "case_id", [f"c{i:02d}" for i in range(30)])
    w.files["features"] = root / "features.csv"
    feats.to_csv(w.files["features"], index=False)
    w.files["labels"] = root / "labels.csv"
    pd.DataFrame({"case_id": feats["case_id"], "label": y}).to_csv(w.files["labels"], index=False)
    w.files["clinical"] = root / "clinical.csv"
    pd.DataFrame({"case_id": feats["case_id"], "age_months": x["age_months"]}).to_csv(w.files["clinical"],
                                                                                    index=False)
    w.files["manifest"] = root / "manifest.csv"
    w.files["manifest"].write_text(f"case_id,image,mask\nc1,{w['image']},{w['mask']}\n")
    return w


# ---------------------------------------------------------------------------------------------- cases
Build = Callable[[Path, World], list[str]]


@dataclass(frozen=True)
class Case:
    id: str
    verb: str
    what: str  # the bad input, one line, for docs/errors.md
    build: Build  # writes the case's inputs into its folder; returns the argv
    names: str  # the message must contain this (a file or folder name)
    fix: str = FIX  # ... and match this (the fix)
    rc: int = 2
    env: str = ""  # "readonly" / "full": the case's folder "out" is a read-only / full file system
    errors_csv: str = ""  # rc 1 cases: the errors CSV (relative to the case folder) holding the message
    subprocess: bool = False  # run as a real `python -m nbrisk` process


CASES: list[Case] = []


def case(id: str, verb: str, what: str, names: str, **kw: Any) -> Callable[[Build], Build]:
    def deco(fn: Build) -> Build:
        CASES.append(Case(id, verb, what, fn, names, **kw))
        return fn
    return deco


def _extract(d: Path, w: World, image: Any = None, mask: Any = None, *extra: str, out: str = "out/f.csv",
             preset: str = "pyradiomics-default") -> list[str]:
    return ["extract", "--image", str(image or w["image"]), "--mask", str(mask or w["mask"]), "--preset", preset,
            "--out", str(d / out), *extra]


def _arr(w: World) -> np.ndarray:
    return np.load(w["arr"])


def _mask_arr() -> np.ndarray:
    return _volume()[1]


def _truncate(src: Path, dst: Path, frac: float = 0.6) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * frac)])
    return dst


# -- images -------------------------------------------------------------------------------------------
@case("image-missing", "extract", "image path does not exist", "nope.nrrd")
def _(d, w):
    return _extract(d, w, d / "nope.nrrd")


@case("image-zero-bytes", "extract", "zero-byte image file", "zero.nrrd")
def _(d, w):
    (d / "zero.nrrd").write_bytes(b"")
    return _extract(d, w, d / "zero.nrrd")


@case("image-text", "extract", "a text file named .nrrd", "text.nrrd")
def _(d, w):
    (d / "text.nrrd").write_text("this is not an image\n")
    return _extract(d, w, d / "text.nrrd")


@case("image-csv", "extract", "a CSV file given as the image", "table.csv")
def _(d, w):
    (d / "table.csv").write_text("a,b\n1,2\n")
    return _extract(d, w, d / "table.csv")


@case("image-png", "extract", "a PNG screenshot given as the image", "shot.png")
def _(d, w):
    sitk.WriteImage(sitk.Image(8, 8, sitk.sitkUInt8), str(d / "shot.png"))
    return _extract(d, w, d / "shot.png")


@case("image-truncated-gzip", "extract", "truncated gzip .nrrd image (block reader)", "trunc.nrrd")
def _(d, w):
    return _extract(d, w, _truncate(w["image"], d / "trunc.nrrd"))


@case("image-truncated-gzip-pyradiomics", "extract", "truncated gzip .nrrd image, --engine pyradiomics",
      "trunc.nrrd")
def _(d, w):
    return _extract(d, w, _truncate(w["image"], d / "trunc.nrrd"), None, "--engine", "pyradiomics")


@case("image-truncated-raw", "extract", "truncated raw .nrrd image", "trunc_raw.nrrd")
def _(d, w):
    return _extract(d, w, _truncate(w["image_raw"], d / "trunc_raw.nrrd"))


@case("image-gzip-corrupt", "extract", "gzip .nrrd whose compressed bytes are damaged", "bad.nrrd")
def _(d, w):
    data = bytearray(w["image"].read_bytes())
    head = data.find(b"\n\n") + 2
    for i in range(head + 40, len(data) - 20, 97):
        data[i] ^= 0xFF
    (d / "bad.nrrd").write_bytes(bytes(data))
    return _extract(d, w, d / "bad.nrrd")


@case("image-header-garbage", "extract", "NRRD header with a broken sizes field", "hdr.nrrd")
def _(d, w):
    text = w["image_raw"].read_bytes()
    (d / "hdr.nrrd").write_bytes(text.replace(b"sizes: 32 32 16", b"sizes: 32 x 16"))
    return _extract(d, w, d / "hdr.nrrd")


@case("image-nan", "extract", "image with NaN voxels", "nan.nrrd")
def _(d, w):
    a = _arr(w).astype(np.float32)
    a[3, 4, 5] = np.nan
    return _extract(d, w, write(_img(a), d / "nan.nrrd"))


@case("image-inf", "extract", "image with infinite voxels", "inf.nrrd")
def _(d, w):
    a = _arr(w).astype(np.float32)
    a[8, 16, 16] = np.inf
    return _extract(d, w, write(_img(a), d / "inf.nrrd"))


@case("image-4d", "extract", "4-D image (3 volumes)", "four.nii.gz")
def _(d, w):
    a = np.stack([_arr(w)] * 3)
    im = sitk.GetImageFromArray(a)
    return _extract(d, w, write(im, d / "four.nii.gz"))


@case("image-vector", "extract", "RGB/vector image", "rgb.nrrd")
def _(d, w):
    a = np.stack([_arr(w)] * 3, axis=-1)
    return _extract(d, w, write(sitk.GetImageFromArray(a, isVector=True), d / "rgb.nrrd"))


@case("image-2d", "extract", "2-D image (one slice, no slice thickness)", "slice.nrrd")
def _(d, w):
    return _extract(d, w, write(_img(_arr(w)[8]), d / "slice.nrrd"),
                    write(_img(_mask_arr()[8]), d / "slice_mask.nrrd"))


@case("image-2d-mha", "extract", "2-D image as .mha with a 3-D mask", "slice.mha")
def _(d, w):
    return _extract(d, w, write(_img(_arr(w)[8]), d / "slice.mha"))


@case("image-folder-empty", "extract", "empty folder given as a DICOM series", "emptydir")
def _(d, w):
    (d / "emptydir").mkdir()
    return _extract(d, w, d / "emptydir")


@case("image-folder-not-dicom", "extract", "folder of non-DICOM files given as a DICOM series", "notdicom")
def _(d, w):
    (d / "notdicom").mkdir()
    (d / "notdicom" / "readme.txt").write_text("hello")
    shutil.copy(w["image"], d / "notdicom" / "ct.nrrd")
    return _extract(d, w, d / "notdicom")


@case("dicom-missing-slice", "extract", "DICOM series with a missing slice", "missing")
def _(d, w):
    return _extract(d, w, write_dicom_series(d / "missing", _arr(w), skip=(7,)))


@case("dicom-duplicate-slice", "extract", "DICOM series with two slices at one position", "dup")
def _(d, w):
    pos = [float(k * 2.0) for k in range(16)]
    pos[5] = pos[4]
    return _extract(d, w, write_dicom_series(d / "dup", _arr(w), positions=pos))


@case("dicom-uneven", "extract", "DICOM series with uneven slice spacing", "uneven")
def _(d, w):
    pos = [float(k * 2.0) for k in range(16)]
    pos = [p + (0.5 if k >= 9 else 0.0) for k, p in enumerate(pos)]
    pos[9] -= 0.2
    return _extract(d, w, write_dicom_series(d / "uneven", _arr(w), positions=pos))


@case("dicom-two-series", "extract", "folder holding two DICOM series", "mixed")
def _(d, w):
    write_dicom_series(d / "mixed", _arr(w), series_uid="1.2.826.0.1.3680043.8.498.11")
    write_dicom_series(d / "tmp2", _arr(w), series_uid="1.2.826.0.1.3680043.8.498.12")  # renamed below
    for f in sorted((d / "tmp2").iterdir()):
        f.rename(d / "mixed" / f"b_{f.name}")
    (d / "tmp2").rmdir()
    return _extract(d, w, d / "mixed")


@case("dicom-gantry-tilt", "extract", "DICOM series acquired with gantry tilt (sheared slices)", "tilt",
      fix="gantry tilt.*resample")
def _(d, w):
    return _extract(d, w, write_dicom_series(d / "tilt", _arr(w), tilt_mm=0.5))


@case("dicom-broken-header", "extract", "DICOM series with one file whose header is cut off", "dcmcut")
def _(d, w):
    folder = write_dicom_series(d / "dcmcut", _arr(w))
    f = folder / "s005.dcm"
    f.write_bytes(f.read_bytes()[:300])
    return _extract(d, w, folder)


# -- masks ---------------------------------------------------------------------------------------------
@case("mask-missing", "extract", "mask path does not exist", "nomask.nrrd")
def _(d, w):
    return _extract(d, w, None, d / "nomask.nrrd")


@case("mask-zero-bytes", "extract", "zero-byte mask file", "zmask.nrrd")
def _(d, w):
    (d / "zmask.nrrd").write_bytes(b"")
    return _extract(d, w, None, d / "zmask.nrrd")


@case("mask-truncated-gzip", "extract", "truncated gzip .nrrd mask", "tmask.nrrd")
def _(d, w):
    return _extract(d, w, None, _truncate(w["mask"], d / "tmask.nrrd", 0.5))


@case("mask-empty", "extract", "mask with no non-zero voxel", "empty.nrrd")
def _(d, w):
    return _extract(d, w, None, write(_img(np.zeros_like(_mask_arr())), d / "empty.nrrd"))


@case("mask-absent-label", "extract", "--label that the mask does not hold", "ct_mask.nrrd")
def _(d, w):
    return _extract(d, w, None, None, "--label", "7")


@case("mask-multilabel", "extract", "multi-label mask without --label", "multi.nrrd", fix="--label")
def _(d, w):
    m = _mask_arr().astype(np.uint8)
    m[2:4, 2:6, 2:6] = 2
    return _extract(d, w, None, write(_img(m), d / "multi.nrrd"))


@case("mask-multilabel-no-1", "extract", "mask with labels 2 and 3 and no --label", "multi23.nrrd",
      fix="--label")
def _(d, w):
    m = _mask_arr().astype(np.uint8) * 2
    m[2:4, 2:6, 2:6] = 3
    return _extract(d, w, None, write(_img(m), d / "multi23.nrrd"))


@case("mask-probability", "extract", "probability map (non-integer values) as mask", "prob.nrrd")
def _(d, w):
    return _extract(d, w, None, write(_img(_mask_arr().astype(np.float32) * 0.7), d / "prob.nrrd"))


@case("mask-nan", "extract", "mask with NaN voxels", "nanmask.nrrd")
def _(d, w):
    m = _mask_arr().astype(np.float32)
    m[0, 0, 0] = np.nan
    return _extract(d, w, None, write(_img(m), d / "nanmask.nrrd"))


@case("mask-one-voxel", "extract", "ROI of a single voxel", "one.nrrd")
def _(d, w):
    m = np.zeros_like(_mask_arr())
    m[8, 16, 16] = 1
    return _extract(d, w, None, write(_img(m), d / "one.nrrd"))


@case("mask-two-voxels", "extract", "ROI of two voxels", "two.nrrd")
def _(d, w):
    m = np.zeros_like(_mask_arr())
    m[8, 16, 16:18] = 1
    return _extract(d, w, None, write(_img(m), d / "two.nrrd"))


@case("mask-spacing", "extract", "mask on another spacing", "sp.nrrd", fix="--resample-mask")
def _(d, w):
    return _extract(d, w, None, write(_img(_mask_arr(), spacing=(1.0, 1.0, 2.5)), d / "sp.nrrd"))


@case("mask-origin", "extract", "mask shifted by half a voxel", "org.nrrd", fix="--resample-mask")
def _(d, w):
    return _extract(d, w, None, write(_img(_mask_arr(), origin=(0.5, 0.0, 0.0)), d / "org.nrrd"))


@case("mask-direction", "extract", "mask with another direction matrix", "dir.nrrd", fix="--resample-mask")
def _(d, w):
    im = _img(_mask_arr())
    im.SetDirection((0, 1, 0, 1, 0, 0, 0, 0, -1))
    return _extract(d, w, None, write(im, d / "dir.nrrd"))


@case("mask-one-slice-larger", "extract", "mask one (empty) slice larger than the image", "big.nrrd",
      fix="--resample-mask")
def _(d, w):
    m = np.concatenate([_mask_arr(), np.zeros((1, 32, 32), np.uint8)])
    return _extract(d, w, None, write(_img(m), d / "big.nrrd"))


@case("mask-one-slice-larger-before", "extract", "mask one slice larger, extra slice before the image",
      "bigb.nrrd", fix="--resample-mask")
def _(d, w):
    m = np.concatenate([np.zeros((1, 32, 32), np.uint8), _mask_arr()])
    return _extract(d, w, None, write(_img(m, origin=(0.0, 0.0, -2.0)), d / "bigb.nrrd"))


@case("mask-smaller-size", "extract", "mask of another size whose ROI leaves the image", "small.nrrd",
      fix="--resample-mask")
def _(d, w):
    return _extract(d, w, None, write(_img(np.ones((8, 8, 8), np.uint8), origin=(28.0, 28.0, 0.0)),
                                      d / "small.nrrd"))


@case("mask-outside", "extract", "ROI outside the image (with --resample-mask)", "far.nrrd", fix="draw")
def _(d, w):
    return _extract(d, w, None, write(_img(_mask_arr(), origin=(500.0, 0.0, 0.0)), d / "far.nrrd"),
                    "--resample-mask")


@case("mask-4d", "extract", "4-D mask", "m4.nii.gz")
def _(d, w):
    return _extract(d, w, None, write(sitk.GetImageFromArray(np.stack([_mask_arr()] * 2)), d / "m4.nii.gz"))


@case("mask-segment-on-labelmap", "extract", "--segment given for a plain label map", "ct_mask.nrrd")
def _(d, w):
    return _extract(d, w, None, None, "--segment", "Tumor")


@case("seg-unknown-segment", "extract", ".seg.nrrd without the named segment", "t.seg.nrrd")
def _(d, w):
    _seg(d / "t.seg.nrrd", w)
    return _extract(d, w, None, d / "t.seg.nrrd", "--segment", "Liver")


@case("seg-corrupt", "extract", "damaged .seg.nrrd", "c.seg.nrrd")
def _(d, w):
    _seg(d / "full.seg.nrrd", w)
    _truncate(d / "full.seg.nrrd", d / "c.seg.nrrd", 0.5)
    (d / "full.seg.nrrd").unlink()
    return _extract(d, w, None, d / "c.seg.nrrd")


def _seg(path: Path, w: World) -> Path:
    im = _img(_mask_arr())
    im.SetMetaData("Segment0_ID", "Segment_1")
    im.SetMetaData("Segment0_Name", "Tumor")
    im.SetMetaData("Segment0_LabelValue", "1")
    im.SetMetaData("Segment0_Layer", "0")
    im.SetMetaData("Segment0_Extent", "0 31 0 31 0 15")
    return write(im, path)


# -- extract options and presets --------------------------------------------------------------------------
@case("out-not-csv", "extract", "--out that is not a .csv file", "f.xlsx")
def _(d, w):
    return _extract(d, w, out="f.xlsx")


@case("out-readonly", "extract", "--out in a read-only folder (checked before extraction)", "out", env="readonly")
def _(d, w):
    return _extract(d, w)


@case("out-disk-full", "extract", "disk full while writing --out", "out", env="full")
def _(d, w):
    return _extract(d, w)


@case("preset-unknown", "extract", "unknown preset name", "no-such-preset")
def _(d, w):
    return _extract(d, w, preset="no-such-preset")


@case("preset-missing-file", "extract", "preset YAML path that does not exist", "gone.yaml")
def _(d, w):
    return _extract(d, w, preset=str(d / "gone.yaml"))


def _preset_yaml(d: Path, name: str, mutate: Callable[[dict], Any]) -> str:
    import yaml

    from nbrisk.features.presets import load_preset

    p = load_preset("pyradiomics-default")
    raw = yaml.safe_load(Path(p.source).read_text() if not p.source.startswith("preset ") else
                         (Path(__import__("nbrisk").features.__path__[0]) / "presets" /
                          "pyradiomics-default.yaml").read_text())
    raw = copy.deepcopy(raw)
    mutate(raw)
    (d / name).write_text(yaml.safe_dump(raw))
    return str(d / name)


@case("preset-key-typo", "extract", "preset YAML with a misspelt pyradiomics key (binwidth)", "typo.yaml",
      fix="binWidth")
def _(d, w):
    def m(raw):
        s = raw["pyradiomics"]["setting"]
        s["binwidth"] = s.pop("binWidth", 25)
    return _extract(d, w, preset=_preset_yaml(d, "typo.yaml", m))


@case("preset-class-typo", "extract", "preset YAML with a misspelt feature class (glcn)", "cls.yaml",
      fix="glcm")
def _(d, w):
    def m(raw):
        raw["pyradiomics"]["featureClass"] = {"glcn": None}
    return _extract(d, w, preset=_preset_yaml(d, "cls.yaml", m))


@case("preset-nbrisk-typo", "extract", "preset YAML with a misspelt nbrisk key (preprocesing)", "nbk.yaml",
      fix="preprocessing")
def _(d, w):
    def m(raw):
        raw["nbrisk"] = {"preprocesing": {}}
    return _extract(d, w, preset=_preset_yaml(d, "nbk.yaml", m))


@case("preset-bad-yaml", "extract", "preset file that is not valid YAML", "broken.yaml")
def _(d, w):
    (d / "broken.yaml").write_text("pyradiomics: [unclosed\n  setting: {\n")
    return _extract(d, w, preset=str(d / "broken.yaml"))


@case("preset-not-mapping", "extract", "preset YAML that is a list", "list.yaml")
def _(d, w):
    (d / "list.yaml").write_text("- a\n- b\n")
    return _extract(d, w, preset=str(d / "list.yaml"))


@case("multiphase-one-image", "extract", "multi-phase preset given one plain --image", "bi2025-ct",
      fix="--image plain=PATH")
def _(d, w):
    return _extract(d, w, preset="bi2025-ct")


@case("singlephase-two-images", "extract", "single-phase preset given two phase images",
      "pyradiomics-default")
def _(d, w):
    args = _extract(d, w, f"venous={w['image']}")
    return [*args, "--image", f"arterial={w['image']}"]


@case("manifest-and-image", "extract", "--manifest together with --image", "--manifest", fix="either")
def _(d, w):
    return [*_extract(d, w), "--manifest", str(w["manifest"])]


@case("extract-no-inputs", "extract", "neither --image/--mask nor --manifest", "--manifest", fix="give")
def _(d, w):
    return ["extract", "--preset", "pyradiomics-default", "--out", str(d / "out" / "f.csv")]


@case("extract-bad-jobs", "extract", "-j 0", "--jobs", fix="give")
def _(d, w):
    return _extract(d, w, None, None, "-j", "0")


# -- cohort manifests ---------------------------------------------------------------------------------------
def _manifest(d: Path, w: World, text: str, name: str = "cases.csv", *extra: str, out: str = "out/f.csv"
              ) -> list[str]:
    (d / name).write_text(text.format(image=w["image"], mask=w["mask"], d=d))
    return ["extract", "--manifest", str(d / name), "--preset", "pyradiomics-default", "--out", str(d / out),
            *extra]


@case("manifest-missing", "extract", "manifest path does not exist", "none.csv")
def _(d, w):
    return ["extract", "--manifest", str(d / "none.csv"), "--preset", "pyradiomics-default", "--out",
            str(d / "out" / "f.csv")]


@case("manifest-semicolon", "extract", "';'-separated manifest (European spreadsheet export)", "semi.csv",
      fix="comma|delimiter")
def _(d, w):
    return _manifest(d, w, "case_id;image;mask\nc1;{image};{mask}\n", "semi.csv")


@case("manifest-tab", "extract", "tab-separated manifest", "tab.csv", fix="comma|delimiter")
def _(d, w):
    return _manifest(d, w, "case_id\timage\tmask\nc1\t{image}\t{mask}\n", "tab.csv")


@case("manifest-missing-column", "extract", "manifest without a mask column", "nomask.csv")
def _(d, w):
    return _manifest(d, w, "case_id,image\nc1,{image}\n", "nomask.csv")


@case("manifest-header-only", "extract", "manifest with a header and no rows", "hdr.csv")
def _(d, w):
    return _manifest(d, w, "case_id,image,mask\n", "hdr.csv")


@case("manifest-zero-bytes", "extract", "zero-byte manifest", "zero.csv")
def _(d, w):
    return _manifest(d, w, "", "zero.csv")


@case("manifest-duplicate", "extract", "manifest with a duplicate case_id", "dupe.csv")
def _(d, w):
    return _manifest(d, w, "case_id,image,mask\nc1,{image},{mask}\nc1,{image},{mask}\n", "dupe.csv")


@case("manifest-empty-id", "extract", "manifest with an empty case_id", "noid.csv")
def _(d, w):
    return _manifest(d, w, "case_id,image,mask\n,{image},{mask}\n", "noid.csv")


@case("manifest-binary", "extract", "binary file given as the manifest", "bin.csv")
def _(d, w):
    (d / "bin.csv").write_bytes(bytes(range(256)) * 4)
    return ["extract", "--manifest", str(d / "bin.csv"), "--preset", "pyradiomics-default", "--out",
            str(d / "out" / "f.csv")]


@case("manifest-bad-label", "extract", "manifest label column that is not an integer", "lab.csv")
def _(d, w):
    return _manifest(d, w, "case_id,image,mask,label\nc1,{image},{mask},one\n", "lab.csv")


@case("manifest-failed-case", "extract", "cohort with one missing image (others continue)", "gone.nrrd",
      rc=1, errors_csv="out/f.errors.csv")
def _(d, w):
    return _manifest(d, w, "case_id,image,mask\nc1,{image},{mask}\nc2,{d}/gone.nrrd,{mask}\n", "m.csv")


@case("manifest-failed-multilabel", "extract", "cohort with a multi-label mask and no label column",
      "multi.nrrd", fix="label", rc=1, errors_csv="out/f.errors.csv")
def _(d, w):
    m = _mask_arr().astype(np.uint8)
    m[2:4, 2:6, 2:6] = 2
    write(_img(m), d / "multi.nrrd")
    return _manifest(d, w, "case_id,image,mask\nc1,{image},{mask}\nc2,{image},{d}/multi.nrrd\n", "m.csv")


@case("manifest-readonly", "extract", "cohort --out in a read-only folder", "out", env="readonly")
def _(d, w):
    return _manifest(d, w, "case_id,image,mask\nc1,{image},{mask}\n", "m.csv")


@case("manifest-disk-full", "extract", "disk full while writing cohort results", "out", env="full")
def _(d, w):
    return _manifest(d, w, "case_id,image,mask\nc1,{image},{mask}\n", "m.csv")


@case("manifest-other-preset", "extract", "resuming results made with another preset", "f.csv",
      fix="another --out|delete")
def _(d, w):
    (d / "res").mkdir()
    (d / "res" / "f.csv").write_text("case_id,x\nc1,1\n")
    (d / "res" / "f.provenance.json").write_text(json.dumps({"preset": "other", "preset_sha256": "0" * 64}))
    return _manifest(d, w, "case_id,image,mask\nc1,{image},{mask}\n", "m.csv", out="res/f.csv")


# -- predict ------------------------------------------------------------------------------------------------
def _predict(d: Path, w: World, *extra: str, model: Any = None, image: Any = None, mask: Any = None) -> list[str]:
    return ["predict", "--model", str(model or w["bundle"]), "--image", str(image or w["image"]), "--mask",
            str(mask or w["mask"]), "--clinical", "age_months=20", "--no-pdf", "--out", str(d / "out" / "p"),
            *extra]


@case("bundle-missing", "predict", "model bundle path does not exist", "none.nbrisk")
def _(d, w):
    return _predict(d, w, model=d / "none.nbrisk")


@case("bundle-zero-bytes", "predict", "zero-byte model bundle", "z.nbrisk")
def _(d, w):
    (d / "z.nbrisk").write_bytes(b"")
    return _predict(d, w, model=d / "z.nbrisk")


@case("bundle-pickle", "predict", "a pickle given as the model", "m.pkl", fix="bundle import")
def _(d, w):
    import pickle

    (d / "m.pkl").write_bytes(pickle.dumps({"a": 1}))
    return _predict(d, w, model=d / "m.pkl")


@case("bundle-text", "predict", "a text file given as the model", "m.txt")
def _(d, w):
    (d / "m.txt").write_text("model")
    return _predict(d, w, model=d / "m.txt")


@case("bundle-truncated", "predict", "model bundle cut off (half the bytes)", "cut.nbrisk")
def _(d, w):
    return _predict(d, w, model=_truncate(w["bundle"], d / "cut.nbrisk", 0.5))


def _flip(src: Path, dst: Path, where: Callable[[bytes], int]) -> Path:
    data = bytearray(src.read_bytes())
    data[where(bytes(data))] ^= 0x10
    dst.write_bytes(bytes(data))
    return dst


def _member_data_offset(data: bytes, name: str) -> int:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(name)
    off = info.header_offset
    n, e = int.from_bytes(data[off + 26: off + 28], "little"), int.from_bytes(data[off + 28: off + 30], "little")
    return off + 30 + n + e + info.compress_size // 2


@case("bundle-flip-model", "predict", "one bit flipped inside the compressed model member", "f1.nbrisk")
def _(d, w):
    return _predict(d, w, model=_flip(w["bundle"], d / "f1.nbrisk",
                                      lambda b: _member_data_offset(b, "model.skops")))


@case("bundle-flip-manifest", "predict", "one bit flipped inside the compressed manifest", "f2.nbrisk")
def _(d, w):
    return _predict(d, w, model=_flip(w["bundle"], d / "f2.nbrisk",
                                      lambda b: _member_data_offset(b, "manifest.json")))


@case("bundle-flip-central-dir", "predict", "one bit flipped in the zip's central directory (a timestamp)",
      "f3.nbrisk")
def _(d, w):
    return _predict(d, w, model=_flip(w["bundle"], d / "f3.nbrisk", lambda b: b.rfind(b"PK\x01\x02") + 12))


@case("bundle-flip-local-header", "predict", "one bit flipped in a local header's timestamp", "f4.nbrisk")
def _(d, w):
    return _predict(d, w, model=_flip(w["bundle"], d / "f4.nbrisk", lambda b: 11))


@case("bundle-flip-eocd", "predict", "one bit flipped in the zip's end record", "f5.nbrisk")
def _(d, w):
    return _predict(d, w, model=_flip(w["bundle"], d / "f5.nbrisk", lambda b: b.rfind(b"PK\x05\x06") + 4))


@case("bundle-extra-member", "predict", "bundle with an extra member added", "extra.nbrisk")
def _(d, w):
    shutil.copy(w["bundle"], d / "extra.nbrisk")
    with zipfile.ZipFile(d / "extra.nbrisk", "a") as zf:
        zf.writestr("evil.py", "print(1)")
    return _predict(d, w, model=d / "extra.nbrisk")


@case("bundle-wrong-sha", "predict", "--model-sha256 that differs from the file", "model.nbrisk",
      fix="get it again")
def _(d, w):
    return _predict(d, w, "--model-sha256", "ab" * 32)


@case("predict-clinical-form", "predict", "--clinical without NAME=VALUE", "--clinical", fix="NAME=VALUE")
def _(d, w):
    return _predict(d, w, "--clinical", "18")


@case("predict-clinical-twice", "predict", "--clinical with a name twice", "age_months", fix="once")
def _(d, w):
    args = _predict(d, w)
    args.insert(args.index("age_months=20") + 1, "age_months=30")
    return args


@case("predict-clinical-nonnumeric", "predict", "clinical value that is not a number", "age_months")
def _(d, w):
    args = _predict(d, w)
    args[args.index("age_months=20")] = "age_months=young"
    return args


@case("predict-mask-empty", "predict", "empty mask", "em.nrrd")
def _(d, w):
    return _predict(d, w, mask=write(_img(np.zeros_like(_mask_arr())), d / "em.nrrd"))


@case("predict-idrf-missing", "predict", "--idrf file that does not exist", "none.json")
def _(d, w):
    return _predict(d, w, "--idrf", str(d / "none.json"))


@case("predict-idrf-bad-json", "predict", "--idrf file that is not JSON", "idrf.json")
def _(d, w):
    (d / "idrf.json").write_text("{not json")
    return _predict(d, w, "--idrf", str(d / "idrf.json"))


@case("predict-inrg-list", "predict", "--inrg JSON that is a list", "inrg.json")
def _(d, w):
    (d / "inrg.json").write_text("[1, 2]")
    return _predict(d, w, "--inrg", str(d / "inrg.json"))


@case("predict-multilabel", "predict", "multi-label mask without --label", "multi.nrrd", fix="--label")
def _(d, w):
    m = _mask_arr().astype(np.uint8)
    m[2:4, 2:6, 2:6] = 2
    return _predict(d, w, mask=write(_img(m), d / "multi.nrrd"))


@case("predict-image-nan", "predict", "image with NaN voxels", "nan.nrrd")
def _(d, w):
    a = _arr(w).astype(np.float32)
    a[1, 1, 1] = np.nan
    return _predict(d, w, image=write(_img(a), d / "nan.nrrd"))


@case("predict-mask-grid", "predict", "mask on another grid", "sp.nrrd", fix="--resample-mask")
def _(d, w):
    return _predict(d, w, mask=write(_img(_mask_arr(), spacing=(1.0, 1.0, 2.5)), d / "sp.nrrd"))


@case("predict-readonly", "predict", "--out in a read-only folder (checked before the work)", "out",
      env="readonly")
def _(d, w):
    return _predict(d, w)


@case("predict-disk-full", "predict", "disk full while writing the prediction", "out", env="full")
def _(d, w):
    return _predict(d, w)


# -- train / cv / evaluate --------------------------------------------------------------------------------
def _train(d: Path, w: World, *extra: str, features: Any = None, labels: Any = None, recipe: str = "lr",
           verb: str = "train") -> list[str]:
    out = str(d / "out" / ("m.nbrisk" if verb == "train" else "cv"))
    return [verb, "--features", str(features or w["features"]), "--labels", str(labels or w["labels"]),
            "--recipe", recipe, "--out", out, *extra]


@case("train-features-missing", "train", "feature CSV that does not exist", "nofeat.csv")
def _(d, w):
    return _train(d, w, features=d / "nofeat.csv")


@case("train-labels-missing", "train", "labels CSV that does not exist", "nolab.csv")
def _(d, w):
    return _train(d, w, labels=d / "nolab.csv")


@case("train-features-semicolon", "train", "';'-separated feature CSV", "semi.csv", fix="comma|delimiter")
def _(d, w):
    (d / "semi.csv").write_text(w["features"].read_text().replace(",", ";"))
    return _train(d, w, features=d / "semi.csv")


@case("train-labels-no-overlap", "train", "labels whose case ids match no feature row", "lab.csv")
def _(d, w):
    (d / "lab.csv").write_text("case_id,label\nx1,0\nx2,1\n")
    return _train(d, w, labels=d / "lab.csv")


@case("train-labels-three-classes", "train", "labels with three classes", "lab3.csv")
def _(d, w):
    import pandas as pd

    lab = pd.read_csv(w["labels"])
    lab["label"] = np.arange(len(lab)) % 3
    lab.to_csv(d / "lab3.csv", index=False)
    return _train(d, w, labels=d / "lab3.csv")


@case("train-features-text", "train", "feature column holding text", "txt.csv")
def _(d, w):
    import pandas as pd

    f = pd.read_csv(w["features"])
    f["original_firstorder_Mean"] = "high"
    f.to_csv(d / "txt.csv", index=False)
    return _train(d, w, features=d / "txt.csv")


@case("train-features-no-case-id", "train", "feature CSV without case_id", "noid.csv")
def _(d, w):
    import pandas as pd

    pd.read_csv(w["features"]).drop(columns="case_id").to_csv(d / "noid.csv", index=False)
    return _train(d, w, features=d / "noid.csv")


@case("train-recipe-unknown", "train", "unknown recipe name", "no-such-recipe")
def _(d, w):
    return _train(d, w, recipe="no-such-recipe")


@case("train-recipe-typo", "train", "recipe YAML with a misspelt key", "r.yaml")
def _(d, w):
    (d / "r.yaml").write_text("name: mine\nestimater: lr\n")
    return _train(d, w, recipe=str(d / "r.yaml"))


@case("train-recipe-bad-yaml", "train", "recipe file that is not valid YAML", "rb.yaml")
def _(d, w):
    (d / "rb.yaml").write_text("name: [x\n")
    return _train(d, w, recipe=str(d / "rb.yaml"))


@case("train-keep-missing", "train", "--keep list that does not exist", "keep.txt")
def _(d, w):
    return _train(d, w, "--keep", str(d / "keep.txt"))


@case("train-keep-empty", "train", "--keep list that is empty", "keep.txt")
def _(d, w):
    (d / "keep.txt").write_text("\n")
    return _train(d, w, "--keep", str(d / "keep.txt"))


@case("train-keep-unknown", "train", "--keep naming features the table lacks", "--keep")
def _(d, w):
    (d / "keep2.txt").write_text("original_glcm_Nope\n")
    return _train(d, w, "--keep", str(d / "keep2.txt"))


@case("train-readonly", "train", "--out in a read-only folder (checked before training)", "out", env="readonly")
def _(d, w):
    return _train(d, w, "--no-cv")


@case("train-disk-full", "train", "disk full while writing the bundle", "out", env="full")
def _(d, w):
    return _train(d, w, "--no-cv")


@case("train-preset-unknown", "train", "--preset that does not exist", "nopreset")
def _(d, w):
    return _train(d, w, "--preset", "nopreset")


@case("cv-labels-missing", "cv", "labels CSV that does not exist", "nolab.csv")
def _(d, w):
    return _train(d, w, labels=d / "nolab.csv", verb="cv")


@case("cv-bad-folds", "cv", "--folds 1", "--folds")
def _(d, w):
    return _train(d, w, "--folds", "1", verb="cv")


@case("evaluate-bundle-damaged", "evaluate", "evaluate with a damaged bundle", "f1.nbrisk")
def _(d, w):
    m = _flip(w["bundle"], d / "f1.nbrisk", lambda b: _member_data_offset(b, "model.skops"))
    return ["evaluate", "--model", str(m), "--features", str(w["features"]), "--labels", str(w["labels"]),
            "--clinical", str(w["clinical"]), "--out", str(d / "out" / "ev")]


@case("evaluate-features-missing", "evaluate", "evaluate without the feature columns the model needs",
      "few.csv")
def _(d, w):
    (d / "few.csv").write_text("case_id,original_firstorder_Mean\nc00,1.0\nc01,2.0\n")
    return ["evaluate", "--model", str(w["bundle"]), "--features", str(d / "few.csv"), "--labels",
            str(w["labels"]), "--clinical", str(w["clinical"]), "--out", str(d / "out" / "ev")]


# -- bundle verb -----------------------------------------------------------------------------------------------
@case("bundle-inspect-flip", "bundle", "bundle inspect of a bundle with a flipped bit", "f1.nbrisk")
def _(d, w):
    return ["bundle", "inspect", str(_flip(w["bundle"], d / "f1.nbrisk",
                                           lambda b: _member_data_offset(b, "model.skops")))]


@case("bundle-inspect-central-dir", "bundle", "bundle inspect, bit flipped in the central directory",
      "f3.nbrisk")
def _(d, w):
    return ["bundle", "inspect", str(_flip(w["bundle"], d / "f3.nbrisk", lambda b: b.rfind(b"PK\x01\x02") + 14))]


@case("bundle-inspect-pickle", "bundle", "bundle inspect of a pickle", "m.pkl", fix="bundle import")
def _(d, w):
    import pickle

    (d / "m.pkl").write_bytes(pickle.dumps([1]))
    return ["bundle", "inspect", str(d / "m.pkl")]


@case("bundle-import-untrusted", "bundle", "bundle import without --trust-pickle", "m.pkl", fix="--trust-pickle")
def _(d, w):
    import pickle

    (d / "m.pkl").write_bytes(pickle.dumps([1]))
    (d / "names.txt").write_text("a\nb\n")
    return ["bundle", "import", str(d / "m.pkl"), "--features", str(d / "names.txt"), "--preset",
            "pyradiomics-default", "--out", str(d / "out" / "m.nbrisk")]


@case("bundle-import-names-dup", "bundle", "bundle import with duplicate feature names", "names.txt")
def _(d, w):
    (d / "m.pkl").write_bytes(b"\x80\x04N.")
    (d / "names.txt").write_text("a\na\n")
    return ["bundle", "import", str(d / "m.pkl"), "--features", str(d / "names.txt"), "--preset",
            "pyradiomics-default", "--out", str(d / "out" / "m.nbrisk"), "--trust-pickle"]


@case("bundle-import-not-model", "bundle", "bundle import of a pickle that holds no model", "n.pkl")
def _(d, w):
    import pickle

    (d / "n.pkl").write_bytes(pickle.dumps({"a": 1}))
    (d / "names.txt").write_text("a\nb\n")
    return ["bundle", "import", str(d / "n.pkl"), "--features", str(d / "names.txt"), "--preset",
            "pyradiomics-default", "--out", str(d / "out" / "m.nbrisk"), "--trust-pickle"]


# -- inrg / idrf ----------------------------------------------------------------------------------------------
def _inrg(*extra: str) -> list[str]:
    return ["inrg", "--stage", "L2", "--histology", "neuroblastoma", "--grade", "differentiating", "--mycn",
            "not_amplified", "--11q", "absent", *extra]


for _v, _n in (("nan", "NaN"), ("inf", "inf"), ("-3", "negative"), ("1e9", "implausible")):
    case(f"inrg-age-{_n.lower()}", "inrg", f"--age-months {_v}", "--age-months")(
        lambda d, w, _v=_v: _inrg("--age-months", _v))

for _v, _n in (("150", "150"), ("-3", "negative"), ("nan", "NaN")):
    case(f"inrg-marrow-{_n.lower()}", "inrg", f"--marrow-percent {_v}", "--marrow-percent")(
        lambda d, w, _v=_v: ["inrg", "--metastases", "bone_marrow", "--marrow-percent", _v, "--age-months", "10"])


@case("inrg-stage-bogus", "inrg", "--stage that is not an INRGSS stage", "--stage")
def _(d, w):
    return ["inrg", "--stage", "L7", "--age-months", "20"]


@case("inrg-no-stage", "inrg", "neither --stage nor --checklist/--metastases", "stage")
def _(d, w):
    return ["inrg", "--age-months", "20"]


@case("inrg-stage-and-checklist", "inrg", "--stage together with --metastases", "stage", fix="either")
def _(d, w):
    return ["inrg", "--stage", "L1", "--metastases", "none"]


@case("inrg-checklist-missing", "inrg", "--checklist that does not exist", "gone.json")
def _(d, w):
    return ["inrg", "--checklist", str(d / "gone.json"), "--metastases", "none"]


@case("inrg-checklist-bad-json", "inrg", "--checklist that is not JSON", "cl.json")
def _(d, w):
    (d / "cl.json").write_text("{oops")
    return ["inrg", "--checklist", str(d / "cl.json"), "--metastases", "none"]


@case("inrg-histology-bogus", "inrg", "--histology that is not a known category", "--histology")
def _(d, w):
    return _inrg("--age-months", "20", "--histology", "bananas")


@case("inrg-metastases-bogus", "inrg", "--metastases naming an unknown site", "--metastases")
def _(d, w):
    return ["inrg", "--metastases", "kneecap", "--age-months", "20"]


@case("idrf-image-missing", "idrf", "--image that does not exist", "none.nrrd")
def _(d, w):
    return ["idrf", "--image", str(d / "none.nrrd"), "--segmentation", str(w["mask"]), "--out",
            str(d / "out" / "c.json")]


@case("idrf-checklist-bad", "idrf", "--checklist that is not JSON", "cl.json")
def _(d, w):
    (d / "cl.json").write_text("]")
    return ["idrf", "--checklist", str(d / "cl.json")]


# -- icc -----------------------------------------------------------------------------------------------------
@case("icc-features-missing", "icc", "features CSV that does not exist", "nf.csv")
def _(d, w):
    return ["icc", "--features", str(d / "nf.csv"), "--out", str(d / "out" / "icc.csv")]


@case("icc-one-reader", "icc", "features CSV without a reader column", "features.csv")
def _(d, w):
    return ["icc", "--features", str(w["features"]), "--out", str(d / "out" / "icc.csv")]


@case("icc-semicolon", "icc", "';'-separated features CSV", "semi.csv", fix="comma|delimiter")
def _(d, w):
    (d / "semi.csv").write_text("case_id;reader;f1\nc1;R1;1\nc1;R2;2\nc2;R1;3\nc2;R2;4\n")
    return ["icc", "--features", str(d / "semi.csv"), "--out", str(d / "out" / "icc.csv")]


# -- study -----------------------------------------------------------------------------------------------------
def _study_manifest(d: Path, w: World) -> Path:
    (d / "sm.csv").write_text(f"case_id,image\nc1,{w['image']}\nc2,{w['image']}\n")
    return d / "sm.csv"


@case("study-export-manifest-missing", "study", "study export with a missing manifest", "nm.csv")
def _(d, w):
    return ["study", "export", "--manifest", str(d / "nm.csv"), "--readers", "R1,R2", "--out", str(d / "out" / "s")]


@case("study-export-out-exists", "study", "study export into an existing folder", "exists", fix="new folder|choose")
def _(d, w):
    (d / "exists").mkdir()
    return ["study", "export", "--manifest", str(_study_manifest(d, w)), "--readers", "R1,R2", "--out",
            str(d / "exists")]


@case("study-export-readers-empty", "study", "study export with an empty --readers", "--readers")
def _(d, w):
    return ["study", "export", "--manifest", str(_study_manifest(d, w)), "--readers", ",", "--out",
            str(d / "out" / "s")]


@case("study-export-image-missing", "study", "study export whose manifest names a missing image", "lost.nrrd")
def _(d, w):
    (d / "sm.csv").write_text(f"case_id,image\nc1,{d}/lost.nrrd\n")
    return ["study", "export", "--manifest", str(d / "sm.csv"), "--readers", "R1", "--out", str(d / "out" / "s")]


@case("study-export-readonly", "study", "study export into a read-only folder", "out", env="readonly")
def _(d, w):
    return ["study", "export", "--manifest", str(_study_manifest(d, w)), "--readers", "R1,R2", "--out",
            str(d / "out" / "s")]


@case("study-export-disk-full", "study", "disk full during study export", "out", env="full")
def _(d, w):
    return ["study", "export", "--manifest", str(_study_manifest(d, w)), "--readers", "R1,R2", "--out",
            str(d / "out" / "s")]


@case("study-import-missing", "study", "study import from a study folder that does not exist", "nostudy")
def _(d, w):
    (d / "ret").mkdir()
    return ["study", "import", "--study", str(d / "nostudy"), "--reader", "R1", "--from", str(d / "ret")]


@case("study-analyze-missing", "study", "study analyze of a folder that is not a study", "notstudy")
def _(d, w):
    (d / "notstudy").mkdir()
    return ["study", "analyze", "--study", str(d / "notstudy"), "--preset", "pyradiomics-default", "--out",
            str(d / "out" / "a")]


@case("study-perturb-manifest-missing", "study", "study perturb with a missing manifest", "pm.csv")
def _(d, w):
    return ["study", "perturb", "--manifest", str(d / "pm.csv"), "--out", str(d / "out" / "p")]


@case("study-perturb-bad-spec", "study", "study perturb with an unknown perturbation", "wobble")
def _(d, w):
    return ["study", "perturb", "--manifest", str(w["manifest"]), "--out", str(d / "out" / "p"), "--perturb",
            "wobble:3"]


@case("study-perturb-semicolon", "study", "study perturb with a ';'-separated manifest", "semi.csv",
      fix="comma|delimiter")
def _(d, w):
    (d / "semi.csv").write_text(f"case_id;image;mask\nc1;{w['image']};{w['mask']}\n")
    return ["study", "perturb", "--manifest", str(d / "semi.csv"), "--out", str(d / "out" / "p")]


# -- segment / seg-compare ------------------------------------------------------------------------------------
@case("segment-image-missing", "segment", "segment with an image that does not exist", "none.nrrd")
def _(d, w):
    return ["segment", "--image", str(d / "none.nrrd"), "--seed-ijk", "16,16,8", "--out", str(d / "out" / "s.nrrd")]


@case("segment-seed-outside", "segment", "seed outside the image", "seed index")
def _(d, w):
    return ["segment", "--image", str(w["image"]), "--seed-ijk", "99,16,8", "--out", str(d / "out" / "s.nrrd")]


@case("segment-no-seed", "segment", "no seed given", "--seed")
def _(d, w):
    return ["segment", "--image", str(w["image"]), "--out", str(d / "out" / "s.nrrd")]


@case("segment-labelmap-off-grid", "segment", "painted seed labelmap on another grid", "seeds.nrrd")
def _(d, w):
    lm = np.zeros((8, 16, 16), np.uint8)
    lm[4, 8, 8] = 1
    return ["segment", "--image", str(w["image"]), "--seed-labelmap", str(write(_img(lm), d / "seeds.nrrd")),
            "--out", str(d / "out" / "s.nrrd")]


@case("segment-labelmap-no-labels", "segment", "painted seed labelmap without the tumour/background labels",
      "seeds.nrrd")
def _(d, w):
    lm = np.zeros(_arr(w).shape, np.uint8)
    lm[8, 16, 16] = 3
    return ["segment", "--image", str(w["image"]), "--seed-labelmap", str(write(_img(lm), d / "seeds.nrrd")),
            "--out", str(d / "out" / "s.nrrd")]


@case("segment-smooth-negative", "segment", "--smooth-mm below zero", "--smooth-mm")
def _(d, w):
    return ["segment", "--image", str(w["image"]), "--seed-ijk", "16,16,8", "--smooth-mm", "-1",
            "--out", str(d / "out" / "s.nrrd")]


@case("segment-smooth-competition", "segment", "--smooth-mm with --method competition", "--smooth-mm")
def _(d, w):
    return ["segment", "--image", str(w["image"]), "--seed-ijk", "16,16,8", "--method", "competition",
            "--smooth-mm", "1", "--out", str(d / "out" / "s.nrrd")]


@case("segment-seed-two-numbers", "segment", "--seed-lps with two numbers", "--seed-lps")
def _(d, w):
    return ["segment", "--image", str(w["image"]), "--seed-lps", "-10", "20", "--out", str(d / "out" / "s.nrrd")]


@case("segment-image-nan", "segment", "segment an image with NaN voxels", "nan.nrrd")
def _(d, w):
    a = _arr(w).astype(np.float32)
    a[0, 0, 0] = np.nan
    return ["segment", "--image", str(write(_img(a), d / "nan.nrrd")), "--seed-ijk", "16,16,8", "--out",
            str(d / "out" / "s.nrrd")]


@case("segment-image-blank", "segment", "segment a blank series (one value everywhere)", "blank.nrrd")
def _(d, w):
    a = np.full_like(_arr(w).astype(np.float32), 40.0)
    return ["segment", "--image", str(write(_img(a), d / "blank.nrrd")), "--seed-ijk", "16,16,8", "--out",
            str(d / "out" / "s.nrrd")]


@case("autoseg-image-missing", "autoseg", "autoseg of an image that does not exist", "none.nrrd")
def _(d, w):
    return ["autoseg", "--image", str(d / "none.nrrd"), "--out", str(d / "out" / "m.nrrd")]


@case("autoseg-model-missing", "autoseg", "autoseg with a model file that does not exist", "nope.onnx")
def _(d, w):
    return ["autoseg", "--image", str(w["image"]), "--model", str(d / "nope.onnx"), "--out", str(d / "out" / "m.nrrd")]


@case("autoseg-point-outside", "autoseg", "autoseg with a tumour point outside the image", "tumour point")
def _(d, w):
    return ["autoseg", "--image", str(w["image"]), "--point-lps", "9999,0,0", "--out", str(d / "out" / "m.nrrd")]


@case("autoseg-manifest-columns", "autoseg", "autoseg manifest without an image column", "m.csv")
def _(d, w):
    (d / "m.csv").write_text("case_id,img\nc1,x.nrrd\n", encoding="utf-8")
    return ["autoseg", "--manifest", str(d / "m.csv"), "--out", str(d / "out" / "masks")]


@case("autoseg-out-suffix", "autoseg", "autoseg --out that is not a mask file", "m.txt")
def _(d, w):
    return ["autoseg", "--image", str(w["image"]), "--out", str(d / "out" / "m.txt")]


@case("segcompare-missing", "seg-compare", "reference mask that does not exist", "ref.nrrd")
def _(d, w):
    return ["seg-compare", "--reference", str(d / "ref.nrrd"), "--test", str(w["mask"])]


@case("segcompare-grid", "seg-compare", "test mask on another grid", "sp.nrrd")
def _(d, w):
    return ["seg-compare", "--reference", str(w["mask"]),
            "--test", str(write(_img(_mask_arr(), spacing=(1.0, 1.0, 2.5)), d / "sp.nrrd"))]


# -- presets / demo / top level ---------------------------------------------------------------------------------
@case("presets-show-unknown", "presets", "presets --show of an unknown preset", "nope")
def _(d, w):
    return ["presets", "--show", "nope"]


@case("demo-out-not-demo", "demo", "demo --out pointing to an existing non-demo folder", "mine",
      fix="choose|empty|another")
def _(d, w):
    (d / "mine").mkdir()
    (d / "mine" / "thesis.docx").write_text("precious")
    return ["demo", "--out", str(d / "mine"), "--cases", "8"]


@case("demo-cases-too-few", "demo", "demo --cases 4 (too few for the cross-validation)", "--cases")
def _(d, w):
    return ["demo", "--out", str(d / "out" / "demo"), "--cases", "4"]


@case("demo-cases-negative", "demo", "demo --cases -1", "--cases")
def _(d, w):
    return ["demo", "--out", str(d / "out" / "demo"), "--cases", "-1"]


@case("demo-out-file", "demo", "demo --out that is a file", "afile")
def _(d, w):
    (d / "afile").write_text("x")
    return ["demo", "--out", str(d / "afile")]


@case("cli-unknown-verb", "nbrisk", "an unknown verb", "frobnicate", fix="choose")
def _(d, w):
    return ["frobnicate"]


# -- a few as real processes ----------------------------------------------------------------------------------------
@case("proc-image-truncated", "extract", "truncated gzip image, as a real process", "trunc.nrrd", subprocess=True)
def _(d, w):
    return _extract(d, w, _truncate(w["image"], d / "trunc.nrrd"))


@case("proc-folder-not-dicom", "extract", "non-DICOM folder as a real process (no ITK WARNING lines)",
      "notdicom", subprocess=True)
def _(d, w):
    (d / "notdicom").mkdir()
    (d / "notdicom" / "a.txt").write_text("x")
    return _extract(d, w, d / "notdicom")


@case("proc-bundle-flip", "predict", "damaged bundle, as a real process", "f1.nbrisk", subprocess=True)
def _(d, w):
    return _predict(d, w, model=_flip(w["bundle"], d / "f1.nbrisk",
                                      lambda b: _member_data_offset(b, "model.skops")))


@case("proc-inrg-marrow", "inrg", "marrow 150 %, as a real process", "--marrow-percent", subprocess=True)
def _(d, w):
    return ["inrg", "--metastases", "bone_marrow", "--marrow-percent", "150", "--age-months", "10"]


@case("proc-disk-full", "extract", "disk full, as a real process", "out", env="full", subprocess=True)
def _(d, w):
    return _extract(d, w)


def case_ids() -> list[str]:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return ids


# ---------------------------------------------------------------------------------------------- runner
@dataclass
class Outcome:
    rc: int
    stdout: str
    stderr: str
    exception: str = ""  # an exception that escaped main() (a traceback for the user)
    leftovers: list[str] = field(default_factory=list)
    errors_csv_text: str = ""

    @property
    def message(self) -> str:
        """The error line (stderr's ``nbrisk ...: error: ...``), or the first message of the errors CSV."""
        if self.errors_csv_text:
            import csv
            import io

            rows = list(csv.DictReader(io.StringIO(self.errors_csv_text)))
            return rows[0]["message"] if rows else ""
        lines = [ln for ln in self.stderr.splitlines() if ": error: " in ln]
        return lines[-1] if lines else ""


def _listing(root: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        out.update(str(rel / n) for n in dirnames + filenames)
    return out


def _mount(target: Path, options: str) -> bool:
    import subprocess

    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    target.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True,
                          check=False)
    return proc.returncode == 0


def _umount(target: Path) -> None:
    import subprocess

    subprocess.run(["umount", str(target)], capture_output=True, check=False)


def prepare_env(c: Case, d: Path) -> tuple[bool, str]:
    """Make the case folder's ``out`` a read-only or a full file system; (mounted, reason it cannot be made)."""
    out = d / "out"
    if c.env == "readonly":
        if _mount(out, "size=1m,ro"):
            return True, ""
        if os.geteuid() == 0:
            return False, "needs a read-only mount (root without mount rights)"
        out.mkdir()
        out.chmod(0o555)
        return False, ""
    if c.env == "full":
        if not _mount(out, "size=64k,nr_inodes=64"):
            return False, "needs a small tmpfs mount (root) to fill a real file system"
        try:
            with open(out / ".filler", "wb") as fh:
                while True:
                    fh.write(b"\0" * 4096)
                    fh.flush()
        except OSError:
            pass
        return True, ""
    return False, ""


def run_case(c: Case, world: World, d: Path) -> Outcome | str:
    """Build and run one case in folder ``d``; an Outcome, or a string saying why it cannot run here."""
    d.mkdir(parents=True, exist_ok=True)
    argv = c.build(d, world)
    mounted, why = prepare_env(c, d)
    if why:
        return why
    try:
        before = _listing(d)
        res = _run_process(argv) if c.subprocess else _run_inprocess(argv)
        after = _listing(d)
        allowed = {c.errors_csv, *(f"{c.errors_csv.rsplit('/', 1)[0]}/{n}" for n in
                                   ("f.csv", "f.provenance.json", ".f.parts"))} if c.errors_csv else set()
        allowed |= {str(Path(a).parent) for a in allowed}
        res.leftovers = sorted(p for p in after - before if p not in allowed and not p.startswith("out/.f.parts/"))
        if c.errors_csv and (d / c.errors_csv).is_file():
            res.errors_csv_text = (d / c.errors_csv).read_text()
        return res
    finally:
        if mounted:
            _umount(d / "out")
        elif (d / "out").exists():
            (d / "out").chmod(0o755)


def _run_inprocess(argv: list[str]) -> Outcome:
    import io
    import logging
    import sys
    import tempfile
    import traceback

    from nbrisk.cli import main

    saved_fds = os.dup(1), os.dup(2)
    saved_streams = sys.stdout, sys.stderr
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as fd_out:
        os.dup2(fd_out.fileno(), 1)
        os.dup2(fd_out.fileno(), 2)
        out, err = io.StringIO(), io.StringIO()
        sys.stdout, sys.stderr = out, err
        root.handlers = []  # main() configures logging to this run's stderr
        exc_text, rc = "", -1
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code if isinstance(exc.code, int) else 2
        except BaseException:
            exc_text = traceback.format_exc()
        finally:
            sys.stdout, sys.stderr = saved_streams
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            os.close(saved_fds[0])
            os.close(saved_fds[1])
            for h in root.handlers:
                if h not in saved_handlers:
                    h.close()
            root.handlers, root.level = saved_handlers, saved_level
        fd_out.seek(0)
        c_level = fd_out.read().decode("utf-8", "replace")
    return Outcome(rc, out.getvalue(), err.getvalue() + c_level, exc_text)


def _run_process(argv: list[str]) -> Outcome:
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run([sys.executable, "-m", "nbrisk", *argv], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def problems(c: Case, res: Outcome) -> list[str]:
    """What is wrong with a case's outcome (empty: clean)."""
    import re

    bad = []
    if res.rc != c.rc:
        bad.append(f"exit status {res.rc}, want {c.rc}")
    if res.exception or "Traceback" in res.stderr:
        bad.append("traceback: " + (res.exception or res.stderr).strip().splitlines()[-1][:200])
    if re.search(r"^WARNING: In |ITK (WARNING|ERROR)", res.stderr, re.M):
        bad.append("ITK WARNING/ERROR lines on stderr")
    msg = res.message
    if not msg:
        bad.append("no error line" + (" in the errors CSV" if c.errors_csv else " on stderr"))
    else:
        if c.names not in msg:
            bad.append(f"message does not name {c.names!r}")
        if not re.search(c.fix, msg):
            bad.append(f"message gives no fix ({c.fix[:40]!r})")
        if not c.errors_csv:
            errors = [ln for ln in res.stderr.splitlines() if ": error: " in ln or ln.startswith("error")]
            if len(errors) != 1:
                bad.append(f"{len(errors)} error lines")
    if res.leftovers:
        bad.append(f"left behind: {res.leftovers[:4]}")
    return bad


def normalise(message: str, folder: Path, world: Path) -> str:
    """The message with the case's and the shared inputs' temporary folders written as DIR and INPUTS, and
    file digests as HEX (a bundle's bytes depend on the library versions recorded in its card)."""
    import re

    for root, name in ((folder, "DIR"), (world, "INPUTS")):
        for form in {str(root), str(root.resolve())}:
            message = message.replace(form, name)
    return re.sub(r"\b[0-9a-f]{16}\.\.\.", "HEX...", message.strip())
