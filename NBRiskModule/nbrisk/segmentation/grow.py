"""Semiautomatic tumour ROI: grow a 3-D (or single-slice) mask from seed points.

The user clicks one or more points inside the tumour, optionally points outside it (background) and a
bounding box. The algorithm is a two-pass region competition between a tumour model and a background
model in a two-feature space: smoothed intensity and local texture (log local standard deviation).

1. Tumour model: 2-D histogram of the features in spheres around the tumour seeds.
   Background model: the same histogram over the "far field" (voxels more than ``far_mm`` from every
   tumour seed, or outside the box), plus spheres around background seeds.
2. Every voxel gets the log-likelihood ratio tumour/background (a voxel the background model explains
   poorly counts as tumour when its intensity is near the seeds' range: outlier growing), smoothed;
   positive voxels are candidates.
3. Candidates connected to the seeds, after a morphological opening that cuts thin leaks, are
   reconstructed a few mm into the candidates, closed, and their holes filled.
4. With background seeds, the region is split by competitive fast marching: each voxel goes to the seed
   (tumour or background) whose front reaches it first, fronts slowing down on image edges.
5. Pass 2 re-learns the tumour model from the eroded pass-1 region (all of its heterogeneity, not only
   the seed's neighbourhood) and adds a local shell around it to the background model.
6. Where the tumour borders much brighter or darker homogeneous tissue (lung, air), the border moves
   outward to the mid-intensity level (texture is high on such an edge, so step 2 stops short of it).
7. The mask is smoothed (Gaussian of the mask, threshold 0.5), reduced to the largest component that
   touches a tumour seed, and hole-filled (in 3-D and slice by slice).
8. Leak guard (no box): a mask that reaches the side of the working region has spread as far as it may
   look. Steps 1-7 are then repeated with the far-field background learned only from tissue inside the
   tumour's intensity window (air and fat no longer dilute it), and that mask is kept when it stays off the
   sides and is at most a third of the first one's volume. A warning says so.

Adding seeds and re-running refines the result (more tumour seeds widen the tumour model and the region;
background seeds carve out what leaked). Coordinates are LPS millimetres (SimpleITK's physical space);
intensities are HU for CT and arbitrary units for MRI (scale-free: models are learned from the seeds).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError
from nbrisk.segmentation.params import GrowParams  # re-exported: the grow's parameters
from nbrisk.segmentation.region_competition import CT_TUMOUR_RANGE_HU, segment_array

__all__ = [
    "COMPETITION_LOGGERS",
    "CT_TUMOUR_RANGE_HU",
    "GrowParams",
    "check_not_uniform",
    "collect_warnings",
    "detect_modality",
    "grow_from_seeds",
    "grow_from_seeds_2d",
    "grow_with_notes",
    "index_to_lps",
    "lps_to_index",
]

logger = logging.getLogger(__name__)
# the loggers whose warnings describe a region competition's mask (a leak its guard caught, a region at the
# working block's side): collected for the panel here, held back and re-said by the graph cut that uses it
COMPETITION_LOGGERS = ("nbrisk.segmentation.grow", "nbrisk.segmentation.region_competition")

Point = tuple[float, float, float]
_FLAT = 1e6  # spacing (mm) given to the slice axis in 2-D mode: no smoothing or morphology across slices


# ---------------------------------------------------------------------------------------------- points
def lps_to_index(image: sitk.Image, point: Sequence[float], what: str = "seed") -> np.ndarray:
    """Return the continuous (x, y, z) index of an LPS point; InputError if it lies outside the image."""
    if len(point) != 3:
        raise InputError(f"{what} {tuple(point)} needs three coordinates x,y,z in LPS mm")
    idx = np.array(image.TransformPhysicalPointToContinuousIndex([float(v) for v in point]))
    size = np.array(image.GetSize())
    if np.any(idx < -0.5) or np.any(idx > size - 0.5):
        lo = image.TransformIndexToPhysicalPoint((0, 0, 0))
        hi = image.TransformIndexToPhysicalPoint(tuple(int(s) - 1 for s in size))
        raise InputError(
            f"{what} at ({', '.join(f'{v:.1f}' for v in point)}) mm LPS lies outside the image "
            f"(extent {_fmt(lo)} to {_fmt(hi)} mm); place it inside the image"
        )
    return idx


def index_to_lps(image: sitk.Image, ijk: Sequence[int], what: str = "seed") -> Point:
    """Return the LPS point of a voxel index (x, y, z order); InputError if the index is outside."""
    size = image.GetSize()
    if len(ijk) != 3 or any(not 0 <= int(v) < s for v, s in zip(ijk, size, strict=False)):
        raise InputError(
            f"{what} index {tuple(ijk)} is outside the image (size {size}); give i,j,k inside it"
        )
    p = image.TransformIndexToPhysicalPoint(tuple(int(v) for v in ijk))
    return (float(p[0]), float(p[1]), float(p[2]))


def _fmt(p: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.1f}" for v in p) + ")"


def detect_modality(image: sitk.Image) -> str:
    """Return "ct" when the image looks like Hounsfield units (air near -1000), else "mr"."""
    arr = sitk.GetArrayViewFromImage(image)
    return "ct" if float(np.min(arr)) <= -500.0 else "mr"


def check_not_uniform(values: np.ndarray, where: str) -> None:
    """Refuse a working region that holds a single value (a blank series, a constant fill, a mask loaded as the
    image): there is no contrast to segment, and a grow would otherwise return the whole region or the box."""
    if values.size and float(np.max(values)) == float(np.min(values)):
        raise InputError(
            f"the image is uniform ({float(values.flat[0]):g} everywhere) in the {where}: there is nothing to "
            "segment; check that this is the intended image (not a blank series or a mask)"
        )


# ---------------------------------------------------------------------------------------- main entry
def grow_from_seeds(
    image: sitk.Image,
    seeds_lps: Sequence[Sequence[float]],
    background_lps: Sequence[Sequence[float]] = (),
    box_lps: Sequence[float] | None = None,
    *,
    slice_2d: bool = False,
    modality: str = "auto",
    params: GrowParams | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> sitk.Image:
    """Segment the tumour around the seeds and return a uint8 mask (1 inside) on the image grid.

    Args:
        image: 3-D scalar image (CT in HU, or MRI in any units).
        seeds_lps: points inside the tumour, LPS mm.
        background_lps: points outside the tumour (other organs, vessels), LPS mm.
        box_lps: optional box ``(x0, y0, z0, x1, y1, z1)`` in LPS mm; the ROI stays inside it.
        slice_2d: segment only the axial slice holding the seeds (all seeds must share it).
        modality: "ct", "mr" or "auto" (CT when the image holds air at about -1000 HU).

    Raises:
        InputError: no seed, a point outside the image or box, a seed in air/bone (CT) or in a signal
            void (MRI), or nothing grew from the seeds.
    """
    p = params or GrowParams()
    report = progress or (lambda _f, _m: None)
    if not seeds_lps:
        raise InputError(
            "no tumour seed given; click at least one point inside the tumour (--seed-lps x,y,z)"
        )
    seeds = np.array([lps_to_index(image, s, "tumour seed") for s in seeds_lps])
    bgs = np.array([lps_to_index(image, s, "background seed") for s in background_lps]).reshape(-1, 3)
    box = _box_to_index(image, box_lps, seeds) if box_lps is not None else None
    mod = detect_modality(image) if modality == "auto" else modality.lower()
    if mod not in ("ct", "mr"):
        raise InputError(f"modality {modality!r} is unknown; use ct, mr or auto")
    start, size = _crop(image, seeds, bgs, box, p, slice_2d)
    block = sitk.RegionOfInterest(image, size.tolist(), start.tolist())
    arr = sitk.GetArrayFromImage(block).astype(np.float64)
    check_not_uniform(arr, "working region around the seeds")
    spacing = np.array(image.GetSpacing(), dtype=float)[::-1]  # z, y, x
    if slice_2d:
        spacing[0] = _FLAT
    to_local = lambda idx: (np.asarray(idx)[..., ::-1] - start[::-1])  # noqa: E731 (x,y,z) -> (z,y,x) in crop
    box_local = None if box is None else (to_local(box[0]), to_local(box[1]))
    report(0.1, "features")
    region = segment_array(arr, spacing, to_local(seeds), to_local(bgs), box_local, mod, p, report,
                            np.asarray(seeds_lps, dtype=float))
    out = np.zeros(image.GetSize()[::-1], np.uint8)
    out[start[2] : start[2] + size[2], start[1] : start[1] + size[1], start[0] : start[0] + size[0]] = region
    mask = sitk.GetImageFromArray(out)
    mask.CopyInformation(image)
    report(1.0, "done")
    return mask


@contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Collect the warnings the grow, the region competition and the first click's graph cut log inside the block (a
    leak the guard caught, a mask that reaches the working region's side, background seeds ignored in 2-D mode),
    for a panel to show."""
    notes: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            notes.append(record.getMessage())

    handler = _Collect(logging.WARNING)
    loggers = [logging.getLogger(n) for n in (*COMPETITION_LOGGERS, "nbrisk.segmentation.graph_cut")]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        yield notes
    finally:
        for lg in loggers:
            lg.removeHandler(handler)


