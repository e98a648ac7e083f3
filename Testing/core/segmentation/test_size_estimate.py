"""Without a box, correction clicks that re-size the first click's size ellipsoid (nbrisk.segmentation.size_estimate):
a tumour click outside it grows it (again, stretched, since the tenth round), a deep background click inside it
shrinks it (again since the tenth round), and the working block keeps that history when it is rebuilt."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from graph_cut_scenes import _SHAPE, _box, _ellipsoid_scene, _mask_image, _scene_image, _t1_sarcoma
from scipy import ndimage

from nbrisk.reproducibility.agreement import compare_masks
from nbrisk.segmentation import size_estimate as size
from nbrisk.segmentation.interactive import InteractiveParams, Prompts, segment_interactive


# ------------------------------------------------------------------------- a click outside the size estimate
def _shelled_t1_sarcoma(seed: int = 0):
    """The T1 sarcoma with an outer shell (550, beyond 0.55 of the radius) brighter than its core (350): the rays
    stop at the shell, so the first click's size ellipsoid holds the core only."""
    rng = np.random.default_rng(seed)
    _, _, _, rho = _ellipsoid_scene()
    tumour = rho <= 1.0
    patches = ndimage.gaussian_filter(rng.standard_normal(_SHAPE), (1.5 / 3.0, 1.5 / 0.9, 1.5 / 0.9))
    grain = 40.0 * patches / patches.std()
    arr = np.full(_SHAPE, 800.0)
    arr[tumour] = 550.0 + grain[tumour]
    core = np.sqrt(rho) <= 0.55
    arr[core] = 350.0 + grain[core]
    img, centre = _scene_image(arr + 15.0 * rng.standard_normal(_SHAPE))
    return img, tumour, centre


def _deepest_of_largest(img: sitk.Image, error: np.ndarray) -> tuple[float, ...]:
    """The benchmark reader's next click in an error region: the deepest point (LPS) of its largest component."""
    sp = np.array(img.GetSpacing())[::-1]
    lab, _ = ndimage.label(error)
    largest = lab == (int(np.argmax(np.bincount(lab.ravel())[1:])) + 1)
    k = np.unravel_index(int(np.argmax(ndimage.distance_transform_edt(largest, sampling=sp))), error.shape)
    return tuple(img.TransformIndexToPhysicalPoint([int(v) for v in k[::-1]]))


def _deepest_missed(img: sitk.Image, truth: np.ndarray, mask: np.ndarray) -> tuple[float, ...]:
    """The benchmark reader's next tumour click: the deepest point of the largest missed region."""
    return _deepest_of_largest(img, truth & ~mask)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_tumour_click_outside_the_rays_ellipsoid_grows_the_first_region(seed, monkeypatch):
    """One click finds the core (Dice 0.30); the second, in the shell, lies outside the rays' ellipsoid: the first
    region is cut again with the ellipsoid grown until the click is at 0.9 of its radius, and the click adds where
    that cut and the geodesic competition agree (0.65-0.67; 0.42-0.43 with grow_to=0, the local correction alone).
    With ``grow_again_outside=0`` (the ninth round) a third click outside does not grow it again; no click with a box
    grows it."""
    img, truth, c = _shelled_t1_sarcoma(seed)
    t = _mask_image(truth, img)
    dice = {}
    for grow_to in (0.9, 0.0):
        p = InteractiveParams(grow_to=grow_to)
        r1 = segment_interactive(img, Prompts([c]), params=p)
        assert compare_masks(t, r1.mask)["dice"] < 0.4
        c2 = _deepest_missed(img, truth, sitk.GetArrayFromImage(r1.mask) > 0)
        r2 = segment_interactive(img, Prompts([c, c2]), r1.state, params=p)
        dice[grow_to] = compare_masks(t, r2.mask)["dice"]
        assert (r2.state.grow_amat is not None) == (grow_to > 0)
    assert dice[0.9] >= 0.6 and dice[0.9] >= dice[0.0] + 0.15
    recuts = []
    real = size.first_region_detail
    monkeypatch.setattr(size, "first_region_detail", lambda *a, **k: recuts.append(k.get("size")) or real(*a, **k))
    once = InteractiveParams(grow_again_outside=0.0)
    r2 = segment_interactive(img, Prompts([c, c2]), r1.state, params=once)  # a fresh history (r1's state): one re-cut
    assert len([s for s in recuts if s is not None]) == 1
    c3 = _deepest_missed(img, truth, sitk.GetArrayFromImage(r2.mask) > 0)
    segment_interactive(img, Prompts([c, c2, c3]), r2.state, params=once)
    assert len([s for s in recuts if s is not None]) == 1
    recuts.clear()
    box = _box(img, truth)
    rb = segment_interactive(img, Prompts([c], box=box))
    segment_interactive(img, Prompts([c, c2], box=box), rb.state)
    assert all(s is None for s in recuts) and rb.state.grow_amat is None


