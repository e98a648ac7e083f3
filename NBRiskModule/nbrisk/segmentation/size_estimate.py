"""Without a box, a correction click can say that the first click's size estimate was wrong (issue 23's sixth and
seventh rounds): a tumour click well outside its size ellipsoid says it was too small, a background click deep in
the mask shown and inside it says it was too large. The first click's graph cut then runs again with the ellipsoid
grown or shrunk (its region competition kept), and the interactive tool adds or removes with that cut. Since the
tenth round a later tumour click beyond the grown ellipsoid stretches it again, along the click's direction only,
and a later deep background click inside the shrunk ellipsoid shrinks it again, same shape.

Points are continuous (z, y, x) image indices; arrays are on the session's working block.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from nbrisk.errors import InputError
from nbrisk.segmentation.corrections import crop, equivalent_radius, paste, voxel
from nbrisk.segmentation.graph_cut import GraphCutParams, first_region_detail
from nbrisk.segmentation.grow import collect_warnings
from nbrisk.segmentation.params import InteractiveParams
from nbrisk.segmentation.state import SessionState

__all__ = ["grown_region", "recut", "shrunk_region", "size_radius"]


def _offset(image: sitk.Image, click: np.ndarray, state: SessionState) -> np.ndarray:
    """The click (z, y, x image index) from the size ellipsoid's centre, in mm."""
    assert state.prior_size is not None
    return np.asarray(click, float) * np.array(image.GetSpacing(), float)[::-1] - state.prior_size[0]


def size_radius(image: sitk.Image, click: np.ndarray, state: SessionState, amat: np.ndarray | None = None) -> float:
    """The click's (z, y, x image index) ellipsoidal radius in the first region's size ellipsoid (or in the ellipsoid
    of matrix ``amat`` about the same centre: as a growth or a shrinking left it)."""
    assert state.prior_size is not None
    amat = state.prior_size[1] if amat is None else amat
    v = _offset(image, click, state)
    return float(np.sqrt(max(float(v @ amat @ v), 0.0)))


def grown_region(
    image: sitk.Image, anchor: Sequence[float], click: np.ndarray, state: SessionState, p: InteractiveParams,
    modality: str, grown: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Without a box, a tumour click outside the first region's size ellipsoid (ellipsoidal radius above
    ``grow_outside_rays`` for rays' ellipsoids, ``grow_outside_moments`` for the competition's moments): the first
    region re-cut with the ellipsoid grown until the click lies at ``grow_to`` of its radius, on the block, and the
    ellipsoid's new matrix (None when the click lies inside, or nothing grew).

    ``grown``: the matrix a growth before this one left (the same centre). The click then grows it again when it lies
    beyond ``grow_again_outside`` of that ellipsoid's radius, and only along its own direction: the matrix loses the
    part along ``A v`` (v from the centre to the click) that puts the click at ``grow_to``, and keeps the ellipsoid's
    extent across it. One far click marks a part the estimate missed in one direction, not a tumour larger all round
    (the tune MRIs lost up to 0.035 when a second growth was isotropic)."""
    if state.prior_size is None or p.grow_to <= 0:
        return None
    amat = state.prior_size[1] if grown is None else grown
    rho = size_radius(image, click, state, amat)
    outside = p.grow_outside_rays if state.prior_rays else p.grow_outside_moments
    if rho <= (outside if grown is None else p.grow_again_outside):
        return None
    if grown is None:
        new = amat * (p.grow_to / rho) ** 2
    else:  # v'Av = rho^2; A - a (Av)(Av)'/rho^2 gives the click rho^2 (1 - a), positive definite for a < 1
        av = amat @ _offset(image, click, state)
        new = amat - (1.0 - (p.grow_to / rho) ** 2) * np.outer(av, av) / rho**2
    r = recut(image, anchor, state, p, modality, new)
    return None if r is None else (r, new)


def shrunk_region(
    image: sitk.Image, anchor: Sequence[float], click: np.ndarray, shown: np.ndarray, state: SessionState,
    p: InteractiveParams, modality: str, shrunk: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Without a box, a background click deep in the mask shown (at least ``shrink_depth`` x its equivalent radius
    from its border) and inside the first region's size ellipsoid: the first region re-cut with the ellipsoid shrunk
    until the click lies at ``shrink_to`` (competition's moments) or ``shrink_to_rays`` (rays) of its radius, on the
    block, and the ellipsoid's new matrix (None when the click is shallow or outside, or nothing grew).

    ``shrunk``: the matrix a shrinking before this one left (``shrink_again``); the click must then lie inside that
    ellipsoid, and it shrinks that one, same centre and shape."""
    to = p.shrink_to_rays if state.prior_rays else p.shrink_to
    if state.prior_size is None or to <= 0 or not shown.any():
        return None
    amat = state.prior_size[1] if shrunk is None else shrunk
    rho = size_radius(image, click, state, amat)
    if not 0.0 < rho < 1.0:
        return None
    sp = np.array(image.GetSpacing(), float)[::-1]
    inner = crop(shown)  # the distance to the border on the mask's box, with a voxel of outside where the block has
    assert inner is not None  # one, is the block's (as a correction's depth: the block's sides are not a border)
    k = np.array(voxel(np.asarray(click) - state.start, shown.shape)) - inner[1]
    if np.any(k < 0) or np.any(k >= inner[0].shape) or not inner[0][tuple(k)]:
        return None  # the click is not in the mask shown
    before = (inner[1] > 0).astype(int)
    after = (inner[1] + np.array(inner[0].shape) < np.array(shown.shape)).astype(int)
    depth = float(ndimage.distance_transform_edt(np.pad(inner[0], list(zip(before, after, strict=True))),
                                                 sampling=sp)[tuple(k + before)])
    if depth < p.shrink_depth * equivalent_radius(shown, sp):
        return None  # a rim: the local correction is enough
    new = amat * (to / rho) ** 2
    r = recut(image, anchor, state, p, modality, new)
    return None if r is None else (r, new)


def recut(
    image: sitk.Image, anchor: Sequence[float], state: SessionState, p: InteractiveParams, modality: str,
    amat: np.ndarray,
) -> np.ndarray | None:
    """The first click's graph cut again with the size ellipsoid's matrix ``amat`` (its centre kept) and its region
    competition kept, on the block (None when nothing grew)."""
    assert state.prior_size is not None
    centre = state.prior_size[0]
    shape = np.array(image.GetSize())[::-1]
    competition = np.zeros(tuple(shape), bool)
    if state.prior_competition is not None:
        competition = paste(state.prior_competition[0], state.prior_competition[1], np.zeros(3, int), shape)
    try:
        with collect_warnings():
            d = first_region_detail(image, anchor, None, modality=modality,
                                    params=GraphCutParams(mr_size=p.mr_size, cut_max_voxels=p.grow_max_voxels),
                                    size=(centre, amat), competition=competition)
    except InputError:
        return None
    if d.region is None:
        return None
    s0, s1 = state.start, state.stop
    return d.region[s0[0] : s1[0], s0[1] : s1[1], s0[2] : s1[2]]
