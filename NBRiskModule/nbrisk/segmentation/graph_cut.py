"""The first click's region: a graph cut that weighs the image against a shape prior (issue 23).

Real tumours touch tissue of the same density (a sarcoma in muscle, a neuroblastoma against the liver or the
psoas), so a model of intensity and texture alone cannot find their border, however it is learnt: on the IBSI
soft-tissue-sarcoma CTs the best intensity window chosen with the expert mask itself reaches a median Dice of
only 0.77. What the reader's prompt says about *where* the tumour is then matters as much as the voxels. This
module finds the region that minimises, with one s-t minimum cut (Boykov-Kolmogorov, PyMaxflow), the energy

    sum_v  w_shape * S_v(label) + w_rc * R_v(label) + w_model * M_v(label)  +  sum_(u,v) w_pair * B_uv [labels differ]

* ``S``, the shape prior: -log of a soft ellipsoid. With a box it is the ellipsoid inscribed in the box; with a
  click only, on CT the ellipsoid with the second moments of the region competition's mask (a solid ellipsoid's
  variance along an axis is a^2/5), on MRI the ellipsoid of rays cast from the click (:func:`ray_ellipsoid`;
  the competition grows a sliver of a T1 sarcoma, iso-intense to muscle). Soft: p = 1 / (1 + exp(-(1 - rho) /
  tau)), rho the ellipsoidal radius.
* ``R``, the region competition (:mod:`.region_competition`, the learnt per-case intensity-texture model of
  the first click): -log of a sigmoid of the signed distance to its mask (``tau_rc_mm``). Its weight falls
  with the share of the ellipsoid it fills, ``min(1, share / rc_full)``: a mask that fills a tenth of the box
  the reader drew has missed most of the tumour (on T1 MRI it usually has), and then the box speaks.
* ``M``, intensity histograms of the current labels (GrabCut's re-estimation, ``iters`` rounds).
* ``B``, contrast-sensitive boundary weights exp(-beta * dI^2), beta = 1 / (2 <dI^2>), divided by the
  neighbour distance (relative to the finest spacing). ``w_pair`` grows with the ellipsoid's size
  (``w_pair_k`` x its mean radius in voxels): the prior's reward grows with volume and the boundary cost
  with area, and this keeps their balance the same for a 1 cm and a 10 cm tumour.
* Hard constraints: a ball of ``click_radius_mm`` around the click is tumour; outside the box (or the block's
  sides without one) is background.

The kept region is the component holding the click, with holes filled. Parameters were chosen on the tune
cases of ``bench/bench_interactive_seg.py`` only; the numbers are in ``docs/segmentation.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import maxflow
import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from nbrisk.errors import InputError
from nbrisk.segmentation.grow import COMPETITION_LOGGERS, detect_modality, grow_from_seeds
from nbrisk.segmentation.params import GrowParams
from nbrisk.segmentation.prompts import box_index, to_index

logger = logging.getLogger(__name__)


@contextmanager
def _held_warnings() -> Iterator[list[str]]:
    """Hold back the warnings of the region competition run inside the graph cut: they describe its own mask (a
    leak it caught, with its voxel counts), not the region the reader gets. :func:`first_region` says it again
    about its own region."""
    held: list[str] = []

    def hold(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            held.append(record.getMessage())
            return False
        return True

    loggers = [logging.getLogger(n) for n in COMPETITION_LOGGERS]
    for lg in loggers:
        lg.addFilter(hold)
    try:
        yield held
    finally:
        for lg in loggers:
            lg.removeFilter(hold)


@dataclass(frozen=True, slots=True)
class GraphCutParams:
    """Parameters of :func:`first_region` (lengths in mm)."""

    w_shape: float = 1.0  # weight of the ellipsoid prior
    tau: float = 0.15  # softness of the ellipsoid's edge, in units of its radius
    w_pair_k: float = 0.2  # boundary weight per voxel of the ellipsoid's mean radius
    w_model: float = 0.2  # weight of the re-estimated intensity histograms
    iters: int = 2  # rounds of histogram re-estimation
    w_rc: float = 1.0  # weight of the region competition's mask ...
    rc_full: float = 0.5  # ... full when it fills this share of the ellipsoid, less below (0: always full)
    tau_rc_mm: float = 2.0  # softness of its border
    click_radius_mm: float = 3.0  # the click's ball is tumour
    margin_mm: float = 10.0  # working block = box + this; without a box, the ellipsoid x 1.5 + this
    smoothing_mm: float = 1.0  # Gaussian sigma of the intensity
    bins: int = 64
    max_voxels: int = 1_000_000  # larger blocks are averaged coarser (in-plane first): the rays' image, ...
    cut_max_voxels: int = 400_000  # ... and the graph cut's block at most this fine: the max-flow slows down on a
    # big block (with a box, STS_044's T1 MRI took 7.0 s at 950 000 voxels and 1.2 s averaged to 240 000)
    # Without a box on MRI, the ellipsoid comes from rays cast from the click (:func:`ray_ellipsoid`) instead of
    # the region competition's mask, which under-segments T1 MRI ("rc" keeps the mask's moments everywhere).
    mr_size: str = "rays"
    ray_k: float = 5.0  # a ray ends where the intensity leaves the click's median +- ray_k robust SDs ...
    ray_run_mm: float = 6.0  # ... for this length
    ray_max_mm: float = 80.0  # the longest ray
    ray_clip: float = 2.0  # rays longer than this x the median are cut to it (a leak along one direction)
    ray_n: int = 256  # directions (a Fibonacci sphere)
    ray_smoothing_mm: float = 1.5
    # The region competition's tumour model is learnt in a sphere around the click: 5 mm (its default), or up to this
    # radius while the sphere stays clean (:func:`clean_seed_radius`; 5 or less: always 5). A 5 mm sphere at the
    # deepest point of a large tumour samples only its homogeneous core, and the competition then grows that core
    # (NSCLC LUNG1-001: 22 ml of a 156 ml tumour; the tune STS_008's CT, STS_002's and STS_005's T1 MRI).
    seed_radius_max_mm: float = 8.0
    seed_clean_k: float = 5.0  # "clean": at most seed_clean_share of the sphere lies outside the 5 mm core's median
    seed_clean_share: float = 0.05  # +- seed_clean_k robust SDs (air, fat or bone next to a small lesion)
    seed_clean_block_mm: float = 85.0  # no widening when that window spans +-2.5 SDs of the click +- this (the
    # rays' block: ray_max_mm + 5)
    # With a box, the sphere's radius is at most this share of the box's inscribed ellipsoid's smallest radius (never
    # under 5 mm): an 8 mm sphere in a box 10 mm across its narrowest half samples the tissue between a small lesion
    # and the box, which the clean test does not see where the lesion differs from it by about one SD (a 0.8 ml
    # glioma on contrast-enhanced T1, ReMIND; sixteenth round). 0: no bound.
    seed_box_share: float = 0.5

    def __post_init__(self) -> None:
        if self.mr_size not in ("rays", "rc"):
            raise ValueError(f"mr_size must be 'rays' or 'rc', not {self.mr_size!r}")


def _ellipsoid_from_box(lo: np.ndarray, hi: np.ndarray, sp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    centre = (lo + hi) / 2.0 * sp
    radii = (hi - lo) / 2.0 * sp + sp / 2.0
    return centre, np.diag(1.0 / radii**2)


def _ellipsoid_from_mask(mask: np.ndarray, sp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = np.argwhere(mask) * sp
    centre = pts.mean(axis=0)
    cov = np.cov((pts - centre).T) + np.eye(3) * 1e-3 if len(pts) > 3 else np.diag(sp**2)
    return centre, np.linalg.inv(5.0 * cov)


def _fibonacci_sphere(n: int) -> np.ndarray:
    """n nearly uniform unit vectors, (z, y, x)."""
    i = np.arange(n) + 0.5
    polar = np.arccos(1.0 - 2.0 * i / n)
    az = np.pi * (1.0 + 5.0**0.5) * i
    return np.stack([np.cos(polar), np.sin(polar) * np.sin(az), np.sin(polar) * np.cos(az)], axis=1)


def _click_window(values: np.ndarray) -> tuple[float, float]:
    """The click's neighbourhood intensity window: (median, robust SD = 1.4826 x MAD, never 0)."""
    med = float(np.median(values))
    return med, 1.4826 * float(np.median(np.abs(values - med))) + 1e-6 * (abs(med) + 1.0)


