"""Interactive segmentation (nbrisk.segmentation.interactive): clicks, painted seeds, box, state reuse, CLI."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from nbrisk.cli import main
from nbrisk.errors import InputError
from nbrisk.reproducibility.agreement import compare_masks
from nbrisk.segmentation.grow import grow_from_seeds
from nbrisk.segmentation.interactive import InteractiveParams, Prompts, segment_interactive
from nbrisk.synthetic.phantom import PhantomSpec, make_phantom


@pytest.fixture(scope="module")
def ct_phantom():
    return make_phantom(PhantomSpec(modality="ct"), seed=1)


def _two_spheres(seed=0):
    """Two 12 mm spheres (70 HU over 40 HU, noise 10) joined by a neck; origin negative in x and z."""
    rng = np.random.default_rng(seed)
    spacing = (0.8, 0.8, 2.5)
    shape = (32, 96, 112)
    z, y, x = np.meshgrid(
        *(np.arange(n) * s for n, s in zip(shape, spacing[::-1], strict=True)), indexing="ij"
    )
    c1, c2 = np.array([40.0, 38.0, 40.0]), np.array([78.0, 38.0, 40.0])
    s1 = (x - c1[0]) ** 2 + (y - c1[1]) ** 2 + (z - c1[2]) ** 2 <= 144.0
    s2 = (x - c2[0]) ** 2 + (y - c2[1]) ** 2 + (z - c2[2]) ** 2 <= 144.0
    neck = (np.abs(y - c1[1]) <= 7.0) & (np.abs(z - c1[2]) <= 7.0) & (x > c1[0]) & (x < c2[0])
    arr = np.full(shape, 40.0) + 10.0 * rng.standard_normal(shape)
    arr[s1 | s2 | neck] += 60.0
    img = sitk.GetImageFromArray(arr.astype(np.float32))
    img.SetSpacing(spacing)
    img.SetOrigin((-60.0, 10.0, -45.0))
    truth = sitk.GetImageFromArray(s1.astype(np.uint8))
    truth.CopyInformation(img)
    o = np.array(img.GetOrigin())
    return img, truth, tuple(o + c1), tuple(o + c2)


def _strokes(img: sitk.Image, tumour_pts, background_pts, half=2):
    """A seed labelmap with small painted squares (label 1 tumour, 2 background) around the points."""
    lm = np.zeros(img.GetSize()[::-1], np.uint8)
    for pts, label in ((tumour_pts, 1), (background_pts, 2)):
        for p in pts:
            i, j, k = img.TransformPhysicalPointToIndex(p)
            lm[k, j - half : j + half + 1, i - 3 * half : i + 3 * half + 1] = (
                label  # a short horizontal stroke
            )
    out = sitk.GetImageFromArray(lm)
    out.CopyInformation(img)
    return out


def test_first_click_can_be_the_region_competition(ct_phantom):
    c = ct_phantom.tumour_centre_lps
    r = segment_interactive(ct_phantom.image, Prompts(tumour=[c]),
                            params=InteractiveParams(first_click="competition", shown_smooth_mm=0.0))
    ref = grow_from_seeds(ct_phantom.image, [c])
    assert np.array_equal(sitk.GetArrayViewFromImage(r.mask), sitk.GetArrayViewFromImage(ref))
    assert compare_masks(ct_phantom.tumour, r.mask)["dice"] >= 0.85
    assert (r.n_tumour_seeds, r.n_background_seeds) == (1, 0)


def test_painted_strokes_split_two_touching_objects():
    """The geodesic competition of painted seeds alone: a background stroke in the neighbour keeps it out."""
    img, truth, c1, c2 = _two_spheres()
    geo = InteractiveParams(first_click="geodesic")
    lm = _strokes(img, [c1], [c2])
    r = segment_interactive(img, Prompts(labelmap=lm), params=geo)
    m = compare_masks(truth, r.mask)
    assert m["dice"] >= 0.8
    assert sitk.GetArrayViewFromImage(r.mask)[tuple(img.TransformPhysicalPointToIndex(c2))[::-1]] == 0
    assert (r.n_tumour_seeds, r.n_background_seeds) == (1, 1)  # one painted component of each label
    # without the background stroke the tumour front takes both spheres
    alone = segment_interactive(img, Prompts(labelmap=_strokes(img, [c1], [])), params=geo)
    assert compare_masks(truth, alone.mask)["fpr_m"] > 0.5


def test_a_stroke_alone_grows_a_first_region_like_a_click():
    """By default painted tumour seeds without a click anchor the graph cut at the painted voxel nearest their
    centre, and then correct that region as later clicks do (the panel's painted-only grow)."""
    img, truth, c1, _ = _two_spheres()
    r = segment_interactive(img, Prompts(labelmap=_strokes(img, [c1], [])))
    m = compare_masks(truth, r.mask)
    assert m["dice"] >= 0.85 and m["fpr_m"] < 0.2
    assert (r.n_tumour_seeds, r.n_background_seeds) == (1, 0)


def test_background_click_corrects_locally_and_reuses_the_state():
    img, truth, c1, c2 = _two_spheres()
    first = segment_interactive(img, Prompts(tumour=[c1]), params=InteractiveParams(first_click="geodesic"))
    leaked = compare_masks(truth, first.mask)
    assert leaked["fpr_m"] > 0.5  # one click takes the neck and the second sphere
    second = segment_interactive(
        img, Prompts(tumour=[c1], background=[c2]), first.state, InteractiveParams(first_click="geodesic")
    )
    assert second.state.smooth is first.state.smooth  # the features were not recomputed
    fixed = compare_masks(truth, second.mask)
    assert fixed["dice"] >= 0.8 and fixed["dice"] > leaked["dice"] + 0.1
    assert fixed["fpr_m"] < 0.5


def test_box_keeps_the_mask_inside(ct_phantom):
    c = ct_phantom.tumour_centre_lps
    box = (c[0] - 30, c[1] - 30, c[2] - 30, c[0] + 8, c[1] + 30, c[2] + 30)  # cuts the tumour at x + 8 mm
    r = segment_interactive(ct_phantom.image, Prompts(tumour=[c, (c[0] - 5, c[1], c[2])], box=box))
    arr = sitk.GetArrayViewFromImage(r.mask)
    xs = np.nonzero(arr.any(axis=(0, 1)))[0]
    assert ct_phantom.image.TransformIndexToPhysicalPoint((int(xs.max()), 0, 0))[0] <= c[0] + 8 + 1.0
    assert arr.sum() > 100


def test_refuses_bad_prompts(ct_phantom):
    img = ct_phantom.image
    c = ct_phantom.tumour_centre_lps
    with pytest.raises(InputError, match="no tumour seed"):
        segment_interactive(img, Prompts(background=[c]))
    with pytest.raises(InputError, match="outside the image"):
        segment_interactive(img, Prompts(tumour=[(500.0, 0.0, 0.0)]))
    with pytest.raises(InputError, match="air"):
        segment_interactive(img, Prompts(tumour=[img.TransformIndexToPhysicalPoint((2, 2, 20))]))
    with pytest.raises(InputError, match="outside the box"):
        segment_interactive(
            img, Prompts(tumour=[c], box=(c[0] + 5, c[1] - 5, c[2] - 5, c[0] + 20, c[1] + 5, c[2] + 5))
        )
    small = sitk.Image([8, 8, 8], sitk.sitkUInt8)
    with pytest.raises(InputError, match="not on the image grid"):
        segment_interactive(img, Prompts(labelmap=small))
    empty = sitk.Image(img.GetSize(), sitk.sitkUInt8)
    empty.CopyInformation(img)
    with pytest.raises(InputError, match="no voxel of the tumour label"):
        segment_interactive(img, Prompts(labelmap=empty))


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_negative_coordinates_without_equals_sign(tmp_path, capsys):
    img, truth, c1, c2 = _two_spheres()
    assert c1[0] < 0 and c1[2] < 0  # the point the test types starts with a minus sign
    sitk.WriteImage(img, str(tmp_path / "img.nrrd"))
    rc = main(
        [
            "segment",
            "--image",
            str(tmp_path / "img.nrrd"),
            "--seed-lps",
            str(c1[0]),
            str(c1[1]),
            str(c1[2]),
            "--background-lps",
            f"{c2[0]},{c2[1]},{c2[2]}",
            "--out",
            str(tmp_path / "a.nrrd"),
        ]
    )
    assert rc == 0
    assert "1 tumour seed(s), 1 background" in capsys.readouterr().out
    same = segment_interactive(img, Prompts(tumour=[c1], background=[c2])).mask  # the CLI parsed the points
    got = sitk.ReadImage(str(tmp_path / "a.nrrd"))
    assert np.array_equal(sitk.GetArrayViewFromImage(got), sitk.GetArrayViewFromImage(same))
    assert compare_masks(truth, got)["dice"] >= 0.6
    rc = main(
        [
            "segment",
            "--image",
            str(tmp_path / "img.nrrd"),
            "--seed-lps",
            f"{c1[0]},{c1[1]},{c1[2]}",
            "--method",
            "competition",
            "--out",
            str(tmp_path / "b.nrrd"),
        ]
    )
    assert rc == 0 and (tmp_path / "b.nrrd").exists()


def test_cli_painted_seed_labelmap(tmp_path, capsys):
    img, truth, c1, c2 = _two_spheres()
    sitk.WriteImage(img, str(tmp_path / "img.nrrd"))
    lm = _strokes(img, [c1], [c2])
    lm = sitk.ChangeLabel(lm, {1: 5, 2: 7})
    sitk.WriteImage(lm, str(tmp_path / "seeds.nrrd"))
    rc = main(
        [
            "segment",
            "--image",
            str(tmp_path / "img.nrrd"),
            "--seed-labelmap",
            str(tmp_path / "seeds.nrrd"),
            "--tumour-label",
            "5",
            "--background-label",
            "7",
            "--out",
            str(tmp_path / "roi.nrrd"),
        ]
    )
    assert rc == 0
    assert "1 tumour seed(s), 1 background" in capsys.readouterr().out
    assert compare_masks(truth, sitk.ReadImage(str(tmp_path / "roi.nrrd")))["dice"] >= 0.8
    rc = main(
        [
            "segment",
            "--image",
            str(tmp_path / "img.nrrd"),
            "--seed-labelmap",
            str(tmp_path / "seeds.nrrd"),
            "--out",
            str(tmp_path / "bad.nrrd"),
        ]
    )  # labels 1/2 are not in it
    err = capsys.readouterr().err
    assert (
        rc == 2 and "seeds.nrrd" in err and "no voxel of the tumour label 1" in err and err.count("\n") == 1
    )
    assert not (tmp_path / "bad.nrrd").exists()


def test_painted_strokes_correct_the_first_click():
    """A click gives the region competition's (short) first region; a painted tumour stroke across the tumour
    and a background stroke in the neighbour extend and guard it, as a reader does in the Segment Editor.
    (The default first click, the graph cut, already finds this sphere: Dice 0.95.)"""
    img, truth, c1, c2 = _two_spheres()
    rc = InteractiveParams(first_click="competition")
    first = segment_interactive(img, Prompts(tumour=[c1]), params=rc)
    assert compare_masks(truth, first.mask)["dice"] < 0.75  # under-segmented
    lm = np.zeros(img.GetSize()[::-1], np.uint8)
    i, j, k = img.TransformPhysicalPointToIndex(c1)
    lm[k - 2 : k + 3, j - 8 : j + 9, i - 8 : i + 9] = 1  # 1445 painted tumour voxels
    i, j, k = img.TransformPhysicalPointToIndex(c2)
    lm[k - 1 : k + 2, j - 5 : j + 6, i - 5 : i + 6] = 2
    strokes = sitk.GetImageFromArray(lm)
    strokes.CopyInformation(img)
    r = segment_interactive(img, Prompts(tumour=[c1], labelmap=strokes), first.state, rc)
    assert compare_masks(truth, r.mask)["dice"] >= 0.9
    assert sitk.GetArrayViewFromImage(r.mask)[tuple(img.TransformPhysicalPointToIndex(c2))[::-1]] == 0
    assert (r.n_tumour_seeds, r.n_background_seeds) == (2, 1)  # the click and one stroke; one stroke
    # the strokes erased, a background click added: what the strokes did is gone (no stale mask in the state)
    q = (c2[0], c2[1], c2[2])
    after = segment_interactive(img, Prompts(tumour=[c1], background=[q]), r.state, rc)
    fresh = segment_interactive(img, Prompts(tumour=[c1], background=[q]), params=rc)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(after.mask), sitk.GetArrayFromImage(fresh.mask))
    assert compare_masks(truth, after.mask)["dice"] < 0.9


