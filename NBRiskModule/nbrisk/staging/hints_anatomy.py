"""Anatomy hints beside the vessels: midline crossing, spinal-canal occupancy, organ contact/intrusion.

Used by :mod:`nbrisk.staging.hints`; arrays are boolean masks in SimpleITK array order (z, y, x) on the grid
of ``ref``; points are LPS millimetres, slices are axial indices k.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from nbrisk.errors import InputError
from nbrisk.staging.evidence import Evidence, Hint

CANAL_IDRF = 1.0 / 3.0  # > 1/3 of the canal's axial area (Monclair 2009)
ORGAN_PRESENT_DEPTH_MM = 5.0


def evidence_at(ref: sitk.Image, idx_zyx: np.ndarray | tuple[float, ...]) -> Evidence:
    """Evidence at a continuous (z, y, x) array index: its axial slice and LPS point (mm)."""
    z, y, x = (float(v) for v in idx_zyx)
    pt = ref.TransformContinuousIndexToPhysicalPoint((x, y, z))
    return Evidence(round(z), (round(pt[0], 2), round(pt[1], 2), round(pt[2], 2)))


def midline_hint(
    vertebra_idx: np.ndarray, tumour_idx: np.ndarray, ref: sitk.Image, name: str = "vertebra"
) -> Hint:
    """How far the tumour extends across the vertebral-body centre line (per axial slice, LPS x).

    ``vertebra_idx`` / ``tumour_idx``: voxel indices (N x 3, z y x) of the two masks on ``ref``'s grid.
    """
    if not len(vertebra_idx):
        raise InputError("vertebra segment is empty; cannot locate the midline")
    row = np.array(ref.GetDirection()).reshape(3, 3)[0] * np.array(ref.GetSpacing())
    xv = ref.GetOrigin()[0] + vertebra_idx[:, ::-1] @ row  # physical x (LPS: + = patient left)
    xt = ref.GetOrigin()[0] + tumour_idx[:, ::-1] @ row
    nz = int(max(vertebra_idx[:, 0].max(), tumour_idx[:, 0].max())) + 1
    cnt = np.bincount(vertebra_idx[:, 0], minlength=nz)
    has = cnt > 0
    mid = np.bincount(vertebra_idx[:, 0], weights=xv, minlength=nz) / np.maximum(cnt, 1)
    half = np.zeros(nz)
    np.maximum.at(half, vertebra_idx[:, 0], np.abs(xv - mid[vertebra_idx[:, 0]]))
    mean_mid = float(mid[has].mean())
    mid[~has], half[~has] = mean_mid, float(half[has].mean())
    side = 1.0 if float(xt.mean()) >= mean_mid else -1.0
    c = side * (mid[tumour_idx[:, 0]] - xt)  # mm past the centre line, per tumour voxel
    cross = max(float(c.max()), 0.0)
    beyond = float(np.max(c - half[tumour_idx[:, 0]]))
    at = int(tumour_idx[int(np.argmax(c)), 0]) if cross > 0 else None
    tol = float(ref.GetSpacing()[0])
    sugg = "present" if cross > tol else "absent"
    ev = None
    if at is not None:
        sel = (tumour_idx[:, 0] == at) & (c >= cross - 1e-6)
        ev = evidence_at(ref, tumour_idx[sel].mean(axis=0))
    side_txt = "left" if side > 0 else "right"
    text = (
        f"tumour ({side_txt}-sided) extends {max(cross, 0):.1f} mm across the vertebral-body centre line"
        + (f" ({ev.text()})" if ev else "")
        + ("; reaches beyond the opposite edge of the vertebral body" if beyond > 0 else "")
        + " (midline crossing is not an IDRF)"
    )
    return Hint(
        "midline",
        name,
        round(max(cross, 0.0), 2),
        "mm",
        sugg,
        text,
        (),
        ("midline_crossing",),
        ev,
        {"crossing_mm": round(max(cross, 0.0), 2), "beyond_opposite_edge_mm": round(float(beyond), 2)},
    )


def canal_hints(
    canal: np.ndarray,
    tumour: np.ndarray,
    sp: np.ndarray,
    ref: sitk.Image,
    window_mm: float = 15.0,
    name: str = "spinal_canal",
) -> list[Hint]:
    """Spinal-canal occupancy per axial slice. The canal outline on a slice is the union of the canal
    segment within +-``window_mm`` (tumour may have overwritten canal voxels in a label map)."""
    w = max(1, round(window_mm / sp[0]))
    occ, best = 0.0, None
    n_any = 0
    for z in range(canal.shape[0]):
        lo, hi = max(0, z - w), min(canal.shape[0], z + w + 1)
        foot = canal[lo:hi].any(axis=0) | canal[z]
        if not foot.any() or not tumour[z].any():
            continue
        inside = tumour[z] & foot
        n_any += int(inside.sum())
        frac = float(inside.sum() / foot.sum())
        if frac > occ:
            occ, best = frac, (z, *np.argwhere(inside).mean(axis=0))
    ev = evidence_at(ref, best) if best is not None else None
    where = f" ({ev.text()})" if ev else ""
    sugg = "present" if occ > CANAL_IDRF else ("review" if n_any >= 2 else "absent")
    text = (
        f"spinal canal: tumour occupies up to {100 * occ:.0f}% of its axial area{where}; IDRF if > 1/3 "
        "(or leptomeningeal spaces lost / cord signal abnormal: check on images)"
    )
    any_text = (
        f"spinal canal: {'tumour inside the canal' if n_any >= 2 else 'no tumour inside the canal'} "
        f"({n_any * float(np.prod(sp)) / 1000:.2f} ml)"
    )
    meas = {"max_occupancy_fraction": round(occ, 3), "voxels_in_canal": float(n_any)}
    return [
        Hint(
            "canal_occupancy",
            name,
            round(occ, 4),
            "fraction of canal area",
            sugg,
            text,
            ("intraspinal_extension",),
            (),
            ev,
            meas,
        ),
        Hint(
            "canal_extension",
            name,
            round(n_any * float(np.prod(sp)) / 1000, 4),
            "ml",
            "present" if n_any >= 2 else "absent",
            any_text,
            (),
            ("intraspinal_extension_any",),
            ev,
            meas,
        ),
    ]


def _hull_2d(m: np.ndarray) -> np.ndarray:
    """Convex hull (filled) of a 2-D mask's pixel centres, +half a pixel; the mask itself if degenerate."""
    from scipy.spatial import ConvexHull, QhullError

    edge = m & ~ndimage.binary_erosion(m)
    pts = np.argwhere(edge).astype(float)
    (a0, b0), (a1, b1) = np.argwhere(m).min(0), np.argwhere(m).max(0) + 1
    try:
        eq = ConvexHull(pts).equations  # rows (n0, n1, c): inside when n . p + c <= 0
    except (QhullError, ValueError):
        return m.copy()
    grid = np.argwhere(np.ones((a1 - a0, b1 - b0), bool)) + np.array([a0, b0])
    inside = np.all(grid @ eq[:, :2].T + eq[:, 2] <= 0.5, axis=1)
    out = m.copy()
    out[tuple(grid[inside].T)] = True
    return out


