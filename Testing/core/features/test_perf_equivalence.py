"""The fast ``nbrisk`` engine equals plain pyradiomics: real sample cases, resampling and filters on.

Covers what :mod:`nbrisk.features.engine` changes: the shared discretisation, the symmetric GLCM MCC, the
parallel image types (``jobs=2``, LoG sigmas split into tasks and reassembled in pyradiomics' order).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from nbrisk.features import engine as fastextract
from nbrisk.features.extract import extract_features
from nbrisk.io.images import load_case
from nbrisk.features.presets import Preset, _build

pytestmark = pytest.mark.radiomics

ALL_CLASSES = {c: None for c in ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")}
RAW = {
    "nbrisk": {"name": "perf-all", "preprocessing": {}},
    "pyradiomics": {
        "imageType": {"Original": {}, "LoG": {"sigma": [1.0, 2.5]}, "Wavelet": {}, "Square": {},
                      "SquareRoot": {}, "Logarithm": {}, "Exponential": {}, "Gradient": {}, "LBP2D": {}},
        "featureClass": ALL_CLASSES,
        "setting": {"normalize": True, "normalizeScale": 100, "interpolator": "sitkBSpline",
                    "resampledPixelSpacing": [1.5, 1.5, 1.5], "binWidth": 10, "voxelArrayShift": 300,
                    "padDistance": 6, "label": 1},
    },
}


def _assert_same(a: dict[str, float], b: dict[str, float], rtol: float = 1e-4) -> float:
    assert list(a) == list(b), "feature names or their order differ"
    x, y = np.array(list(a.values()), float), np.array(list(b.values()), float)
    both_nan = np.isnan(x) & np.isnan(y)
    close = np.isclose(x, y, rtol=rtol, atol=1e-9) | both_nan
    bad = [k for k, ok in zip(a, close, strict=True) if not ok]
    assert not bad, f"{len(bad)} features differ, e.g. {[(k, a[k], b[k]) for k in bad[:3]]}"
    return float(np.nanmax(np.where(both_nan, 0, np.abs(x - y) / np.maximum(np.abs(y), 1e-12))))


def _case(d: Path, case: str):
    image, mask = load_case(d / f"{case}_image.nrrd", d / f"{case}_label.nrrd")
    return image, mask.image


@pytest.mark.parametrize("case", ["brain1", "lung1"])
def test_fast_engine_parallel_equals_plain_pyradiomics(sample_data_dir: Path, case: str) -> None:
    image, mask = _case(sample_data_dir, case)
    preset = _build(copy.deepcopy(RAW), "perf-all", "")
    try:
        fast = extract_features(image, mask, preset, engine="nbrisk", jobs=2)
    finally:
        fastextract.shutdown_pool()
    plain = extract_features(image, mask, preset, engine="pyradiomics")
    assert len(fast.values) == preset.feature_count == 14 + 1 * 0 + 17 * 93
    assert _assert_same(fast.values, plain.values) < 1e-4
    mcc = [k for k in fast.values if k.endswith("glcm_MCC")]
    assert len(mcc) == 17 and all(0 <= fast.values[k] <= 1 + 1e-9 for k in mcc)


def test_serial_and_parallel_give_identical_values(sample_data_dir: Path) -> None:
    image, mask = _case(sample_data_dir, "breast1")
    raw = copy.deepcopy(RAW)
    raw["pyradiomics"]["imageType"] = {"Original": {}, "LoG": {"sigma": [1.0, 2.0, 3.0]}, "Square": {}}
    preset = _build(raw, "p", "")
    try:
        par = extract_features(image, mask, preset, jobs=2).values
    finally:
        fastextract.shutdown_pool()
    ser = extract_features(image, mask, preset, jobs=1).values
    assert list(par) == list(ser) and par == pytest.approx(ser, rel=0, abs=0, nan_ok=True)
    types = [k.split("_")[0] for k in ser if k.endswith("firstorder_Mean")]
    assert sorted(types) == sorted(["original", "log-sigma-1-0-mm-3D", "log-sigma-2-0-mm-3D", "log-sigma-3-0-mm-3D",
                                    "square"])
    logs = [t for t in types if t.startswith("log")]
    assert logs == sorted(logs)  # the LoG tasks are put back in sigma order


@pytest.mark.parametrize("settings", [
    {"binWidth": 5},  # many grey levels
    {"binCount": 3},
    {"binWidth": 25, "symmetricalGLCM": False},  # px != py: the symmetric form must still hold
    {"binWidth": 10, "weightingNorm": "euclidean"},  # angles merged into one matrix
    {"binWidth": 10, "distances": [1, 2], "force2D": True},
])
def test_glcm_mcc_equals_pyradiomics(sample_data_dir: Path, settings: dict) -> None:
    from radiomics.glcm import RadiomicsGLCM

    image, mask = _case(sample_data_dir, "lung1")
    fast_cls = fastextract.feature_classes()["glcm"]
    assert issubclass(fast_cls, RadiomicsGLCM) and fast_cls is not RadiomicsGLCM
    lo, hi = (np.array(v) for v in _bbox(mask))
    img = sitk.RegionOfInterest(image, (hi - lo + 1).tolist(), lo.tolist())
    msk = sitk.RegionOfInterest(mask, (hi - lo + 1).tolist(), lo.tolist())
    vals = []
    for cls in (RadiomicsGLCM, fast_cls):
        fc = cls(img, msk, label=1, **settings)
        fc.enableFeatureByName("MCC")
        vals.append(float(fc.execute()["MCC"]))
    assert vals[1] == pytest.approx(vals[0], rel=1e-6)
    assert 0 < vals[0] < 1


def test_flat_roi_mcc_is_one(sample_data_dir: Path) -> None:
    image, mask = _case(sample_data_dir, "brain1")
    flat = sitk.Cast(image * 0 + 7, sitk.sitkFloat32)
    fc = fastextract.feature_classes()["glcm"](flat, mask, label=1, binWidth=25)
    fc.enableFeatureByName("MCC")
    assert float(fc.execute()["MCC"]) == 1.0


def test_shared_binning_only_for_the_image_it_was_made_for(sample_data_dir: Path) -> None:
    """A feature class built on another image must bin its own image (no stale discretisation)."""
    image, mask = _case(sample_data_dir, "brain1")
    other = sitk.Cast(image, sitk.sitkFloat32) * 3.0
    fastextract._SHARED.update(image=image, label=1, binned=np.zeros(1), grayLevels=np.array([1]), Ng=1)
    try:
        fc = fastextract.feature_classes()["firstorder"](other, mask, label=1, binWidth=25)
        fc.enableFeatureByName("Uniformity")
        got = float(fc.execute()["Uniformity"])
    finally:
        fastextract._SHARED.clear()
    from radiomics.firstorder import RadiomicsFirstOrder

    ref = RadiomicsFirstOrder(other, mask, label=1, binWidth=25)
    ref.enableFeatureByName("Uniformity")
    assert got == pytest.approx(float(ref.execute()["Uniformity"]), rel=1e-12)


def _bbox(mask: sitk.Image) -> tuple[list[int], list[int]]:
    from nbrisk.features.preprocess import roi_bounds

    lo, hi = roi_bounds(mask)
    return lo.tolist(), hi.tolist()


def test_preset_object_roundtrip() -> None:
    p = _build(copy.deepcopy(RAW), "perf-all", "")
    assert isinstance(p, Preset) and fastextract._tasks(p.pyradiomics["imageType"])[0][0] == "Wavelet"
    assert [t for t in fastextract._tasks({"LoG": {"sigma": [1.0, 2.5]}})] == [
        ("LoG", {"sigma": [1.0]}), ("LoG", {"sigma": [2.5]})]


@pytest.mark.parametrize("pixel", [sitk.sitkInt16, sitk.sitkFloat32])
@pytest.mark.parametrize("outliers", [None, 2.5])
def test_normalising_the_crop_equals_cropping_the_normalised_image(sample_data_dir: Path, pixel: int,
                                                                   outliers: float | None) -> None:
    from radiomics.imageoperations import normalizeImage

    from nbrisk.features.preprocess import normalize_part

    image = sitk.Cast(sitk.ReadImage(str(sample_data_dir / "brain1_image.nrrd")), pixel)
    settings = {"normalizeScale": 100, "removeOutliers": outliers}
    size, index = [60, 70, 10], [40, 50, 5]
    ref = sitk.RegionOfInterest(normalizeImage(image, **settings), size, index)
    got = normalize_part(image, sitk.RegionOfInterest(image, size, index), settings)
    assert got.GetPixelID() == ref.GetPixelID()
    assert np.array_equal(sitk.GetArrayFromImage(got), sitk.GetArrayFromImage(ref))  # bit for bit


@pytest.mark.slow
def test_cli_single_case_jobs(sample_data_dir: Path, tmp_path: Path) -> None:
    import pandas as pd
    import yaml

    from nbrisk.cli import main

    raw = copy.deepcopy(RAW)
    raw["pyradiomics"]["imageType"] = {"Original": {}, "LoG": {"sigma": [1.0, 2.0]}, "Gradient": {}}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    args = ["extract", "--image", str(sample_data_dir / "brain1_image.nrrd"), "--mask",
            str(sample_data_dir / "brain1_label.nrrd"), "--preset", str(tmp_path / "p.yaml")]
    assert main([*args, "--out", str(tmp_path / "j1.csv")]) == 0
    assert main([*args, "--out", str(tmp_path / "j2.csv"), "-j", "2"]) == 0
    a, b = pd.read_csv(tmp_path / "j1.csv"), pd.read_csv(tmp_path / "j2.csv")
    assert a.shape == (1, 1 + 14 + 4 * 93)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not fastextract._POOL  # the CLI stops its workers


@pytest.mark.parametrize("settings", [{}, {"wavelet": "haar"}, {"force2D": True, "force2Ddimension": 0}])
def test_lean_wavelet_equals_pyradiomics_bit_for_bit(sample_data_dir: Path, settings: dict) -> None:
    from radiomics.imageoperations import getWaveletImage

    image, mask = _case(sample_data_dir, "breast1")
    lo, hi = (np.array(v) for v in _bbox(mask))
    size = np.minimum(hi - lo + 1 + 8, np.array(image.GetSize()) - lo)  # odd and even sizes both occur
    img = sitk.Cast(sitk.RegionOfInterest(image, size.tolist(), lo.tolist()), sitk.sitkFloat64)
    ref = list(getWaveletImage(img, None, **settings))
    got = {n: im for im, n, _ in fastextract._wavelet_images(img, **settings)}
    # sub-bands come out approximation last; the features are put back in pyradiomics' order
    assert fastextract._wavelet_order(img, settings) == [n for _, n, _ in ref]
    assert sorted(got) == sorted(n for _, n, _ in ref) and len(ref) == (4 if settings.get("force2D") else 8)
    for b, n, _ in ref:
        a = got[n]
        assert np.array_equal(sitk.GetArrayFromImage(a), sitk.GetArrayFromImage(b))
        assert a.GetOrigin() == b.GetOrigin() and a.GetSpacing() == b.GetSpacing()


@pytest.mark.parametrize(("case", "settings"), [("lung1", {"binWidth": 10}), ("brain1", {"binWidth": 25}),
                                                ("breast1", {"binCount": 8}), ("lung1", {"binCount": 2})])
def test_compact_glszm_equals_pyradiomics(sample_data_dir: Path, case: str, settings: dict) -> None:
    from radiomics.glszm import RadiomicsGLSZM

    image, mask = _case(sample_data_dir, case)
    lo, hi = (np.array(v) for v in _bbox(mask))
    img = sitk.RegionOfInterest(image, (hi - lo + 1).tolist(), lo.tolist())
    msk = sitk.RegionOfInterest(mask, (hi - lo + 1).tolist(), lo.tolist())
    res = []
    for cls in (RadiomicsGLSZM, fastextract.feature_classes()["glszm"]):
        fc = cls(img, msk, label=1, **settings)
        fc.enableAllFeatures()
        res.append({k: float(v) for k, v in fc.execute().items()})
        if cls is not RadiomicsGLSZM:
            assert fc.P_glszm.shape[2] == len(fc._zone_sizes) < int(np.sum(fc.maskArray))  # compact
    assert len(res[0]) == 16
    _assert_same(res[1], res[0], rtol=1e-9)
