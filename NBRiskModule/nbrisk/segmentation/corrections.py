"""Correction clicks and strokes of the interactive segmentation (issue 23): where and how a click changes the mask.

* :func:`zone` / :func:`stroke_zone`: where a correction may change the first region (order-free corrections,
  and painted strokes): a ball around the click of 2.5x its depth plus 3 mm.
* :func:`history` and :func:`apply_click`: corrections on the mask the reader saw. The state keeps the last mask;
  an added click corrects it, combining the geodesic result near the click with a pushed border (the mask's
  signed distance plus a Gaussian bump at the click), as :class:`~nbrisk.segmentation.params.InteractiveParams`
  ``correction`` says.

Arrays are (z, y, x) on the working block at the image's resolution; points are continuous block indices.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from nbrisk.segmentation.params import InteractiveParams
from nbrisk.segmentation.region_competition import box_slices, edt, erode, mask_extent

__all__ = ["apply_click", "crop", "dist2", "equivalent_radius", "history", "paste", "stroke_zone", "voxel", "zone"]


def paste(region: np.ndarray, origin: np.ndarray, block_start: np.ndarray, block_stop: np.ndarray) -> np.ndarray:
    """A cropped region (its first voxel at image index ``origin``) on the block from ``block_start`` to
    ``block_stop`` (exclusive): the part inside the block, zeros elsewhere."""
    out = np.zeros(tuple(int(v) for v in block_stop - block_start), bool)
    a, b = np.maximum(origin, block_start), np.minimum(origin + np.array(region.shape), block_stop)
    if np.all(b > a):
        out[tuple(slice(int(x - s0), int(y - s0)) for x, y, s0 in zip(a, b, block_start, strict=True))] = region[
            tuple(slice(int(x - q), int(y - q)) for x, y, q in zip(a, b, origin, strict=True))
        ]
    return out


def crop(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The inverse of :func:`paste`: a mask as (its bounding box's content, the box's start), None when empty."""
    ext = mask_extent(mask)
    if ext is None:
        return None
    return mask[tuple(slice(a, b) for a, b in zip(*ext, strict=True))].copy(), np.array(ext[0])