def _window_spans_all(k: float, sd: float, around: np.ndarray) -> bool:
    """The window +- k SDs spans +-2.5 SDs of everything around the click: no border would show in it."""
    return k * sd >= 2.5 * float(around.std())


def ray_ellipsoid(
    image: sitk.Image, click: np.ndarray, params: GraphCutParams | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A size and shape estimate of the tumour around a click (index (z, y, x)) from rays: (centre, A, lengths).

    Rays leave the click in ``ray_n`` directions over the image smoothed by ``ray_smoothing_mm``. Each ends where
    the intensity stays outside the click's 5 mm neighbourhood median +- ``ray_k`` robust SDs for ``ray_run_mm``
    (a heterogeneous tumour's necrosis or a vessel are shorter than that), or at ``ray_max_mm``; beyond the image's
    edge, its edge values go on. Rays longer than ``ray_clip`` x the median are cut (a ray that runs along a
    muscle of the tumour's intensity). The ellipsoid has the second moments of the rays' ends (points on an
    ellipsoid's surface have a variance a^2/3 along an axis); centre in mm of index space, A as in
    :func:`_ellipsoid_from_box`. On a one-slice image the rays stay in its plane (an ellipse: a^2/2).
    None when the window is at least +-2.5 SDs of the whole block (the rays could not stop): the click then sits
    on a lesion smaller than its neighbourhood, or on a border between tissues (a 2 mm breast lesion).
    """
    p = params or GraphCutParams()
    sp = np.array(image.GetSpacing(), float)[::-1]
    shape = np.array(image.GetSize())[::-1]
    flat = shape == 1
    if flat.sum() > 1:
        return None  # a line of voxels has no shape to estimate
    c = np.asarray(click, float)
    m = np.ceil((p.ray_max_mm + 5.0) / sp).astype(int)
    lo = np.clip(np.floor(c).astype(int) - m, 0, shape)
    hi = np.clip(np.ceil(c).astype(int) + m + 1, 0, shape)
    sub = sitk.GetArrayViewFromImage(image)[tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))]
    img, f, csp = _coarse_block(sub.astype(np.float32), sp, p.max_voxels, p.ray_smoothing_mm)
    cl = (c - lo - (f - 1) / 2.0) / f  # the click on the coarse grid
    r = np.ceil(5.0 / csp).astype(int)
    grid = np.meshgrid(*[np.arange(-k, k + 1) for k in r], indexing="ij")
    ball = sum((g * s) ** 2 for g, s in zip(grid, csp, strict=True)) <= 25.0
    pts = np.stack([g[ball] for g in grid], axis=1) + np.round(cl).astype(int)
    pts = pts[np.all((pts >= 0) & (pts < img.shape), axis=1)]
    med, sd = _click_window(img[tuple(pts.T)])
    if _window_spans_all(p.ray_k, sd, img):
        return None  # the window spans +-2.5 SDs of everything around: no intensity would stop a ray
    if flat.any():  # one slice: rays in its plane; points on an ellipse have a variance a^2/2 along an axis
        angle = 2.0 * np.pi * (np.arange(p.ray_n) + 0.5) / p.ray_n
        dirs = np.zeros((p.ray_n, 3))
        free = np.flatnonzero(~flat)
        dirs[:, free[0]], dirs[:, free[1]] = np.cos(angle), np.sin(angle)
        spread = 2.0
    else:
        dirs, spread = _fibonacci_sphere(p.ray_n), 3.0
    step = float(min(1.0, csp.min()))
    ts = np.arange(0.0, p.ray_max_mm + step, step)
    pos = cl[None, None, :] + dirs[:, None, :] * ts[None, :, None] / csp[None, None, :]
    # beyond the image's edge its edge values go on (mode "nearest"), as in a padded image: a ray ends on the
    # tumour's border, not on the border of a crop or of a thin stack of slices
    vals = ndimage.map_coordinates(img, pos.reshape(-1, 3).T, order=1, mode="nearest").reshape(pos.shape[:2])
    out = np.abs(vals - med) > p.ray_k * sd
    run = max(round(p.ray_run_mm / step), 1)
    cs = np.cumsum(np.pad(out, ((0, 0), (1, 0))).astype(int), axis=1)
    full = np.pad((cs[:, run:] - cs[:, :-run]) >= run, ((0, 0), (0, run - 1)), constant_values=True)
    length = ts[np.minimum(full.argmax(axis=1), len(ts) - 1)]
    length = np.maximum(length, 2.0)
    length = np.minimum(length, p.ray_clip * float(np.median(length)))
    ends = dirs * length[:, None]
    mean = ends.mean(axis=0)
    cov = np.cov((ends - mean).T) + np.eye(3) * 1e-3
    if flat.any():  # the slice's own axis: as long as the longest ray (the block has one slice there anyway)
        cov[flat, :] = 0.0
        cov[:, flat] = 0.0
        cov[flat, flat] = p.ray_max_mm**2 / spread
    return c * sp + mean, np.linalg.inv(spread * cov), length


def _box_bounded(p: GraphCutParams, box_amat: np.ndarray | None) -> GraphCutParams:
    """``p`` with its seed sphere's largest radius bounded by ``seed_box_share`` of the smallest radius of the box's
    inscribed ellipsoid (matrix ``box_amat``; never under 5 mm); ``p`` itself without a box or a bound."""
    if box_amat is None or p.seed_box_share <= 0:
        return p
    smallest = float(1.0 / np.sqrt(np.linalg.eigvalsh(box_amat).max()))
    bound = max(GrowParams().seed_radius_mm, p.seed_box_share * smallest)
    return p if bound >= p.seed_radius_max_mm else replace(p, seed_radius_max_mm=bound)


def clean_seed_radius(image: sitk.Image, click: np.ndarray, params: GraphCutParams | None = None) -> float:
    """The radius (mm) of the sphere around a click (index (z, y, x)) that teaches the region competition its tumour
    model: the largest of 5, 6, ... ``seed_radius_max_mm`` mm whose sphere, and every smaller one, has at most
    ``seed_clean_share`` of its voxels outside the 5 mm core's median +- ``seed_clean_k`` robust SDs; 5 mm otherwise.

    A wider sphere samples more of a heterogeneous tumour than its core; a sphere that reaches past a small lesion's
    border (lung air, fat, bone) would teach the model the surroundings, and stays at 5 mm (pyradiomics' lung1, a
    nodule on three 5 mm slices)."""
    p = params or GraphCutParams()
    base = GrowParams().seed_radius_mm  # the competition's own sphere (5 mm): the core, and the radius kept
    if p.seed_radius_max_mm <= base:
        return base
    sp = np.array(image.GetSpacing(), float)[::-1]
    shape = np.array(image.GetSize())[::-1]
    c = np.asarray(click, float)
    m = np.ceil(p.seed_radius_max_mm / sp).astype(int)
    lo = np.clip(np.round(c).astype(int) - m, 0, shape)
    hi = np.clip(np.round(c).astype(int) + m + 1, 0, shape)
    sub = sitk.GetArrayViewFromImage(image)[tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))]
    grid = np.meshgrid(*[(np.arange(a, b) - ci) * s for a, b, ci, s in zip(lo, hi, c, sp, strict=True)],
                       indexing="ij")
    dist = np.sqrt(sum(g**2 for g in grid))
    vals = sub.astype(np.float64)
    core = vals[dist <= base]
    if core.size == 0:
        return base
    med, sd = _click_window(core)
    b = np.ceil(p.seed_clean_block_mm / sp).astype(int)
    blo = np.clip(np.round(c).astype(int) - b, 0, shape)
    bhi = np.clip(np.round(c).astype(int) + b + 1, 0, shape)
    block = sitk.GetArrayViewFromImage(image)[tuple(slice(int(a), int(z)) for a, z in zip(blo, bhi, strict=True))]
    if _window_spans_all(p.seed_clean_k, sd, block):
        return base  # as for the rays: the core's window spans everything around, so no border would show
    out = np.abs(vals - med) > p.seed_clean_k * sd
    best = base
    for r in np.arange(base + 1.0, p.seed_radius_max_mm + 1e-9, 1.0):
        if float(out[dist <= r].mean()) > p.seed_clean_share:
            break
        best = float(r)
    return best


def _block_shrink(shape: np.ndarray, sp: np.ndarray, max_voxels: int) -> np.ndarray:
    """Integer averaging factors per axis (z, y, x), in-plane first, so the block has at most max_voxels."""
    f = np.ones(3, int)
    while np.prod(np.ceil(shape / f)) > max_voxels:
        if sp[1] * f[1] <= sp[0] * f[0]:
            f[1] += 1
            f[2] += 1
        else:
            f[0] += 1
    return f


def _average(sub: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Block means over f-sized cells (edge cells padded with edge values)."""
    if np.all(f == 1):
        return sub
    pad = [(0, int(-n % k)) for n, k in zip(sub.shape, f, strict=True)]
    a = np.pad(sub, pad, mode="edge")
    s = a.shape
    return a.reshape(s[0] // f[0], f[0], s[1] // f[1], f[1], s[2] // f[2], f[2]).mean(axis=(1, 3, 5))


def _coarse_block(
    sub: np.ndarray, sp: np.ndarray, max_voxels: int, smoothing_mm: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A block averaged to at most ``max_voxels`` (in-plane first) and smoothed by ``smoothing_mm``: (block, the
    averaging factors per axis, the coarse spacing)."""
    f = _block_shrink(np.array(sub.shape), sp, max_voxels)
    csp = sp * f
    return ndimage.gaussian_filter(_average(sub, f), smoothing_mm / csp), f, csp


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def _neg_log(p: np.ndarray) -> np.ndarray:
    return -np.log(np.clip(p, 1e-4, 1.0))


def first_region(
    image: sitk.Image,
    click_lps: Sequence[float],
    box_lps: Sequence[float] | None = None,
    *,
    modality: str = "auto",
    params: GraphCutParams | None = None,
) -> np.ndarray | None:
    """The tumour region of one click (and a box) as a (z, y, x) bool array on the image grid.

    None when the click alone (no box) grows nothing; InputError for a click the region competition refuses
    (air, bone, a signal void) is the caller's to handle, as are prompts outside the image.
    """
    return first_region_detail(image, click_lps, box_lps, modality=modality, params=params).region


@dataclass(slots=True)
class FirstRegion:
    """:func:`first_region_detail`'s result: the region and what it was cut from."""

    region: np.ndarray | None  # (z, y, x) bool on the image grid; None when nothing grew
    size: tuple[np.ndarray, np.ndarray] | None  # without a box: the size ellipsoid (centre, A), as _ellipsoid_from_box
    rays: bool  # the size came from rays cast from the click (MRI without a box), not the competition's moments
    competition: np.ndarray  # the region competition's mask on the image grid


def first_region_detail(
    image: sitk.Image,
    click_lps: Sequence[float],
    box_lps: Sequence[float] | None = None,
    *,
    modality: str = "auto",
    params: GraphCutParams | None = None,
    size: tuple[np.ndarray, np.ndarray] | None = None,
    competition: np.ndarray | None = None,
) -> FirstRegion:
    """:func:`first_region`, with the size ellipsoid and the competition's mask it used. ``size`` (without a box)
    and ``competition`` replace the estimates (a correction that grows the size ellipsoid re-cuts with them)."""
    p = params or GraphCutParams()
    sp = np.array(image.GetSpacing(), float)[::-1]
    shape = np.array(image.GetSize())[::-1]
    click = to_index(image, click_lps, "tumour seed")
    if box_lps is None and p.mr_size == "rays" and modality == "auto" and size is None:
        modality = detect_modality(image)  # once here, not again in the competition
    rays = box_lps is None and p.mr_size == "rays" and modality.lower() == "mr"
    held: list[str] = []
    blo: np.ndarray | None = None
    bhi: np.ndarray | None = None
    box_amat: np.ndarray | None = None
    if box_lps is not None:
        blo, stop = box_index(image, box_lps)
        bhi = stop - 1
        box_centre, box_amat = _ellipsoid_from_box(blo, bhi, sp)
    if competition is not None:
        r0 = competition
    else:
        try:
            gp = GrowParams(seed_radius_mm=clean_seed_radius(image, click, _box_bounded(p, box_amat)))
            with _held_warnings() as held:
                r0 = sitk.GetArrayFromImage(grow_from_seeds(image, [click_lps], box_lps=box_lps, params=gp,
                                                            modality=modality)) > 0
        except InputError:
            if box_lps is None:
                raise
            r0 = np.zeros(tuple(shape), bool)  # nothing grew inside the box: the box alone speaks
    est = None
    if blo is not None and bhi is not None and box_amat is not None:
        centre, amat = box_centre, box_amat
        m = np.ceil(p.margin_mm / sp).astype(int)
        lo, hi = np.clip(blo - m, 0, shape), np.clip(bhi + 1 + m, 0, shape)
    else:
        est = ray_ellipsoid(image, click, p) if rays and size is None else None
        if size is not None:
            centre, amat = size
        elif est is not None:
            centre, amat, _ = est
        elif not r0.any():
            return FirstRegion(None, None, False, r0)
        else:
            centre, amat = _ellipsoid_from_mask(r0, sp)
        w, v = np.linalg.eigh(np.linalg.inv(amat))
        half = np.abs(v * np.sqrt(np.clip(w, 0, None))).max(axis=1) * 1.5 + p.margin_mm
        c = np.round(click).astype(int)
        lo = np.clip(np.minimum(np.floor((centre - half) / sp).astype(int), c - 3), 0, shape)
        hi = np.clip(np.maximum(np.ceil((centre + half) / sp).astype(int) + 1, c + 4), 0, shape)
    sl = tuple(slice(int(x), int(y)) for x, y in zip(lo, hi, strict=True))
    sub = sitk.GetArrayViewFromImage(image)[sl].astype(np.float32)
    img, f, csp = _coarse_block(sub, sp, min(p.max_voxels, p.cut_max_voxels), p.smoothing_mm)
    # voxel centres of the coarse block in mm (index space x spacing, as the ellipsoid)
    axes = [(lo[k] + np.arange(img.shape[k]) * f[k] + (f[k] - 1) / 2.0) * sp[k] for k in range(3)]
    pos = np.stack(np.meshgrid(*axes, indexing="ij"))
    d = pos - centre[:, None, None, None]
    rho = np.sqrt(np.maximum(np.einsum("i...,ij,j...->...", d, amat, d), 0.0))
    prior = _sigmoid((1.0 - rho) / p.tau)
    radii = 1.0 / np.sqrt(np.linalg.eigvalsh(amat))
    w_pair = p.w_pair_k * float(np.exp(np.mean(np.log(radii)))) / float(csp.min())
    r0c = _average(r0[sl].astype(np.float32), f) >= 0.5
    share = float(r0c.sum()) / max(float((rho <= 1.0).sum()), 1.0)
    w_rc = (p.w_rc * min(1.0, share / p.rc_full) if p.rc_full > 0 else p.w_rc) if r0c.any() else 0.0
    if w_rc > 0:
        sd = ndimage.distance_transform_edt(r0c, sampling=csp) - ndimage.distance_transform_edt(~r0c, sampling=csp)
        p_rc = _sigmoid(sd / p.tau_rc_mm)
    # hard constraints
    dist = np.sqrt((((pos - (click * sp)[:, None, None, None])) ** 2).sum(axis=0))
    hard_fg = dist <= max(p.click_radius_mm, 0.6 * float(csp.max()))
    if blo is not None and bhi is not None:
        inside = np.ones(img.shape, bool)
        for k in range(3):
            ok = (axes[k] >= blo[k] * sp[k] - 0.5 * csp[k]) & (axes[k] <= bhi[k] * sp[k] + 0.5 * csp[k])
            inside &= ok.reshape([-1 if j == k else 1 for j in range(3)])
    else:
        inside = np.zeros(img.shape, bool)  # the block's sides are background (not along a one-slice axis)
        inside[tuple(slice(1, -1) if n > 2 else slice(None) for n in img.shape)] = True
    hard_bg = ~inside & ~hard_fg
    size_out = None if box_lps is not None else (centre, amat)
    if not hard_fg.any():
        return FirstRegion(None, size_out, rays and est is not None, r0)
    # boundary weights
    diffs = [np.diff(img, axis=k) for k in range(3)]
    sq = [float(np.mean(x**2)) for x in diffs if x.size]  # a one-slice block has no steps along z
    beta = 1.0 / (2.0 * float(np.mean(sq)) + 1e-12) if sq else 0.0
    area = float(csp.min()) / csp  # a step along a coarse axis costs less, as its faces are further apart
    weights = []
    for k in range(3):
        w = np.zeros(img.shape)
        s2 = [slice(None)] * 3
        s2[k] = slice(0, -1)
        w[tuple(s2)] = w_pair * area[k] * np.exp(-beta * diffs[k] ** 2)
        weights.append(w)
    u_fg = p.w_shape * _neg_log(prior)
    u_bg = p.w_shape * _neg_log(1.0 - prior)
    if w_rc > 0:
        u_fg = u_fg + w_rc * _neg_log(p_rc)
        u_bg = u_bg + w_rc * _neg_log(1.0 - p_rc)
    lo_i, hi_i = np.percentile(img[inside], [1, 99]) if inside.any() else (img.min(), img.max())
    edges = np.linspace(float(lo_i), float(hi_i) + 1e-6, p.bins + 1)
    code = np.clip(np.digitize(img, edges) - 1, 0, p.bins - 1)
    fg = ((prior > 0.5) | hard_fg) & ~hard_bg
    big = 1e6
    # one graph: its pairwise edges do not change between rounds, and a round's new unary terms are added to the
    # residual graph as differences, so the next max-flow starts from the flow already pushed (the same minimum cut)
    graph = maxflow.Graph[float]()
    ids = graph.add_grid_nodes(img.shape)
    for k in range(3):
        st = np.zeros((3, 3, 3))
        at = [1, 1, 1]
        at[k] = 2
        st[tuple(at)] = 1
        graph.add_grid_edges(ids, weights=weights[k], structure=st, symmetric=True)
    last: tuple[np.ndarray, np.ndarray] | None = None
    for _ in range(max(p.iters, 1) if p.w_model > 0 else 1):
        uf, ub = u_fg, u_bg
        if p.w_model > 0:
            hf = np.bincount(code[fg].ravel(), minlength=p.bins).astype(float)
            hb = np.bincount(code[~fg & (inside | hard_bg)].ravel(), minlength=p.bins).astype(float)
            hf = ndimage.gaussian_filter1d(hf, 1.0) + 1e-3 * max(hf.sum(), 1.0) / p.bins
            hb = ndimage.gaussian_filter1d(hb, 1.0) + 1e-3 * max(hb.sum(), 1.0) / p.bins
            uf = uf - p.w_model * np.log(hf / hf.sum())[code]
            ub = ub - p.w_model * np.log(hb / hb.sum())[code]
        uf = np.where(hard_bg, big, np.nan_to_num(uf, nan=0.0, posinf=big))  # max-flow needs finite capacities
        ub = np.where(hard_fg, big, np.nan_to_num(ub, nan=0.0, posinf=big))
        if last is None:
            graph.add_grid_tedges(ids, ub, uf)  # source side = tumour: cutting its source edge costs u_bg
        else:
            graph.add_grid_tedges(ids, ub - last[0], uf - last[1])
        last = (ub, uf)
        graph.maxflow()
        fg = ~graph.get_grid_segments(ids)
    lab, _ = ndimage.label(fg)
    ci = tuple(np.clip(np.floor((click - lo) / f).astype(int), 0, np.array(img.shape) - 1))
    if lab[ci] == 0:
        return FirstRegion(None, size_out, rays and est is not None, r0)
    fg = ndimage.binary_fill_holes(lab == lab[ci])
    if np.any(f > 1):  # back to the image grid, smoothly
        up = np.repeat(np.repeat(np.repeat(fg.astype(np.float32), f[0], 0), f[1], 1), f[2], 2)
        up = ndimage.gaussian_filter(up[: sub.shape[0], : sub.shape[1], : sub.shape[2]], (f - 1) / 2.0) >= 0.5
    else:
        up = fg
    out = np.zeros(tuple(shape), bool)
    out[sl] = up
    if held:  # the competition leaked or reached its block's side: one of the graph cut's terms may have too
        logger.warning(
            "the first click's region may have leaked into surrounding tissue (%.1f ml; the region competition "
            "inside the graph cut reached the edge of its working region): check it, and add background clicks "
            "or a box to steer it",
            float(out.sum()) * float(np.prod(sp)) / 1000.0,
        )
    return FirstRegion(out, size_out, rays and est is not None, r0)
