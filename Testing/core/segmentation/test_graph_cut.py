"""The first click's graph cut (nbrisk.segmentation.graph_cut): shape prior, region competition weight, grid."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from nbrisk.reproducibility.agreement import compare_masks
from nbrisk.segmentation import size_estimate as size
from nbrisk.segmentation.graph_cut import GraphCutParams, _fibonacci_sphere, first_region, ray_ellipsoid
from nbrisk.segmentation.grow import grow_from_seeds
from nbrisk.segmentation.interactive import InteractiveParams, Prompts, segment_interactive
from nbrisk.synthetic.phantom import PhantomSpec, make_phantom


def _mask_image(arr: np.ndarray, like: sitk.Image) -> sitk.Image:
    m = sitk.GetImageFromArray(arr.astype(np.uint8))
    m.CopyInformation(like)
    return m


def _box(img: sitk.Image, truth: np.ndarray, margin_mm: float = 3.0) -> tuple[float, ...]:
    """The truth's bounding box grown by margin_mm, as x0,y0,z0,x1,y1,z1 LPS (the benchmark's reader)."""
    sp = np.array(img.GetSpacing())[::-1]
    nz = np.nonzero(truth)
    m = np.ceil(margin_mm / sp).astype(int)
    lo = np.maximum([i.min() for i in nz] - m, 0)
    hi = np.minimum([i.max() for i in nz] + m, np.array(truth.shape) - 1)
    a = img.TransformIndexToPhysicalPoint([int(v) for v in lo[::-1]])
    b = img.TransformIndexToPhysicalPoint([int(v) for v in hi[::-1]])
    return tuple(a) + tuple(b)


_SPACING = (0.9, 0.9, 3.0)  # x, y, z mm
_SHAPE = (40, 110, 110)  # z, y, x
_CENTRE = np.array([50.0, 48.0, 60.0])  # x, y, z mm


def _ellipsoid_scene():
    """x, y, z (mm) of the synthetic sarcomas' grid and the ellipsoidal radius of their tumour (24, 18, 30 mm)."""
    z, y, x = np.meshgrid(*(np.arange(n) * s for n, s in zip(_SHAPE, _SPACING[::-1], strict=True)), indexing="ij")
    c = _CENTRE
    return x, y, z, ((x - c[0]) / 24.0) ** 2 + ((y - c[1]) / 18.0) ** 2 + ((z - c[2]) / 30.0) ** 2


def _scene_image(arr: np.ndarray) -> tuple[sitk.Image, tuple[float, ...]]:
    """The array as an image on the synthetic sarcomas' grid, and the tumour's centre in LPS."""
    img = sitk.GetImageFromArray(arr.astype(np.float32))
    img.SetSpacing(_SPACING)
    img.SetOrigin((-40.0, 12.0, -100.0))
    centre = img.TransformContinuousIndexToPhysicalPoint([float(v) for v in (_CENTRE / np.array(_SPACING))])
    return img, tuple(centre)


def _sarcoma_in_muscle(seed: int = 0):
    """An ellipsoidal tumour of the same density and noise as the muscle around it (45 HU, SD 12), with a
    fat plane (-90 HU) on one side only and a vessel (70 HU) crossing the muscle next to it: a real
    sarcoma's situation, which no intensity model can separate."""
    rng = np.random.default_rng(seed)
    x, y, z, rho = _ellipsoid_scene()
    tumour = rho <= 1.0
    arr = np.full(_SHAPE, 45.0)
    fat = (rho > 1.0) & (rho <= 1.25) & (x < _CENTRE[0] - 8.0)  # a fat plane around the left third
    arr[fat] = -90.0
    arr[(np.abs(y - 80.0) < 3.0) & (np.abs(z - 60.0) < 40.0)] = 70.0  # a vessel beside it
    arr = arr + 12.0 * rng.standard_normal(_SHAPE)
    img, centre = _scene_image(arr)
    return img, tumour, centre


def test_one_click_is_the_graph_cut_and_the_competition_stays_available():
    ph = make_phantom(PhantomSpec(modality="ct"), seed=1)
    c = ph.tumour_centre_lps
    r = segment_interactive(ph.image, Prompts(tumour=[c]), params=InteractiveParams(shown_smooth_mm=0.0))
    ref = first_region(ph.image, c)
    assert ref is not None
    assert np.array_equal(sitk.GetArrayViewFromImage(r.mask) > 0, ref)
    assert compare_masks(ph.tumour, r.mask)["dice"] >= 0.88
    old = segment_interactive(ph.image, Prompts(tumour=[c]),
                              params=InteractiveParams(first_click="competition", shown_smooth_mm=0.0))
    expected = sitk.GetArrayFromImage(grow_from_seeds(ph.image, [c]))
    assert np.array_equal(sitk.GetArrayViewFromImage(old.mask), expected)