def voxel(c: np.ndarray, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The block voxel holding a continuous (z, y, x) point, clipped to the block."""
    return tuple(int(v) for v in np.clip(np.floor(np.asarray(c) + 0.5).astype(int), 0, np.array(shape) - 1))


def equivalent_radius(mask: np.ndarray, spacing: np.ndarray) -> float:
    """The radius (mm) of the sphere with the mask's volume."""
    return float(np.cbrt(3.0 * float(mask.sum()) * float(np.prod(spacing)) / (4.0 * np.pi)))


def _zone_radius(d: float, p: InteractiveParams, factor: float | None = None) -> float:
    """A correction's reach for a click ``d`` mm from the border: ``factor`` (zone_factor unless given) x d +
    zone_add_mm, within zone_min_mm and edit_radius_mm."""
    k = p.zone_factor if factor is None else factor
    return min(max(k * d + p.zone_add_mm, p.zone_min_mm), p.edit_radius_mm)


def dist2(shape: tuple[int, ...], spacing: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Squared distance (mm^2) to the nearest of ``pts`` (block voxel coordinates)."""
    best = np.full(shape, np.inf)
    if len(pts) == 0:
        return best
    axes = [np.arange(n) * s for n, s in zip(shape, spacing, strict=True)]
    for c in pts:
        cz, cy, cx = np.asarray(c, float) * spacing
        d2 = (
            ((axes[0] - cz) ** 2)[:, None, None]
            + ((axes[1] - cy) ** 2)[None, :, None]
            + ((axes[2] - cx) ** 2)[None, None, :]
        )
        np.minimum(best, d2, out=best)
    return best


def zone(
    shape: tuple[int, ...],
    spacing: np.ndarray,
    pts: np.ndarray,
    first: np.ndarray,
    inside: bool,
    p: InteractiveParams,
) -> np.ndarray:
    """Where correction clicks may change the first region: a ball around each click whose radius is 2.5 times
    the click's distance to the first region (tumour clicks) or to its outside (background clicks) plus 3 mm,
    within 5 mm and ``edit_radius_mm``: a click deep in a missed part may change more than one on the rim."""
    zone = np.zeros(shape, bool)
    if len(pts) == 0:
        return zone
    target = ~first if inside else first
    depth = edt(~target, spacing) if target.any() else None
    for c in pts:
        d = float(depth[voxel(c, shape)]) if depth is not None else p.edit_radius_mm
        rho = _zone_radius(d, p)
        zone |= dist2(shape, spacing, np.asarray(c)[None]) <= rho * rho
    return zone


def history(last: tuple | None, block_start: np.ndarray, block_stop: np.ndarray, key: tuple | None, tp: np.ndarray,
            bp: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, bool]]]:
    """The mask the new clicks correct and the clicks still to apply, in order.

    ``last`` is the state's (prior key, tumour clicks, background clicks, mask, its start); ``first`` the first
    region on the block (``block_start`` to ``block_stop``). When the last mask came from a prefix of these
    clicks (the reader added clicks), that mask and the added clicks; otherwise (a fresh call, a moved or deleted
    click) the first region and every correction click, tumour clicks first."""
    if last is not None and last[0] == key and len(last[1]) <= len(tp) and len(last[2]) <= len(bp) \
            and np.array_equal(last[1], tp[: len(last[1])]) and np.array_equal(last[2], bp[: len(last[2])]) \
            and len(last[1]) >= 1:
        base = paste(last[3], last[4], block_start, block_stop)
        todo = [(c, True) for c in tp[len(last[1]):]] + [(c, False) for c in bp[len(last[2]):]]
        return base, todo
    return first, [(c, True) for c in tp[1:]] + [(c, False) for c in bp]


def apply_click(mask: np.ndarray, geo: np.ndarray, c: np.ndarray, is_t: bool, spacing: np.ndarray,
                 p: InteractiveParams, t_all: np.ndarray, b_all: np.ndarray, boxed: bool = False,
                 ok: np.ndarray | None = None) -> np.ndarray:
    """One correction click on the mask the reader saw: a tumour click adds near it, a background click removes
    near it, what the geodesic competition (``geo``) and/or the pushed border say (``p.correction``).

    A background push that would remove more than ``p.deform_max_share`` of the mask is replaced by the geodesic
    result or, where ``p.deform_over`` says so (``boxed``: the reader drew a box), lowered until it removes at most
    that share. ``ok`` (tumour clicks, ``"and"``): where the per-case model does not refuse tumour; the push adds where
    the geodesic result agrees or ``ok`` holds."""
    if not mask.any():
        return mask
    phi = edt(mask, spacing) - edt(~mask, spacing)  # signed distance (mm), positive inside
    sign = -1.0 if is_t else 1.0
    d = max(sign * float(phi[voxel(c, mask.shape)]), 0.0)  # 0: the click is already on its side
    rho = _zone_radius(d, p)
    d2 = dist2(mask.shape, spacing, np.asarray(c, float)[None])
    zone = d2 <= rho * rho
    by_geo = (geo & zone) if is_t else (~geo & zone)
    how = p.correction.split("/")[0 if is_t else -1]
    if how == "geodesic" or d == 0.0:
        change = by_geo
    else:
        sig = p.deform_sigma_k * d + p.deform_sigma_add_mm
        amp = p.deform_amp * d
        if not is_t:  # a removal stays within the mask's own size (a small lesion's rim is not 10 mm deep)
            r_eq = equivalent_radius(mask, spacing)
            sig, amp = min(sig, p.deform_size_k * r_eq), min(amp, 2.0 * p.deform_size_k * r_eq)
        other = b_all if is_t else t_all
        for o in other.reshape(-1, 3):  # keep the other kind's clicks on their side
            g_o = float(np.exp(-0.5 * float(np.sum(((o - c) * spacing) ** 2)) / sig**2))
            room = sign * float(phi[voxel(o, mask.shape)])
            if g_o > 1e-6:
                amp = min(amp, max(room - p.click_radius_mm, 0.0) / g_o)
        bump = np.exp(-0.5 * d2 / sig**2)
        pushed = (phi - sign * amp * bump) > 0
        by_def = (pushed & ~mask) if is_t else (mask & ~pushed)
        limit = p.deform_max_share * int(mask.sum())
        if not is_t and int(by_def.sum()) > limit:  # a click moves a rim, not the lesion
            by_def = by_geo  # the geodesic result alone decides then ...
            if p.deform_over == "scale" or (p.deform_over == "scale_without_box" and not boxed):
                for f in (0.7, 0.5):  # ... or a lower push that removes at most that share
                    lower = mask & ~((phi - sign * f * amp * bump) > 0)
                    if int(lower.sum()) <= limit:
                        by_def = lower
                        break
        if is_t and how == "and" and ok is not None:
            change = by_def & (by_geo | ok)
        else:
            change = {"deform": by_def, "and": by_geo & by_def, "or": by_geo | by_def}[how]
    return (mask | change) if is_t else (mask & ~change)


def erode_whole(mask: np.ndarray, shown: np.ndarray, c: np.ndarray, first_click: np.ndarray, spacing: np.ndarray,
                k: float) -> np.ndarray:
    """``mask`` eroded as a whole by ``k`` x the depth (mm) of the background click ``c`` in ``shown`` (the mask the
    reader clicked in), reduced to its part holding ``first_click``; ``mask`` itself when that part would be empty
    or the click was not inside ``shown``."""
    at_click = voxel(c, shown.shape)
    if k <= 0 or not shown.any() or not mask.any() or not shown[at_click]:
        return mask
    sub = box_slices(shown, 0.0, spacing)  # distances inside a mask need only its box and one voxel around it (exact)
    d = float(edt(shown[sub], spacing)[tuple(v - s.start for v, s in zip(at_click, sub, strict=True))])
    lab, _ = ndimage.label(erode(mask, k * d, spacing))
    at = lab[voxel(first_click, mask.shape)]
    return lab == at if at > 0 else mask


def stroke_zone(shape: tuple[int, ...], spacing: np.ndarray, vox: np.ndarray, first: np.ndarray, inside: bool,
                 p: InteractiveParams) -> np.ndarray:
    """:func:`zone` for painted voxels: one distance map around the whole stroke set, its radius
    ``stroke_zone_factor`` x the depth of the stroke voxel farthest from the first region's border + ``zone_add_mm``
    (within ``zone_min_mm`` and ``edit_radius_mm``)."""
    vox = vox[np.all((vox >= 0) & (vox < np.array(shape)), axis=1)].astype(int)
    if len(vox) == 0:
        return np.zeros(shape, bool)
    stroke = np.zeros(shape, bool)
    stroke[tuple(vox.T)] = True
    target = ~first if inside else first
    d = float(ndimage.distance_transform_edt(~target, sampling=spacing)[stroke].max()) if target.any() \
        else p.edit_radius_mm
    rho = _zone_radius(d, p, p.stroke_zone_factor)
    return ndimage.distance_transform_edt(~stroke, sampling=spacing) <= rho
