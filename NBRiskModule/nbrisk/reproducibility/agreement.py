"""Agreement between two delineations of one ROI (overlap, volume and surface-distance metrics).

All metrics are physical: volumes in millilitres from the voxel spacing, distances in millimetres
measured between surface-voxel centres with the true (possibly anisotropic) spacing. The reference
is the manual/expert mask; the test is the automatic/semiautomatic one (seed 002's convention).

Definitions (A = reference, B = test, |.| = volume, dA = surface voxels of A):

- ``dice`` = 2|A∩B| / (|A| + |B|); ``jaccard`` = |A∩B| / |A∪B|
- ``volume_diff_ml`` = |B| - |A| (signed); ``volume_diff_pct`` = 100 (|B| - |A|) / |A|
- ``fpr_m`` = |B \\ A| / |A| (false positives relative to the manual volume, seed 002);
  ``fnr`` = |A \\ B| / |A|
- directed distances d(b, A) = distance from each surface voxel b of B to the nearest surface voxel of A
  (and vice versa); ``hd_max_mm`` = max of both directions; ``hd95_mm`` = max of the two directed 95th
  percentiles (MedPy convention, linear interpolation); ``msd_mm`` = mean of all distances of both
  directions pooled (average symmetric surface distance).

Empty masks and grids: an empty reference raises :class:`~nbrisk.errors.InputError` (every relative
metric divides by it); an empty test gives dice = jaccard = 0, fpr_m = 0, fnr = 1, volume_diff_pct = -100
and NaN surface distances (no surface to measure). Different voxel grids raise
:class:`~nbrisk.errors.InputGeometryError`; nothing is resampled silently.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError, InputGeometryError
from nbrisk.io.images import geometry_difference, read_mask

METRICS = (
    "dice",
    "jaccard",
    "volume_ref_ml",
    "volume_test_ml",
    "volume_diff_ml",
    "volume_diff_pct",
    "hd_max_mm",
    "hd95_mm",
    "msd_mm",
    "fpr_m",
    "fnr",
)


def _binary(img: sitk.Image) -> np.ndarray:
    return sitk.GetArrayViewFromImage(img) != 0


def compare_masks(reference: sitk.Image, test: sitk.Image) -> dict[str, float]:
    """Return the agreement metrics of ``test`` against ``reference`` (keys in :data:`METRICS`).

    Any non-zero voxel is inside. Both masks must share one voxel grid.

    Raises:
        InputGeometryError: the grids differ (size, spacing, origin or direction).
        InputError: the reference mask is empty.
    """
    diff = geometry_difference(reference, test)
    if diff:
        raise InputGeometryError(
            f"test mask does not match the reference grid: {diff}; put both masks on the image grid"
        )
    a, b = _binary(reference), _binary(test)
    n_a, n_b = int(a.sum()), int(b.sum())
    if n_a == 0:
        raise InputError("reference mask is empty; the metrics are relative to the reference volume")
    tp = int(np.count_nonzero(a & b))
    fp, fn = n_b - tp, n_a - tp
    voxel_ml = float(np.prod(reference.GetSpacing())) / 1000.0
    out = {
        "dice": 2.0 * tp / (n_a + n_b),
        "jaccard": tp / (n_a + n_b - tp),
        "volume_ref_ml": n_a * voxel_ml,
        "volume_test_ml": n_b * voxel_ml,
        "volume_diff_ml": (n_b - n_a) * voxel_ml,
        "volume_diff_pct": 100.0 * (n_b - n_a) / n_a,
        "fpr_m": fp / n_a,
        "fnr": fn / n_a,
    }
    if n_b:
        out.update(surface_distances(reference, test))
    else:  # no test surface: distances are undefined
        out.update(dict.fromkeys(("hd_max_mm", "hd95_mm", "msd_mm"), math.nan))
    return {k: float(out[k]) for k in METRICS}


def _crop_to_union(a: sitk.Image, b: sitk.Image) -> tuple[sitk.Image, sitk.Image]:
    """Crop both masks to their union's bounding box plus one voxel (exact for surface distances)."""
    union = np.logical_or(_binary(a), _binary(b))
    lo, hi = [], []
    for axis in (2, 1, 0):  # sitk x, y, z are numpy axes 2, 1, 0
        other = tuple(i for i in range(3) if i != axis)
        idx = np.flatnonzero(union.any(axis=other))
        lo.append(max(int(idx[0]) - 1, 0))
        hi.append(min(int(idx[-1]) + 2, union.shape[axis]))
    size = [h - low for low, h in zip(lo, hi, strict=True)]
    crop = [sitk.RegionOfInterest(sitk.Cast(m != 0, sitk.sitkUInt8), size, lo) for m in (a, b)]
    return crop[0], crop[1]