def test_box_finds_a_tumour_no_intensity_model_can_separate():
    img, truth, c = _sarcoma_in_muscle()
    box = _box(img, truth)
    t = _mask_image(truth, img)
    gc = compare_masks(t, _mask_image(first_region(img, c, box), img))["dice"]
    rc = compare_masks(t, grow_from_seeds(img, [c], box_lps=box))["dice"]
    assert gc >= 0.85
    assert gc >= rc + 0.1  # the region competition alone has only texture and intensity to go on
    # a box 12 mm too wide on every side: its inscribed ellipsoid alone scores Dice 2 / (1 + 3.5) = 0.44
    # (3.5 times the tumour's volume); the fat plane and the vessel's edge pull the cut back towards the tumour
    wide = _box(img, truth, margin_mm=12.0)
    assert compare_masks(t, _mask_image(first_region(img, c, wide), img))["dice"] >= 0.55


def test_the_mask_stays_inside_the_box_and_holds_the_click():
    img, truth, c = _sarcoma_in_muscle(seed=1)
    box = list(_box(img, truth))
    box[3] = c[0] + 6.0  # the box cuts the tumour 6 mm right of the click
    arr = first_region(img, c, tuple(box))
    assert arr is not None and arr[tuple(img.TransformPhysicalPointToIndex(c))[::-1]]
    xs = np.nonzero(arr.any(axis=(0, 1)))[0]
    assert img.TransformIndexToPhysicalPoint((int(xs.max()), 0, 0))[0] <= c[0] + 6.0 + 0.5


def test_a_competition_mask_that_misses_most_of_the_box_is_outweighed():
    """The click sits in a small bright focus inside a darker tumour: the region competition takes the focus;
    the graph cut lowers its weight (it fills a small share of the box) and returns the tumour."""
    img, truth, c = _sarcoma_in_muscle(seed=2)
    arr = sitk.GetArrayFromImage(img)
    sp = np.array(img.GetSpacing())[::-1]
    ci = np.array(img.TransformPhysicalPointToIndex(c))[::-1]
    g = np.indices(arr.shape) * sp[:, None, None, None]
    focus = (((g - (ci * sp)[:, None, None, None]) ** 2).sum(0) <= 7.0**2) & truth
    arr[focus] += 80.0
    img2 = sitk.GetImageFromArray(arr)
    img2.CopyInformation(img)
    box = _box(img2, truth)
    t = _mask_image(truth, img2)
    rc = compare_masks(t, grow_from_seeds(img2, [c], box_lps=box))["dice"]
    gc = compare_masks(t, _mask_image(first_region(img2, c, box), img2))["dice"]
    full = compare_masks(
        t, _mask_image(first_region(img2, c, box, params=GraphCutParams(rc_full=0.0)), img2)
    )["dice"]  # rc_full=0: the competition keeps its full weight
    assert rc < 0.5 and gc >= 0.8 and gc > full + 0.05


@pytest.mark.parametrize("cap", ["max_voxels", "cut_max_voxels"])
def test_a_large_block_is_cut_coarser_and_returned_on_the_image_grid(cap):
    """Either cap averages the graph cut's block (cut_max_voxels, 400 000 by default, keeps the max-flow fast);
    the region comes back on the image grid, close to the fine one and not identical to it."""
    img, truth, c = _sarcoma_in_muscle(seed=3)
    box = _box(img, truth)
    fine = first_region(img, c, box)
    coarse = first_region(img, c, box, params=GraphCutParams(**{cap: 60_000}))
    assert coarse is not None and fine is not None and coarse.shape == fine.shape
    d = 2.0 * (coarse & fine).sum() / (coarse.sum() + fine.sum())
    assert 0.9 <= d < 1.0


@pytest.mark.parametrize("case", ["lung2"])
def test_real_lung_tumour_with_a_box(sample_data_dir, case):
    """pyradiomics' lung2 CT with its label: one click at the label's deepest point plus the label's box."""
    from scipy import ndimage

    img = sitk.ReadImage(str(sample_data_dir / f"{case}_image.nrrd"), sitk.sitkFloat32)
    lab = sitk.ReadImage(str(sample_data_dir / f"{case}_label.nrrd"))
    truth = sitk.GetArrayFromImage(lab) > 0
    sp = np.array(img.GetSpacing())[::-1]
    k = np.unravel_index(int(np.argmax(ndimage.distance_transform_edt(truth, sampling=sp))), truth.shape)
    click = img.TransformIndexToPhysicalPoint([int(v) for v in k[::-1]])
    box = _box(img, truth)
    t = _mask_image(truth, img)
    gc = compare_masks(t, _mask_image(first_region(img, click, box), img))["dice"]
    rc = compare_masks(t, grow_from_seeds(img, [click], box_lps=box))["dice"]
    assert gc >= 0.7 and gc >= rc - 0.02


