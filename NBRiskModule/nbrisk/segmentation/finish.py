"""The interactive tool's last steps on its working block: the components holding a tumour seed with their holes
filled, and the mask shown (that result smoothed, issue 23's eighth round).

Arrays are (z, y, x); ``origin`` is where an array starts in the image, as an index.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from nbrisk.segmentation.corrections import voxel

__all__ = ["box_mask", "postprocess", "smoothed"]


def box_mask(shape: tuple[int, ...], box: tuple[np.ndarray, np.ndarray], origin: np.ndarray) -> np.ndarray:
    """The box (image indices (z, y, x), stop exclusive) on an array of ``shape`` that starts at ``origin``."""
    lo = np.clip(np.asarray(box[0]) - origin, 0, shape)
    hi = np.clip(np.asarray(box[1]) - origin, 0, shape)
    out = np.zeros(shape, bool)
    out[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = True
    return out


def postprocess(region: np.ndarray, seeds_t: np.ndarray) -> np.ndarray:
    """The components of ``region`` holding a tumour seed, holes filled in 3-D and slice by slice (all of ``region``
    when no seed lies in it)."""
    lab, n = ndimage.label(region)
    if n == 0:
        return region
    ids = np.unique(lab[seeds_t & region])
    ids = ids[ids > 0]
    if len(ids) == 0:
        return region
    region = np.isin(lab, ids)
    region = ndimage.binary_fill_holes(region)
    for k in range(region.shape[0]):
        if region[k].any():
            region[k] = ndimage.binary_fill_holes(region[k])
    return region


def smoothed(region: np.ndarray, origin: np.ndarray, image_shape: tuple[int, ...], spacing: np.ndarray,
              sigma_mm: float, t_vox: np.ndarray, b_vox: np.ndarray, within: np.ndarray | None = None) -> np.ndarray:
    """The mask shown: ``region`` smoothed by a Gaussian of ``sigma_mm`` and thresholded at one half (as Slicer's
    Segment Editor smooths a grown segment), kept ``within`` (the box), the clicks' voxels kept on their side, the
    components holding a tumour click, holes filled. The graph cut and the corrections decide voxel by voxel and
    leave a ragged border on iso-dense tissue; an expert's contour is smooth.

    ``region`` starts at ``origin`` (z, y, x) in an image of ``image_shape``. Beyond its array the mask is empty,
    except beyond the image's own edges, where it goes on (a tumour cut by the image's edge, a one-slice image, is
    not eroded there)."""
    if sigma_mm <= 0 or not region.any():
        return region
    sig = sigma_mm / np.asarray(spacing, float)
    k = np.ceil(3.0 * sig).astype(int) + 1
    origin = np.asarray(origin, int)
    at_lo = origin <= 0
    at_hi = origin + np.array(region.shape) >= np.asarray(image_shape)
    padded = np.pad(region.astype(np.float32), [(int(n), int(n)) for n in k], mode="edge")
    for a in range(3):  # sides inside the image: empty beyond the array
        idx: list = [slice(None)] * 3
        if not at_lo[a]:
            idx[a] = slice(0, k[a])
            padded[tuple(idx)] = 0.0
        if not at_hi[a]:
            idx[a] = slice(padded.shape[a] - k[a], None)
            padded[tuple(idx)] = 0.0
    s = ndimage.gaussian_filter(padded, sig, truncate=3.0, mode="nearest")
    out = s[tuple(slice(n, n + m) for n, m in zip(k, region.shape, strict=True))] > 0.5
    if within is not None:
        out &= within
    seeds = np.zeros(region.shape, bool)  # the tumour clicks' voxels: in, and the components to keep
    for q in np.asarray(t_vox).reshape(-1, 3):
        i = voxel(q, region.shape)
        out[i] = seeds[i] = True
    for q in np.asarray(b_vox).reshape(-1, 3):  # the background clicks' voxels: out
        out[voxel(q, region.shape)] = False
    return postprocess(out, seeds) if seeds.any() else out
