"""Interactive tumour segmentation from clicks, painted strokes and a box.

The prompts a reader gives (tumour clicks, background clicks, a painted seed labelmap, a bounding box) are
turned into a mask in two stages:

1. **First click** (one tumour click, optionally a box): the graph cut of
   :func:`nbrisk.segmentation.graph_cut.first_region`, which weighs a shape prior (the box's inscribed
   ellipsoid; without a box, the region competition's moments on CT and, on MRI, an ellipsoid from rays cast
   from the click, ``mr_size``) against the region competition of
   :func:`nbrisk.segmentation.grow.grow_from_seeds` and the image's edges (``first_click="competition"``
   keeps the region competition alone, as before issue 23's second round). Its region is kept in the session
   state as the *first region*.
2. **Every later prompt** (more clicks, background clicks, strokes): a geodesic competition between the
   tumour and the background seeds (Bai & Sapiro's geodesic segmentation; the competition Slicer's "Grow
   from seeds" runs, with label-dependent costs). Each voxel goes to the seed set whose geodesic distance
   reaches it first, the path cost of a voxel being

       cost_L(v) = step + w_edge * |grad I(v)| / g_ref + w_model * (-log P(L | intensity, texture))

   ``P`` comes from per-case 2-D histograms of smoothed intensity and local texture (log local SD): the
   tumour model from the tumour seeds, the first region's core and, with a box, the box content minus its
   surroundings (``h_box - (1 - pi) h_outside``: a tight box holds mostly tumour); the background model
   from the tissue around the box (or the far field beyond ``far_mm`` from the clicks) and the background
   seeds. The box sides (or the working block's sides) are background seeds.
   Corrections are **local** and act on the mask the reader saw (``sequential``; the state keeps it, and a
   fresh call replays the clicks on the first region, tumour clicks first). A tumour click may only grow the
   mask, a background click only shrink it, near the click. What changes (``correction``,
   "<tumour>/<background>") combines the geodesic result, taken within a zone of 2.5x the click's depth plus
   3 mm (5 mm to ``edit_radius_mm``; a click deep in a missed part reaches further than one on the rim), with a
   **pushed border**: the mask's signed distance plus a Gaussian bump of 2x the click's depth (sigma depth +
   5 mm), which moves the border past the click where the image shows no edge (a sarcoma in muscle). A tumour
   click adds where both agree; a background click removes where either says so, but a push stays within half
   the mask's equivalent radius and may not remove more than a fifth of it. Without a box, a click can also say the
   first click's size ellipsoid was wrong: a tumour click well outside it grows it, a background click deep in the
   mask and inside it shrinks it, and the first region is cut again with it (``grow_to``, ``shrink_to``; a later
   tumour click beyond the grown ellipsoid stretches it along its direction, ``grow_again_outside``, and a later deep
   background click inside the shrunk one shrinks it again, ``shrink_again``); on the rays' ellipsoid (MRI), from the
   second background click on, while no tumour correction click came, each also erodes the whole mask by 0.3x its
   depth (``background_erode``: the rays' ellipsoid errs as a whole). Painted strokes correct the first
   region order-free (``sequential=False`` for all). Painted tumour seeds without a click anchor the first
   region at the painted voxel nearest their centre (as a first click) and then correct it like clicks.

Work is confined to a block around the prompts (box + ``box_margin_mm``, or the clicks +- ``extent_mm``),
resampled coarser when it holds more than ``max_voxels``. :class:`SessionState` keeps that block's features
and the first region between calls: pass ``result.state`` back in with the grown prompt list and only the
competition re-runs.

Coordinates are LPS mm (SimpleITK's physical space); seed labelmaps lie on the image grid.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk
from scipy import ndimage
from skimage.graph import MCP_Geometric

from nbrisk.errors import InputError
from nbrisk.segmentation.corrections import (
    apply_click,
    crop,
    dist2,
    erode_whole,
    history,
    paste,
    stroke_zone,
    voxel,
    zone,
)
from nbrisk.segmentation.finish import box_mask, postprocess, smoothed
from nbrisk.segmentation.graph_cut import GraphCutParams, first_region_detail
from nbrisk.segmentation.grow import check_not_uniform, collect_warnings, grow_from_seeds
from nbrisk.segmentation.params import InteractiveParams
from nbrisk.segmentation.prompts import (
    Prompts,
    box_index,
    check_first_seed,
    labelmap_mask,
    labelmap_points,
    to_index,
)
from nbrisk.segmentation.region_competition import edt
from nbrisk.segmentation.size_estimate import grown_region, shrunk_region
from nbrisk.segmentation.state import HISTORY_FIELDS, SessionState

__all__ = [
    "InteractiveParams",
    "InteractiveResult",
    "Prompts",
    "SessionState",
    "segment_block",
    "segment_interactive",
]


@dataclass(slots=True)
class InteractiveResult:
    mask: sitk.Image  # uint8, 1 = tumour, on the image grid
    state: SessionState
    n_tumour_seeds: int  # clicks + painted tumour components
    n_background_seeds: int
    seconds: float
    notes: list[str] = field(default_factory=list)  # warnings for the reader (the first region leaked, ...)


def _block(
    image: sitk.Image, pts: np.ndarray, box: tuple | None, p: InteractiveParams
) -> tuple[np.ndarray, ...]:
    size = np.array(image.GetSize())[::-1]
    spacing = np.array(image.GetSpacing())[::-1]
    if box is not None:
        m = np.ceil(p.box_margin_mm / spacing).astype(int)
        lo, hi = box[0] - m, box[1] + m
    else:
        m = np.ceil(p.extent_mm / spacing).astype(int)
        lo, hi = pts.min(axis=0).astype(int) - m, pts.max(axis=0).astype(int) + 1 + m
    return np.clip(lo, 0, size), np.clip(hi, 0, size)


def _features(image: sitk.Image, start: np.ndarray, stop: np.ndarray, p: InteractiveParams) -> SessionState:
    sz = (stop - start)[::-1].tolist()
    block = sitk.RegionOfInterest(image, [int(v) for v in sz], [int(v) for v in start[::-1]])
    arr = sitk.GetArrayFromImage(block).astype(np.float32)
    spacing = np.array(image.GetSpacing(), float)[::-1]
    factor = np.ones(3)
    n = arr.size
    if n > p.max_voxels:  # coarser in-plane first (CT slices are finer than their spacing apart)
        f = np.sqrt(n / p.max_voxels)
        factor = np.array([1.0, f, f])
        if spacing[1] * f > 2.0 * spacing[0]:  # do not go much coarser than the slice spacing in-plane
            g = (n / p.max_voxels) ** (1 / 3)
            factor = np.array([g, g, g])
        factor = np.maximum(factor, 1.0)
        arr = ndimage.zoom(arr, 1.0 / factor, order=1, prefilter=False)
        factor = np.array(block.GetSize()[::-1]) / np.array(arr.shape)
    sp = spacing * factor
    smooth = ndimage.gaussian_filter(arr, p.smoothing_mm / sp, truncate=3.0)
    grad = np.sqrt(
        sum(ndimage.sobel(smooth, axis=a) ** 2 / (8.0 * sp[a]) ** 2 for a in range(3) if smooth.shape[a] > 1)
    ).astype(np.float32)
    a64 = arr.astype(np.float64)
    m = ndimage.gaussian_filter(a64, p.texture_mm / sp, truncate=3.0)
    m2 = ndimage.gaussian_filter(a64 * a64, p.texture_mm / sp, truncate=3.0)
    texture = np.log1p(np.sqrt(np.maximum(m2 - m * m, 0.0))).astype(np.float32)
    return SessionState(start, stop, factor, smooth, grad, texture, sp, ())


# ------------------------------------------------------------------------------------------- the engine
def _codes(
    smooth: np.ndarray,
    texture: np.ndarray,
    seeds_t: np.ndarray,
    inside: np.ndarray | None,
    p: InteractiveParams,
) -> tuple[np.ndarray, int, int]:
    """Joint (intensity, texture) bin of every voxel; intensity bins span the tumour's plausible window.

    The window is the tumour seeds' 5th-95th percentile widened by 1.5 times its width on each side (at least
    the box content's 2nd-98th percentile when there is a box); values outside fall into the end bins.
    """
    lo, hi = np.percentile(smooth[seeds_t], [5, 95])
    robust = np.percentile(smooth, [2, 98])
    width = max(float(hi - lo), 0.02 * float(robust[1] - robust[0]), 1e-6)
    lo, hi = lo - 1.5 * width, hi + 1.5 * width
    if inside is not None:
        b_lo, b_hi = np.percentile(smooth[inside], [2, 98])
        lo, hi = min(lo, b_lo), max(hi, b_hi)
    ib = np.clip(((smooth - lo) / max(hi - lo, 1e-6) * p.bins).astype(np.int32), 0, p.bins - 1)
    tb = max(p.texture_bins, 1)
    if tb == 1:
        return ib, p.bins, 1
    t_lo, t_hi = np.percentile(texture, [0.5, 99.5])
    it = np.clip(((texture - t_lo) / max(t_hi - t_lo, 1e-6) * tb).astype(np.int32), 0, tb - 1)
    return ib * tb + it, p.bins * tb, tb


def _hist2(codes: np.ndarray, n_codes: int, tb: int, sigma_bins: float) -> np.ndarray:
    h = np.bincount(codes, minlength=n_codes).astype(float).reshape(-1, tb)
    h = ndimage.gaussian_filter(h, sigma_bins, mode="nearest")
    return (h / max(h.sum(), 1e-12)).ravel()


def _ball_seeds(shape: tuple[int, ...], spacing: np.ndarray, pts: np.ndarray, r_mm: float) -> np.ndarray:
    out = np.zeros(shape, bool)
    if len(pts) == 0:
        return out
    rad = np.ceil(r_mm / spacing).astype(int)
    for c in pts:
        ci = np.floor(c + 0.5).astype(int)
        lo = np.maximum(ci - rad, 0)
        hi = np.minimum(ci + rad + 1, shape)
        if np.any(hi <= lo):
            continue
        g = np.meshgrid(
            *[(np.arange(a, b) - cc) * s for a, b, cc, s in zip(lo, hi, c, spacing, strict=True)],
            indexing="ij",
        )
        out[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] |= sum(x * x for x in g) <= r_mm * r_mm + 1e-6
        out[tuple(np.clip(ci, 0, np.array(shape) - 1))] = True
    return out


def segment_block(
    smooth: np.ndarray,
    grad: np.ndarray,
    texture: np.ndarray,
    spacing: np.ndarray,
    seeds_t: np.ndarray,
    seeds_b: np.ndarray,
    box: tuple[np.ndarray, np.ndarray] | None,
    p: InteractiveParams,
    bg_clicks: np.ndarray | None = None,
    extra: dict | None = None,
) -> np.ndarray:
    """Geodesic competition on a block; returns the signed score D_B - D_T (tumour where > 0).

    ``seeds_t``/``seeds_b`` are boolean seed masks; ``box`` is (lo, hi) in block voxels (hi exclusive).
    """
    inside = np.zeros(smooth.shape, bool)
    if box is not None:
        inside[box[0][0] : box[1][0], box[0][1] : box[1][1], box[0][2] : box[1][2]] = True
    code, n_codes, tb = _codes(smooth, texture, seeds_t, inside if box is not None else None, p)
    hist = lambda m, sig=1.0: _hist2(code[m], n_codes, tb, sig)  # noqa: E731
    h_t = hist(seeds_t)
    if box is not None and (~inside).any():
        far = ~inside
    else:  # the far field: tissue more than far_mm from every tumour seed
        far = edt(~seeds_t, spacing) >= p.far_mm
        if far.sum() < 100:
            far = seeds_b
    h_b = hist(far, 1.5) if far.any() else np.full(n_codes, 1.0 / n_codes)
    if bg_clicks is not None and bg_clicks.any():
        h_b = 0.5 * h_b + 0.5 * hist(bg_clicks)
    if box is not None and p.box_prior and (~inside).any():
        h_in = hist(inside & ~seeds_b, 1.5)
        h_out = hist(~inside, 1.5)
        pi = 0.5
        est = np.clip(h_in - (1 - pi) * h_out, 0, None)
        if est.sum() > 0.05:
            est /= est.sum()
            h_t = 0.5 * h_t + 0.5 * est
    eps = 1e-4
    pt = (h_t + eps) / (h_t + h_b + 2 * eps)
    cost_t_model = -np.log(pt)[code]
    if extra is not None:  # the per-voxel model, for the corrections (InteractiveParams.tumour_model_p)
        extra["p_tumour"] = pt[code].astype(np.float32)
    cost_b_model = -np.log(1 - pt)[code]
    g_ref = float(np.median(grad[seeds_t])) + float(np.percentile(grad, 50)) + 1e-6
    edge = p.w_edge * grad / g_ref
    base = p.step + edge
    sampling = tuple(float(s) for s in spacing)
    cost_t = (base + p.w_model * cost_t_model).astype(np.float64)
    cost_b = (base + p.w_model * cost_b_model).astype(np.float64)
    if box is not None:
        cost_t[~inside] = np.inf
    starts_t = [tuple(v) for v in np.argwhere(_surface(seeds_t))]
    starts_b = [tuple(v) for v in np.argwhere(_surface(seeds_b))]
    d_t, _ = MCP_Geometric(cost_t, sampling=sampling, fully_connected=False).find_costs(starts_t)
    if starts_b:
        d_b, _ = MCP_Geometric(cost_b, sampling=sampling, fully_connected=False).find_costs(starts_b)
    else:
        d_b = np.full(smooth.shape, np.inf)
    return np.where(np.isfinite(d_b), d_b, 1e9) - np.where(np.isfinite(d_t), d_t, 1e9)


def _surface(mask: np.ndarray) -> np.ndarray:
    """Seed voxels with a non-seed face neighbour (the only ones a front can start from), or all of a
    mask that fills its block."""
    inner = ndimage.binary_erosion(mask, border_value=1)
    out = mask & ~inner
    return out if out.any() else mask


# --------------------------------------------------------------------------------------------- entry
def segment_interactive(
    image: sitk.Image,
    prompts: Prompts,
    state: SessionState | None = None,
    params: InteractiveParams | None = None,
    *,
    modality: str = "auto",
    source: str = "",
) -> InteractiveResult:
    """Segment the tumour from the prompts; pass the previous result's ``state`` to reuse its features.

    The state is reused when the new prompts fit inside its working block (adding a click inside the box or
    near the earlier clicks); otherwise the block is rebuilt. Raises InputError for prompts outside the image,
    a labelmap off the image grid, or no tumour seed at all.
    """
    t0 = time.perf_counter()
    p = params or InteractiveParams()
    tp = np.array([to_index(image, s, "tumour seed") for s in prompts.tumour]).reshape(-1, 3)
    bp = np.array([to_index(image, s, "background seed") for s in prompts.background]).reshape(-1, 3)
    lt, lb = labelmap_points(image, prompts, source or "seed labelmap")
    if len(tp) == 0 and len(lt) == 0:
        raise InputError("no tumour seed given; click or paint at least one point inside the tumour")
    if len(tp):
        check_first_seed(image, tp[0], prompts.tumour[0], modality)
    box = box_index(image, prompts.box) if prompts.box is not None else None
    if box is not None:
        for s in np.vstack([tp, lt]):
            r = np.floor(s + 0.5)
            if np.any(r < box[0]) or np.any(r >= box[1]):
                raise InputError(
                    f"a tumour seed (index {tuple(int(v) for v in r[::-1])}) lies outside the box; "
                    "enlarge the box or move the seed"
                )
    block_start, block_stop = _block(image, np.vstack([tp, lt]).astype(float), box, p)  # around the tumour seeds
    if state is None or state.image_id != _image_key(image):  # once per image (the panel keeps a state)
        lo, hi = block_start, block_stop
        check_not_uniform(sitk.GetArrayViewFromImage(image)[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]],
                          "working region around the seeds" + (" and the box" if box is not None else ""))
    prior: tuple[np.ndarray, np.ndarray] | None = None
    key: tuple | None = None
    prior_notes: list[str] = []
    # the first region grows from the first click or, with painted seeds only, from the painted tumour voxel
    # nearest the strokes' centre (the strokes then correct it, as later clicks do)
    anchor = tuple(prompts.tumour[0]) if len(tp) else (_stroke_anchor(image, lt) if len(lt) else None)
    if p.first_click in ("competition", "graph_cut") and anchor is not None:
        key = (anchor, None if prompts.box is None else tuple(prompts.box))
        size: tuple = (None, False, None)
        if (state is not None and state.image_id == _image_key(image) and state.prior_key == key
                and state.prior is not None and state.prior_start is not None):
            prior = (state.prior, state.prior_start)
            prior_notes = state.prior_notes
            size = (state.prior_size, state.prior_rays, state.prior_competition)
        else:
            with collect_warnings() as notes:
                prior, size = _first_click_region(image, anchor, prompts.box, modality, p.first_click, p.mr_size,
                                                  p.seed_radius_max_mm, p.seed_box_share)
            prior_notes = list(dict.fromkeys(notes))
        only_first = len(tp) == 1 and not len(bp) and prompts.labelmap is None
        if prior is not None and only_first:
            r, o = prior
            within = None if box is None else box_mask(r.shape, box, o)  # the first region's smoothing stays in the box
            r_shown = smoothed(r, o, image.GetSize()[::-1], np.array(image.GetSpacing())[::-1], p.shown_smooth_mm,
                                tp - o, np.zeros((0, 3)), within)
            mask = sitk.GetImageFromArray(paste(r_shown, o, np.zeros(3, int), np.array(image.GetSize())[::-1])
                                          .astype(np.uint8))
            mask.CopyInformation(image)
            if state is None or state.image_id != _image_key(image):
                state = _features(image, block_start, block_stop, p)
                state.image_id = _image_key(image)
            state.prior, state.prior_start, state.prior_key, state.prior_notes = r, o, key, prior_notes
            state.prior_size, state.prior_rays, state.prior_competition = size
            state.forget_history()  # the first region is the mask shown now
            return InteractiveResult(mask, state, 1, 0, time.perf_counter() - t0, prior_notes)
    pts = np.vstack([tp, lt, bp, lb]).astype(float)
    start, stop = block_start.copy(), block_stop.copy()
    if box is None and len(bp) + len(lb):
        start = np.minimum(start, np.floor(np.vstack([bp, lb]).min(axis=0)).astype(int).clip(0))
    needs = (
        state is None
        or state.image_id != _image_key(image)
        or np.any(start < state.start)
        or np.any(stop > state.stop)
        or np.any(np.floor(pts + 0.5) < state.start)
        or np.any(np.floor(pts + 0.5) >= state.stop)
    )
    if needs:
        kept = {}
        if state is not None and state.image_id == _image_key(image):
            # a rebuilt block is the same history: the mask the reader saw stays the base of the next click, and what
            # the clicks grew or shrank stays
            kept = {name: getattr(state, name) for name in HISTORY_FIELDS}
            if box is None:  # grow the old block
                start, stop = np.minimum(start, state.start), np.maximum(stop, state.stop)
        state = _features(image, start, stop, p)
        state.image_id = _image_key(image)
        for name, value in kept.items():
            setattr(state, name, value)
    assert state is not None
    if prior is not None:
        state.prior, state.prior_start, state.prior_key, state.prior_notes = prior[0], prior[1], key, prior_notes
        state.prior_size, state.prior_rays, state.prior_competition = size
    f = state.factor
    to_block = lambda v: (np.asarray(v, float) - state.start) / f  # noqa: E731 (z,y,x) image -> block
    shape = state.smooth.shape
    seeds_t = _ball_seeds(shape, state.spacing, to_block(tp), p.click_radius_mm)
    seeds_b = _ball_seeds(shape, state.spacing, to_block(bp), p.click_radius_mm)
    for pts_l, painted in ((lt, seeds_t), (lb, seeds_b)):
        if len(pts_l):
            q = np.clip(np.floor(to_block(pts_l)).astype(int), 0, np.array(shape) - 1)
            painted[tuple(q.T)] = True
    box_b = None
    if box is not None:
        box_b = (
            np.clip(np.floor(to_block(box[0])).astype(int), 0, shape),
            np.clip(np.ceil(to_block(box[1])).astype(int), 1, shape),
        )
        inside = np.zeros(shape, bool)
        inside[box_b[0][0] : box_b[1][0], box_b[0][1] : box_b[1][1], box_b[0][2] : box_b[1][2]] = True
        seeds_t &= inside
        if not seeds_t.any():
            q = np.clip(np.floor(to_block(np.vstack([tp, lt]))).astype(int), box_b[0], box_b[1] - 1)
            seeds_t[tuple(q.T)] = True
    bg_clicks = seeds_b.copy()
    core = None
    if prior is not None:
        core = _prior_core(prior, state, p)
        if box_b is not None:
            core &= inside
        if len(bp) and core.any():  # keep the part nearer a tumour click than any background click
            near_t = dist2(shape, state.spacing, to_block(tp if len(tp) else lt[[_nearest_centre(lt)]]))
            core &= near_t < dist2(shape, state.spacing, to_block(bp))
        core &= ~seeds_b
        seeds_t |= core
    if box_b is not None:
        seeds_b |= ~inside  # the tissue around the box is background
    else:  # the block's sides are background
        rim = np.ones(shape, bool)
        rim[tuple(slice(1, -1) if n > 2 else slice(0, n) for n in shape)] = False
        seeds_b |= rim & ~seeds_t
    seeds_b &= ~seeds_t
    extra: dict = {}
    score = segment_block(
        state.smooth, state.grad, state.texture, state.spacing, seeds_t, seeds_b, box_b, p, bg_clicks, extra
    )
    full_shape = tuple(int(v) for v in state.stop - state.start)

    def to_full(a: np.ndarray) -> np.ndarray:
        """A block array (coarser when the block was resampled) on the image grid of the block, interpolated."""
        if not np.any(f > 1.0):
            return a
        z = ndimage.zoom(a.astype(np.float32), np.array(full_shape) / np.array(shape), order=1, prefilter=False,
                         grid_mode=True, mode="nearest")
        return z[: full_shape[0], : full_shape[1], : full_shape[2]]

    if np.any(f > 1.0):
        score = to_full(score)
        seeds_full = np.zeros(full_shape, bool)
        for s in np.vstack([tp, lt]):
            seeds_full[
                tuple(np.clip(np.floor(s + 0.5).astype(int) - state.start, 0, np.array(full_shape) - 1))
            ] = True
        region = score > 0
        region |= seeds_full
    else:
        region = score > 0
        seeds_full = seeds_t
    if prior is not None and p.edit_radius_mm > 0:  # corrections are local: elsewhere keep the first region
        first = paste(prior[0], prior[1], state.start, state.stop)
        sp_full = np.array(image.GetSpacing())[::-1]
    if prior is not None and p.edit_radius_mm > 0 and p.sequential and prompts.labelmap is None:
        base, todo = history(state.last, state.start, state.stop, key, tp, bp, first)
        grown = state.grown if base is not first else False
        g_amat = state.grow_amat if base is not first else None
        shrunk = state.shrunk if base is not first else False
        s_amat = state.shrink_amat if base is not first else None
        m_seq = base
        ok = None  # where the per-case model does not refuse tumour (for the tumour clicks' pushes)
        if p.tumour_model_p > 0 and any(is_t for _, is_t in todo):
            ok = to_full(extra["p_tumour"]) >= p.tumour_model_p
        n_done = len(tp) + len(bp) - len(todo)  # clicks the base mask already holds (the first click counts)
        for j, (c, is_t) in enumerate(todo):
            shown = m_seq
            m_seq = apply_click(m_seq, region, c - state.start, is_t, sp_full, p, tp - state.start,
                                 bp - state.start, boxed=box is not None, ok=ok)
            if not is_t and box is None and not shrunk and anchor is not None:
                shrank = shrunk_region(image, anchor, c, shown, state, p, modality, s_amat)
                if shrank is not None:  # the click says the first click's size estimate was too large
                    cut, s_amat = shrank  # (a later background click may shrink it again: shrink_again)
                    shrunk = not p.shrink_again
                    keep = m_seq & cut  # what that re-cut leaves out goes, ...
                    lab, _ = ndimage.label(keep)
                    at = lab[voxel(tp[0] - state.start, keep.shape)]
                    if at > 0:  # (a cut that lost the first click is not used)
                        m_seq = lab == at  # ... and what it cut off from the first click
            n_bg = len(bp) - sum(1 for _, t in todo[j + 1:] if not t)  # this click's number among the background ones
            if not is_t and box is None and state.prior_rays and len(tp) == 1 and n_bg >= 2:
                # every correction click so far says "too large": the rays' ellipsoid errs as a whole
                m_seq = erode_whole(m_seq, shown, c - state.start, tp[0] - state.start, sp_full, p.background_erode)
            if is_t:
                shrunk = True  # the reader said the region is too small somewhere: no shrinking after it
            if not is_t and p.grow_before_background:
                grown = True  # the reader said the region is too large: no growth after it
            early = p.grow_max_click <= 0 or n_done + j + 1 <= p.grow_max_click
            if is_t and box is None and not grown and anchor is not None and early:
                grew = grown_region(image, anchor, c, state, p, modality, g_amat)
                if grew is not None:  # the click says the first click's size estimate was too small
                    regrown, g_amat = grew  # (a later click may grow it again: grow_again_outside)
                    grown = p.grow_again_outside <= 0
                    add = regrown & region & ~m_seq  # where the re-cut and the geodesic competition agree ...
                    lab, _ = ndimage.label(add | m_seq)
                    ids = np.unique(lab[m_seq])
                    m_seq = m_seq | (add & np.isin(lab, ids[ids > 0]))  # ... next to the mask shown
        state.grown, state.shrunk, state.grow_amat, state.shrink_amat = grown, shrunk, g_amat, s_amat
        region = m_seq
        seeds_full = seeds_full | m_seq
    elif prior is not None and p.edit_radius_mm > 0:
        zone_t = zone(full_shape, sp_full, tp[1:] - state.start, first, False, p)
        zone_b = zone(full_shape, sp_full, bp - state.start, first, True, p)
        zone_t |= stroke_zone(full_shape, sp_full, lt - state.start, first, False, p)
        zone_b |= stroke_zone(full_shape, sp_full, lb - state.start, first, True, p)
        # a tumour click only adds near it, a background click only removes near it
        region = np.where(zone_t & zone_b, region, (first | (region & zone_t)) & ~(~region & zone_b))
        if seeds_full is seeds_t:
            seeds_full = seeds_t | (first & ~zone_b)
    keep = None
    if box is not None:
        keep = box_mask(full_shape, box, state.start)
        region &= keep
    region = postprocess(region, seeds_full)
    # the mask shown, before its display smoothing, for the next click to correct (not after painted strokes: they
    # correct the first region, and a later call without them must not keep what they did)
    use_last = p.sequential and prior is not None and prompts.labelmap is None
    state.last = (key, tp.copy(), bp.copy(), region.copy(), state.start.copy()) if use_last else None
    out = np.zeros(image.GetSize()[::-1], np.uint8)
    s0, s1 = state.start, state.stop
    out[s0[0] : s1[0], s0[1] : s1[1], s0[2] : s1[2]] = smoothed(
        region, s0, out.shape, np.array(image.GetSpacing())[::-1], p.shown_smooth_mm, np.vstack([tp, lt]) - s0,
        np.vstack([bp, lb]) - s0, keep)
    mask = sitk.GetImageFromArray(out)
    mask.CopyInformation(image)
    n_t = len(tp) + (int(ndimage.label(labelmap_mask(lt, image))[1]) if len(lt) else 0)
    n_b = len(bp) + (int(ndimage.label(labelmap_mask(lb, image))[1]) if len(lb) else 0)
    return InteractiveResult(mask, state, n_t, n_b, time.perf_counter() - t0, prior_notes if prior is not None else [])


def _image_key(image: sitk.Image) -> tuple:
    """Which image a state belongs to: the object (the panel keeps one per volume) and its grid."""
    return (id(image), image.GetSize(), image.GetSpacing(), image.GetOrigin(), image.GetDirection())


def _nearest_centre(pts: np.ndarray) -> int:
    """Row of ``pts`` nearest their centroid."""
    return int(np.argmin(((pts - pts.mean(axis=0)) ** 2).sum(axis=1)))


def _stroke_anchor(image: sitk.Image, painted: np.ndarray) -> tuple[float, float, float]:
    """LPS centre of the painted tumour voxel nearest the painted voxels' centroid."""
    k = painted[_nearest_centre(painted)]
    x, y, z = image.TransformIndexToPhysicalPoint([int(v) for v in k[::-1]])
    return (float(x), float(y), float(z))