def test_a_single_slice_image_with_and_without_a_box():
    """A one-slice image has no steps along z: the boundary weights stay finite (a NaN there used to hang the
    max-flow) and the block's sides along z are not background."""
    ph = make_phantom(PhantomSpec(modality="ct"), seed=1)
    c = ph.tumour_centre_lps
    k = ph.image.TransformPhysicalPointToIndex(c)[2]
    img, truth = ph.image[:, :, k : k + 1], ph.tumour[:, :, k : k + 1]
    t = sitk.GetArrayFromImage(truth) > 0
    for box in (None, _box(img, t)):
        arr = first_region(img, c, box)
        assert arr is not None and arr.shape == t.shape
        assert compare_masks(truth, _mask_image(arr, img))["dice"] >= 0.8


def _t1_sarcoma(seed: int = 0, muscle_side: bool = False):
    """A T1-like MRI: a heterogeneous tumour (a fine texture of SD 40, 1.5 mm grain, plus noise, on 350) with
    radii 24, 18 and 30 mm in x, y, z, in fat (800). With ``muscle_side`` the left half of the surroundings is
    muscle of the tumour's own intensity (350): no edge there."""
    rng = np.random.default_rng(seed)
    x, _, _, rho = _ellipsoid_scene()
    tumour = rho <= 1.0
    patches = ndimage.gaussian_filter(rng.standard_normal(_SHAPE), (1.5 / 3.0, 1.5 / 0.9, 1.5 / 0.9))
    arr = np.full(_SHAPE, 800.0)
    if muscle_side:
        arr[x < _CENTRE[0]] = 350.0
    arr[tumour] = 350.0 + 40.0 * (patches / patches.std())[tumour]
    arr = arr + 15.0 * rng.standard_normal(_SHAPE)
    img, centre = _scene_image(arr)
    return img, tumour, centre


def test_rays_estimate_a_heterogeneous_tumours_size_and_shape():
    img, _, c = _t1_sarcoma()
    click = np.array(img.TransformPhysicalPointToContinuousIndex(c))[::-1]
    est = ray_ellipsoid(img, click)
    assert est is not None
    centre, amat, length = est
    # each ray should end on the tumour's surface: the exact lengths along the same directions
    dirs = _fibonacci_sphere(256)
    exact = 1.0 / np.sqrt((dirs[:, 2] / 24.0) ** 2 + (dirs[:, 1] / 18.0) ** 2 + (dirs[:, 0] / 30.0) ** 2)
    assert 0.0 <= np.median(exact - length) <= 2.5  # just inside: the 1.5 mm smoothing blurs the edge
    # the rays' ends' second moments: the exact ends' would give radii of 20.8, 23.5 and 25.5 mm (uniform
    # directions pull the estimate towards a sphere; the graph cut's image terms do the rest)
    w, v = np.linalg.eigh(amat)
    radii = 1.0 / np.sqrt(w)
    assert np.allclose(np.sort(radii), [20.8, 23.5, 25.5], rtol=0.15), radii
    assert abs(v[0, 0]) > 0.9 and abs(v[1, 2]) > 0.9  # the longest axis along z, the shortest along y
    assert np.linalg.norm(centre - click * np.array(img.GetSpacing())[::-1]) <= 3.0


def test_rays_through_muscle_of_the_same_intensity_are_cut_at_twice_the_median():
    img, _, c = _t1_sarcoma(seed=1, muscle_side=True)
    click = np.array(img.TransformPhysicalPointToContinuousIndex(c))[::-1]
    est = ray_ellipsoid(img, click)
    assert est is not None
    _, amat, length = est
    assert length.max() <= 2.0 * np.median(length) + 1e-9
    assert length.max() > 40.0  # the rays into the muscle did run on (and were cut)
    # the price, measured: about 5x the tumour's volume, and the graph cut's Dice falls from 0.98 (tumour in fat)
    # to 0.70-0.75 here, where the region competition's texture model alone would have found it (0.95); on the
    # real T1 MRIs that model under-segments (docs/segmentation.md)
    volume = 4.0 / 3.0 * np.pi / np.sqrt(np.linalg.det(amat))
    assert volume <= 6.5 * 4.0 / 3.0 * np.pi * 24.0 * 18.0 * 30.0


