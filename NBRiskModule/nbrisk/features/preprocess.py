"""Preprocessing declared by a preset: N4 bias correction, ROI z-score, single-slice 2-D mode, ROI crop.

Whole-image normalisation stays pyradiomics' own (``normalizeImage``), with the whole image's statistics.
Resampling builds exactly pyradiomics' ``resampleImage`` grid, which is anchored to the *whole* image's
voxel grid, so it can run on a block of the image (:func:`resample_like_pyradiomics`). The crop here only
removes voxels that cannot influence any feature: it keeps a margin wider than the resampling grid's
padding plus the interpolation and filter support, measured on the full-image grid.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError
from nbrisk.io.images import Grid

logger = logging.getLogger(__name__)

# image types whose output depends on the whole image's maximum (pyradiomics rescales by max |x|)
GLOBAL_IMAGE_TYPES = {"Square", "SquareRoot", "Logarithm", "Exponential"}
BSPLINE_DECAY_VOXELS = 12  # cubic B-spline prefilter pole 0.268: 0.268**12 ~ 1e-7

# ITK filters that sum over the image depend on how ITK splits the work between threads. N4's B-spline fit sums
# one lattice per thread, so 1, 2 or 4 threads (or the Pool instead of the Platform threader) give different
# bias fields: jia2023-mri features moved by up to 2% between 1 and 2 threads on a phantom. The whole-image
# mean and SD of ``normalize`` move in their last bits. These steps therefore always run with a fixed number of
# threads of a fixed threader, whatever the machine's core count or the caller's settings, so that a
# workstation, a cohort worker and a 64-core server get the same voxels (part of the features' provenance).
# Measured for N4 on a 256x256x64 MRI phantom, 2 cores, seconds per N4 alone / each of 2 at once:
# 1 thread 8.0 / 8.0-8.4; 2 threads 4.7-4.9 / 8.2-9.0; 4 threads 5.1-5.4 / 9.0-9.6. Two threads keep most
# of the single-case speed-up and cost cohort workers (which run N4 side by side) the least.
# Platform, not Pool: it is SimpleITK's default and keeps no threads alive across a fork (cohort workers).
FIXED_THREADS = 2
FIXED_THREADER = "Platform"
# The whole-image statistics run on one thread: with 2, ITK's Normalize and StatisticsImageFilter (used on a
# crop's whole image) disagreed in the last bit on a phantom, and a block must normalise exactly as the whole.
# The statistics of a 512x512x200 image take 0.38 s on one thread instead of 0.19 s on two (jia2023-mri, the
# only preset that normalises the whole image, works on MRI, usually a tenth of that size).
STATS_THREADS = 1


@contextlib.contextmanager
def itk_threads(n: int, threader: str) -> Iterator[None]:
    """Run the block with SimpleITK's global thread count and threader set; the caller's are restored."""
    po = sitk.ProcessObject
    old_n, old_t = po.GetGlobalDefaultNumberOfThreads(), po.GetGlobalDefaultThreader()
    if not po.SetGlobalDefaultThreader(threader):
        raise RuntimeError(f"SimpleITK {sitk.Version.VersionString()} has no {threader} threader, which nbrisk needs "
                           "for machine-independent N4 and image statistics; install SimpleITK 2.x")
    po.SetGlobalDefaultNumberOfThreads(n)
    try:
        yield
    finally:
        po.SetGlobalDefaultThreader(old_t)
        po.SetGlobalDefaultNumberOfThreads(old_n)


def n4_correct(image: sitk.Image, options: dict[str, Any] | None = None) -> sitk.Image:
    """N4 bias-field correction (MRI) on the whole image; returns float32 on the same grid.

    The result is the same on every machine: N4 runs with :data:`FIXED_THREADS` threads of the
    :data:`FIXED_THREADER` threader (its output depends on the thread count).
    """
    with itk_threads(FIXED_THREADS, FIXED_THREADER):
        return _n4_correct(image, options)


def _n4_correct(image: sitk.Image, options: dict[str, Any] | None) -> sitk.Image:
    opts = dict(options or {})
    shrink = int(opts.get("shrink_factor", 4))
    iterations = [int(i) for i in opts.get("iterations", [50, 50, 50, 50])]
    img = sitk.Cast(image, sitk.sitkFloat32)
    how = opts.get("mask", "body")
    if how == "body":  # everything brighter than 5% of the robust maximum: the body, not just bright fat
        thr = 0.05 * float(np.percentile(sitk.GetArrayViewFromImage(img), 99.5))
        fg = sitk.Cast(img > thr, sitk.sitkUInt8)
    elif how == "otsu":
        fg = sitk.OtsuThreshold(img, 0, 1, 200)
    elif how == "none":
        fg = sitk.Cast(img * 0 + 1, sitk.sitkUInt8)
    else:
        raise InputError(f"unknown N4 mask {how!r}; use body, otsu or none")
    small = sitk.Shrink(img, [shrink] * img.GetDimension()) if shrink > 1 else img
    small_mask = sitk.Shrink(fg, [shrink] * img.GetDimension()) if shrink > 1 else fg
    n4 = sitk.N4BiasFieldCorrectionImageFilter()
    n4.SetMaximumNumberOfIterations(iterations)
    n4.SetConvergenceThreshold(float(opts.get("convergence_threshold", 0.001)))
    n4.Execute(small, small_mask)
    log_bias = n4.GetLogBiasFieldAsImage(img)
    out = img / sitk.Exp(log_bias)
    out.CopyInformation(image)
    return sitk.Cast(out, sitk.sitkFloat32)


def normalize_roi(image: sitk.Image, mask: sitk.Image, scale: float = 1.0) -> sitk.Image:
    """z-score with the ROI's mean and SD: f(x) = scale * (x - mu_roi) / sd_roi (Kim 2024)."""
    arr = sitk.GetArrayFromImage(image).astype(np.float64)
    m = sitk.GetArrayViewFromImage(mask) > 0
    vals = arr[m]
    sd = float(vals.std())
    if sd == 0:
        raise InputError("ROI has constant intensity; ROI z-score normalisation is undefined (check the mask)")
    out = sitk.GetImageFromArray(((arr - vals.mean()) / sd * scale).astype(np.float32))
    out.CopyInformation(image)
    return out