def test_how_far_outside_a_click_must_be_depends_on_where_the_size_came_from():
    """Rays (MRI) under-estimate a heterogeneous tumour: any click outside their ellipsoid grows it. The
    competition's moments (CT) are usually right: only a click beyond 1.5 of their radius does (tune cases: on the
    CTs a lower threshold fired on local misses and cost STS_002 and STS_003 0.02-0.03)."""
    img, _, c = _t1_sarcoma(seed=2)
    r = segment_interactive(img, Prompts([c]))
    st = r.state
    assert st.prior_size is not None and st.prior_rays and st.prior_competition is not None
    centre, amat = st.prior_size
    sp = np.array(img.GetSpacing())[::-1]
    w, v = np.linalg.eigh(amat)
    axis = v[:, 0] / np.sqrt(w[0])  # the longest semi-axis, mm
    p = InteractiveParams()
    at = {k: (centre + k * axis) / sp for k in (0.8, 1.2, 1.7)}
    assert size.grown_region(img, c, at[0.8], st, p, "auto") is None
    assert size.grown_region(img, c, at[1.2], st, p, "auto") is not None
    st.prior_rays = False
    assert size.grown_region(img, c, at[1.2], st, p, "auto") is None
    assert size.grown_region(img, c, at[1.7], st, p, "auto") is not None
    assert size.grown_region(img, c, at[1.7], st, InteractiveParams(grow_to=0.0), "auto") is None


