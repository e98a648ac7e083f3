"""Region competition on a voxel block: the engine behind :func:`nbrisk.segmentation.grow.grow_from_seeds`.

Works on numpy arrays in (z, y, x) order with the voxel spacing in mm; see the algorithm description
in :mod:`nbrisk.segmentation.grow` and ``docs/segmentation.md``. Nothing here reads files or knows about
LPS coordinates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from nbrisk.errors import InputError
from nbrisk.segmentation.params import GrowParams

logger = logging.getLogger(__name__)
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="nbrisk-leak-guard")

CT_TUMOUR_RANGE_HU = (-150.0, 300.0)  # a seed whose neighbourhood median lies outside is air, fat-air or bone


def signal_void_level(arr: np.ndarray) -> float:
    """An MRI's signal-void level: 5 % of the way from its floor to its 99.5th percentile. The floor is 0, or the
    0.5th percentile where the image holds negative values: an MRI normalised to z-scores (as BraTS' and many
    pipelines' preprocessing leaves it) has half its tissue below 0, and 5 % of the maximum would call the darker
    half of the brain (a glioma's necrotic core with it) a void."""
    lo, hi = (float(v) for v in np.percentile(arr, [0.5, 99.5]))
    floor = min(lo, 0.0)
    return floor + 0.05 * (hi - floor)


def _fmt(p: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.1f}" for v in p) + ")"


# ------------------------------------------------------------------------------------------ features
def _gauss(arr: np.ndarray, sigma_mm: float, spacing: np.ndarray) -> np.ndarray:
    """Gaussian smoothing with a physical sigma (per-axis sigma in voxels = mm / spacing)."""
    return ndimage.gaussian_filter(arr, sigma_mm / spacing, truncate=3.0)


def _features(arr: np.ndarray, spacing: np.ndarray, p: GrowParams) -> tuple[np.ndarray, np.ndarray]:
    """Return smoothed intensity and log local standard deviation (same shape as ``arr``)."""
    smooth = _gauss(arr, p.smoothing_mm, spacing)
    m = _gauss(arr, p.texture_mm, spacing)
    m2 = _gauss(arr * arr, p.texture_mm, spacing)  # float64: the difference below is a small number
    texture = np.log1p(np.sqrt(np.maximum(m2 - m * m, 0.0)))
    return smooth, texture


def _distance_from_points(shape: tuple[int, ...], spacing: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance (mm) from each voxel to the nearest of ``points`` (z, y, x continuous indices)."""
    axes = [(np.arange(n, dtype=float)) * s for n, s in zip(shape, spacing, strict=True)]
    best = np.full(shape, np.inf)
    for pt in points:
        c = np.asarray(pt, dtype=float) * spacing
        d2 = sum(((ax - ci) ** 2).reshape([-1 if i == k else 1 for i in range(3)])
                 for k, (ax, ci) in enumerate(zip(axes, c, strict=True)))
        best = np.minimum(best, np.sqrt(d2))
    return best


def _check_seed_intensity(smooth: np.ndarray, spheres: list[np.ndarray], seeds_lps: np.ndarray, mod: str,
                          arr: np.ndarray) -> None:
    """Refuse seeds whose neighbourhood is air or bone (CT) or a signal void (MRI)."""
    lo_ct, hi_ct = CT_TUMOUR_RANGE_HU
    void = signal_void_level(arr)
    for sphere, pt in zip(spheres, seeds_lps, strict=True):
        med = float(np.median(smooth[sphere]))
        where = f"tumour seed at {_fmt(pt)} mm LPS"
        if mod == "ct" and med < lo_ct:
            raise InputError(f"{where} lies in air/lung ({med:.0f} HU, tumour tissue is {lo_ct:.0f} to "
                             f"{hi_ct:.0f} HU); move it inside the tumour")
        if mod == "ct" and med > hi_ct:
            raise InputError(f"{where} lies in bone/contrast ({med:.0f} HU, tumour tissue is {lo_ct:.0f} to "
                             f"{hi_ct:.0f} HU); move it into soft tumour tissue")
        if mod == "mr" and med < void:
            raise InputError(f"{where} lies in a signal void ({med:.4g}, under {void:.4g}: 5% of the image's "
                             "range above its floor); move it inside the tumour")


# ------------------------------------------------------------------------------------------ the model
class _Histograms:
    """2-D feature histograms (intensity x texture) with bins adapted to the tumour seeds."""

    def __init__(self, smooth: np.ndarray, texture: np.ndarray, seed_mask: np.ndarray, bins: int) -> None:
        lo, hi = np.percentile(smooth[seed_mask], [5, 95])
        width = max(float(hi - lo), 1e-3 * max(abs(float(lo)), 1.0))
        s_edges = np.linspace(lo - 1.5 * width, hi + 1.5 * width, bins + 1)
        t_lo, t_hi = np.percentile(texture, [0.5, 99.5])
        t_edges = np.linspace(float(t_lo), float(t_hi), bins + 1)
        self.bins = bins
        # the outlier rule (see log_ratio) holds only for intensities near the seeds' range (p5-p95 +- w),
        # so a blurred edge towards another tissue is not taken as unexplained tumour
        centres = 0.5 * (s_edges[1:] + s_edges[:-1])
        near = (centres >= lo - 1.0 * width) & (centres <= hi + 1.0 * width)
        self.floor = np.repeat(np.where(near, 0.02 / bins**2, 0.0), bins)
        self.flat = (np.clip(np.digitize(smooth, s_edges) - 1, 0, bins - 1) * bins
                     + np.clip(np.digitize(texture, t_edges) - 1, 0, bins - 1))
        self.window = (float(s_edges[0]), float(s_edges[-1]))  # intensities not clipped into the end bins

    def density(self, mask: np.ndarray, sigma_bins: float = 1.0) -> np.ndarray:
        h = np.bincount(self.flat[mask], minlength=self.bins * self.bins).reshape(self.bins, self.bins)
        h = ndimage.gaussian_filter(h.astype(float), sigma_bins)
        return (h / max(h.sum(), 1e-12)).ravel()

    def log_ratio(self, h_tumour: np.ndarray, h_background: np.ndarray) -> np.ndarray:
        # a voxel the background model explains poorly (density under the floor) counts as tumour
        ratio = np.log(h_tumour + self.floor + 1e-12) - np.log(h_background + 1e-12)
        return ratio[self.flat]


def edt(mask: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Distance (mm) of each True voxel to the nearest False one, as scipy's ``distance_transform_edt``: computed with
    ITK's signed Maurer distance map (exact, multi-threaded; 3.5x faster than scipy on one thread, 8x on two, for a
    large tumour's block), squared distances in float32 under the square root. A mask without a False voxel, or
    without a True one, keeps scipy's own answer (ITK's map has no border to measure from there)."""
    if mask.all() or not mask.any():
        return ndimage.distance_transform_edt(mask, sampling=spacing)
    img = sitk.GetImageFromArray((~mask).view(np.uint8))
    img.SetSpacing(tuple(float(s) for s in spacing[::-1]))
    d2 = sitk.SignedMaurerDistanceMap(img, insideIsPositive=False, squaredDistance=True, useImageSpacing=True,
                                      backgroundValue=0.0)
    return np.sqrt(np.maximum(sitk.GetArrayViewFromImage(d2), 0.0))  # (d2 holds the memory the view reads)


def _dilate(mask: np.ndarray, r: float, spacing: np.ndarray) -> np.ndarray:
    return mask.copy() if r <= 0 else _dilations(mask, (r,), spacing)[0]


def _dilations(mask: np.ndarray, radii: tuple[float, ...], spacing: np.ndarray) -> list[np.ndarray]:
    """The mask dilated by each of ``radii`` (positive, mm), from one distance transform."""
    if not mask.any():
        return [mask.copy() for _ in radii]
    # exact on the mask's box grown by the largest radius (and a voxel): every voxel farther out is farther than it
    sub = box_slices(mask, max(radii), spacing)
    d = edt(~mask[sub], spacing)
    outs = []
    for r in radii:
        out = np.zeros_like(mask)
        out[sub] = d <= r
        outs.append(out)
    return outs


def erode(mask: np.ndarray, r: float, spacing: np.ndarray) -> np.ndarray:
    """``mask`` less every voxel within ``r`` mm of its outside (an exact Euclidean erosion)."""
    if r <= 0:
        return mask.copy()
    if not mask.any():
        return np.zeros_like(mask)
    # exact on the mask's box grown by a voxel: a background voxel beyond it has a nearer one on that border (or the
    # array's edge stops both)
    sub = box_slices(mask, 0.0, spacing)
    out = np.zeros_like(mask)
    out[sub] = edt(mask[sub], spacing) > r
    return out


def mask_extent(mask: np.ndarray) -> tuple[list[int], list[int]] | None:
    """The bounding box of a mask as per-axis (first, one past the last) indices from its projections (no index
    lists); None when the mask is empty."""
    lo, hi = [], []
    for axis in range(mask.ndim):
        on = np.flatnonzero(mask.any(axis=tuple(k for k in range(mask.ndim) if k != axis)))
        if not len(on):
            return None
        lo.append(int(on[0]))
        hi.append(int(on[-1]) + 1)
    return lo, hi


def box_slices(mask: np.ndarray, pad_mm: float, spacing: np.ndarray) -> tuple[slice, ...]:
    """Slices of the bounding box of a non-empty ``mask`` grown by ``pad_mm`` (clipped to the array)."""
    pad = np.ceil(pad_mm / spacing).astype(int) + 1
    ext = mask_extent(mask)
    assert ext is not None
    return tuple(slice(max(a - int(d), 0), b + int(d)) for a, b, d in zip(*ext, pad, strict=True))


def _fill(mask: np.ndarray) -> np.ndarray:
    if mask.shape[0] == 1:
        return ndimage.binary_fill_holes(mask[0])[None]
    out = ndimage.binary_fill_holes(mask)
    # also close holes open across slices (necrosis touching a slice edge): each slice's own holes, in one call (a
    # structure with in-plane neighbours only never joins slices)
    return ndimage.binary_fill_holes(out, structure=_IN_PLANE)


_IN_PLANE = np.zeros((3, 3, 3), bool)
_IN_PLANE[1] = ndimage.generate_binary_structure(2, 1)


def _components_at(mask: np.ndarray, seed_vox: np.ndarray, seed_mask: np.ndarray) -> np.ndarray:
    """Connected components of ``mask`` holding a seed voxel (else those touching the seed spheres)."""
    lab, n = ndimage.label(mask)
    if n == 0:
        return np.zeros_like(mask)
    ids = {int(lab[tuple(v)]) for v in seed_vox} - {0}
    if not ids:
        ids = set(np.unique(lab[seed_mask]).tolist()) - {0}
    return np.isin(lab, list(ids)) if ids else np.zeros_like(mask)


def _arrival(speed: sitk.Image, points: np.ndarray) -> np.ndarray:
    fm = sitk.FastMarchingImageFilter()
    fm.SetTrialPoints([tuple(int(v) for v in pt[::-1]) for pt in points])  # (z,y,x) -> (x,y,z)
    fm.SetStoppingValue(1e12)
    return sitk.GetArrayFromImage(fm.Execute(speed))


def _split_geodesic(region: np.ndarray, smooth: np.ndarray, spacing: np.ndarray, seed_vox: np.ndarray,
                    bg_vox: np.ndarray) -> np.ndarray:
    """Competitive growing: give each voxel to the seed (tumour or background) whose front comes first.

    Arrival times come from fast marching inside the region with a speed that drops on image edges, so
    the border between a tumour seed and a background seed settles on an edge or a narrow neck.
    """
    inside = [v for v in bg_vox if region[tuple(v)]]
    if not inside or not any(region[tuple(v)] for v in seed_vox):
        return region
    axes = [k for k in range(3) if smooth.shape[k] > 1]
    grads = np.gradient(smooth, *[spacing[k] for k in axes], axis=axes)
    grads = grads if isinstance(grads, list | tuple) else [grads]
    grad = np.sqrt(sum(g * g for g in grads))
    ref = float(np.median(grad[region])) + 1e-6
    speed = np.where(region, 1.0 / (1.0 + (grad / (3.0 * ref)) ** 2), 1e-6).astype(np.float32)
    img = sitk.GetImageFromArray(speed)
    img.SetSpacing(tuple(float(v) for v in spacing[::-1]))
    t_tumour = _arrival(img, np.array([v for v in seed_vox if region[tuple(v)]]))
    t_background = _arrival(img, np.array(inside))
    return region & (t_tumour <= t_background)


def _one_pass(hist: _Histograms, h_t: np.ndarray, h_b: np.ndarray, allowed: np.ndarray, seed_vox: np.ndarray,
              seed_mask: np.ndarray, spacing: np.ndarray, p: GrowParams,
              bg_split: Callable | None) -> np.ndarray:
    lr = hist.log_ratio(h_t, h_b).reshape(allowed.shape)
    lr = _gauss(lr, p.decision_smoothing_mm, spacing)
    cand = (lr > 0) & allowed
    seeded = _components_at(cand, seed_vox, seed_mask)
    region = np.zeros_like(cand)
    if not seeded.any():
        return region
    # morphology only in the seeded component's bounding box plus what the operations can reach
    pad = np.ceil((p.opening_mm + p.reconstruct_mm + 1.0) / spacing).astype(int)
    nz = np.nonzero(seeded)
    sub = tuple(slice(max(int(i.min()) - d, 0), int(i.max()) + d + 1) for i, d in zip(nz, pad, strict=True))
    c, sd, sv = cand[sub], seeded[sub], seed_vox - np.array([s.start for s in sub])
    r = _components_at(_dilate(erode(sd, p.opening_mm, spacing), p.opening_mm, spacing), sv, seed_mask[sub])
    if not r.any():  # ROI thinner than the opening ball: keep it unopened
        r = sd
    if bg_split is not None:
        r = bg_split(r, sub)
    r |= _dilate(r, p.reconstruct_mm, spacing) & c
    r = erode(_dilate(r, p.opening_mm, spacing), p.opening_mm, spacing) & allowed[sub]
    if bg_split is not None:
        r = bg_split(r, sub)
    region[sub] = _fill(r)
    return region


def segment_array(arr: np.ndarray, spacing: np.ndarray, seeds: np.ndarray, bgs: np.ndarray,
                   box: tuple[np.ndarray, np.ndarray] | None, mod: str, p: GrowParams,
                   report: Callable[[float, str], None], seeds_lps: np.ndarray) -> np.ndarray:
    """Segment a working block; ``seeds``/``bgs`` are continuous (z, y, x) indices in the block.

    Leak guard (no box): a region that reaches the side of the working block has spread as far as it may
    look. When it does, the block is segmented again with the background learned only from far-field
    tissue inside the tumour's intensity window (:attr:`GrowParams.far_in_window`). Air and fat no longer
    dilute that model, so soft tissue of tumour-like intensity weighs as background. That result is taken
    when it stays off the block's sides and is at most a third of the first one's volume; otherwise the
    first result is kept. Either way a warning says what happened and how to steer the result.
    """
    narrow_p = replace(p, far_in_window=True)
    second = None
    if box is None and p.leak_guard and not p.far_in_window and arr.shape[0] > 1:
        # the guard's second try starts at once on the other core (the distance transforms and filters release the
        # GIL); its result is used only if the first one reaches the block's side, as if it had run after it
        second = _POOL.submit(_segment, arr, spacing, seeds, bgs, box, mod, narrow_p, lambda *_: None, seeds_lps)
    region = _segment(arr, spacing, seeds, bgs, box, mod, p, report, seeds_lps)
    if box is not None or not _touches_sides(region):
        return region
    if p.leak_guard and not p.far_in_window:
        narrow = (second.result() if second is not None
                  else _segment(arr, spacing, seeds, bgs, box, mod, narrow_p, report, seeds_lps))
        n, n_narrow = int(region.sum()), int(narrow.sum())
        if not _touches_sides(narrow) and 3 * n_narrow <= n:
            logger.warning("the ROI leaked into surrounding tissue (%d voxels, up to the edge of the working "
                           "region); kept the stricter result (%d voxels): check it, and add seeds or a box to "
                           "steer it", n, n_narrow)
            return narrow
    logger.warning("the ROI reaches the edge of the %.0f mm working region around the seeds; check it for a leak, "
                   "and add background points or a box if it leaked", p.max_extent_mm)
    return region


def _touches_sides(region: np.ndarray) -> bool:
    """Whether the region reaches a side of the block (in 2-D, a side of the slice)."""
    for axis in range(region.ndim):
        if region.shape[axis] == 1:
            continue
        if region.take(0, axis=axis).any() or region.take(-1, axis=axis).any():
            return True
    return False


def _segment(arr: np.ndarray, spacing: np.ndarray, seeds: np.ndarray, bgs: np.ndarray,
             box: tuple[np.ndarray, np.ndarray] | None, mod: str, p: GrowParams,
             report: Callable[[float, str], None], seeds_lps: np.ndarray) -> np.ndarray:
    two_d = arr.shape[0] == 1
    if two_d:
        on_slice = np.abs(bgs[:, 0]) < 0.5
        if (~on_slice).any():
            logger.warning("2-D mode: ignoring %d background seed(s) off the segmented slice",
                           int((~on_slice).sum()))
        bgs, seeds = bgs[on_slice], seeds.copy()
        bgs[:, 0], seeds[:, 0] = 0.0, 0.0
    smooth, texture = _features(arr, spacing, p)
    spheres = [_distance_from_points(arr.shape, spacing, s[None]) <= p.seed_radius_mm for s in seeds]
    _check_seed_intensity(smooth, spheres, seeds_lps, mod, arr)
    seed_mask = np.logical_or.reduce(spheres)
    seed_vox = np.clip(np.floor(seeds + 0.5).astype(int), 0, np.array(arr.shape) - 1)
    allowed = np.ones(arr.shape, bool)
    if box is not None:
        lo = np.clip(np.floor(np.minimum(*box) + 0.5).astype(int), 0, None)
        hi = np.floor(np.maximum(*box) + 0.5).astype(int) + 1
        allowed[:] = False
        allowed[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = True
    far = (_distance_from_points(arr.shape, spacing, seeds) >= p.far_mm) & ~seed_mask
    far |= ~allowed
    if far.sum() < 50:  # tiny image: the outer half of the block is background
        d = _distance_from_points(arr.shape, spacing, seeds)
        far = d >= 0.5 * d.max()
    hist = _Histograms(smooth, texture, seed_mask, p.bins)
    bg_spheres = (_distance_from_points(arr.shape, spacing, bgs) <= p.seed_radius_mm) if len(bgs) else None
    if p.far_in_window:  # the leak guard's second try: only far-field tissue of tumour-like intensity
        far_in = far & (smooth >= hist.window[0]) & (smooth < hist.window[1])
        far = far_in if far_in.sum() >= 50 else far
    h_far = hist.density(far)
    h_b = h_far if bg_spheres is None else 0.5 * h_far + 0.5 * hist.density(bg_spheres)
    h_t = hist.density(seed_mask, p.tumour_kernel_bins)
    split = None
    if bg_spheres is not None:
        allowed &= ~bg_spheres
        bg_vox = np.clip(np.floor(bgs + 0.5).astype(int), 0, np.array(arr.shape) - 1)

        def split(r: np.ndarray, sub: tuple) -> np.ndarray:
            off = np.array([sl.start for sl in sub])
            keep = lambda v: v[np.all((v >= off) & (v < off + np.array(r.shape)), axis=1)] - off  # noqa: E731
            return _split_geodesic(r, smooth[sub], spacing, keep(seed_vox), keep(bg_vox))
    region = np.zeros(arr.shape, bool)
    for k in range(max(p.passes, 1)):
        report(0.2 + 0.6 * k / max(p.passes, 1), f"pass {k + 1}")
        if k:
            if not region.any():
                break
            sub = box_slices(region, p.shell_mm[1], spacing)
            core = np.zeros_like(region)
            core[sub] = erode(region[sub], p.core_erosion_mm, spacing)
            if core.sum() <= seed_mask.sum():
                break
            h_t = hist.density(core, p.tumour_kernel_bins)
            shell = np.zeros_like(region)
            outer, inner = _dilations(region[sub], (p.shell_mm[1], p.shell_mm[0]), spacing)
            shell[sub] = outer & ~inner
            parts = [h_far, hist.density(shell)] + ([] if bg_spheres is None else [hist.density(bg_spheres)])
            h_b = np.sum(parts, axis=0) / len(parts)
        region = _one_pass(hist, h_t, h_b, allowed, seed_vox, seed_mask, spacing, p, split)
    report(0.9, "clean-up")
    if p.snap_mm > 0 and region.any():
        sub = box_slices(region, 2.0 * p.snap_mm, spacing)  # the shell ends 2 snap_mm out; beyond adds zeros
        region[sub] = _snap_edges(region[sub], smooth[sub], spacing, p) & allowed[sub]
    return _finish(region, seed_vox, seed_mask, spacing, p, seeds_lps)


def _snap_edges(region: np.ndarray, smooth: np.ndarray, spacing: np.ndarray, p: GrowParams) -> np.ndarray:
    """Where the tumour borders much brighter/darker tissue (lung, fat), extend it to the mid-level.

    Texture is high on a strong edge, so the competition stops a little inside such borders; here each
    voxel within ``snap_mm`` outside the region joins it when its intensity is nearer the tumour's median
    than the local background level (a normalised Gaussian average of the shell beyond the band), and
    only where the two levels differ by more than three tumour standard deviations.
    """
    band, outer = _dilations(region, (p.snap_mm, 2 * p.snap_mm), spacing)
    band &= ~region
    shell = outer & ~band & ~region
    vals = smooth[region]
    mu = float(np.median(vals))
    sd = 1.4826 * float(np.median(np.abs(vals - mu))) + 1e-6
    weight = _gauss(shell.astype(float), p.snap_mm, spacing)
    level = _gauss(np.where(shell, smooth, 0.0), p.snap_mm, spacing) / np.maximum(weight, 1e-6)
    spread = np.sqrt(np.maximum(_gauss(np.where(shell, smooth**2, 0.0), p.snap_mm, spacing)
                                / np.maximum(weight, 1e-6) - level**2, 0.0))
    # a real two-tissue edge: clear contrast, and a locally homogeneous background (not fat next to air)
    contrast = (weight > 1e-3) & (np.abs(level - mu) > np.maximum(3.0 * sd, 2.0 * spread))
    partial = (np.abs(smooth - mu) > 2.0 * sd) & ((smooth - mu) * (level - mu) > 0)  # between the two levels
    add = band & contrast & partial & (np.abs(smooth - mu) < np.abs(smooth - level))
    if not add.any():
        return region
    grown = region | add
    lab, _ = ndimage.label(grown)
    keep = set(np.unique(lab[region]).tolist()) - {0}
    return _fill(np.isin(lab, list(keep)))


def _finish(region: np.ndarray, seed_vox: np.ndarray, seed_mask: np.ndarray, spacing: np.ndarray,
            p: GrowParams, seeds_lps: np.ndarray) -> np.ndarray:
    """Smooth the mask, keep the largest seeded component, fill holes; InputError if nothing is left."""
    if p.mask_smoothing_mm > 0 and region.any():
        region = _gauss(region.astype(np.float32), p.mask_smoothing_mm, spacing) > 0.5
    lab, _ = ndimage.label(region)
    ids = [i for i in {int(lab[tuple(v)]) for v in seed_vox} if i] or (
        sorted(set(np.unique(lab[seed_mask]).tolist()) - {0}))
    if not ids:
        raise InputError(f"nothing grew from the tumour seed(s) at {_fmt(seeds_lps[0])} mm LPS: the seed "
                         "neighbourhood looks like its surroundings; add seeds inside the tumour or a box")
    sizes = ndimage.sum_labels(np.ones_like(region), lab, ids)
    region = lab == ids[int(np.argmax(sizes))]
    sub = box_slices(region, 1.0, spacing)
    region[sub] = _fill(region[sub])
    return region.astype(np.uint8)