def _pad(img: sitk.Image) -> sitk.Image:
    # one background voxel around the crop so a mask touching the image border still has a surface there
    return sitk.ConstantPad(img, [1, 1, 1], [1, 1, 1], 0)


def _surface(mask: sitk.Image) -> np.ndarray:
    """Voxels of the mask with at least one face neighbour outside it (6-connected contour)."""
    return sitk.GetArrayFromImage(sitk.BinaryContour(mask, fullyConnected=False)) != 0


def directed_distances(src: sitk.Image, dst: sitk.Image) -> np.ndarray:
    """Return, for every surface voxel of ``src``, the distance (mm) to the nearest surface voxel of ``dst``.

    Exact Euclidean distance transform of the complement of ``dst``'s surface, with the voxel spacing.
    (ITK's signed Maurer map measures inside voxels to a fully connected contour, which differs by a
    fraction of a voxel from the 6-connected surface used on both sides here.)
    """
    from scipy import ndimage

    spacing = tuple(float(s) for s in dst.GetSpacing())[::-1]
    dist = ndimage.distance_transform_edt(~_surface(dst), sampling=spacing)
    return np.asarray(dist[_surface(src)], dtype=float)


def surface_distances(reference: sitk.Image, test: sitk.Image) -> dict[str, float]:
    """Return ``hd_max_mm``, ``hd95_mm`` and ``msd_mm`` between the surfaces of two non-empty masks."""
    ref, tst = (_pad(m) for m in _crop_to_union(reference, test))
    d_tr = directed_distances(tst, ref)
    d_rt = directed_distances(ref, tst)
    both = np.concatenate([d_tr, d_rt])
    return {
        "hd_max_mm": float(both.max()),
        "hd95_mm": float(max(np.percentile(d_tr, 95), np.percentile(d_rt, 95))),
        "msd_mm": float(both.mean()),
    }


def compare_mask_files(
    ref_path: Path, test_path: Path, label: int | None = None, test_label: int | None = None
) -> dict[str, float]:
    """Agreement metrics of two mask files (Dice, Jaccard, HD95, ...); the test mask goes on the reference's grid.

    An empty test mask (on the reference's grid) compares as "nothing found" instead of failing.
    """
    ref = read_mask(ref_path, label=label)
    if not test_path.exists():
        raise InputError(f"{test_path}: test mask not found; check the path")
    raw = None if test_path.is_dir() or test_path.name.lower().endswith(".seg.nrrd") else _try_read(test_path)
    if raw is not None and not np.any(sitk.GetArrayViewFromImage(raw)):
        empty = sitk.Image(ref.image.GetSize(), sitk.sitkUInt8)
        empty.CopyInformation(ref.image)
        if raw.GetSize() != ref.image.GetSize():
            raise InputError(f"{test_path}: empty test mask on a different grid; export it on the image grid")
        return compare_masks(ref.image, empty)
    tst = read_mask(test_path, ref.image, label=test_label if test_label is not None else label,
                    reference_path=ref_path)
    return compare_masks(ref.image, tst.image)


def _try_read(p: Path) -> sitk.Image | None:
    try:
        return sitk.ReadImage(str(p))
    except RuntimeError:
        return None  # let read_mask produce the one-line error


def read_pairs_manifest(path: Path) -> list[dict[str, str]]:
    """Rows of a ``case_id,reference,test[,label]`` CSV of mask pairs (paths relative to it)."""
    if not path.exists():
        raise InputError(f"{path}: manifest not found; check the path")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    cols = set(rows[0]) if rows else set()
    missing = {"case_id", "reference", "test"} - cols
    if missing:
        raise InputError(
            f"{path}: manifest lacks column(s) {sorted(missing)}; need case_id,reference,test[,label]"
        )
    return rows