def test_a_second_growth_stretches_the_ellipsoid_along_the_click_only():
    """A later click beyond ``grow_again_outside`` of the grown ellipsoid grows it again: the click ends at
    ``grow_to`` of the new radius, the extent across the click's direction (A-conjugate directions) is kept, the
    matrix stays positive definite. A click within 0.9 of the grown ellipsoid does not grow it. The threshold is 0
    (off) or at least ``grow_to``."""
    img, _, c = _t1_sarcoma(seed=2)
    st = segment_interactive(img, Prompts([c])).state
    centre, amat = st.prior_size
    sp = np.array(img.GetSpacing())[::-1]
    w, v = np.linalg.eigh(amat)
    p = InteractiveParams()
    first = size.grown_region(img, c, (centre + 1.2 * v[:, 0] / np.sqrt(w[0])) / sp, st, p, "auto")
    assert first is not None
    grown = first[1]
    np.testing.assert_allclose(grown, amat * (0.9 / 1.2) ** 2)  # the first growth: the same shape, larger
    wg, vg = np.linalg.eigh(grown)
    d = vg[:, 1] / np.sqrt(wg[1]) + 0.3 * vg[:, 0] / np.sqrt(wg[0])  # a direction off the axes
    d /= np.sqrt(d @ grown @ d)  # unit ellipsoidal radius in the grown ellipsoid
    assert size.grown_region(img, c, (centre + 0.85 * d) / sp, st, p, "auto", grown) is None
    second = size.grown_region(img, c, (centre + 1.5 * d) / sp, st, p, "auto", grown)
    assert second is not None
    a2 = second[1]
    vv = 1.5 * d
    assert np.sqrt(vv @ a2 @ vv) == pytest.approx(0.9)
    across = np.cross(grown @ vv, [0.0, 0.0, 1.0])  # grown-conjugate to the click's direction: (A v) . x = 0
    assert across @ a2 @ across == pytest.approx(across @ grown @ across)
    assert np.all(np.linalg.eigvalsh(a2) > 0)
    with pytest.raises(ValueError, match="grow_again_outside"):  # below grow_to it would pull the ellipsoid in
        InteractiveParams(grow_again_outside=0.5)
    with pytest.raises(ValueError, match="grow_again_outside"):
        InteractiveParams(grow_again_outside=-1.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_later_clicks_beyond_the_grown_ellipsoid_grow_it_again(seed, monkeypatch):
    """The shelled T1 sarcoma, clicks only: after the first growth the next clicks still land in the shell, beyond
    the grown ellipsoid. Each stretches it along its direction and re-cuts (5 clicks: 0.795 / 0.798 against 0.761 /
    0.774 with one growth per history, ``grow_again_outside=0``)."""
    img, truth, c = _shelled_t1_sarcoma(seed)
    t = _mask_image(truth, img)
    recuts = []
    real = size.first_region_detail
    monkeypatch.setattr(size, "first_region_detail", lambda *a, **k: recuts.append(k.get("size")) or real(*a, **k))
    dice, n = {}, {}
    for again in (0.9, 0.0):
        recuts.clear()
        p = InteractiveParams(grow_again_outside=again)
        r = segment_interactive(img, Prompts([c]), params=p)
        clicks = [c]
        for _ in range(4):
            clicks.append(_deepest_missed(img, truth, sitk.GetArrayFromImage(r.mask) > 0))
            r = segment_interactive(img, Prompts(clicks), r.state, params=p)
        dice[again], n[again] = compare_masks(t, r.mask)["dice"], len([s for s in recuts if s is not None])
    assert n[0.0] == 1 and n[0.9] >= 2
    assert dice[0.9] >= dice[0.0] + 0.015


def test_a_rebuilt_block_keeps_the_history_of_growth_and_shrinking():
    """A click beyond the working block rebuilds it; what the history did so far (the grown ellipsoid, no more
    shrinking after a tumour click) stays with it."""
    img, truth, c = _shelled_t1_sarcoma(0)
    img = sitk.ConstantPad(img, [80, 80, 0], [0, 0, 0], 800.0)  # room beside the block (the muscle's intensity)
    truth = np.pad(truth, ((0, 0), (80, 0), (80, 0)))
    r = segment_interactive(img, Prompts([c]))
    c2 = _deepest_missed(img, truth, sitk.GetArrayFromImage(r.mask) > 0)
    r = segment_interactive(img, Prompts([c, c2]), r.state)
    assert r.state.grow_amat is not None and r.state.shrunk
    start = r.state.start.copy()
    far = img.TransformIndexToPhysicalPoint([0, 0, 0])  # outside the block: rebuilt around all clicks
    r2 = segment_interactive(img, Prompts([c, c2], [far]), r.state)
    assert np.any(r2.state.start < start)
    assert r2.state.shrunk and r2.state.grow_amat is not None


def test_no_growth_after_the_reader_said_the_region_is_too_large(monkeypatch):
    """A background click says the first region is too large, not too small: a tumour click outside the size
    ellipsoid after it does not grow the first region (report cases STS_014 and STS_024, T1 MRI: a late growth after
    background clicks added false tumour of 0.6-0.8 x the tumour's volume). Before any background click it does."""
    img, truth, c = _shelled_t1_sarcoma(0)
    r1 = segment_interactive(img, Prompts([c]))
    c2 = _deepest_missed(img, truth, sitk.GetArrayFromImage(r1.mask) > 0)
    zyx = np.argwhere(~ndimage.binary_dilation(truth, iterations=3))[0]
    b = tuple(img.TransformIndexToPhysicalPoint([int(v) for v in zyx[::-1]]))
    recuts = []
    real = size.first_region_detail
    monkeypatch.setattr(size, "first_region_detail", lambda *a, **k: recuts.append(k.get("size")) or real(*a, **k))
    masks = {}
    for before in (True, False):
        recuts.clear()
        p = InteractiveParams(grow_before_background=before)
        rb = segment_interactive(img, Prompts([c], [b]), r1.state, params=p)
        r = segment_interactive(img, Prompts([c, c2], [b]), rb.state, params=p)
        masks[before] = sitk.GetArrayFromImage(r.mask) > 0
        assert len([s for s in recuts if s is not None]) == (0 if before else 1)
    assert masks[True].sum() < masks[False].sum()


def test_only_an_early_click_grows_the_size_estimate(monkeypatch):
    """The size estimate says the first region's size; the evidence that it was too small comes with the first
    correction clicks. A tumour click outside the ellipsoid as the fifth click or later is a local miss: a late growth
    added false tissue of 0.47 x the tumour's volume on the tune STS_006's CT at its seventh click (Dice 0.81 -> 0.80;
    after 10 clicks 0.84, against 0.86 without it). Up to the fourth click it grows."""
    img, truth, c = _shelled_t1_sarcoma(0)
    r1 = segment_interactive(img, Prompts([c]))
    c2 = _deepest_missed(img, truth, sitk.GetArrayFromImage(r1.mask) > 0)
    near = [(c[0] + dx, c[1], c[2]) for dx in (-1.0, 1.0, 0.5)]  # tumour clicks inside the mask: nothing to grow
    recuts = []
    real = size.first_region_detail
    monkeypatch.setattr(size, "first_region_detail", lambda *a, **k: recuts.append(k.get("size")) or real(*a, **k))
    for n_near, limit, grows in ((3, 4, False), (3, 0, True), (2, 4, True)):
        recuts.clear()
        p = InteractiveParams(grow_max_click=limit)
        r = segment_interactive(img, Prompts([c, *near[:n_near]]), r1.state, params=p)
        r = segment_interactive(img, Prompts([c, *near[:n_near], c2]), r.state, params=p)  # click 2 + n_near
        assert (r.state.grow_amat is not None) == grows and len([s for s in recuts if s is not None]) == int(grows)
    assert InteractiveParams().grow_max_click == 4


def test_growth_on_a_one_slice_image():
    """One axial slice (in-plane rays, a flat size ellipsoid): the click in the shell still grows the first region
    (measured 0.47 -> 0.76 after 2 clicks), without an error."""
    img, truth, c = _shelled_t1_sarcoma(0)
    idx = img.TransformPhysicalPointToIndex(c)
    one, t1 = img[:, :, idx[2] : idx[2] + 1], truth[idx[2] : idx[2] + 1]
    c1 = one.TransformIndexToPhysicalPoint((idx[0], idx[1], 0))
    r1 = segment_interactive(one, Prompts([c1]))
    assert r1.state.prior_rays and r1.state.prior_size is not None
    c2 = _deepest_missed(one, t1, sitk.GetArrayFromImage(r1.mask) > 0)
    r2 = segment_interactive(one, Prompts([c1, c2]), r1.state)
    d1 = compare_masks(_mask_image(t1, one), r1.mask)["dice"]
    d2 = compare_masks(_mask_image(t1, one), r2.mask)["dice"]
    assert r2.state.grow_amat is not None and d2 >= 0.7 and d2 >= d1 + 0.2


# ------------------------------------------------------------------------- a background click inside the size estimate
def _deepest_false(img: sitk.Image, truth: np.ndarray, mask: np.ndarray) -> tuple[float, ...]:
    """The benchmark reader's next background click: the deepest point of the largest false region."""
    return _deepest_of_largest(img, mask & ~truth)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_deep_background_click_inside_the_size_ellipsoid_shrinks_the_first_region(seed, monkeypatch):
    """The T1 sarcoma beside muscle of its own intensity: the rays run into the muscle and the first region takes a
    slab of it (Dice 0.73-0.76). A background click deep in that slab, inside the rays' ellipsoid, says the size
    estimate was too large: the first region is cut again with the ellipsoid shrunk until the click lies on its border,
    and what that cut leaves out goes. After two background clicks measured 0.94 against 0.78-0.80 with shrinking off
    (the local corrections alone). Once per history; never with a box."""
    img, truth, c = _t1_sarcoma(seed, muscle_side=True)
    t = _mask_image(truth, img)
    recuts: list = []
    real = size.first_region_detail
    monkeypatch.setattr(size, "first_region_detail", lambda *a, **k: recuts.append(k.get("size")) or real(*a, **k))
    dice: dict[bool, float] = {}
    for on in (True, False):
        # the shrinking rule alone: the display smoothing (eighth round) moves the reader's second click here, to a
        # shallower point of the slab where no rule shrinks (0.83 after two clicks)
        # and without the fourteenth round's erosion of the whole mask at the second background click (with it: 0.91
        # against 0.85 here, the erosion taking part of what the shrinking did)
        p = InteractiveParams(shown_smooth_mm=0.0, shrink_to=1.1 if on else 0.0, shrink_to_rays=1.0 if on else 0.0,
                              background_erode=0.0)
        r = segment_interactive(img, Prompts([c]), params=p)
        assert r.state.prior_rays and 0.6 < compare_masks(t, r.mask)["dice"] < 0.8
        recuts.clear()
        bg: list = []
        for _ in range(2):
            bg.append(_deepest_false(img, truth, sitk.GetArrayFromImage(r.mask) > 0))
            r = segment_interactive(img, Prompts([c], list(bg)), r.state, params=p)
        dice[on] = compare_masks(t, r.mask)["dice"]
        assert (r.state.shrink_amat is not None) == on
        assert len([s for s in recuts if s is not None]) == (1 if on else 0)
    assert dice[True] >= 0.9 and dice[True] >= dice[False] + 0.08
    recuts.clear()
    box = _box(img, truth)
    rb = segment_interactive(img, Prompts([c], box=box))
    segment_interactive(img, Prompts([c], [bg[0]], box=box), rb.state)
    assert all(s is None for s in recuts)


def test_a_later_deep_background_click_inside_the_shrunk_ellipsoid_shrinks_it_again(monkeypatch):
    """Since the tenth round a background click after a shrinking (still before any tumour correction click) that is
    deep in the mask shown and inside the ellipsoid as that shrinking left it shrinks it again, same shape
    (``shrink_again``; False: once per history). A click outside the shrunk ellipsoid does not; a tumour correction
    click ends it. The rebuilt state carries the shrunk matrix."""
    img, truth, c = _t1_sarcoma(1, muscle_side=True)
    recuts: list = []
    real = size.first_region_detail
    monkeypatch.setattr(size, "first_region_detail", lambda *a, **k: recuts.append(k.get("size")) or real(*a, **k))
    sp = np.array(img.GetSpacing())[::-1]
    to_index = lambda q: np.array(img.TransformPhysicalPointToContinuousIndex(q))[::-1]  # noqa: E731
    to_lps = lambda zyx: tuple(img.TransformContinuousIndexToPhysicalPoint([float(v) for v in zyx[::-1]]))  # noqa: E731
    n: dict[bool, int] = {}
    for again in (True, False):
        p = InteractiveParams(shrink_again=again)
        r = segment_interactive(img, Prompts([c]), params=p)
        b1 = _deepest_false(img, truth, sitk.GetArrayFromImage(r.mask) > 0)
        recuts.clear()
        r = segment_interactive(img, Prompts([c], [b1]), r.state, params=p)
        st = r.state
        assert st.shrink_amat is not None and st.shrunk == (not again) and len(recuts) == 1
        centre = st.prior_size[0]
        d = to_index(b1) * sp - centre
        d /= np.sqrt(d @ st.shrink_amat @ d)  # unit radius in the shrunk ellipsoid, towards the first background click
        inner, outer = (centre + 0.3 * d) / sp, (centre + 1.2 * d) / sp
        assert size.size_radius(img, outer, st) < 1.0 < size.size_radius(img, outer, st, st.shrink_amat)
        shown = (sitk.GetArrayFromImage(r.mask) > 0)[tuple(slice(a, b) for a, b in zip(st.start, st.stop, strict=True))]
        assert size.shrunk_region(img, c, outer, shown, st, p, "auto", st.shrink_amat) is None
        got = size.shrunk_region(img, c, inner, shown, st, p, "auto", st.shrink_amat)
        assert got is not None
        np.testing.assert_allclose(got[1], st.shrink_amat / 0.3**2, rtol=1e-6)  # rays: the click at 1.0 of its radius
        recuts.clear()
        r2 = segment_interactive(img, Prompts([c], [b1, to_lps(inner)]), st, params=p)
        n[again] = len(recuts)
        if again:
            np.testing.assert_allclose(r2.state.shrink_amat, got[1])
            recuts.clear()  # after a tumour correction click, no more shrinking
            t2 = to_lps(to_index(c) + np.array([0.0, 2.0, 0.0]))
            r3 = segment_interactive(img, Prompts([c, t2], [b1, to_lps(inner)]), r2.state, params=p)
            r3 = segment_interactive(img, Prompts([c, t2], [b1, to_lps(inner), to_lps((centre + 0.2 * d) / sp)]),
                                     r3.state, params=p)
            assert r3.state.shrunk and len(recuts) == 0
    assert n == {True: 1, False: 0}


def test_which_background_clicks_shrink_the_size_estimate(monkeypatch):
    """Only a click deep in the mask shown (at least 0.2 x its equivalent radius from the border: the phantoms' and
    STS_002's CT's rim clicks lay at 0.10-0.14, and shrinking cost them up to 0.07) and inside the size ellipsoid, and
    not after a tumour correction click (the reader said the region is too small somewhere)."""
    img, truth, c = _t1_sarcoma(1, muscle_side=True)
    r = segment_interactive(img, Prompts([c]))
    st, shown = r.state, sitk.GetArrayFromImage(r.mask) > 0
    block = shown[tuple(slice(a, b) for a, b in zip(st.start, st.stop, strict=True))]
    to_index = lambda q: np.array(img.TransformPhysicalPointToContinuousIndex(q))[::-1]  # noqa: E731
    bg = _deepest_false(img, truth, shown)
    deep = to_index(bg)
    p = InteractiveParams()
    assert size.shrunk_region(img, c, deep, block, st, p, "auto") is not None
    assert size.shrunk_region(img, c, deep, block, st, InteractiveParams(shrink_to_rays=0.0), "auto") is None
    sp = np.array(img.GetSpacing())[::-1]
    depth = ndimage.distance_transform_edt(shown, sampling=sp)
    rim = np.argwhere(shown & (depth > 1.0) & (depth < 2.5))[0].astype(float)  # inside, 1-2.5 mm from the border
    assert size.shrunk_region(img, c, rim, block, st, p, "auto") is None
    assert size.shrunk_region(img, c, np.argwhere(~shown)[0].astype(float), block, st, p, "auto") is None
    centre, amat = st.prior_size
    w, v = np.linalg.eigh(amat)
    beyond = (centre + 1.05 * v[:, 0] / np.sqrt(w[0])) / sp  # just outside the ellipsoid, along its longest axis
    assert size.size_radius(img, beyond, st) > 1.0
    assert size.shrunk_region(img, c, beyond, block | True, st, p, "auto") is None
    scales: list = []
    real = size.recut
    # each re-cut's matrix against the size ellipsoid's: above 1 shrinks it
    monkeypatch.setattr(size, "recut", lambda *a: scales.append(np.trace(a[-1]) / np.trace(amat)) or real(*a))
    inside = np.argwhere(truth)
    t2 = tuple(img.TransformIndexToPhysicalPoint([int(v) for v in inside[len(inside) // 3][::-1]]))
    r2 = segment_interactive(img, Prompts([c, t2]), st)
    segment_interactive(img, Prompts([c, t2], [bg]), r2.state)  # after a tumour correction click
    assert not any(k > 1.0 for k in scales)
    segment_interactive(img, Prompts([c], [bg]), st)  # the same background click first: it shrinks
    assert any(k > 1.0 for k in scales)


def test_shrinking_on_a_one_slice_image():
    """One axial slice of the sarcoma beside muscle (in-plane rays, a flat size ellipsoid): a deep background click
    still shrinks the first region (measured 0.85 -> 0.92 and 0.89 -> 0.94 after 2 clicks, against 0.875 and 0.896
    with shrinking off), without an error."""
    for seed in (0, 1):
        img, truth, c = _t1_sarcoma(seed, muscle_side=True)
        idx = img.TransformPhysicalPointToIndex(c)
        one, t1 = img[:, :, idx[2] : idx[2] + 1], truth[idx[2] : idx[2] + 1]
        c1 = one.TransformIndexToPhysicalPoint((idx[0], idx[1], 0))
        d2 = {}
        for on in (True, False):
            p = InteractiveParams() if on else InteractiveParams(shrink_to=0.0, shrink_to_rays=0.0)
            r1 = segment_interactive(one, Prompts([c1]), params=p)
            b = _deepest_false(one, t1, sitk.GetArrayFromImage(r1.mask) > 0)
            r2 = segment_interactive(one, Prompts([c1], [b]), r1.state, params=p)
            assert (r2.state.shrink_amat is not None) == on
            d2[on] = compare_masks(_mask_image(t1, one), r2.mask)["dice"]
        assert d2[True] >= 0.9 and d2[True] >= d2[False] + 0.03


# ------------------------------------------------------------------- the whole mask eroded by background clicks
def test_from_the_second_background_click_on_the_rays_ellipsoid_the_whole_mask_is_eroded(monkeypatch):
    """Since the fourteenth round (``background_erode`` = 0.3): without a box, on the rays' ellipsoid (T1 MRI), from
    the second correction click on while every correction click has been a background click, the mask after the
    click's own correction is also eroded as a whole by 0.3 x the click's depth in the mask shown (the rays' ellipsoid
    errs as a whole). On this scene the first background click erodes nothing and the second removes a shell at most
    that thick (measured 3 541 of 30 288 voxels). Not with a box, not after a tumour correction click, and not on the
    region competition's moments (``mr_size="rc"``, as on CT)."""
    from nbrisk.segmentation import interactive

    img, truth, c = _t1_sarcoma(0, muscle_side=True)
    sp = np.array(img.GetSpacing())[::-1]
    runs = {}
    for k in (0.3, 0.0):
        p = InteractiveParams(background_erode=k)
        r = segment_interactive(img, Prompts([c]), params=p)
        assert r.state.prior_rays
        bg, seq = [], []
        for _ in range(2):
            bg.append(_deepest_false(img, truth, sitk.GetArrayFromImage(r.mask) > 0))
            r = segment_interactive(img, Prompts([c], list(bg)), r.state, params=p)
            seq.append(r.state.last[3].copy())  # the unsmoothed mask the next click corrects (block grid)
        runs[k] = (seq, bg, r.state)
    (on, bg_on, st), (off, bg_off, _) = runs[0.3], runs[0.0]
    assert bg_on == bg_off and np.array_equal(on[0], off[0])  # the first background click: no erosion
    removed = off[1] & ~on[1]
    assert not (on[1] & ~off[1]).any() and removed.sum() >= 0.05 * off[1].sum()
    click = np.floor(np.array(img.TransformPhysicalPointToContinuousIndex(bg_on[1]))[::-1] + 0.5).astype(int)
    depth = ndimage.distance_transform_edt(on[0], sampling=sp)[tuple(click - st.start)]  # in the mask shown
    inner = ndimage.distance_transform_edt(off[1], sampling=sp)
    assert np.percentile(inner[removed], 99) <= 0.3 * depth + sp.max()

    calls: list = []
    real = interactive.erode_whole
    monkeypatch.setattr(interactive, "erode_whole", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    fresh = segment_interactive(img, Prompts([c], list(bg_on)))  # a fresh call, defaults: replays the rule
    overlap = {k: 2 * (fresh.state.last[3] & m).sum() / (fresh.state.last[3].sum() + m.sum())
               for k, m in ((0.3, on[1]), (0.0, off[1]))}
    assert len(calls) == 1 and overlap[0.3] >= overlap[0.0] + 0.02
    calls.clear()
    t2 = _deepest_missed(img, truth, sitk.GetArrayFromImage(r.mask) > 0)
    segment_interactive(img, Prompts([c, t2], list(bg_on)))  # a tumour correction click in the history
    segment_interactive(img, Prompts([c], list(bg_on), box=_box(img, truth)))  # a box
    segment_interactive(img, Prompts([c], list(bg_on)), params=InteractiveParams(mr_size="rc"))  # moments' size
    assert calls == []
