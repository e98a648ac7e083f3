"""Image-derived IDRF hints: measure tumour-structure relations in a structure segmentation.

From a tumour segment and named vessel / organ / spine segments on one grid, compute per vessel the
tumour contact as a fraction of the vessel's circumference on each cross-section (rays cast from the
lumen centroid; slices taken along the image axis closest to the vessel's main direction, i.e. axial
for the aorta and IVC), vein flattening and loss of lumen, encasement (> 50 %); whether the tumour
crosses the vertebral-body centre line; how much of the spinal canal cross-section it occupies; and
its contact with, and intrusion into the outline of, adjacent organs. Each measurement becomes a
:class:`~nbrisk.idrf.Hint` naming the IDRF items (or non-IDRF findings) it supports and the number
measured. Hints are suggestions for the radiologist; they never set a checklist answer.
Coordinates: SimpleITK index order (x, y, z) for slices, LPS millimetres for points.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from nbrisk.errors import InputError
from nbrisk.idrf import Evidence, Hint

logger = logging.getLogger(__name__)

ENCASEMENT = 0.5  # fraction of circumference (Brisse 2011 via idrf.json definitions)
BORDERLINE = 0.1  # |fraction - 0.5| below this is flagged "borderline, confirm on images"
CANAL_IDRF = 1.0 / 3.0  # > 1/3 of the canal's axial area (Monclair 2009)
ORGAN_PRESENT_DEPTH_MM = 5.0


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str  # tumour, vessel, airway, organ, vertebra, canal
    vessel_type: str = ""  # artery / vein for vessels
    idrf_ids: tuple[str, ...] = ()


_ABD = ("abdomen_aorta_vena_cava_encasement", "thoracoabdominal_aorta_vena_cava_encasement")
_RULES: list[tuple[str, Rule]] = [  # first match wins; names are lower-cased with "_" separators
    (r"tumou?r|neuroblastoma|^mass|lesion|^nb$|^gtv", Rule("tumour")),
    (r"spinal_canal|^canal|spinal_cord|thecal|dural_sac", Rule("canal")),
    (r"vertebral_art", Rule("vessel", "artery", ("neck_vessel_encasement", "cervicothoracic_vessel_encasement"))),
    (r"carotid", Rule("vessel", "artery", ("neck_vessel_encasement", "cervicothoracic_vessel_encasement"))),
    (r"jugular", Rule("vessel", "vein", ("neck_vessel_encasement",))),
    (r"subclavian.*(vein|vena)", Rule("vessel", "vein", ("cervicothoracic_vessel_encasement",))),
    (r"subclavian", Rule("vessel", "artery", ("cervicothoracic_vessel_encasement", "thorax_aorta_branches_encasement"))),
    (r"brachiocephalic_trunk|innominate_art", Rule("vessel", "artery", ("thorax_aorta_branches_encasement",))),
    (r"aort", Rule("vessel", "artery", (*_ABD, "thorax_aorta_branches_encasement"))),
    (r"^ivc|vena_cava|inferior_vena|^vci", Rule("vessel", "vein", _ABD)),
    (r"co?eliac", Rule("vessel", "artery", ("abdomen_celiac_sma_origin_encasement",))),
    (r"superior_mesenteric_art|^sma", Rule("vessel", "artery", ("abdomen_celiac_sma_origin_encasement",
                                                                  "abdomen_sma_branches_mesenteric_root"))),
    (r"superior_mesenteric_vein|^smv", Rule("vessel", "vein", ("abdomen_sma_branches_mesenteric_root",))),
    (r"renal_(vein|vena)", Rule("vessel", "vein", ("abdomen_renal_pedicle_invasion",))),
    (r"renal_art", Rule("vessel", "artery", ("abdomen_renal_pedicle_invasion",))),
    (r"iliac.*(vein|vena)", Rule("vessel", "vein", ("abdomen_iliac_vessel_encasement",))),
    (r"iliac", Rule("vessel", "artery", ("abdomen_iliac_vessel_encasement",))),
    (r"portal|splenic_vein", Rule("vessel", "vein", ("abdomen_porta_hepatis_hepatoduodenal_ligament",))),
    (r"hepatic_art", Rule("vessel", "artery", ("abdomen_porta_hepatis_hepatoduodenal_ligament",))),
    (r"trachea", Rule("airway", "", ("neck_tracheal_compression", "cervicothoracic_tracheal_compression",
                                     "thorax_airway_compression"))),
    (r"bronch", Rule("airway", "", ("thorax_airway_compression",))),
    (r"vertebra|spine|^sacrum|^[lt]\d+$", Rule("vertebra")),
    (r"kidney|liver|pancrea|duoden|diaphragm|pericard|mesenter", Rule("organ", "", ("adjacent_organ_infiltration",))),
]


def classify(name: str) -> Rule | None:
    """Return what a segment name denotes (tumour, vessel, organ, ...) or None if it is not used."""
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return next((rule for pat, rule in _RULES if re.search(pat, key)), None)


# --------------------------------------------------------------------------------------------- entry
def hints_from_segmentation(structures: sitk.Image, names: dict[int, str], tumour: str | None = None) -> list[Hint]:
    """Hints from a label map whose label values are named by ``names`` (e.g. nbrisk.phantom.STRUCTURES)."""
    arr = sitk.GetArrayViewFromImage(structures)
    masks = {}
    for value, name in names.items():
        m = arr == value
        if m.any():
            masks[name] = m
    return _hints(masks, structures, tumour)


def hints_from_masks(masks: dict[str, sitk.Image], tumour: str | None = None) -> list[Hint]:
    """Hints from binary masks on one grid (e.g. overlapping Slicer segments), keyed by segment name."""
    if not masks:
        raise InputError("no segments given; the segmentation must hold a tumour and named structures")
    ref = next(iter(masks.values()))
    return _hints({k: sitk.GetArrayViewFromImage(v) > 0 for k, v in masks.items()}, ref, tumour)


def _hints(masks: dict[str, np.ndarray], ref: sitk.Image, tumour: str | None) -> list[Hint]:
    rules = {n: classify(n) for n in masks}
    if tumour is None:
        cands = [n for n, r in rules.items() if r and r.kind == "tumour"]
        if len(cands) != 1:
            raise InputError(f"cannot tell which segment is the tumour (found {cands or 'none'} among "
                             f"{list(masks)}); name it 'tumour' or pass --tumour NAME")
        tumour = cands[0]
    if tumour not in masks:
        raise InputError(f"tumour segment {tumour!r} not found or empty (have: {list(masks)})")
    t = masks[tumour]
    sp = np.array(ref.GetSpacing())[::-1]  # z, y, x
    out: list[Hint] = []
    for name, m in masks.items():
        rule = rules[name]
        if name == tumour or rule is None:
            if name != tumour:
                logger.info("segment %r is not used for IDRF hints", name)
            continue
        if rule.kind in ("vessel", "airway"):
            out += vessel_hints(name, rule, m, t, sp, ref)
        elif rule.kind == "organ":
            out.append(organ_hint(name, rule, m, t, sp, ref))
        elif rule.kind == "vertebra":
            out.append(midline_hint(m, t, ref))
        elif rule.kind == "canal":
            out += canal_hints(m, t, sp, ref)
    return out


def _evidence(ref: sitk.Image, idx_zyx: np.ndarray | tuple[float, ...]) -> Evidence:
    z, y, x = (float(v) for v in idx_zyx)
    pt = ref.TransformContinuousIndexToPhysicalPoint((x, y, z))
    return Evidence(int(round(z)), (round(pt[0], 2), round(pt[1], 2), round(pt[2], 2)))


# ------------------------------------------------------------------------------------------- vessels
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


def contact_fraction_2d(vessel: np.ndarray, tumour: np.ndarray, sp: tuple[float, float], n_rays: int = 180,
                        gap_mm: float | None = None) -> float:
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
    return {"axis": axis, "fraction": frac, "area": area, "aspect": aspect, "centroid": cen,
            "occluded": _occluded(v, t, cen, axis)}


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
        a, b = int(round(p[0])), int(round(p[1]))
        if 0 <= a < t.shape[1] and 0 <= b < t.shape[2] and t[s, a, b]:
            occ[s] = True
    return occ


def vessel_hints(name: str, rule: Rule, vessel: np.ndarray, tumour: np.ndarray, sp: np.ndarray,
                 ref: sitk.Image) -> list[Hint]:
    """Encasement (and, for veins/airways, flattening) hints for one vessel segment."""
    prof = vessel_profile(vessel, tumour, sp)
    frac, area, aspect = prof["fraction"], prof["area"], prof["aspect"]
    valid = ~np.isnan(frac)  # type: ignore[arg-type]
    n_sl = int(valid.sum())
    f = np.where(valid, frac, 0.0)  # type: ignore[call-overload]
    best = int(np.argmax(f))
    fmax = float(f[best])
    n_contact, n_enc = int((f > 0).sum()), int((f > ENCASEMENT).sum())
    n_occ = int(np.sum(prof["occluded"]))
    kind = rule.vessel_type or "airway"
    meas = {"max_contact_fraction": round(fmax, 3), "cross_sections": n_sl, "cross_sections_with_contact": n_contact,
            "cross_sections_encased": n_enc, "occluded_cross_sections": n_occ, "slicing_axis": float(prof["axis"])}
    ev = _evidence(ref, prof["centroid"][best]) if n_contact else None  # type: ignore[index]
    where = f" ({ev.text()})" if ev else ""
    if rule.kind == "airway":
        sugg, what = ("review" if n_contact else "absent"), "compression is judged on calibre: review"
    elif fmax > ENCASEMENT or (kind == "vein" and n_occ):
        sugg, what = "present", f"encasement (> 50 % of circumference{', no visible lumen' if n_occ else ''})"
    elif n_contact:
        renal = "abdomen_renal_pedicle_invasion" in rule.idrf_ids
        sugg, what = ("review" if renal else "absent"), "contact only (< 50 %), not encasement"
    else:
        sugg, what = "absent", "separation (no contact)"
    if n_contact and abs(fmax - ENCASEMENT) < BORDERLINE and rule.kind != "airway":
        sugg, what = "review", what + "; borderline, confirm on images"
    text = (f"{name} ({kind}): tumour contact up to {100 * fmax:.0f}% of circumference{where}; > 50% on "
            f"{n_enc}/{n_sl} cross-sections" + (f"; no lumen on {n_occ}" if n_occ else "") + f" -> {what}")
    hints = [Hint("vessel_encasement" if rule.kind == "vessel" else "airway_compression", name, round(fmax, 4),
                  "fraction of circumference", sugg, text, rule.idrf_ids, (), ev, meas)]
    if kind in ("vein", "airway") and n_contact:
        hints += _flattening_hint(name, rule, f, area, aspect, valid, prof, ref)  # type: ignore[arg-type]
    return hints


def _flattening_hint(name: str, rule: Rule, f: np.ndarray, area: np.ndarray, aspect: np.ndarray,
                     valid: np.ndarray, prof: dict, ref: sitk.Image) -> list[Hint]:
    free = valid & (f == 0)
    ref_sel = free if free.sum() >= 2 else valid
    ref_area, ref_aspect = float(np.median(area[ref_sel])), float(np.median(aspect[ref_sel]))
    touched = np.nonzero(valid & (f > 0))[0]
    ratio = np.minimum(area[touched] / ref_area, aspect[touched] / ref_aspect)
    k = int(touched[np.argmin(ratio)])
    a_r, s_r = float(area[k] / ref_area), float(aspect[k] / ref_aspect)
    flat = min(a_r, s_r) < 0.6
    ev = _evidence(ref, prof["centroid"][k])
    text = (f"{name}: where touched, cross-section down to {100 * a_r:.0f}% of its free area and "
            f"{100 * s_r:.0f}% of its free roundness ({ev.text()})"
            + (" -> flattening with residual lumen (not an IDRF by itself)" if flat else " -> no flattening"))
    return [Hint("flattening", name, round(min(a_r, s_r), 4), "ratio to untouched cross-sections",
                 "review" if flat else "absent", text, rule.idrf_ids, (), ev,
                 {"area_ratio": round(a_r, 3), "aspect_ratio": round(s_r, 3)})]


# -------------------------------------------------------------------------------- midline, canal, organs
def _phys_x(ref: sitk.Image, shape: tuple[int, ...]) -> np.ndarray:
    """Physical x (LPS, mm; + = patient left) of every voxel centre, array order (z, y, x)."""
    d = np.array(ref.GetDirection()).reshape(3, 3)
    s, o = np.array(ref.GetSpacing()), np.array(ref.GetOrigin())
    k, j, i = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    return o[0] + d[0, 0] * s[0] * i + d[0, 1] * s[1] * j + d[0, 2] * s[2] * k


def midline_hint(vertebra: np.ndarray, tumour: np.ndarray, ref: sitk.Image) -> Hint:
    """How far the tumour extends across the vertebral-body centre line (per axial slice, LPS x)."""
    x = _phys_x(ref, vertebra.shape)
    zs = [z for z in range(vertebra.shape[0]) if vertebra[z].any()]
    mid = {z: float(x[z][vertebra[z]].mean()) for z in zs}
    half = {z: float(np.abs(x[z][vertebra[z]] - mid[z]).max()) for z in zs}
    if not zs:
        raise InputError("vertebra segment is empty; cannot locate the midline")
    mean_mid = float(np.mean(list(mid.values())))
    side = 1.0 if float(x[tumour].mean()) >= mean_mid else -1.0
    cross, beyond, at = 0.0, -np.inf, None
    for z in range(tumour.shape[0]):
        if not tumour[z].any():
            continue
        m = mid.get(z, mean_mid)
        c = float(np.max(side * (m - x[z][tumour[z]])))
        if c > cross:
            cross, at = c, z
        beyond = max(beyond, c - half.get(z, float(np.mean(list(half.values())))))
    tol = float(ref.GetSpacing()[0])
    sugg = "present" if cross > tol else "absent"
    ev = None
    if at is not None:
        jj, ii = np.nonzero(tumour[at] & (side * (mid.get(at, mean_mid) - x[at]) >= cross - 1e-6))
        ev = _evidence(ref, (at, jj.mean(), ii.mean()))
    side_txt = "left" if side > 0 else "right"
    text = (f"tumour ({side_txt}-sided) extends {max(cross, 0):.1f} mm across the vertebral-body centre line"
            + (f" ({ev.text()})" if ev else "") + ("; reaches beyond the opposite edge of the vertebral body"
                                                   if beyond > 0 else "") + " (midline crossing is not an IDRF)")
    return Hint("midline", "vertebra", round(max(cross, 0.0), 2), "mm", sugg, text, (), ("midline_crossing",), ev,
                {"crossing_mm": round(max(cross, 0.0), 2), "beyond_opposite_edge_mm": round(float(beyond), 2)})


def canal_hints(canal: np.ndarray, tumour: np.ndarray, sp: np.ndarray, ref: sitk.Image,
                window_mm: float = 15.0) -> list[Hint]:
    """Spinal-canal occupancy per axial slice. The canal outline on a slice is the union of the canal
    segment within +-``window_mm`` (tumour may have overwritten canal voxels in a label map)."""
    w = max(1, int(round(window_mm / sp[0])))
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
    ev = _evidence(ref, best) if best is not None else None
    where = f" ({ev.text()})" if ev else ""
    sugg = "present" if occ > CANAL_IDRF else ("review" if n_any >= 2 else "absent")
    text = (f"spinal canal: tumour occupies up to {100 * occ:.0f}% of its axial area{where}; IDRF if > 1/3 "
            "(or leptomeningeal spaces lost / cord signal abnormal: check on images)")
    any_text = (f"spinal canal: {'tumour inside the canal' if n_any >= 2 else 'no tumour inside the canal'} "
                f"({n_any * float(np.prod(sp)) / 1000:.2f} ml)")
    meas = {"max_occupancy_fraction": round(occ, 3), "voxels_in_canal": float(n_any)}
    return [Hint("canal_occupancy", "spinal_canal", round(occ, 4), "fraction of canal area", sugg, text,
                 ("intraspinal_extension",), (), ev, meas),
            Hint("canal_extension", "spinal_canal", round(n_any * float(np.prod(sp)) / 1000, 4), "ml",
                 "present" if n_any >= 2 else "absent", any_text, (), ("intraspinal_extension_any",), ev, meas)]


def _filled_outline(m: np.ndarray) -> np.ndarray:
    """Orthogonally convex outline of a 2-D mask: filled between its extremes along every row and column."""
    def fill(a: np.ndarray, ax: int) -> np.ndarray:
        fwd = np.maximum.accumulate(a, axis=ax)
        back = np.flip(np.maximum.accumulate(np.flip(a, ax), axis=ax), ax)
        return fwd & back
    return fill(m, 0) & fill(m, 1)


def organ_hint(name: str, rule: Rule, organ: np.ndarray, tumour: np.ndarray, sp: np.ndarray,
               ref: sitk.Image) -> Hint:
    """Contact area with an organ and how deep the tumour reaches inside the organ's filled axial outline."""
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
        hull = _filled_outline(organ[z])
        intr = tumour[z] & hull & ~organ[z]
        if not intr.any():
            continue
        vol += int(intr.sum())
        d = ndimage.distance_transform_edt(np.pad(hull, 1), sampling=sp[1:])[1:-1, 1:-1]
        if float(d[intr].max()) > depth:
            depth, at = float(d[intr].max()), (z, *np.argwhere(intr).mean(axis=0))
    ev = _evidence(ref, at) if at is not None else None
    ml = vol * float(np.prod(sp)) / 1000.0
    sugg = "present" if depth >= ORGAN_PRESENT_DEPTH_MM else ("review" if faces > 0 else "absent")
    text = (f"{name}: contact surface {faces / 100:.1f} cm2; tumour inside the organ outline {ml:.2f} ml, up to "
            f"{depth:.1f} mm deep" + (f" ({ev.text()})" if ev else "") + " -> "
            + ("possible infiltration, confirm" if sugg == "present" else
               "contact, infiltration not shown (check fat plane)" if sugg == "review" else "no contact"))
    return Hint("organ_infiltration", name, round(depth, 2), "mm inside organ outline", sugg, text, rule.idrf_ids,
                (), ev, {"contact_mm2": round(faces, 1), "inside_outline_ml": round(ml, 3),
                         "depth_mm": round(depth, 2)})


