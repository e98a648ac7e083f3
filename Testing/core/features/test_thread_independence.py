"""Features do not depend on the machine's core count or on SimpleITK's thread settings.

ITK filters that sum over the image (N4's B-spline fit, the whole-image statistics of ``normalize``) give
results that depend on how the work is split between threads. A radiologist's 16-core workstation, a cohort
worker limited to 1 thread and a laptop must still compute the same features for the same image, or a model
trained on one gives other scores on another. Each test runs the same step under several global thread
settings of the caller and requires bit-identical voxels or features.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from nbrisk.features import preprocess
from nbrisk.features.extract import extract_features
from nbrisk.synthetic.phantom import PhantomSpec, make_phantom

SETTINGS = [(1, "Platform"), (2, "Platform"), (3, "Pool")]  # (threads, threader) the caller may have set


@pytest.fixture(scope="module")
def mr():
    return make_phantom(PhantomSpec(modality="mr", size=(80, 80, 32), spacing=(1.0, 1.0, 2.0)), seed=3)


def _under_each_setting(fn):
    out = []
    for n, threader in SETTINGS:
        with preprocess.itk_threads(n, threader):  # the caller's own settings
            out.append(fn())
            # the caller's settings are back once the step is done
            assert sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == n
            assert sitk.ProcessObject.GetGlobalDefaultThreader() == threader
    return out


def test_n4_same_voxels_whatever_the_thread_settings(mr) -> None:
    runs = _under_each_setting(lambda: sitk.GetArrayFromImage(preprocess.n4_correct(mr.image, {})))
    for other in runs[1:]:
        np.testing.assert_array_equal(runs[0], other)


def test_whole_image_normalisation_same_whatever_the_thread_settings(mr) -> None:
    img = sitk.Cast(mr.image, sitk.sitkFloat64) * 1.37 + 0.1  # values whose sums round differently
    part = sitk.RegionOfInterest(img, [20, 20, 8], [40, 40, 16])  # size, index
    full = _under_each_setting(lambda: sitk.GetArrayFromImage(
        preprocess.normalize_image(img, {"normalizeScale": 100})))
    crop = _under_each_setting(lambda: sitk.GetArrayFromImage(
        preprocess.normalize_part(img, part, {"normalizeScale": 100})))
    for a, b in zip(full[1:], crop[1:], strict=True):
        np.testing.assert_array_equal(full[0], a)
        np.testing.assert_array_equal(crop[0], b)
    np.testing.assert_array_equal(full[0][16:24, 40:60, 40:60], crop[0])


@pytest.mark.radiomics
def test_jia2023_mri_features_same_whatever_the_thread_settings(mr) -> None:
    """The whole MRI preset (N4, whole-image z-score, LoG, wavelet, LBP) under each setting, bit for bit."""
    import nbrisk.features.extract as features

    def run():
        features._N4_MEMO.clear()  # N4 must run under each setting, not come from the memo
        return extract_features(mr.image, mr.tumour, "jia2023-mri").values

    first, *others = _under_each_setting(run)
    assert len(first) == 1874
    for other in others:
        diff = [k for k in first if first[k] != other[k] and not (np.isnan(first[k]) and np.isnan(other[k]))]
        assert not diff, f"{len(diff)} features depend on the thread count, e.g. {diff[:3]}"


@pytest.mark.radiomics
def test_pyradiomics_engine_normalisation_same_whatever_the_thread_settings(mr, tmp_path) -> None:
    """``--engine pyradiomics`` with ``normalize: true``: pyradiomics' own normalisation sums on all threads."""
    preset = tmp_path / "norm.yaml"
    preset.write_text(
        "nbrisk:\n  name: norm\n"
        "pyradiomics:\n  imageType: {Original: {}}\n  featureClass: {firstorder: null, glcm: null}\n"
        "  setting: {normalize: true, normalizeScale: 100, binWidth: 5, voxelArrayShift: 300, label: 1,\n"
        "            interpolator: sitkBSpline, resampledPixelSpacing: [1.5, 1.5, 1.5]}\n",
        encoding="utf-8")
    img = sitk.Cast(mr.image, sitk.sitkFloat64) * 1.37 + 0.1  # values whose sums round differently
    first, *others = _under_each_setting(
        lambda: extract_features(img, mr.tumour, str(preset), engine="pyradiomics").values)
    for other in others:
        diff = [k for k in first if first[k] != other[k]]
        assert not diff, f"{len(diff)} features depend on the thread count, e.g. {diff[:3]}"
    nb = extract_features(img, mr.tumour, str(preset)).values  # and the engines agree
    assert max(abs(nb[k] - first[k]) / max(abs(first[k]), 1e-12) for k in first) < 1e-6


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=1)


@pytest.mark.radiomics
def test_blas_runs_on_one_thread_during_extraction(mr, monkeypatch) -> None:
    """OpenBLAS on several threads made a 128x128 eigvalsh batch 13x slower on 2 cores, and from 256 grey
    levels LAPACK's eigenvalues differ with the thread count: the MCC must run on one BLAS thread."""
    from threadpoolctl import threadpool_limits

    from nbrisk.features import engine as fastextract

    seen: list[int] = []
    eigvalsh = np.linalg.eigvalsh

    def spy(a):
        seen.append(_blas_threads())
        return eigvalsh(a)

    monkeypatch.setattr(np.linalg, "eigvalsh", spy)
    with threadpool_limits(limits=2, user_api="blas"):  # what numpy starts with on a multi-core machine
        extract_features(mr.image, mr.tumour, "pyradiomics-default")
        assert seen and set(seen) == {1}
        assert _blas_threads() == 2  # the caller's setting is back
        fastextract._worker_init()  # an image-type worker: one BLAS thread for its lifetime
        assert _blas_threads() == 1
