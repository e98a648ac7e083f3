"""Image-derived IDRF hints on synthetic geometry with known truth (tubes, spine, canal, organs)."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from nbrisk.errors import InputError
from nbrisk.staging.hints import classify, hints_from_masks, hints_from_segmentation
from nbrisk.staging.idrf import all_item_ids

NAMES = {
    1: "tumour",
    2: "aorta",
    3: "ivc",
    4: "vertebra",
    5: "kidney_left",
    7: "spinal_canal",
    9: "renal_vein",
}


def _coords(shape_xyz: tuple[int, int, int], sp: tuple[float, float, float]) -> tuple[np.ndarray, ...]:
    nx, ny, nz = shape_xyz
    return np.meshgrid(np.arange(nz) * sp[2], np.arange(ny) * sp[1], np.arange(nx) * sp[0], indexing="ij")


def _image(lab: np.ndarray, sp: tuple[float, float, float]) -> sitk.Image:
    im = sitk.GetImageFromArray(lab.astype(np.uint8))
    im.SetSpacing(sp)
    im.SetOrigin((-20.0, 10.0, -5.0))
    return im


def tube(
    deg: float,
    sp: tuple[float, float, float] = (1.0, 1.0, 2.0),
    radius: float = 5.0,
    gap: float = 0.0,
    label: int = 2,
) -> sitk.Image:
    """Vessel along z with a tumour shell covering ``deg`` degrees of its circumference."""
    _, y, x = _coords((64, 64, 16), sp)
    cx, cy = 32 * sp[0] + 0.3, 32 * sp[1] - 0.2
    r, th = np.hypot(x - cx, y - cy), np.degrees(np.arctan2(y - cy, x - cx)) % 360
    lab = np.zeros(x.shape, np.uint8)
    lab[r <= radius] = label
    lab[(r > radius + gap) & (r <= radius + gap + 6) & (th < deg)] = 1
    return _image(lab, sp)


def vessel_hint(hints: list, name: str = "aorta") -> object:
    return next(h for h in hints if h.structure == name and h.kind == "vessel_encasement")


@pytest.mark.parametrize("deg", [90, 180, 270, 360])
@pytest.mark.parametrize("sp", [(1.0, 1.0, 2.0), (0.7, 0.7, 3.0), (1.4, 1.4, 1.0)])
def test_contact_fraction_matches_known_angle(deg: int, sp: tuple[float, float, float]) -> None:
    h = vessel_hint(hints_from_segmentation(tube(deg, sp), NAMES))
    assert h.value == pytest.approx(deg / 360, abs=0.10)
    assert h.measurements["cross_sections"] == 16
    assert h.unit == "fraction of circumference"


@pytest.mark.parametrize(("quadrants", "expected"), [(1, 0.25), (2, 0.5), (3, 0.75)])
def test_contact_on_an_elliptic_vein_is_arc_length_weighted(quadrants: int, expected: float) -> None:
    """An IVC-like ellipse (7.5 x 4.5 mm): by symmetry each quadrant holds a quarter of the circumference."""
    sp = (0.8, 0.8, 2.0)
    _, y, x = _coords((60, 60, 8), sp)
    cx, cy = 24.2, 23.9
    e = ((x - cx) / 7.5) ** 2 + ((y - cy) / 4.5) ** 2
    quad = (
        ((x >= cx) & (y >= cy))
        | ((x < cx) & (y >= cy) & (quadrants >= 2))
        | ((x < cx) & (y < cy) & (quadrants >= 3))
    )
    lab = np.zeros(x.shape, np.uint8)
    lab[e <= 1] = 3
    lab[(e > 1) & (e <= 2.5) & quad] = 1
    h = vessel_hint(hints_from_segmentation(_image(lab, sp), NAMES), "ivc")
    assert h.value == pytest.approx(expected, abs=0.10)


def test_encasement_suggestion_follows_50_percent_rule() -> None:
    s = {d: vessel_hint(hints_from_segmentation(tube(d), NAMES)).suggestion for d in (90, 180, 270, 360)}
    assert s == {90: "absent", 180: "review", 270: "present", 360: "present"}
    h = vessel_hint(hints_from_segmentation(tube(270), NAMES))
    assert "abdomen_aorta_vena_cava_encasement" in h.idrf_ids
    assert h.measurements["cross_sections_encased"] == 16
    assert "75%" in h.text and h.evidence is not None and h.evidence.slice is not None


def test_fat_plane_means_no_contact() -> None:
    h = vessel_hint(hints_from_segmentation(tube(360, gap=2.0), NAMES))
    assert h.value == 0.0
    assert h.suggestion == "absent" and "separation" in h.text


def test_horizontal_vessel_is_cut_across_its_own_axis() -> None:
    """A renal vein running along x: cross-sections are taken on x, not on axial slices."""
    sp = (1.0, 1.0, 1.0)
    z, y, x = _coords((40, 48, 48), sp)
    cz, cy = 24.2, 23.7
    r, th = np.hypot(z - cz, y - cy), np.degrees(np.arctan2(z - cz, y - cy)) % 360
    lab = np.zeros(x.shape, np.uint8)
    lab[r <= 4.5] = 9
    lab[(r > 4.5) & (r <= 10) & (th < 180) & (x > 10) & (x < 30)] = 1
    h = vessel_hint(hints_from_segmentation(_image(lab, sp), NAMES), "renal_vein")
    assert h.measurements["slicing_axis"] == 2  # array axis x
    assert h.value == pytest.approx(0.5, abs=0.10)
    assert h.idrf_ids == ("abdomen_renal_pedicle_invasion",)


def test_vein_flattening_detected_and_not_called_encasement() -> None:
    sp = (1.0, 1.0, 1.0)
    z, y, x = _coords((48, 48, 20), sp)
    cx, cy = 24.0, 24.0
    lab = np.zeros(x.shape, np.uint8)
    round_ = np.hypot(x - cx, y - cy) <= 5
    flat = ((x - cx) / 8.0) ** 2 + ((y - cy) / 2.5) ** 2 <= 1
    lab[:10][round_[:10]] = 3
    lab[10:][flat[10:]] = 3
    shell = (y > cy + 2.5) & (y <= cy + 9) & (np.abs(x - cx) < 7) & (z >= 10)
    lab[shell & (lab == 0)] = 1
    hints = hints_from_segmentation(_image(lab, sp), NAMES)
    enc = vessel_hint(hints, "ivc")
    assert enc.value < 0.5 and enc.suggestion == "absent"
    fl = next(h for h in hints if h.kind == "flattening")
    assert fl.suggestion == "review" and fl.measurements["aspect_ratio"] < 0.6
    assert "flattening" in fl.text


def test_vein_without_lumen_is_encasement() -> None:
    sp = (1.0, 1.0, 1.0)
    _, y, x = _coords((48, 48, 20), sp)
    r = np.hypot(x - 24, y - 24)
    lab = np.zeros(x.shape, np.uint8)
    lab[r <= 5] = 3
    lab[6:14][(r > 5)[6:14] & (r <= 11)[6:14]] = 1
    lab[8:12][(r <= 11)[8:12]] = 1  # vein compressed away on four slices
    h = vessel_hint(hints_from_segmentation(_image(lab, sp), NAMES), "ivc")
    assert h.measurements["occluded_cross_sections"] == 4
    assert h.suggestion == "present" and "no lumen" in h.text


def _spine(tumour_x: tuple[float, float], canal_bite: bool = False) -> sitk.Image:
    sp = (1.0, 1.0, 2.0)
    z, y, x = _coords((80, 64, 20), sp)
    mid, vy = 40.0, 40.0
    lab = np.zeros(x.shape, np.uint8)
    lab[np.hypot(x - mid, y - vy) <= 8] = 4
    canal = np.hypot(x - mid, y - (vy + 13)) <= 4.5
    lab[(np.hypot(x - mid, y - (vy + 13)) <= 7.5) & ~canal] = 4
    lab[canal] = 7
    lo, hi = tumour_x
    lab[(x >= mid + lo) & (x <= mid + hi) & (y >= 10) & (y <= 28) & (z >= 10) & (z <= 28)] = 1
    if canal_bite:  # dumbbell: tumour through the left foramen filling the left half of the canal
        lab[canal & (x >= mid) & (z >= 14) & (z <= 20)] = 1
        lab[(x >= mid + 4) & (x <= mid + 25) & (np.abs(y - (vy + 13)) <= 2) & (z >= 14) & (z <= 20)] = 1
    return _image(lab, sp)


@pytest.mark.parametrize(
    ("tumour_x", "crossing", "suggestion"),
    [((5.0, 30.0), 0.0, "absent"), ((-10.0, 30.0), 10.0, "present"), ((-30.0, -4.0), 0.0, "absent")],
)
def test_midline_crossing_both_ways(tumour_x: tuple[float, float], crossing: float, suggestion: str) -> None:
    h = next(h for h in hints_from_segmentation(_spine(tumour_x), NAMES) if h.kind == "midline")
    assert h.value == pytest.approx(crossing, abs=1.01)
    assert h.suggestion == suggestion
    assert h.finding_ids == ("midline_crossing",) and h.idrf_ids == ()
    if crossing:
        assert h.measurements["beyond_opposite_edge_mm"] == pytest.approx(2.0, abs=1.01)
        assert "right-sided" not in h.text


def test_spinal_canal_extension_both_ways() -> None:
    inside = hints_from_segmentation(_spine((5.0, 30.0), canal_bite=True), NAMES)
    occ = next(h for h in inside if h.kind == "canal_occupancy")
    anyx = next(h for h in inside if h.kind == "canal_extension")
    assert occ.value == pytest.approx(0.5, abs=0.10)
    assert occ.suggestion == "present" and occ.idrf_ids == ("intraspinal_extension",)
    assert anyx.suggestion == "present" and anyx.finding_ids == ("intraspinal_extension_any",)
    outside = hints_from_segmentation(_spine((5.0, 30.0)), NAMES)
    assert [h.suggestion for h in outside if h.kind.startswith("canal")] == ["absent", "absent"]
    assert next(h for h in outside if h.kind == "canal_occupancy").value == 0.0


def test_canal_with_overlapping_segments() -> None:
    """Slicer segments may overlap: the canal segment stays whole under the tumour."""
    sp = (1.0, 1.0, 1.0)
    z, y, x = _coords((40, 40, 20), sp)
    canal = np.hypot(x - 20, y - 20) <= 5
    tum = (x >= 20) & (x <= 35) & (np.abs(y - 20) <= 10) & (z >= 5) & (z <= 12)
    masks = {}
    for name, m in (("Tumor", tum), ("Spinal canal", canal)):
        masks[name] = _image(m, sp)
    h = next(h for h in hints_from_masks(masks) if h.kind == "canal_occupancy")
    assert h.value == pytest.approx(0.5, abs=0.10)


@pytest.mark.parametrize(("dx", "suggestion"), [(30.0, "absent"), (17.0, "review"), (5.0, "present")])
def test_organ_contact_and_intrusion(dx: float, suggestion: str) -> None:
    sp = (1.0, 1.0, 1.0)
    z, y, x = _coords((64, 40, 40), sp)
    lab = np.zeros(x.shape, np.uint8)
    lab[np.hypot(np.hypot(x - 20, y - 20), z - 20) <= 10] = 5
    lab[np.hypot(np.hypot(x - 20 - dx, y - 20), z - 20) <= 8] = 1
    h = next(h for h in hints_from_segmentation(_image(lab, sp), NAMES) if h.structure == "kidney_left")
    assert h.suggestion == suggestion
    assert h.idrf_ids == ("adjacent_organ_infiltration",)
    assert (h.measurements["contact_mm2"] > 0) == (dx < 30)


def test_names_are_classified() -> None:
    assert classify("Coeliac trunk").idrf_ids == ("abdomen_celiac_sma_origin_encasement",)
    assert classify("SMA").idrf_ids[0] == "abdomen_celiac_sma_origin_encasement"
    assert classify("inferior_vena_cava").vessel_type == "vein"
    assert classify("vertebral_artery_left").kind == "vessel"
    assert classify("vertebrae_L1").kind == "vertebra"
    assert classify("Tumor").kind == "tumour"
    assert classify("renal artery right").idrf_ids == ("abdomen_renal_pedicle_invasion",)
    assert classify("spleen") is None
    valid = set(all_item_ids())
    for name in (
        "aorta",
        "ivc",
        "celiac",
        "sma",
        "smv",
        "renal_vein",
        "iliac_artery",
        "portal_vein",
        "carotid",
        "jugular",
        "subclavian_vein",
        "trachea",
        "kidney",
        "liver",
        "pancreas",
        "spinal_canal",
    ):
        assert set(classify(name).idrf_ids) <= valid, name


def test_phantom_structures_give_hints_for_every_structure() -> None:
    from nbrisk.synthetic.phantom import STRUCTURES, PhantomSpec, make_phantom

    ph = make_phantom(
        PhantomSpec(tumour_offset_mm=(14.0, -4.0, 0.0), tumour_radius_mm=(17.0, 15.0, 14.0)), seed=3
    )
    hints = hints_from_segmentation(ph.structures, {v: k for k, v in STRUCTURES.items()})
    kinds = {(h.kind, h.structure) for h in hints}
    assert ("vessel_encasement", "aorta") in kinds and ("vessel_encasement", "ivc") in kinds
    assert ("midline", "vertebra") in kinds and ("organ_infiltration", "liver") in kinds
    aorta = vessel_hint(hints)
    assert aorta.value > 0  # this tumour touches the aorta
    valid = set(all_item_ids())
    assert all(set(h.item_ids) <= valid and h.item_ids for h in hints)


def test_missing_tumour_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="tumour"):
        hints_from_segmentation(tube(90), {2: "aorta"})


def test_hints_do_not_depend_on_storage_orientation() -> None:
    """The same anatomy stored with permuted/flipped axes (e.g. a sagittal MRI) gives the same hints."""
    img = _spine((-10.0, 30.0), canal_bite=True)
    stored = sitk.Flip(sitk.PermuteAxes(img, [2, 0, 1]), [False, True, False])
    assert stored.GetDirection() != img.GetDirection()
    a = {(h.kind, h.structure): h for h in hints_from_segmentation(img, NAMES)}
    b = {(h.kind, h.structure): h for h in hints_from_segmentation(stored, NAMES)}
    assert a.keys() == b.keys()
    for key, h in a.items():
        assert b[key].value == pytest.approx(h.value, abs=1e-6), key
        assert b[key].suggestion == h.suggestion
    ev = b[("canal_occupancy", "spinal_canal")].evidence
    k = stored.TransformPhysicalPointToIndex(ev.point_lps)[2]
    assert ev.slice == k and f"slice {k}," in b[("canal_occupancy", "spinal_canal")].text


def test_layered_seg_nrrd_with_overlapping_segments(tmp_path) -> None:
    """A Slicer segmentation with two layers (tumour overlapping the canal) is read in one pass per layer."""
    import nrrd
    from nbrisk.io.structures import read_structures

    z, y, x = np.meshgrid(np.arange(20), np.arange(40), np.arange(40), indexing="ij")
    canal = np.hypot(x - 20, y - 20) <= 5
    tum = (x >= 20) & (x <= 35) & (np.abs(y - 20) <= 10) & (z >= 5) & (z <= 12)
    hdr = {
        "space": "left-posterior-superior",
        "space origin": [0.0, 0.0, 0.0],
        "space directions": [[np.nan] * 3, [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]],
        "kinds": ["list", "domain", "domain", "domain"],
    }
    for i, (name, label, layer) in enumerate([("Tumor", 1, 0), ("Spinal canal", 1, 1), ("Aorta", 2, 1)]):
        hdr.update(
            {
                f"Segment{i}_ID": f"S{i}",
                f"Segment{i}_Name": name,
                f"Segment{i}_LabelValue": str(label),
                f"Segment{i}_Layer": str(layer),
            }
        )
    path = tmp_path / "layers.seg.nrrd"
    nrrd.write(str(path), np.transpose(np.stack([tum, canal]).astype(np.uint8), (0, 3, 2, 1)), hdr)
    masks = read_structures(path, sitk.Image(40, 40, 20, sitk.sitkUInt8))
    assert set(masks) == {"Tumor", "Spinal canal"}  # the empty Aorta segment is skipped
    assert int(sitk.GetArrayFromImage(masks["Spinal canal"]).sum()) == int(canal.sum())
    occ = next(h for h in hints_from_masks(masks) if h.kind == "canal_occupancy")
    assert occ.value == pytest.approx(0.5, abs=0.10)