def _first_click_region(
    image: sitk.Image,
    click: Sequence[float],
    box: Sequence[float] | None,
    modality: str,
    how: str = "graph_cut",
    mr_size: str = "rays",
    seed_radius_max_mm: float = 8.0,
    seed_box_share: float = 0.5,
) -> tuple[tuple[np.ndarray, np.ndarray] | None, tuple]:
    """The first tumour click's (and the box's) region, cropped ((region, start), or None when nothing grew), and
    what a later click may re-cut it with: (size ellipsoid, from rays?, the competition's mask cropped), or
    (None, False, None) with a box or the region competition alone.

    ``how``: "graph_cut" (:func:`graph_cut.first_region`, with ``mr_size``) or "competition" (the region
    competition's mask).
    """
    none: tuple = (None, False, None)
    try:
        if how == "graph_cut":
            gp = GraphCutParams(mr_size=mr_size, seed_radius_max_mm=seed_radius_max_mm, seed_box_share=seed_box_share)
            d = first_region_detail(image, click, box, modality=modality, params=gp)
            arr = d.region
            if arr is None:
                return None, none
            size = (d.size, d.rays, crop(d.competition)) if d.size is not None else none
        else:
            m = grow_from_seeds(image, [click], box_lps=box, modality=modality)
            arr = sitk.GetArrayViewFromImage(m) > 0
            size = none
    except InputError:
        return None, none
    return crop(arr), size


def _prior_core(
    prior: tuple[np.ndarray, np.ndarray], state: SessionState, p: InteractiveParams
) -> np.ndarray:
    """The first-click region on the block grid, eroded by ``prior_core_mm``."""
    full = paste(prior[0], prior[1], state.start, state.stop)
    if np.any(state.factor > 1.0):
        shape = state.smooth.shape
        idx = [
            np.minimum((np.arange(n) * f + f / 2).astype(int), m - 1)
            for n, f, m in zip(shape, state.factor, full.shape, strict=True)
        ]
        full = full[np.ix_(*idx)]
    sp = state.spacing
    return edt(full, sp) > p.prior_core_mm if full.any() else full