def test_the_first_regions_leak_warning_is_returned_with_every_later_result(tmp_path):
    """The demo's case001, venous phase, leaks from one click (the region competition's guard catches it): the
    warning is in the result's notes for the panel, also after a later click reuses the cached first region;
    the arterial phase raises none. (With the thirteenth round's wider seed sphere this competition no longer
    reaches its block's side, and the one-click Dice falls from 0.88 to 0.66 with no note: the scene keeps the
    5 mm sphere, where it leaks.)"""
    import csv

    from nbrisk.synthetic.phantom import make_cohort

    manifest = make_cohort(tmp_path, 1, seed=0, modality="ct", phases=("arterial", "venous"))  # as the demo
    with open(manifest.parent / "seeds.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    seed = (float(row["x"]), float(row["y"]), float(row["z"]))
    truth = sitk.ReadImage(str(tmp_path / "case001_mask.nrrd"))
    venous = sitk.ReadImage(str(tmp_path / "case001_venous.nrrd"))
    five = InteractiveParams(seed_radius_max_mm=5.0)
    first = segment_interactive(venous, Prompts(tumour=[seed]), params=five)
    assert len(first.notes) == 1 and "leaked" in first.notes[0]
    # the note is about the graph cut's region (before the display smoothing), not the competition's mask inside it
    sp = venous.GetSpacing()
    ml = float(first.state.prior.sum()) * sp[0] * sp[1] * sp[2] / 1000.0
    assert f"({ml:.1f} ml;" in first.notes[0] and "voxels" not in first.notes[0]
    assert compare_masks(truth, first.mask)["dice"] > 0.8
    later = segment_interactive(venous, Prompts(tumour=[seed], background=[(seed[0] + 30.0, seed[1], seed[2])]),
                                first.state, five)
    assert later.notes == first.notes
    arterial = sitk.ReadImage(str(tmp_path / "case001_arterial.nrrd"))
    assert segment_interactive(arterial, Prompts(tumour=[seed]), params=five).notes == []


@pytest.mark.parametrize("method", ["geodesic", "competition"])
@pytest.mark.parametrize("box", [None, "20,20,10,50,50,30"])
def test_a_uniform_image_is_a_one_line_error_naming_the_file(tmp_path, capsys, method, box):
    """A blank series (one value everywhere around the seed) has nothing to segment: it used to give the whole
    working region (121 ml here, with a leak warning) or the box's ellipsoid; now exit 2, the file named, no
    output. A noisy image of the same level still segments."""
    img = sitk.GetImageFromArray(np.full((20, 60, 60), 40.0, np.float32))
    img.SetSpacing((1.0, 1.0, 2.0))
    path = tmp_path / "blank.nrrd"
    sitk.WriteImage(img, str(path))
    args = ["segment", "--image", str(path), "--seed-lps", "30,30,20", "--method", method,
            "--out", str(tmp_path / "roi.nrrd")] + (["--box-lps", box] if box else [])
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "uniform (40 everywhere)" in err
    assert "Traceback" not in err and not (tmp_path / "roi.nrrd").exists()
    with pytest.raises(InputError, match="uniform"):
        segment_interactive(img, Prompts(tumour=[(30.0, 30.0, 20.0)]))
    with pytest.raises(InputError, match="uniform"):
        grow_from_seeds(img, [(30.0, 30.0, 20.0)])
    noisy = sitk.GetImageFromArray((40 + np.random.default_rng(0).standard_normal((20, 60, 60))).astype(np.float32))
    noisy.CopyInformation(img)
    sitk.WriteImage(noisy, str(path))
    assert main(args) == 0 and (tmp_path / "roi.nrrd").exists()


def _iso_dense_case():
    """A tumour as dense as its surroundings (noise only; the IBSI sarcoma CTs' problem) and a box drawn 8 mm too
    long on +x: the first click's region follows the box's shape and overshoots there."""
    rng = np.random.default_rng(0)
    shape, sp = (30, 90, 90), np.array([2.0, 1.0, 1.0])
    img = sitk.GetImageFromArray((40 + 10 * rng.standard_normal(shape)).astype(np.float32))
    img.SetSpacing((1.0, 1.0, 2.0))
    z, y, x = np.indices(shape) * sp[:, None, None, None]
    truth = ((x - 45) / 16) ** 2 + ((y - 45) / 16) ** 2 + ((z - 30) / 14) ** 2 <= 1
    return img, truth, sp, (26.0, 26.0, 13.0, 72.0, 64.0, 47.0)


def _deepest_false_positive(mask, truth, sp):
    from scipy import ndimage

    lab, _ = ndimage.label(mask & ~truth)
    big = lab == int(np.argmax(np.bincount(lab.ravel())[1:])) + 1
    dt = ndimage.distance_transform_edt(big, sampling=sp)
    q = np.unravel_index(int(np.argmax(dt)), dt.shape)
    return tuple(float(v) for v in (np.array(q) * sp)[::-1])


def test_background_clicks_push_the_border_where_the_image_shows_none():
    """Where the image has no edge, a background click pushes the border of the mask shown in by twice its depth
    (tapering away from the click); the geodesic alone cannot tell tumour from tissue there. Three clicks, each at
    the deepest false-positive point: Dice 0.77 -> 0.85 -> 0.88 -> 0.88, against 0.81 / 0.85 / 0.87 with the
    order-free geodesic corrections of issue 23's second round."""
    img, truth, sp, box = _iso_dense_case()
    dice = lambda m: 2 * float((m & truth).sum()) / float(m.sum() + truth.sum())  # noqa: E731
    got = {}
    for name, params in (("new", InteractiveParams()),
                         ("round2", InteractiveParams(sequential=False, correction="geodesic/geodesic"))):
        r = segment_interactive(img, Prompts([(45.0, 45.0, 30.0)], [], box), None, params)
        m, bg, trace = sitk.GetArrayFromImage(r.mask) > 0, [], []
        trace.append(dice(m))
        for _ in range(3):
            bg.append(_deepest_false_positive(m, truth, sp))
            r = segment_interactive(img, Prompts([(45.0, 45.0, 30.0)], list(bg), box), r.state, params)
            m = sitk.GetArrayFromImage(r.mask) > 0
            trace.append(dice(m))
        got[name] = trace
    assert got["new"][0] == got["round2"][0] < 0.78  # the same first region
    assert got["new"][1] > got["round2"][1] + 0.03 and got["new"][1] > 0.84
    assert got["new"][3] > 0.87 and got["new"][3] > got["round2"][3]


def test_corrections_act_on_the_mask_shown_and_a_fresh_call_replays_them():
    """With the state, each added click corrects the last mask; a fresh call (or one after a click moved) replays
    the clicks on the first region in order, tumour clicks first, against the geodesic result of all of them. The
    same clicks added one by one in that order come out nearly the same; a moved click is a fresh call exactly."""
    img, _truth, _sp, box = _iso_dense_case()
    t = [(45.0, 45.0, 30.0), (45.0, 30.0, 30.0)]
    b = [(68.0, 45.0, 30.0), (64.0, 45.0, 40.0)]
    r = segment_interactive(img, Prompts(t[:1], [], box))
    r = segment_interactive(img, Prompts(t, [], box), r.state)
    for k in (1, 2):
        r = segment_interactive(img, Prompts(t, b[:k], box), r.state)
    assert r.state.last is not None and len(r.state.last[2]) == 2  # the mask shown, after both background clicks
    step = sitk.GetArrayFromImage(r.mask) > 0
    fresh = sitk.GetArrayFromImage(segment_interactive(img, Prompts(t, b, box)).mask) > 0
    assert 2 * (step & fresh).sum() / (step.sum() + fresh.sum()) > 0.97
    assert not np.array_equal(step, sitk.GetArrayFromImage(segment_interactive(img, Prompts(t, b[:1], box)).mask))
    moved = [b[0], (64.0, 45.0, 20.0)]  # the second background click moved: not a continuation, replayed
    again = segment_interactive(img, Prompts(t, moved, box), r.state)
    fresh_moved = segment_interactive(img, Prompts(t, moved, box))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(again.mask), sitk.GetArrayFromImage(fresh_moved.mask))


