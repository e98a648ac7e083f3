"""Issue 23 on real tumours: the simulated reader of ``bench/bench_interactive_seg.py`` on IBSI sarcoma cases.

The IBSI soft-tissue-sarcoma CTs and T1 MRIs (CC BY 3.0, github.com/theibsi/data_sets) are not on a package
registry, so they are read from ``~/.cache/nbrisk/ibsi_sts`` (see the benchmark's docstring) and the test skips
without them. Tune cases only (STS_001-010): the report cases stay unseen by tests too. A rule of the seventh to
tenth rounds is tested on ``round12`` (the first click's 5 mm seed sphere) where the thirteenth round's wider sphere
changes the first click of its case: the rule is what each test compares, with everything else the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

STS = Path.home() / ".cache" / "nbrisk" / "ibsi_sts"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (STS / "STS_005_CT_image.nii.gz").exists(), reason=f"IBSI STS cases not in {STS}"),
]


def _case(bench, case, kind):
    """An IBSI sarcoma's image and its expert mask on the image grid."""
    import SimpleITK as sitk

    img = sitk.ReadImage(str(STS / f"{case}_{kind}_image.nii.gz"), sitk.sitkFloat32)
    return img, bench._mask(sitk.ReadImage(str(STS / f"{case}_{kind}_mask.nii.gz")), img)


@pytest.mark.parametrize(("case", "kind", "at_least"), [("STS_001", "CT", 0.85), ("STS_005", "CT", 0.85),
                                                          ("STS_005", "MR_T1", 0.90)])
def test_five_clicks_and_a_box_on_a_real_sarcoma(bench, case, kind, at_least):
    """Box + 5 clicks of the simulated reader: Dice after 5 clicks at least ``at_least`` (measured 0.871, 0.864,
    0.936; since the eighth round's smoothing 0.864, 0.872, 0.935), and the corrections (round7, unsmoothed) not
    below the second round's order-free ones (0.864, 0.861, 0.919)."""
    img, truth = _case(bench, case, kind)
    new = bench.run_case(img, truth, "new", "box", 5, 3.0)["dice"]
    rule = bench.run_case(img, truth, "round7", "box", 5, 3.0)["dice"]
    old = bench.run_case(img, truth, "round2", "box", 5, 3.0)["dice"]
    assert rule[0] == old[0]  # the same first click
    assert bench.at(new, 5) >= at_least and bench.at(rule, 5) >= bench.at(old, 5) - 0.005


@pytest.mark.parametrize(("case", "at_least"), [("STS_004", 0.35), ("STS_010", 0.5)])
def test_one_click_without_a_box_on_a_real_t1_mri_takes_the_size_from_rays(bench, case, at_least):
    """Clicks only on a T1 MRI: the region competition grows a sliver (first click 0.09 and 0.13); the rays'
    ellipsoid gives the graph cut the tumour's size (measured 0.434 and 0.652), and the threshold baseline (0.30,
    0.49) is beaten."""
    img, truth = _case(bench, case, "MR_T1")
    new = bench.run_case(img, truth, "new", "clicks", 1, 3.0)["dice"]
    old = bench.run_case(img, truth, "round3", "clicks", 1, 3.0)["dice"]
    base = bench.run_case(img, truth, "baseline", "clicks", 1, 3.0)["dice"]
    assert new[0] >= at_least and new[0] >= old[0] + 0.2 and new[0] > base[0]


def test_background_clicks_cut_back_a_leak_without_a_box(bench):
    """Clicks only on STS_008's CT: the first region leaked (false positives 1.35 x the tumour's volume) and each
    background push would remove over a fifth of the mask. Lowered instead of left to the geodesic result, 5 clicks
    reached 0.74 (fourth round: 0.63); since the seventh round's shrinking, 0.84 (0.84 smoothed, eighth round)."""
    img, truth = _case(bench, "STS_008", "CT")
    new = bench.run_case(img, truth, "new", "clicks", 5, 3.0)["dice"]
    rule = bench.run_case(img, truth, "round7", "clicks", 5, 3.0)["dice"]  # unsmoothed, as round4
    old = bench.run_case(img, truth, "round4", "clicks", 5, 3.0)["dice"]
    assert rule[0] == old[0]  # the same first click
    assert bench.at(new, 5) >= 0.70 and bench.at(rule, 5) >= bench.at(old, 5) + 0.05


