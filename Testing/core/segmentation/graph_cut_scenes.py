"""Synthetic scenes shared by the graph-cut and size-estimate tests: the sarcoma grid (0.9 x 0.9 x 3 mm), a T1-like
heterogeneous tumour in fat (optionally beside muscle of its own intensity), masks as images, the benchmark's box."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

__all__ = ["_CENTRE", "_SHAPE", "_SPACING", "_box", "_ellipsoid_scene", "_mask_image", "_scene_image", "_t1_sarcoma"]


def _mask_image(arr: np.ndarray, like: sitk.Image) -> sitk.Image:
    m = sitk.GetImageFromArray(arr.astype(np.uint8))
    m.CopyInformation(like)
    return m


def _box(img: sitk.Image, truth: np.ndarray, margin_mm: float = 3.0) -> tuple[float, ...]:
    """The truth's bounding box grown by margin_mm, as x0,y0,z0,x1,y1,z1 LPS (the benchmark's reader)."""
    sp = np.array(img.GetSpacing())[::-1]
    nz = np.nonzero(truth)
    m = np.ceil(margin_mm / sp).astype(int)
    lo = np.maximum([i.min() for i in nz] - m, 0)
    hi = np.minimum([i.max() for i in nz] + m, np.array(truth.shape) - 1)
    a = img.TransformIndexToPhysicalPoint([int(v) for v in lo[::-1]])
    b = img.TransformIndexToPhysicalPoint([int(v) for v in hi[::-1]])
    return tuple(a) + tuple(b)


_SPACING = (0.9, 0.9, 3.0)  # x, y, z mm
_SHAPE = (40, 110, 110)  # z, y, x
_CENTRE = np.array([50.0, 48.0, 60.0])  # x, y, z mm


def _ellipsoid_scene():
    """x, y, z (mm) of the synthetic sarcomas' grid and the ellipsoidal radius of their tumour (24, 18, 30 mm)."""
    z, y, x = np.meshgrid(*(np.arange(n) * s for n, s in zip(_SHAPE, _SPACING[::-1], strict=True)), indexing="ij")
    c = _CENTRE
    return x, y, z, ((x - c[0]) / 24.0) ** 2 + ((y - c[1]) / 18.0) ** 2 + ((z - c[2]) / 30.0) ** 2


def _scene_image(arr: np.ndarray) -> tuple[sitk.Image, tuple[float, ...]]:
    """The array as an image on the synthetic sarcomas' grid, and the tumour's centre in LPS."""
    img = sitk.GetImageFromArray(arr.astype(np.float32))
    img.SetSpacing(_SPACING)
    img.SetOrigin((-40.0, 12.0, -100.0))
    centre = img.TransformContinuousIndexToPhysicalPoint([float(v) for v in (_CENTRE / np.array(_SPACING))])
    return img, tuple(centre)


def _t1_sarcoma(seed: int = 0, muscle_side: bool = False):
    """A T1-like MRI: a heterogeneous tumour (a fine texture of SD 40, 1.5 mm grain, plus noise, on 350) with
    radii 24, 18 and 30 mm in x, y, z, in fat (800). With ``muscle_side`` the left half of the surroundings is
    muscle of the tumour's own intensity (350): no edge there."""
    rng = np.random.default_rng(seed)
    x, _, _, rho = _ellipsoid_scene()
    tumour = rho <= 1.0
    patches = ndimage.gaussian_filter(rng.standard_normal(_SHAPE), (1.5 / 3.0, 1.5 / 0.9, 1.5 / 0.9))
    arr = np.full(_SHAPE, 800.0)
    if muscle_side:
        arr[x < _CENTRE[0]] = 350.0
    arr[tumour] = 350.0 + 40.0 * (patches / patches.std())[tumour]
    arr = arr + 15.0 * rng.standard_normal(_SHAPE)
    img, centre = _scene_image(arr)
    return img, tumour, centre