def grow_with_notes(image: sitk.Image, seeds_lps: Sequence[Sequence[float]],
                    **kwargs: object) -> tuple[sitk.Image, list[str]]:
    """:func:`grow_from_seeds`, plus the warnings it raised for the user (see :func:`collect_warnings`)."""
    with collect_warnings() as notes:
        mask = grow_from_seeds(image, seeds_lps, **kwargs)  # type: ignore[arg-type]
    return mask, notes


def grow_from_seeds_2d(
    image: sitk.Image, seeds_lps: Sequence[Sequence[float]], **kwargs: object
) -> sitk.Image:
    """Segment one axial slice (seed 003's single largest slice); see :func:`grow_from_seeds`."""
    return grow_from_seeds(image, seeds_lps, slice_2d=True, **kwargs)  # type: ignore[arg-type]


def _box_to_index(
    image: sitk.Image, box: Sequence[float], seeds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    if len(box) != 6:
        raise InputError(f"box {tuple(box)} needs six numbers x0,y0,z0,x1,y1,z1 in LPS mm")
    size = np.array(image.GetSize())
    a = np.array(image.TransformPhysicalPointToContinuousIndex([float(v) for v in box[:3]]))
    b = np.array(image.TransformPhysicalPointToContinuousIndex([float(v) for v in box[3:]]))
    lo = np.clip(np.floor(np.minimum(a, b) + 0.5), 0, size - 1).astype(int)
    hi = np.clip(np.floor(np.maximum(a, b) + 0.5), 0, size - 1).astype(int)
    if np.any(hi < lo) or np.any(np.maximum(a, b) < -0.5) or np.any(np.minimum(a, b) > size - 0.5):
        raise InputError(f"box {tuple(box)} mm LPS does not overlap the image; draw the box on this image")
    for s in seeds:
        r = np.floor(s + 0.5)
        if np.any(r < lo) or np.any(r > hi):
            raise InputError(f"a tumour seed (index {tuple(int(v) for v in r)}) lies outside the box; "
                             "enlarge the box or move the seed")
    return lo, hi


def _crop(image: sitk.Image, seeds: np.ndarray, bgs: np.ndarray, box: tuple | None, p: GrowParams,
          slice_2d: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return (start, size) of the working block, x,y,z order."""
    size = np.array(image.GetSize())
    spacing = np.array(image.GetSpacing())
    if box is not None:
        margin = np.ceil(10.0 / spacing).astype(int)  # some outside-box voxels teach the background model
        lo, hi = box[0] - margin, box[1] + margin
    else:
        margin = np.ceil(p.max_extent_mm / spacing).astype(int)
        pts = np.floor(np.vstack([seeds, bgs]) + 0.5).astype(int)
        lo, hi = pts.min(axis=0) - margin, pts.max(axis=0) + margin
    lo, hi = np.clip(lo, 0, size - 1), np.clip(hi, 0, size - 1)
    if slice_2d:
        ks = np.unique(np.floor(seeds[:, 2] + 0.5).astype(int))
        if len(ks) > 1:
            raise InputError(f"2-D mode: the tumour seeds lie on different slices {ks.tolist()}; "
                             "put them all on the one slice to segment")
        lo[2] = hi[2] = ks[0]
    return lo.astype(int), (hi - lo + 1).astype(int)