def normalize_image(image: sitk.Image, settings: dict[str, Any]) -> sitk.Image:
    """pyradiomics' whole-image normalisation (``normalize: true``), exactly as pyradiomics applies it."""
    from radiomics import imageoperations

    with itk_threads(STATS_THREADS, FIXED_THREADER):  # its mean and SD are sums split between threads
        return imageoperations.normalizeImage(image, **settings)


def normalize_part(full: sitk.Image, part: sitk.Image, settings: dict[str, Any]) -> sitk.Image:
    """pyradiomics' whole-image normalisation of ``part`` (a crop of ``full``), with ``full``'s statistics.

    Bit-for-bit what ``normalizeImage(full)`` gives on that region (same mean, sigma and filters, applied in
    the same pixel type), without the whole-image float64 copy (8 bytes per voxel).
    """
    stats = sitk.StatisticsImageFilter()
    with itk_threads(STATS_THREADS, FIXED_THREADER):  # as normalize_image: sums split between threads
        stats.Execute(full)
    out = sitk.ShiftScale(sitk.Cast(part, sitk.sitkFloat64), -stats.GetMean(), 1.0 / stats.GetSigma())
    outliers = settings.get("removeOutliers")
    if outliers is not None:
        arr = sitk.GetArrayFromImage(out)
        arr[arr > outliers] = outliers
        arr[arr < -outliers] = -outliers
        clipped = sitk.GetImageFromArray(arr)
        clipped.CopyInformation(out)
        out = clipped
    return out * settings.get("normalizeScale", 1)


def axial_axis(image: sitk.Image) -> int:
    """Index (x=0, y=1, z=2) of the image axis closest to the patient's superior direction."""
    d = np.array(image.GetDirection()).reshape(3, 3)
    return int(np.argmax(np.abs(d[2, :])))