def test_one_click_on_mri_takes_its_size_from_the_rays(monkeypatch):
    import nbrisk.segmentation.graph_cut as gc_mod

    img, truth, c = _t1_sarcoma(seed=2)
    t = _mask_image(truth, img)
    assert compare_masks(t, _mask_image(first_region(img, c), img))["dice"] >= 0.85
    calls = []
    real = gc_mod.ray_ellipsoid
    monkeypatch.setattr(gc_mod, "ray_ellipsoid", lambda *a, **k: calls.append(1) or real(*a, **k))
    ph = make_phantom(PhantomSpec(modality="ct"), seed=1)
    assert first_region(ph.image, ph.tumour_centre_lps) is not None  # CT keeps the region competition's moments
    first_region(img, c, _box(img, truth))  # so does a box
    first_region(img, c, params=GraphCutParams(mr_size="rc"))
    assert calls == []
    first_region(img, c)  # auto: no air at -1000, so MRI
    assert calls == [1]
    with pytest.raises(ValueError, match="mr_size"):
        GraphCutParams(mr_size="ray")


def test_no_rays_from_a_lesion_smaller_than_the_clicks_neighbourhood():
    """A 2.5 mm lesion in breast-like tissue (fat and gland in 3 mm patches): the click's 5 mm neighbourhood
    holds every tissue around, so its window would let the rays run anywhere. The region competition's moments
    are used instead (before this guard, pyradiomics' breast1, 143 voxels, got a 65 ml first region)."""
    rng = np.random.default_rng(0)
    spacing = (0.7, 0.7, 2.0)
    shape = (30, 100, 100)
    tissue = ndimage.gaussian_filter(rng.standard_normal(shape), (1.5, 4.3, 4.3)) > 0
    arr = np.where(tissue, 800.0, 250.0) + 20.0 * rng.standard_normal(shape)
    z, y, x = np.meshgrid(*(np.arange(n) * s for n, s in zip(shape, spacing[::-1], strict=True)), indexing="ij")
    lesion = (x - 35.0) ** 2 + (y - 35.0) ** 2 + (z - 30.0) ** 2 <= 2.5**2
    arr[lesion] = 500.0
    img = sitk.GetImageFromArray(arr.astype(np.float32))
    img.SetSpacing(spacing)
    c = img.TransformContinuousIndexToPhysicalPoint((35.0 / 0.7, 35.0 / 0.7, 15.0))
    click = np.array(img.TransformPhysicalPointToContinuousIndex(c))[::-1]
    assert ray_ellipsoid(img, click) is None
    region = first_region(img, c)
    volume_ml = 0.0 if region is None else region.sum() * float(np.prod(spacing)) / 1000.0
    assert volume_ml < 2.0


def test_the_interactive_tool_passes_mr_size_to_the_first_click():
    img, _, c = _t1_sarcoma(seed=3, muscle_side=True)  # here rays and the competition's moments differ
    for how in ("rays", "rc"):
        r = segment_interactive(img, Prompts(tumour=[c]), params=InteractiveParams(mr_size=how, shown_smooth_mm=0.0))
        ref = first_region(img, c, params=GraphCutParams(mr_size=how))
        assert np.array_equal(sitk.GetArrayViewFromImage(r.mask) > 0, ref)
    with pytest.raises(ValueError, match="mr_size"):
        InteractiveParams(mr_size="moments")


def test_rays_on_a_single_slice_and_a_thin_stack():
    """A one-slice MRI (or three slices): the rays used to stop at the stack's top and bottom, at once, and gave
    a 2 mm ellipsoid (Dice 0.18 and 0.11 on one slice, where the competition's moments give 0.93 and 0.98). Now the
    image's edge values go on beyond it, and a single slice gets in-plane rays."""
    img, truth, c = _t1_sarcoma()
    t = _mask_image(truth, img)
    k = img.TransformPhysicalPointToIndex(c)[2]
    ph = make_phantom(PhantomSpec(modality="mr"), seed=1)
    c2 = ph.tumour_centre_lps
    k2 = ph.image.TransformPhysicalPointToIndex(c2)[2]
    for image, truth_img, click, kk in ((img, t, c, k), (ph.image, ph.tumour, c2, k2)):
        one = image[:, :, kk : kk + 1]
        click_index = np.array(one.TransformPhysicalPointToContinuousIndex(click))[::-1]
        est = ray_ellipsoid(one, click_index)
        assert est is not None and np.all(np.isfinite(est[1]))
        arr = first_region(one, click)
        assert arr is not None and compare_masks(truth_img[:, :, kk : kk + 1], _mask_image(arr, one))["dice"] >= 0.9
        three = image[:, :, kk - 1 : kk + 2]
        rays = compare_masks(truth_img[:, :, kk - 1 : kk + 2], _mask_image(first_region(three, click), three))["dice"]
        rc = first_region(three, click, params=GraphCutParams(mr_size="rc"))
        assert rays >= compare_masks(truth_img[:, :, kk - 1 : kk + 2], _mask_image(rc, three))["dice"] - 0.05


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
        p = InteractiveParams(shown_smooth_mm=0.0, shrink_to=1.1 if on else 0.0, shrink_to_rays=1.0 if on else 0.0)
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