# ------------------------------------------------------------------------------------------------- files
def parse_names(spec: str) -> dict[int, str]:
    """Label names from "phantom", "1=tumour,2=aorta", a JSON file {"1": "tumour"} or a colour table."""
    import json

    if spec.strip().lower() == "phantom":
        from nbrisk.phantom import STRUCTURES

        return {v: k for k, v in STRUCTURES.items()}
    p = Path(spec)
    try:
        if p.suffix.lower() == ".json" and p.exists():
            return {int(k): str(v) for k, v in json.loads(p.read_text()).items()}
        if p.exists():
            out = {}
            for line in p.read_text().splitlines():
                parts = line.split()
                if parts and not parts[0].startswith("#") and len(parts) >= 2:
                    out[int(parts[0])] = parts[1]
            return out
        return {int(k): v.strip() for k, v in (item.split("=", 1) for item in spec.split(",") if item.strip())}
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read label names from {spec!r} ({exc}); use 1=tumour,2=aorta, a JSON file, "
                         "a colour table or 'phantom'") from None


def read_structures(path: str | Path, reference: sitk.Image, names: dict[int, str] | None = None,
                    reference_path: str | Path | None = None) -> dict[str, sitk.Image]:
    """Read a Slicer .seg.nrrd (segment names from the file) or a label map with ``names`` as binary masks."""
    from nbrisk.io import _as_3d_scalar, _read_sitk, conform_to_reference, read_mask

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: segmentation not found; check the path")
    if p.name.lower().endswith(".seg.nrrd"):
        import nrrd

        hdr = nrrd.read_header(str(p))
        seg_names = [str(hdr[f"Segment{i}_Name"]) for i in range(256) if f"Segment{i}_Name" in hdr]
        out = {}
        for n in seg_names:
            try:
                out[n] = read_mask(p, reference, segment=n, reference_path=reference_path).image
            except InputError as exc:
                logger.warning("skipping segment %r: %s", n, exc)
        return out
    lab = conform_to_reference(_as_3d_scalar(_read_sitk(p, "segmentation"), p), reference, p, reference_path)
    arr = sitk.GetArrayViewFromImage(lab)
    present = [int(v) for v in np.unique(arr) if v != 0]
    if not names:
        raise InputError(f"{p}: label map holds labels {present}; name them with --names "
                         "(e.g. 1=tumour,2=aorta, a JSON/colour-table file, or 'phantom')")
    out = {}
    for v in present:
        if v in names:
            m = sitk.GetImageFromArray((arr == v).astype(np.uint8))
            m.CopyInformation(lab)
            out[names[v]] = m
    return out
