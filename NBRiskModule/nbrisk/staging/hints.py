"""Image-derived IDRF hints: measure tumour-structure relations in a structure segmentation.

From a tumour segment and named vessel / organ / spine segments on one grid, compute per vessel the
tumour contact as a fraction of the vessel's circumference on each cross-section (rays cast from the
lumen centroid; slices taken along the image axis closest to the vessel's main direction, i.e. axial
for the aorta and IVC), vein flattening and loss of lumen, encasement (> 50 %); whether the tumour
crosses the vertebral-body centre line; how much of the spinal canal cross-section it occupies; and
its contact with, and intrusion into the outline of, adjacent organs. Each measurement becomes a
:class:`~nbrisk.staging.idrf.Hint` naming the IDRF items (or non-IDRF findings) it supports and the number
measured. Hints are suggestions for the radiologist; they never set a checklist answer.
Coordinates: SimpleITK index order (x, y, z) for slices, LPS millimetres for points.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from nbrisk.errors import InputError
from nbrisk.staging.hints_anatomy import canal_hints, evidence_at, midline_hint, organ_hint
from nbrisk.staging.hints_geometry import Crop, sub_ref, vessel_profile
from nbrisk.staging.evidence import Hint

logger = logging.getLogger(__name__)

ENCASEMENT = 0.5  # fraction of circumference (Brisse 2011 via idrf.json definitions)
BORDERLINE = 0.1  # |fraction - 0.5| below this is flagged "borderline, confirm on images"


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str  # tumour, vessel, airway, organ, vertebra, canal
    vessel_type: str = ""  # artery / vein for vessels
    idrf_ids: tuple[str, ...] = ()


_ABD = ("abdomen_aorta_vena_cava_encasement", "thoracoabdominal_aorta_vena_cava_encasement")
_RULES: list[tuple[str, Rule]] = [  # first match wins; names are lower-cased with "_" separators
    (r"tumou?r|neuroblastoma|^mass|lesion|^nb$|^gtv", Rule("tumour")),
    (r"spinal_canal|^canal|spinal_cord|thecal|dural_sac", Rule("canal")),
    (
        r"vertebral_art",
        Rule("vessel", "artery", ("neck_vessel_encasement", "cervicothoracic_vessel_encasement")),
    ),
    (r"carotid", Rule("vessel", "artery", ("neck_vessel_encasement", "cervicothoracic_vessel_encasement"))),
    (r"jugular", Rule("vessel", "vein", ("neck_vessel_encasement",))),
    (r"subclavian.*(vein|vena)", Rule("vessel", "vein", ("cervicothoracic_vessel_encasement",))),
    (
        r"subclavian",
        Rule("vessel", "artery", ("cervicothoracic_vessel_encasement", "thorax_aorta_branches_encasement")),
    ),
    (
        r"brachiocephalic_trunk|innominate_art",
        Rule("vessel", "artery", ("thorax_aorta_branches_encasement",)),
    ),
    (r"aort", Rule("vessel", "artery", (*_ABD, "thorax_aorta_branches_encasement"))),
    (r"^ivc|vena_cava|inferior_vena|^vci", Rule("vessel", "vein", _ABD)),
    (r"co?eliac", Rule("vessel", "artery", ("abdomen_celiac_sma_origin_encasement",))),
    (
        r"superior_mesenteric_art|^sma",
        Rule(
            "vessel",
            "artery",
            ("abdomen_celiac_sma_origin_encasement", "abdomen_sma_branches_mesenteric_root"),
        ),
    ),
    (r"superior_mesenteric_vein|^smv", Rule("vessel", "vein", ("abdomen_sma_branches_mesenteric_root",))),
    (r"renal_(vein|vena)", Rule("vessel", "vein", ("abdomen_renal_pedicle_invasion",))),
    (r"renal_art", Rule("vessel", "artery", ("abdomen_renal_pedicle_invasion",))),
    (r"iliac.*(vein|vena)", Rule("vessel", "vein", ("abdomen_iliac_vessel_encasement",))),
    (r"iliac", Rule("vessel", "artery", ("abdomen_iliac_vessel_encasement",))),
    (r"portal|splenic_vein", Rule("vessel", "vein", ("abdomen_porta_hepatis_hepatoduodenal_ligament",))),
    (r"hepatic_art", Rule("vessel", "artery", ("abdomen_porta_hepatis_hepatoduodenal_ligament",))),
    (
        r"trachea",
        Rule(
            "airway",
            "",
            (
                "neck_tracheal_compression",
                "cervicothoracic_tracheal_compression",
                "thorax_airway_compression",
            ),
        ),
    ),
    (r"bronch", Rule("airway", "", ("thorax_airway_compression",))),
    (r"vertebra|spine|^sacrum|^[lt]\d+$", Rule("vertebra")),
    (
        r"kidney|liver|pancrea|duoden|diaphragm|pericard|mesenter",
        Rule("organ", "", ("adjacent_organ_infiltration",)),
    ),
]


def classify(name: str) -> Rule | None:
    """Return what a segment name denotes (tumour, vessel, organ, ...) or None if it is not used."""
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return next((rule for pat, rule in _RULES if re.search(pat, key)), None)


# --------------------------------------------------------------------------------------------- entry
def hints_from_segmentation(
    structures: sitk.Image, names: dict[int, str], tumour: str | None = None
) -> list[Hint]:
    """Hints from a label map whose label values are named by ``names`` (e.g. nbrisk.synthetic.phantom.STRUCTURES)."""
    lps = to_lps(structures)
    arr = sitk.GetArrayViewFromImage(lps)
    if not np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.int64)
    objects = ndimage.find_objects(np.where(arr > 0, arr, 0))
    crops = {}
    for value, name in names.items():
        if 0 < value <= len(objects) and objects[value - 1] is not None:
            box = objects[value - 1]
            crops[name] = Crop(box, arr[box] == value, arr.shape)
    return _on_grid(_hints(crops, lps, tumour), structures)


def hints_from_masks(masks: dict[str, sitk.Image], tumour: str | None = None) -> list[Hint]:
    """Hints from binary masks on one grid (e.g. overlapping Slicer segments), keyed by segment name."""
    if not masks:
        raise InputError("no segments given; the segmentation must hold a tumour and named structures")
    crops, ref = {}, None
    for k, v in masks.items():
        ref = to_lps(v)
        c = Crop.of(sitk.GetArrayViewFromImage(ref) > 0)
        if c is not None:
            crops[k] = c
    if ref is None:
        raise InputError("no structure mask given; segment at least the tumour and one structure")
    return _on_grid(_hints(crops, ref, tumour), next(iter(masks.values())))


def to_lps(image: sitk.Image) -> sitk.Image:
    """Reorient so that array axes run L, P, S (slices along array axis 0 are then axial)."""
    if np.allclose(np.array(image.GetDirection()), np.eye(3).ravel(), atol=1e-3):
        return image
    return sitk.DICOMOrient(image, "LPS")


def _on_grid(hints: list[Hint], original: sitk.Image) -> list[Hint]:
    """Give evidence slices as axial indices k of the caller's grid (work ran on crops / LPS copies)."""
    out = []
    for h in hints:
        ev = h.evidence
        if ev is not None and ev.point_lps is not None:
            k = round(original.TransformPhysicalPointToContinuousIndex(ev.point_lps)[2])
            text = h.text.replace(f"slice {ev.slice}, LPS", f"slice {k}, LPS")
            h = dataclasses.replace(h, text=text, evidence=dataclasses.replace(ev, slice=k))
        out.append(h)
    return out