def largest_axial_slice(mask: sitk.Image) -> tuple[sitk.Image, int]:
    """Keep only the axial slice of the mask with the largest ROI area; return (mask, slice index)."""
    ax = axial_axis(mask)
    arr = sitk.GetArrayFromImage(mask)  # (z, y, x)
    np_axis = 2 - ax
    counts = (arr > 0).sum(axis=tuple(i for i in range(3) if i != np_axis))
    k = int(np.argmax(counts))
    keep = np.zeros_like(arr)
    sl: list[slice | int] = [slice(None)] * 3
    sl[np_axis] = k
    keep[tuple(sl)] = arr[tuple(sl)]
    out = sitk.GetImageFromArray(keep)
    out.CopyInformation(mask)
    return out, k


def roi_bounds(mask: sitk.Image) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper (inclusive) voxel index of the ROI, in SimpleITK (x, y, z) order."""
    arr = sitk.GetArrayViewFromImage(mask)
    nz = [np.flatnonzero(np.any(arr, axis=tuple(j for j in range(3) if j != i))) for i in range(3)]
    if any(len(v) == 0 for v in nz):
        raise InputError("mask is empty")
    lo = np.array([nz[2][0], nz[1][0], nz[0][0]])
    hi = np.array([nz[2][-1], nz[1][-1], nz[0][-1]])
    return lo, hi


def crop_margin(settings: dict[str, Any], image_types: dict[str, Any], spacing: np.ndarray) -> np.ndarray | None:
    """Margin in voxels (x, y, z) that keeps every feature unchanged, or None when cropping is unsafe.

    With resampling, the margin covers pyradiomics' new grid (bounding box + padDistance new voxels) plus
    the interpolator's support. Without resampling, filters see the whole image, so the margin covers the
    filter support, and image types scaled by the whole image's maximum forbid cropping.
    """
    interp = settings.get("interpolator")
    new = settings.get("resampledPixelSpacing")
    pad = float(settings.get("padDistance", 5))
    if interp is not None and new is not None:
        new_sp = np.where(np.array(new, float) == 0, spacing, np.array(new, float))
        name = interp if isinstance(interp, str) else str(interp)
        support = BSPLINE_DECAY_VOXELS + 3 if "BSpline" in name or "Lanczos" in name or "Sinc" in name else 2
        return np.ceil((pad + 2.0) * np.maximum(new_sp, spacing) / spacing).astype(int) + support
    if GLOBAL_IMAGE_TYPES & set(image_types):
        return None
    margin_mm = 0.0
    margin_vox = 2.0
    for itype, custom in image_types.items():
        custom = custom or {}
        if itype == "LoG":
            sig = max(custom.get("sigma", settings.get("sigma", [1.0])) or [1.0])
            margin_mm = max(margin_mm, 6.0 * float(sig))
        elif itype == "Wavelet":
            level = int(custom.get("level", settings.get("level", 1)))
            margin_vox = max(margin_vox, 16.0 * 2 ** (level - 1))
        elif itype in ("Gradient", "LBP2D", "LBP3D"):
            margin_vox = max(margin_vox, 2.0 + float(custom.get("lbp2DRadius", settings.get("lbp2DRadius", 1))))
    return np.ceil(np.maximum(margin_mm / spacing, margin_vox)).astype(int) + math.ceil(pad)


def crop(image: sitk.Image, lo: np.ndarray, hi: np.ndarray, margin: np.ndarray) -> sitk.Image:
    """Crop to [lo - margin, hi + margin] on the image's own grid (indices clamped to the image)."""
    index, size = crop_box(lo, hi, margin, image.GetSize())
    return sitk.RegionOfInterest(image, size, index)


def crop_box(lo: np.ndarray, hi: np.ndarray, margin: np.ndarray, size: tuple[int, ...]) -> tuple[list[int], list[int]]:
    """(index, size) of the block [lo - margin, hi + margin] clamped to an image of ``size`` voxels."""
    a = np.maximum(np.asarray(lo) - margin, 0)
    b = np.minimum(np.asarray(hi) + margin, np.array(size) - 1)
    return a.astype(int).tolist(), (b - a + 1).astype(int).tolist()