def organ_hint(
    name: str,
    idrf_ids: tuple[str, ...],
    organ: np.ndarray,
    tumour: np.ndarray,
    sp: np.ndarray,
    ref: sitk.Image,
) -> Hint:
    """Contact area with an organ and how deep the tumour reaches inside the organ's axial convex hull."""
    faces = 0.0
    for ax in range(3):
        a, b = [slice(None)] * 3, [slice(None)] * 3
        a[ax], b[ax] = slice(None, -1), slice(1, None)
        n = np.sum(tumour[tuple(a)] & organ[tuple(b)]) + np.sum(organ[tuple(a)] & tumour[tuple(b)])
        faces += float(n) * float(np.prod(np.delete(sp, ax)))
    depth, vol, at = 0.0, 0, None
    for z in range(organ.shape[0]):
        if organ[z].sum() < 4 or not tumour[z].any():
            continue
        hull = _hull_2d(organ[z])
        intr = tumour[z] & hull & ~organ[z]
        if not intr.any():
            continue
        vol += int(intr.sum())
        d = ndimage.distance_transform_edt(np.pad(hull, 1), sampling=sp[1:])[1:-1, 1:-1]
        if float(d[intr].max()) > depth:
            depth, at = float(d[intr].max()), (z, *np.argwhere(intr).mean(axis=0))
    ev = evidence_at(ref, at) if at is not None else None
    ml = vol * float(np.prod(sp)) / 1000.0
    sugg = "present" if depth >= ORGAN_PRESENT_DEPTH_MM else ("review" if faces > 0 else "absent")
    text = (
        f"{name}: contact surface {faces / 100:.1f} cm2; tumour inside the organ outline {ml:.2f} ml, up to "
        f"{depth:.1f} mm deep"
        + (f" ({ev.text()})" if ev else "")
        + " -> "
        + (
            "possible infiltration, confirm"
            if sugg == "present"
            else "contact, infiltration not shown (check fat plane)"
            if sugg == "review"
            else "no contact"
        )
    )
    return Hint(
        "organ_infiltration",
        name,
        round(depth, 2),
        "mm inside organ outline",
        sugg,
        text,
        idrf_ids,
        (),
        ev,
        {"contact_mm2": round(faces, 1), "inside_outline_ml": round(ml, 3), "depth_mm": round(depth, 2)},
    )