def test_a_background_click_removes_a_rim_never_the_lesion():
    """The push is local and bounded: a click 2 mm inside a 10 mm sphere's border removes a cap near it. A click
    4 mm deep would remove over a fifth of it: with a box the geodesic result alone decides then (here: keep it
    all); without one the push is lowered until it removes at most a fifth, on the click's side, the click with it.
    A click at the centre keeps the lesion either way (no push deeper than the mask's own size)."""
    from nbrisk.segmentation.corrections import apply_click

    sp = np.array([1.0, 1.0, 1.0])
    z, y, x = np.indices((31, 31, 31)).astype(float)
    sphere = (x - 15) ** 2 + (y - 15) ** 2 + (z - 15) ** 2 <= 100
    p, none = InteractiveParams(), np.zeros((0, 3))
    rim = apply_click(sphere, sphere, np.array([15.0, 15.0, 23.0]), False, sp, p, np.array([[15.0, 15, 15]]), none)
    removed = sphere & ~rim
    assert 0 < removed.sum() <= 0.2 * sphere.sum() and not (rim & ~sphere).any()
    assert (x[removed] > 15).all()  # on the click's side only
    click = np.array([15.0, 15.0, 21.0])
    np.testing.assert_array_equal(apply_click(sphere, sphere, click, False, sp, p, none, none, boxed=True), sphere)
    no_box = apply_click(sphere, sphere, click, False, sp, p, none, none, boxed=False)
    removed = sphere & ~no_box
    assert 0.05 * sphere.sum() < removed.sum() <= 0.2 * sphere.sum() and not no_box[15, 15, 21]
    assert (x[removed] > 15).all()
    old = apply_click(sphere, sphere, click, False, sp, InteractiveParams(deform_over="geodesic"), none, none)
    np.testing.assert_array_equal(old, sphere)  # the fourth round's rule, with or without a box
    for boxed in (True, False):
        centre = apply_click(sphere, sphere, np.array([15.0, 15.0, 16.0]), False, sp, p, none, none, boxed=boxed)
        assert (sphere & ~centre).sum() < 0.05 * sphere.sum() and centre[15, 15, 15]
    with pytest.raises(ValueError, match="deform_over"):
        InteractiveParams(deform_over="lower")
    with pytest.raises(ValueError, match="correction"):
        InteractiveParams(correction="and")