def _tumour_name(masks: dict, tumour: str | None) -> str:
    if tumour is None:
        cands = [n for n in masks if (r := classify(n)) is not None and r.kind == "tumour"]
        if len(cands) != 1:
            raise InputError(
                f"cannot tell which segment is the tumour (found {cands or 'none'} among "
                f"{list(masks)}); name it 'tumour' or pass --tumour NAME"
            )
        tumour = cands[0]
    if tumour not in masks:
        raise InputError(f"tumour segment {tumour!r} not found or empty (have: {list(masks)})")
    return tumour


def _hints(crops: dict[str, Crop], ref: sitk.Image, tumour: str | None) -> list[Hint]:
    rules = {n: classify(n) for n in crops}
    tumour = _tumour_name(crops, tumour)
    t = crops[tumour]
    sp = np.array(ref.GetSpacing())[::-1]  # z, y, x
    out: list[Hint] = []
    spine = [n for n, r in rules.items() if r and r.kind == "vertebra"]
    if spine:  # several vertebra segments (e.g. one per level) form one spine for the midline
        vert = np.concatenate([crops[n].indices() for n in spine])
        out.append(midline_hint(vert, t.indices(), ref, "+".join(spine)))
    for name, c in crops.items():
        rule = rules[name]
        if name == tumour or rule is None or rule.kind in ("tumour", "vertebra"):
            if rule is None:
                logger.info("segment %r is not used for IDRF hints", name)
            continue
        box = c.grown((3, 3, 3) if rule.kind in ("vessel", "airway") else (1, 1, 1))
        m, tw, sub = c.window(box), t.window(box), sub_ref(ref, box)
        if rule.kind in ("vessel", "airway"):
            out += vessel_hints(name, rule, m, tw, sp, sub)
        elif rule.kind == "organ":
            out.append(organ_hint(name, rule.idrf_ids, m, tw, sp, sub))
        elif rule.kind == "canal":
            out += canal_hints(m, tw, sp, sub, name=name)
    return out