def resample_like_pyradiomics(image: sitk.Image, mask: sitk.Image, settings: dict[str, Any],
                              whole: Grid | None = None) -> tuple[sitk.Image, sitk.Image]:
    """pyradiomics' ``resampleImage`` for a block of an image: the same output grid, voxel for voxel.

    pyradiomics anchors the new grid to the mask's voxel 0 (``floor((bb - 0.5) * ratio - padDistance)`` in
    new-voxel units) and clamps it to the mask's size, so a cropped mask would shift the grid by a fraction
    of a voxel. Here the bounding box is moved onto ``whole`` (the grid ``image`` and ``mask`` were cut
    from; default: the mask's own grid), and the same filter calls as pyradiomics' resample both images;
    the mask in the whole grid's frame (see :func:`_in_whole_frame`).
    """
    from radiomics import imageoperations

    whole = whole or Grid.of(mask)
    msp = np.array(mask.GetSpacing())
    new = np.array(settings["resampledPixelSpacing"], dtype=float)
    new = np.where(new == 0, msp, new)
    bb = imageoperations._checkROI(image, mask, **settings)  # (lower index..., size...), checks the ROI
    nd = mask.GetDimension()
    new = np.where(bb[nd:] != 1, new, msp)
    if np.allclose(np.array(image.GetSpacing()), new):  # no interpolation: pyradiomics crops (shift-free)
        return imageoperations.resampleImage(image, mask, **settings)
    offset = np.round(whole.TransformPhysicalPointToContinuousIndex(mask.GetOrigin())).astype(int)
    lower = bb[:nd] + offset
    pad = settings.get("padDistance", 5)
    ratio = msp / new
    lo = np.floor((lower - 0.5) * ratio - pad)
    hi = np.ceil((lower + bb[nd:] - 0.5) * ratio + pad)
    max_hi = np.ceil(np.array(whole.size) * ratio) - 1
    lo = np.where(lo < 0, 0, lo)
    hi = np.where(hi > max_hi, max_hi, hi)
    origin_index = np.array(0.5 * (new - msp) / msp) + lo / ratio
    interp = settings.get("interpolator", sitk.sitkBSpline)
    rif = sitk.ResampleImageFilter()
    rif.SetOutputSpacing(new)
    rif.SetOutputDirection(np.array(mask.GetDirection()))
    rif.SetSize(np.array(hi - lo + 1, dtype="int").tolist())
    rif.SetOutputOrigin(whole.TransformContinuousIndexToPhysicalPoint(origin_index))
    rif.SetOutputPixelType(image.GetPixelID())
    rif.SetInterpolator(getattr(sitk, interp) if isinstance(interp, str) else interp)
    out_image = rif.Execute(image)
    rif.SetOutputPixelType(mask.GetPixelID())
    rif.SetInterpolator(sitk.sitkNearestNeighbor)
    return out_image, rif.Execute(_in_whole_frame(mask, offset, whole))


def _in_whole_frame(block: sitk.Image, offset: np.ndarray, whole: Grid) -> sitk.Image:
    """The block placed at ``offset`` in an image with the whole grid's origin (zeros elsewhere).

    Nearest-neighbour resampling meets exact ties (1 mm from 0.75 mm pixels: every third voxel), and ITK
    breaks them by its floating-point index arithmetic, which depends on the input's origin. In the whole
    grid's frame the arithmetic, and so every tie, is the same as for the whole mask. The frame ends at the
    block's far corner (outside the block the whole mask is zero anyway).
    """
    if not np.any(offset):
        return block
    end = offset + np.array(block.GetSize())
    frame = np.zeros(end[::-1], dtype=sitk.GetArrayViewFromImage(block).dtype)
    frame[offset[2]:end[2], offset[1]:end[1], offset[0]:end[0]] = sitk.GetArrayViewFromImage(block)
    return whole.apply(sitk.GetImageFromArray(frame))