@pytest.mark.parametrize("factor", [1.5, 3.0])
def test_stroke_zone_radius_follows_its_parameter(factor):
    """A painted stroke may change the mask within stroke_zone_factor x its depth + zone_add_mm of it, no farther."""
    from nbrisk.segmentation.corrections import stroke_zone

    sp = np.array([1.0, 1.0, 1.0])
    g = np.indices((41, 81, 41)).astype(float)
    first = ((g - np.array([20.0, 20.0, 20.0])[:, None, None, None]) ** 2).sum(0) <= 100.0  # r = 10 mm ball
    stroke = np.array([[20, 36, 20]])  # 6 mm outside its border
    p = InteractiveParams(stroke_zone_factor=factor)
    z = stroke_zone(first.shape, sp, stroke, first, False, p)
    rho = factor * 6.0 + p.zone_add_mm
    d = np.sqrt(((g - stroke[0][:, None, None, None]) ** 2).sum(0))
    assert z[d <= rho - 1.0].all()
    assert not z[d > rho + 1.0].any()


def _truth_box(truth: sitk.Image, margin_mm: float = 3.0) -> tuple[float, ...]:
    """The benchmark's box: the expert mask's bounding box + 3 mm, in LPS mm."""
    idx = np.argwhere(sitk.GetArrayViewFromImage(truth) > 0)
    lo = truth.TransformIndexToPhysicalPoint([int(v) for v in idx.min(axis=0)[::-1]])
    hi = truth.TransformIndexToPhysicalPoint([int(v) for v in idx.max(axis=0)[::-1]])
    return tuple(np.minimum(lo, hi) - margin_mm) + tuple(np.maximum(lo, hi) + margin_mm)