@pytest.mark.parametrize(("case", "at_least"), [("STS_005", 0.90), ("STS_007", 0.80)])
def test_a_click_outside_the_rays_ellipsoid_grows_the_first_region_on_a_real_t1_mri(bench, case, at_least):
    """Clicks only on a T1 MRI: the rays stop short in the heterogeneous tumour; the first tumour click outside their
    ellipsoid re-cuts the first region with it grown (sixth round). After 5 clicks measured 0.92 and 0.83 against the
    fifth round's 0.87 and 0.77 (smoothed, eighth round: 0.92 and 0.83)."""
    img, truth = _case(bench, case, "MR_T1")
    new = bench.run_case(img, truth, "new", "clicks", 5, 3.0)["dice"]
    rule = bench.run_case(img, truth, "round7", "clicks", 5, 3.0)["dice"]  # unsmoothed, as round5
    old = bench.run_case(img, truth, "round5", "clicks", 5, 3.0)["dice"]
    assert rule[0] == old[0]  # the same first click
    assert bench.at(new, 5) >= at_least and bench.at(rule, 5) >= bench.at(old, 5) + 0.04


@pytest.mark.parametrize(("case", "kind", "at_least"), [("STS_008", "CT", 0.80), ("STS_010", "MR_T1", 0.85)])
def test_a_deep_background_click_shrinks_a_first_region_that_is_too_large(bench, case, kind, at_least):
    """Clicks only: the first region is far too large (STS_008's CT leaked, false positives 1.35 x the tumour's
    volume; STS_010's T1 MRI, 0.75 x). A background click deep in it and inside the size ellipsoid re-cuts the first
    region with the ellipsoid shrunk (seventh round). After 5 clicks measured 0.84 and 0.88 against the sixth round's
    0.74 and 0.77 (smoothed, eighth round: 0.84 and 0.88)."""
    img, truth = _case(bench, case, kind)
    new = bench.run_case(img, truth, "round12", "clicks", 5, 3.0)["dice"]  # the 5 mm seed sphere, as the rule's round
    rule = bench.run_case(img, truth, "round7", "clicks", 5, 3.0)["dice"]  # unsmoothed, as round6
    old = bench.run_case(img, truth, "round6", "clicks", 5, 3.0)["dice"]
    assert rule[0] == old[0]  # the same first click
    assert bench.at(new, 5) >= at_least and bench.at(rule, 5) >= bench.at(old, 5) + 0.05


@pytest.mark.parametrize(("case", "kind", "at_least"), [("STS_004", "CT", 0.55), ("STS_008", "MR_T1", 0.84)])
def test_tumour_pushes_the_geodesic_result_refused_add_where_the_model_agrees(bench, case, kind, at_least):
    """Clicks only: a tumour click's pushed border used to add only where the geodesic result agreed, and on tissue
    of the tumour's density that result stops at the nearer background seeds. Since the ninth round the push also adds
    where the per-case intensity-texture model leans tumour. After 5 clicks measured 0.589 and 0.855 against the
    eighth round's 0.560 and 0.840 (STS_004's CT is the under-segmented tune case: 58 % of it missed)."""
    img, truth = _case(bench, case, kind)
    new = bench.run_case(img, truth, "round12", "clicks", 5, 3.0)["dice"]  # the 5 mm seed sphere, as the rule's round
    old = bench.run_case(img, truth, "round8f", "clicks", 5, 3.0)["dice"]
    assert new[0] == old[0]  # the same first click
    assert bench.at(new, 5) >= at_least and bench.at(new, 5) >= bench.at(old, 5) + 0.01


@pytest.mark.parametrize(("case", "kind", "at_least"), [("STS_004", "CT", 0.62), ("STS_003", "MR_T1", 0.90)])
def test_a_later_click_beyond_the_grown_size_ellipsoid_stretches_it(bench, case, kind, at_least):
    """Clicks only: the first tumour correction click outside the size ellipsoid grows it; until the tenth round no
    later click could, and a tumour larger than the estimate in one direction kept being added a zone per click.
    Now a later tumour click beyond 0.9 of the grown ellipsoid (up to the fourth click, before any background click)
    stretches it along its own direction. After 5 clicks measured 0.635 and 0.911 against the ninth round's 0.589
    and 0.892."""
    img, truth = _case(bench, case, kind)
    new = bench.run_case(img, truth, "round12", "clicks", 5, 3.0)["dice"]  # the 5 mm seed sphere, as the rule's round
    old = bench.run_case(img, truth, "round9", "clicks", 5, 3.0)["dice"]
    assert new[:2] == old[:2]  # the same first click and first growth
    assert bench.at(new, 5) >= at_least and bench.at(new, 5) >= bench.at(old, 5) + 0.01