# ------------------------------------------------------------------------------------------- vessels
def vessel_hints(
    name: str, rule: Rule, vessel: np.ndarray, tumour: np.ndarray, sp: np.ndarray, ref: sitk.Image
) -> list[Hint]:
    """Encasement (and, for veins/airways, flattening) hints for one vessel segment."""
    prof = vessel_profile(vessel, tumour, sp)
    frac, area, aspect = prof["fraction"], prof["area"], prof["aspect"]
    valid = ~np.isnan(frac)  # type: ignore[arg-type]
    n_sl = int(valid.sum())
    f = np.where(valid, frac, 0.0)  # type: ignore[call-overload]
    ties = np.flatnonzero(f == f.max())
    best = int(ties[len(ties) // 2])  # middle of the cross-sections with the largest contact
    fmax = float(f[best])
    n_contact, n_enc = int((f > 0).sum()), int((f > ENCASEMENT).sum())
    n_occ = int(np.sum(prof["occluded"]))
    kind = rule.vessel_type or "airway"
    meas = {
        "max_contact_fraction": round(fmax, 3),
        "cross_sections": n_sl,
        "cross_sections_with_contact": n_contact,
        "cross_sections_encased": n_enc,
        "occluded_cross_sections": n_occ,
        "slicing_axis": float(prof["axis"]),
    }
    ev = evidence_at(ref, prof["centroid"][best]) if n_contact else None  # type: ignore[index]
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
    if n_contact and abs(fmax - ENCASEMENT) < BORDERLINE and rule.kind != "airway" and not n_occ:
        sugg, what = "review", what + "; borderline, confirm on images"
    text = (
        f"{name} ({kind}): tumour contact up to {100 * fmax:.0f}% of circumference{where}; > 50% on "
        f"{n_enc}/{n_sl} cross-sections" + (f"; no lumen on {n_occ}" if n_occ else "") + f" -> {what}"
    )
    hints = [
        Hint(
            "vessel_encasement" if rule.kind == "vessel" else "airway_compression",
            name,
            round(fmax, 4),
            "fraction of circumference",
            sugg,
            text,
            rule.idrf_ids,
            (),
            ev,
            meas,
        )
    ]
    if kind in ("vein", "airway") and n_contact:
        hints += _flattening_hint(name, rule, f, area, aspect, valid, prof, ref)  # type: ignore[arg-type]
    return hints


def _flattening_hint(
    name: str,
    rule: Rule,
    f: np.ndarray,
    area: np.ndarray,
    aspect: np.ndarray,
    valid: np.ndarray,
    prof: dict,
    ref: sitk.Image,
) -> list[Hint]:
    free = valid & (f == 0)
    ref_sel = free if free.sum() >= 2 else valid
    ref_area, ref_aspect = float(np.median(area[ref_sel])), float(np.median(aspect[ref_sel]))
    touched = np.nonzero(valid & (f > 0))[0]
    ratio = np.minimum(area[touched] / ref_area, aspect[touched] / ref_aspect)
    k = int(touched[np.argmin(ratio)])
    a_r, s_r = float(area[k] / ref_area), float(aspect[k] / ref_aspect)
    flat = min(a_r, s_r) < 0.6
    ev = evidence_at(ref, prof["centroid"][k])
    text = (
        f"{name}: where touched, cross-section down to {100 * a_r:.0f}% of its free area and "
        f"{100 * s_r:.0f}% of its free roundness ({ev.text()})"
        + (" -> flattening with residual lumen (not an IDRF by itself)" if flat else " -> no flattening")
    )
    return [
        Hint(
            "flattening",
            name,
            round(min(a_r, s_r), 4),
            "ratio to untouched cross-sections",
            "review" if flat else "absent",
            text,
            rule.idrf_ids,
            (),
            ev,
            {"area_ratio": round(a_r, 3), "aspect_ratio": round(s_r, 3)},
        )
    ]


def contact_table(masks: dict[str, sitk.Image], tumour: str | None = None) -> list[dict[str, object]]:
    """Per vessel and cross-section: contact fraction, area (mm^2), roundness, lost lumen, slice and point.

    ``slice`` is the axial index k on the caller's grid of the cross-section's centroid; ``point_lps`` its
    LPS position (mm). Rows are plain dicts (ready for ``pandas.DataFrame`` or ``csv.DictWriter``).
    """
    orig = next(iter(masks.values()))
    ref = to_lps(orig)
    crops = {k: c for k, v in masks.items() if (c := Crop.of(sitk.GetArrayViewFromImage(to_lps(v)) > 0))}
    t = crops[_tumour_name(crops, tumour)]
    sp = np.array(ref.GetSpacing())[::-1]
    rows: list[dict[str, object]] = []
    for name, c in crops.items():
        rule = classify(name)
        if rule is None or rule.kind not in ("vessel", "airway"):
            continue
        box = c.grown((3, 3, 3))
        sub = sub_ref(ref, box)
        prof = vessel_profile(c.window(box), t.window(box), sp)
        for s in np.flatnonzero(~np.isnan(prof["fraction"]) | prof["occluded"]):  # type: ignore[operator]
            cen = prof["centroid"][s]  # type: ignore[index]
            ok = bool(np.all(np.isfinite(cen)))
            pt = sub.TransformContinuousIndexToPhysicalPoint([float(v) for v in cen[::-1]]) if ok else None
            rows.append(
                {
                    "structure": name,
                    "type": rule.vessel_type or "airway",
                    "cross_section": int(s) + box[int(prof["axis"])].start,  # type: ignore[call-overload]
                    "axis": "zyx"[int(prof["axis"])],  # type: ignore[call-overload]
                    "slice": round(orig.TransformPhysicalPointToContinuousIndex(pt)[2]) if pt else None,
                    "point_lps": tuple(round(v, 2) for v in pt) if pt else None,
                    "contact_fraction": round(float(np.nan_to_num(prof["fraction"][s])), 4),  # type: ignore[index]
                    "area_mm2": round(float(prof["area"][s]), 2),  # type: ignore[index]
                    "aspect_ratio": round(float(np.nan_to_num(prof["aspect"][s])), 3),  # type: ignore[index]
                    "no_lumen": bool(prof["occluded"][s]),  # type: ignore[index]
                }
            )
    return rows