def test_the_mask_shown_is_smoothed_and_the_next_click_corrects_the_unsmoothed_one():
    """The graph cut and the corrections decide voxel by voxel and leave a ragged border; the mask shown is that
    result smoothed (Gaussian, sigma 1.5 mm, threshold one half). Measured on the four CT phantoms with a box after one
    click: 0.914-0.931 unsmoothed, 0.923-0.939 smoothed. The smoothing stays in the box, keeps the clicks on their
    side, and does not accumulate: the state keeps the unsmoothed result for the next click to correct."""
    gains = []
    for seed in (1, 2, 3, 4):
        ph = make_phantom(PhantomSpec(modality="ct"), seed=seed)
        c = ph.tumour_centre_lps
        box = _truth_box(ph.tumour)
        on = segment_interactive(ph.image, Prompts(tumour=[c], box=box))
        off = segment_interactive(ph.image, Prompts(tumour=[c], box=box), params=InteractiveParams(shown_smooth_mm=0))
        d_on, d_off = (compare_masks(ph.tumour, r.mask)["dice"] for r in (on, off))
        assert d_on >= 0.9
        gains.append(d_on - d_off)
        shown, raw = sitk.GetArrayViewFromImage(on.mask) > 0, sitk.GetArrayViewFromImage(off.mask) > 0
        assert not np.array_equal(shown, raw) and np.array_equal(on.state.prior, off.state.prior)
        # every voxel the smoothing changed lies on the unsmoothed result's border (within 2 voxels of it)
        band = ndimage.binary_dilation(raw, iterations=2) & ~ndimage.binary_erosion(raw, iterations=2)
        assert not np.any((shown != raw) & ~band)
    assert min(gains) > 0.0 and float(np.mean(gains)) >= 0.005
    # a second click: the mask shown is smoothed, the state's copy (what the next click corrects) is not
    ph = make_phantom(PhantomSpec(modality="ct"), seed=1)
    c = ph.tumour_centre_lps
    box = _truth_box(ph.tumour)
    bg = (box[0] + 2.0, box[1] + 2.0, c[2])  # a box corner: background
    r1 = segment_interactive(ph.image, Prompts(tumour=[c], box=box))
    r2 = segment_interactive(ph.image, Prompts(tumour=[c], background=[bg], box=box), r1.state)
    r2_off = segment_interactive(ph.image, Prompts(tumour=[c], background=[bg], box=box), r1.state,
                                 params=InteractiveParams(shown_smooth_mm=0))
    shown = sitk.GetArrayViewFromImage(r2.mask) > 0
    s0, s1 = r2.state.start, r2.state.stop
    kept = r2.state.last[3]
    assert np.array_equal(kept, (sitk.GetArrayViewFromImage(r2_off.mask) > 0)[s0[0]:s1[0], s0[1]:s1[1], s0[2]:s1[2]])
    assert not np.array_equal(kept, shown[s0[0]:s1[0], s0[1]:s1[1], s0[2]:s1[2]])
    for p, inside in ((c, True), (bg, False)):
        i = ph.image.TransformPhysicalPointToIndex(p)
        assert bool(shown[i[2], i[1], i[0]]) is inside
    lo = ph.image.TransformPhysicalPointToIndex(box[:3])
    hi = ph.image.TransformPhysicalPointToIndex(box[3:])
    nz = np.argwhere(shown)[:, ::-1]
    assert np.all(nz >= np.minimum(lo, hi)) and np.all(nz <= np.maximum(lo, hi))