def test_a_later_deep_background_click_shrinks_the_size_ellipsoid_again(bench):
    """Clicks only on STS_001's T1 MRI: the first region is about twice the tumour (false positives 1.17 x its volume)
    and the reader's next four clicks are background clicks. Since the tenth round each one deep in the mask and inside
    the ellipsoid as the last shrinking left it shrinks it again. After 5 clicks measured 0.837 against 0.807 with one
    shrinking per history (``round10a``)."""
    img, truth = _case(bench, "STS_001", "MR_T1")
    new = bench.run_case(img, truth, "round12", "clicks", 5, 3.0)["dice"]  # the 5 mm seed sphere, as the rule's round
    old = bench.run_case(img, truth, "round10a", "clicks", 5, 3.0)["dice"]
    assert new[:2] == old[:2]  # the same first click and first shrinking
    assert bench.at(new, 5) >= 0.83 and bench.at(new, 5) >= bench.at(old, 5) + 0.02


@pytest.mark.parametrize(("case", "kind"), [("STS_002", "CT"), ("STS_005", "CT"), ("STS_003", "MR_T1")])
def test_the_crop_around_the_contour_is_not_used(bench, case, kind):
    """The IBSI images are cropped 5 cm around the expert contour on every side (on 93 % of the CTs' sides within
    1.5 mm of 51 mm, ``bench/sts_masks.py``): a rule that read the image's extent would read the answer. The same
    case in a grid 200 voxels wider and 60 slices longer (padded with its edge values) must give the same Dice. Measured
    after 5 clicks 0.925 / 0.925, 0.868 / 0.868 and 0.911 / 0.910 (the rays' first click on MRI 0.435 / 0.455: their
    smoothing's block differs)."""
    img, truth = _case(bench, case, kind)
    size = img.GetSize()
    big, big_truth = bench.pad_to(img, truth, [size[0] + 200, size[1] + 200, size[2] + 60])
    crop = bench.run_case(img, truth, "new", "clicks", 5, 3.0)["dice"]
    full = bench.run_case(big, big_truth, "new", "clicks", 5, 3.0)["dice"]
    assert abs(crop[0] - full[0]) <= 0.03 and abs(bench.at(crop, 5) - bench.at(full, 5)) <= 0.01


@pytest.mark.parametrize(("case", "kind", "at_least"), [("STS_008", "CT", 0.60), ("STS_002", "MR_T1", 0.65),
                                                        ("STS_005", "MR_T1", 0.64)])
def test_one_click_learns_from_a_wider_sphere_on_real_sarcomas(bench, case, kind, at_least):
    """Clicks only, the first click: since the thirteenth round the region competition inside the graph cut learns its
    tumour model from up to 8 mm around the click (while that sphere stays clean) instead of 5 mm, which saw only the
    tumour's homogeneous core. Measured 0.630, 0.678 and 0.666 against the twelfth round's 0.528, 0.549 and 0.528."""
    img, truth = _case(bench, case, kind)
    new = bench.run_case(img, truth, "new", "clicks", 1, 3.0)["dice"]
    old = bench.run_case(img, truth, "round12", "clicks", 1, 3.0)["dice"]
    assert new[0] >= at_least and new[0] >= old[0] + 0.08


@pytest.mark.parametrize(("case", "at_least", "gain"), [("STS_010", 0.88, 0.04), ("STS_001", 0.85, 0.01)])
def test_background_clicks_on_the_rays_ellipsoid_erode_the_whole_mask_on_real_t1_mris(bench, case, at_least, gain):
    """Clicks only on T1 MRIs whose first region is too large as a whole (the rays' ellipsoid ran into muscle): the
    reader's correction clicks are all background clicks, and since the fourteenth round each one from the second on
    also erodes the whole mask by 0.3 x its depth. After 5 clicks measured STS_010 0.897 and STS_001 0.855 against the
    thirteenth round's 0.840 and 0.840."""
    img, truth = _case(bench, case, "MR_T1")
    new = bench.run_case(img, truth, "new", "clicks", 5, 3.0)["dice"]
    old = bench.run_case(img, truth, "round13", "clicks", 5, 3.0)["dice"]
    assert new[:2] == old[:2]  # the same first click and first background click
    assert bench.at(new, 5) >= at_least and bench.at(new, 5) >= bench.at(old, 5) + gain
