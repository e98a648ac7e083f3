"""Geometry primitives of the image hints: cropped masks and vessel cross-section measurements.

Arrays are boolean masks in SimpleITK array order (z, y, x); spacings are given in the same order
(mm). Contact is measured on cross-sections along the image axis closest to the vessel's main
direction, with rays cast from each cross-section's centroid (see :func:`contact_fraction_2d`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage


@dataclass(frozen=True, slots=True)
class Crop:
    """A binary mask kept as its bounding box ``box`` (z, y, x slices) inside a grid of ``shape``."""

    box: tuple[slice, ...]
    mask: np.ndarray
    shape: tuple[int, ...]

    @classmethod
    def of(cls, full: np.ndarray) -> Crop | None:
        box = []
        for ax in range(3):
            nz = np.flatnonzero(full.any(axis=tuple(a for a in range(3) if a != ax)))
            if not len(nz):
                return None
            box.append(slice(int(nz[0]), int(nz[-1]) + 1))
        return cls(tuple(box), np.ascontiguousarray(full[tuple(box)]), full.shape)

    def grown(self, margin: tuple[int, int, int]) -> tuple[slice, ...]:
        return tuple(
            slice(max(0, b.start - m), min(n, b.stop + m))
            for b, m, n in zip(self.box, margin, self.shape, strict=True)
        )

    def window(self, box: tuple[slice, ...]) -> np.ndarray:
        """This mask on the sub-grid ``box`` (False outside the stored bounding box)."""
        out = np.zeros(tuple(b.stop - b.start for b in box), bool)
        lo = [max(b.start, c.start) for b, c in zip(box, self.box, strict=True)]
        hi = [min(b.stop, c.stop) for b, c in zip(box, self.box, strict=True)]
        if all(h > a for a, h in zip(lo, hi, strict=True)):
            dst = tuple(slice(a - b.start, h - b.start) for a, h, b in zip(lo, hi, box, strict=True))
            src = tuple(slice(a - c.start, h - c.start) for a, h, c in zip(lo, hi, self.box, strict=True))
            out[dst] = self.mask[src]
        return out

    def indices(self) -> np.ndarray:
        """Voxel indices (N x 3, z y x) on the full grid."""
        return np.argwhere(self.mask) + np.array([b.start for b in self.box])


def sub_ref(ref: sitk.Image, box: tuple[slice, ...]) -> sitk.Image:
    """A stand-in reference whose index (0, 0, 0) is the corner of ``box`` (for index -> LPS only)."""
    im = sitk.Image([1, 1, 1], sitk.sitkUInt8)
    im.SetSpacing(ref.GetSpacing())
    im.SetDirection(ref.GetDirection())
    im.SetOrigin(ref.TransformIndexToPhysicalPoint((box[2].start, box[1].start, box[0].start)))
    return im


def slicing_axis(mask: np.ndarray, sp_zyx: np.ndarray) -> int:
    """Array axis (0=z, 1=y, 2=x) closest to the structure's main direction; 0 (axial) if not elongated."""
    pts = np.argwhere(mask)
    if len(pts) > 20000:
        pts = pts[:: len(pts) // 20000 + 1]
    if len(pts) < 10:
        return 0
    cov = np.cov((pts * sp_zyx).T)
    w, v = np.linalg.eigh(cov)
    if w[-1] < 2.25 * max(w[-2], 1e-9):  # not clearly tube-like (long axis < 1.5x the next one)
        return 0
    return int(np.argmax(np.abs(v[:, -1])))


def contact_fraction_2d(
    vessel: np.ndarray,
    tumour: np.ndarray,
    sp: tuple[float, float],
    n_rays: int = 180,
    gap_mm: float | None = None,
) -> float:
    """Fraction of a cross-section's circumference touched by tumour (arc-length weighted rays)."""
    ii, jj = np.nonzero(vessel)
    sa, sb = sp
    ca, cb = ii.mean() * sa, jj.mean() * sb
    gap = 0.75 * max(sa, sb) if gap_mm is None else gap_mm
    rmax = float(np.max(np.hypot(ii * sa - ca, jj * sb - cb))) + 2 * max(sa, sb)
    step = 0.2 * min(sa, sb)
    radii = np.arange(0.0, rmax + gap + step, step)
    th = np.linspace(0, 2 * np.pi, n_rays, endpoint=False)
    ia = np.rint((ca + radii[None, :] * np.cos(th)[:, None]) / sa).astype(int)
    ib = np.rint((cb + radii[None, :] * np.sin(th)[:, None]) / sb).astype(int)
    ok = (ia >= 0) & (ia < vessel.shape[0]) & (ib >= 0) & (ib < vessel.shape[1])
    ia, ib = np.clip(ia, 0, vessel.shape[0] - 1), np.clip(ib, 0, vessel.shape[1] - 1)
    inv, tum = vessel[ia, ib] & ok, tumour[ia, ib] & ok
    cols = np.arange(len(radii))[None, :]
    first_in = np.argmax(inv, axis=1)[:, None]
    exit_ = np.argmax(~inv & (cols >= first_in), axis=1)
    r_exit = radii[exit_]
    window = (radii[None, :] >= r_exit[:, None]) & (radii[None, :] <= r_exit[:, None] + gap)
    hit = np.any(tum & window, axis=1).astype(float)
    pa, pb = (r_exit - step / 2) * np.cos(th), (r_exit - step / 2) * np.sin(th)
    seg = np.hypot(np.roll(pa, -1) - pa, np.roll(pb, -1) - pb)
    w = (hit + np.roll(hit, -1)) / 2
    return float(np.sum(seg * w) / max(np.sum(seg), 1e-9))


def _shape_2d(comp: np.ndarray, sp: tuple[float, float]) -> tuple[float, float]:
    """(area mm^2, minor/major axis ratio) of one cross-section."""
    pts = np.argwhere(comp) * np.array(sp)
    area = float(len(pts) * sp[0] * sp[1])
    if len(pts) < 3:
        return area, 1.0
    ev = np.linalg.eigvalsh(np.cov(pts.T) + np.eye(2) * (sp[0] * sp[1]) / 12.0)
    return area, float(np.sqrt(max(ev[0], 1e-12) / max(ev[1], 1e-12)))


def vessel_profile(vessel: np.ndarray, tumour: np.ndarray, sp_zyx: np.ndarray) -> dict[str, np.ndarray | int]:
    """Per cross-section along the vessel: contact fraction, area, aspect ratio, centroid (z, y, x index)."""
    axis = slicing_axis(vessel, sp_zyx)
    v, t = np.moveaxis(vessel, axis, 0), np.moveaxis(tumour, axis, 0)
    sp2 = tuple(float(s) for i, s in enumerate(sp_zyx) if i != axis)
    n = v.shape[0]
    frac, area, aspect = np.full(n, np.nan), np.zeros(n), np.full(n, np.nan)
    cen = np.full((n, 3), np.nan)
    for s in range(n):
        if not v[s].any():
            continue
        lab, k = ndimage.label(v[s])
        for c in range(1, k + 1):
            comp = lab == c
            if comp.sum() < 4:
                continue
            f = contact_fraction_2d(comp, t[s], sp2)  # type: ignore[arg-type]
            a, r = _shape_2d(comp, sp2)  # type: ignore[arg-type]
            if np.isnan(frac[s]) or f > frac[s]:
                frac[s], area[s], aspect[s] = f, a, r
                ij = np.argwhere(comp).mean(axis=0)
                cen[s] = np.insert(ij, axis, s)
    return {
        "axis": axis,
        "fraction": frac,
        "area": area,
        "aspect": aspect,
        "centroid": cen,
        "occluded": _occluded(v, t, cen, axis),
    }


def _occluded(v: np.ndarray, t: np.ndarray, cen: np.ndarray, axis: int) -> np.ndarray:
    """Cross-sections inside the vessel's extent with no lumen where tumour sits on the interpolated path."""
    has = np.nonzero(v.reshape(v.shape[0], -1).any(axis=1))[0]
    occ = np.zeros(v.shape[0], bool)
    if len(has) < 2:
        return occ
    plane = [i for i in range(3) if i != axis]
    for s in range(has[0] + 1, has[-1]):
        if v[s].any():
            continue
        lo, hi = has[has < s][-1], has[has > s][0]
        w = (s - lo) / (hi - lo)
        p = (1 - w) * cen[lo, plane] + w * cen[hi, plane]
        a, b = round(p[0]), round(p[1])
        if 0 <= a < t.shape[1] and 0 <= b < t.shape[2] and t[s, a, b]:
            occ[s] = True
    return occ