def test_cli_smooth_mm_sets_the_smoothing_of_the_mask_written(tmp_path, capsys):
    """``nbrisk segment`` writes the smoothed mask by default (sigma 1.5 mm) and the unsmoothed one with
    ``--smooth-mm 0``: the same masks as the library's with those parameters."""
    ph = make_phantom(PhantomSpec(modality="ct"), seed=1)
    c = ph.tumour_centre_lps
    sitk.WriteImage(ph.image, str(tmp_path / "img.nrrd"))
    got = {}
    for smooth in (None, "0", "3"):
        out = tmp_path / f"m{smooth}.nrrd"
        argv = ["segment", "--image", str(tmp_path / "img.nrrd"), "--seed-lps", *(str(v) for v in c), "--out", str(out)]
        assert main(argv + ([] if smooth is None else ["--smooth-mm", smooth])) == 0
        got[smooth] = sitk.GetArrayFromImage(sitk.ReadImage(str(out))) > 0
    capsys.readouterr()
    for smooth, sigma in ((None, 1.5), ("0", 0.0), ("3", 3.0)):
        lib = segment_interactive(ph.image, Prompts(tumour=[c]), params=InteractiveParams(shown_smooth_mm=sigma)).mask
        assert np.array_equal(got[smooth], sitk.GetArrayViewFromImage(lib) > 0)
    assert not np.array_equal(got[None], got["0"]) and not np.array_equal(got[None], got["3"])


def test_cli_seed_radius_under_5_mm_keeps_the_first_clicks_5_mm_sphere(tmp_path, capsys):
    """``--seed-radius`` under 5 mm declares a small lesion: with the geodesic method the click's ball shrinks to it
    and the first click's competition keeps its 5 mm sphere (no widening, thirteenth round); a larger radius leaves
    the defaults. Same masks as the library's with those parameters, which differ here."""
    ph = make_phantom(PhantomSpec(modality="ct"), seed=1)
    c = ph.tumour_centre_lps
    sitk.WriteImage(ph.image, str(tmp_path / "img.nrrd"))
    got = {}
    for radius in ("3", "12"):
        out = tmp_path / f"m{radius}.nrrd"
        argv = ["segment", "--image", str(tmp_path / "img.nrrd"), "--seed-lps", *(str(v) for v in c),
                "--seed-radius", radius, "--out", str(out)]
        assert main(argv) == 0
        got[radius] = sitk.GetArrayFromImage(sitk.ReadImage(str(out))) > 0
    capsys.readouterr()
    small = InteractiveParams(click_radius_mm=2.0, seed_radius_max_mm=5.0)
    lib = {r: sitk.GetArrayFromImage(segment_interactive(ph.image, Prompts(tumour=[c]), params=q).mask) > 0
           for r, q in (("3", small), ("12", InteractiveParams()))}
    assert np.array_equal(got["3"], lib["3"]) and np.array_equal(got["12"], lib["12"])
    assert not np.array_equal(lib["3"], lib["12"])


def test_a_tumour_click_pushes_where_the_geodesic_result_or_the_model_agrees():
    """A tumour click 3 mm outside a 10 mm sphere: the pushed border would add a cap around it. The geodesic result
    (here: the sphere, nothing beyond) refused it all until the ninth round; now the push also adds where the per-case
    model does not refuse tumour (``ok``), and nowhere else."""
    from nbrisk.segmentation.corrections import apply_click

    sp = np.array([1.0, 1.0, 1.0])
    z, y, x = np.indices((31, 31, 41)).astype(float)
    sphere = (x - 15) ** 2 + (y - 15) ** 2 + (z - 15) ** 2 <= 100
    click, p, none = np.array([15.0, 15.0, 28.0]), InteractiveParams(), np.zeros((0, 3))
    t_all = np.array([[15.0, 15.0, 15.0], click])
    np.testing.assert_array_equal(apply_click(sphere, sphere, click, True, sp, p, t_all, none), sphere)
    every = apply_click(sphere, sphere, click, True, sp, p, t_all, none, ok=np.ones(sphere.shape, bool))
    added = every & ~sphere
    assert added[15, 15, 28] and added.sum() > 50 and (x[added] > 15).all()  # on the click's side
    half = y <= 15
    some = apply_click(sphere, sphere, click, True, sp, p, t_all, none, ok=half)
    np.testing.assert_array_equal(some & ~sphere, added & half)
    refused = apply_click(sphere, sphere, click, True, sp, p, t_all, none, ok=np.zeros(sphere.shape, bool))
    np.testing.assert_array_equal(refused, sphere)
    # the geodesic result's claims count as before, within the click's zone (2.5 x its 3 mm depth + 3 mm)
    mixed = apply_click(sphere, sphere | half, click, True, sp, p, t_all, none, ok=~half) & ~sphere
    near = (x - 28) ** 2 + (y - 15) ** 2 + (z - 15) ** 2 <= 10.5**2
    np.testing.assert_array_equal(mixed & near, added & near)
    np.testing.assert_array_equal(mixed & ~near, added & ~near & ~half)
    with pytest.raises(ValueError, match="tumour_model_p"):
        InteractiveParams(tumour_model_p=1.5)


@pytest.mark.parametrize("seed", [2, 4])
def test_tumour_clicks_reach_further_on_the_ct_phantoms_with_the_models_vote(bench, seed):
    """The benchmark's simulated reader, 5 clicks without a box, on the CT phantoms whose tumour differs from its
    surroundings by texture: the geodesic result stopped tumour pushes that the per-case model accepts. Measured
    (tune): phantom ct2 0.930 -> 0.943, ct4 0.937 -> 0.944 after 5 clicks (round8f: the eighth round's rule). Both
    with the first click's 5 mm seed sphere (round8f pins it; the thirteenth round widened it), so that the vote is
    all that differs."""
    ph = make_phantom(PhantomSpec(modality="ct"), seed=seed)
    img = sitk.Cast(ph.image, sitk.sitkFloat32)
    truth = bench._mask(ph.tumour, ph.image)
    five = InteractiveParams(seed_radius_max_mm=5.0)
    new = bench.run_case(img, truth, "new", "clicks", 5, 3.0, params=five)["dice"]
    old = bench.run_case(img, truth, "round8f", "clicks", 5, 3.0)["dice"]
    assert new[0] == old[0]  # the same first click
    assert bench.at(new, 5) >= 0.94 and bench.at(new, 5) >= bench.at(old, 5) + 0.005
