"""Semiautomatic ROI: phantoms and synthetic objects with known truth, refinement, 2-D mode, errors, CLI."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from nbrisk.cli import main
from nbrisk.errors import InputError
from nbrisk.io.images import geometry_difference
from nbrisk.reproducibility.agreement import compare_masks
from nbrisk.segmentation.grow import GrowParams, grow_from_seeds, index_to_lps
from nbrisk.synthetic.phantom import PhantomSpec, make_phantom


@pytest.fixture(scope="module")
def ct_phantom():
    return make_phantom(PhantomSpec(modality="ct"), seed=1)


@pytest.fixture(scope="module")
def mr_phantom():
    return make_phantom(PhantomSpec(modality="mr"), seed=3)


def _dice(truth: sitk.Image, mask: sitk.Image) -> float:
    return compare_masks(truth, mask)["dice"]


def _blobs(spacing=(0.8, 0.8, 2.5), contrast=60.0, texture=0.0, seed=0, neck=False):
    """Noisy HU-like image with a 12 mm sphere (or two joined by a neck): image, truth, seed."""
    rng = np.random.default_rng(seed)
    shape = (32, 96, 112)  # z, y, x
    axes = (np.arange(n) * s for n, s in zip(shape, spacing[::-1], strict=True))
    z, y, x = np.meshgrid(*axes, indexing="ij")
    c1 = np.array([40.0, 38.0, 40.0])  # x, y, z mm
    d1 = np.sqrt((x - c1[0]) ** 2 + (y - c1[1]) ** 2 + (z - c1[2]) ** 2)
    truth = d1 <= 12.0
    obj = truth.copy()
    if neck:
        c2 = c1 + np.array([38.0, 0.0, 0.0])
        obj |= np.sqrt((x - c2[0]) ** 2 + (y - c2[1]) ** 2 + (z - c2[2]) ** 2) <= 12.0
        obj |= (np.abs(y - c1[1]) <= 7.0) & (np.abs(z - c1[2]) <= 7.0) & (x > c1[0]) & (x < c2[0])
    arr = np.full(shape, 40.0)
    tex = texture * rng.standard_normal(shape)
    arr[obj] += contrast + tex[obj]
    arr += 10.0 * rng.standard_normal(shape)
    img = sitk.GetImageFromArray(arr.astype(np.float32))
    img.SetSpacing(spacing)
    img.SetOrigin((-20.0, 10.0, 5.0))
    t = sitk.GetImageFromArray(truth.astype(np.uint8))
    t.CopyInformation(img)
    return img, t, [tuple(float(v) for v in np.array(img.GetOrigin()) + c1)]


def test_ct_phantom_from_centre_seed(ct_phantom):
    mask = grow_from_seeds(ct_phantom.image, [ct_phantom.tumour_centre_lps])
    assert geometry_difference(mask, ct_phantom.image) is None
    assert mask.GetPixelID() == sitk.sitkUInt8
    assert _dice(ct_phantom.tumour, mask) >= 0.85


def test_mr_phantom_from_centre_seed(mr_phantom):
    mask = grow_from_seeds(mr_phantom.image, [mr_phantom.tumour_centre_lps], modality="mr")
    assert _dice(mr_phantom.tumour, mask) >= 0.85


def test_bright_sphere_anisotropic_spacing():
    img, truth, seed = _blobs(contrast=60.0)
    m = compare_masks(truth, grow_from_seeds(img, seed))
    assert m["dice"] >= 0.9
    assert m["volume_test_ml"] == pytest.approx(4 / 3 * np.pi * 12.0**3 / 1000, rel=0.15)


def test_background_seed_refines_a_leak():
    # two equal spheres joined by a thick neck: one seed takes both; a background seed in the second
    # sphere makes the competitive step give it (and most of the neck) back to the background
    # (the leak guard is off: the second sphere touches the image's side, which would trigger it)
    img, truth, seed = _blobs(contrast=60.0, neck=True)
    unguarded = GrowParams(leak_guard=False)
    first = grow_from_seeds(img, seed, params=unguarded)
    assert compare_masks(truth, first)["fpr_m"] > 1.0  # leaked into the second sphere
    second_centre = (seed[0][0] + 38.0, seed[0][1], seed[0][2])
    refined = grow_from_seeds(img, seed, background_lps=[second_centre], params=unguarded)
    m = compare_masks(truth, refined)
    assert m["fpr_m"] < 0.5
    assert m["dice"] > compare_masks(truth, first)["dice"] + 0.2
    assert sitk.GetArrayViewFromImage(refined)[
        tuple(int(v) for v in img.TransformPhysicalPointToIndex(second_centre))[::-1]
    ] == 0


def test_leak_guard_on_the_demos_venous_case(tmp_path, caplog):
    """The demo's case001, venous phase: one seed at the tumour centre leaked into the soft tissue around it
    (194 ml for an 8.9 ml tumour, Dice 0.09). The leak reaches the side of the working region; the guard
    re-segments with the background of tumour-like intensities only and keeps that."""
    import csv
    import logging

    from nbrisk.synthetic.phantom import make_cohort

    manifest = make_cohort(tmp_path, 1, seed=0, modality="ct", phases=("arterial", "venous"))  # as the demo
    with open(manifest.parent / "seeds.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    seed = [(float(row["x"]), float(row["y"]), float(row["z"]))]
    image = sitk.ReadImage(str(tmp_path / "case001_venous.nrrd"))
    truth = sitk.ReadImage(str(tmp_path / "case001_mask.nrrd"))
    leaked = compare_masks(truth, grow_from_seeds(image, seed, params=GrowParams(leak_guard=False)))
    assert leaked["dice"] < 0.3 and leaked["fpr_m"] > 5  # what happened before the guard
    with caplog.at_level(logging.WARNING):
        guarded = compare_masks(truth, grow_from_seeds(image, seed))
    assert guarded["dice"] > 0.75 and guarded["fpr_m"] < 0.5
    assert any("leaked" in r.getMessage() for r in caplog.records)
    from nbrisk.segmentation.grow import grow_with_notes  # what the Slicer panel shows under the segment

    mask, notes = grow_with_notes(image, seed)
    assert len(notes) == 1 and "leaked" in notes[0]
    assert compare_masks(truth, mask)["dice"] == guarded["dice"]
    assert grow_with_notes(sitk.ReadImage(str(tmp_path / "case001_arterial.nrrd")), seed)[1] == []  # no leak


def test_box_keeps_roi_inside():
    img, truth, seed = _blobs(contrast=60.0, neck=True)
    x, y, z = seed[0]
    box = (x - 20, y - 20, z - 20, x + 16, y + 20, z + 20)  # cuts the neck at x + 16 mm
    mask = grow_from_seeds(img, seed, box_lps=box)
    arr = sitk.GetArrayViewFromImage(mask)
    xs = np.nonzero(arr.any(axis=(0, 1)))[0]
    x_max_mm = img.TransformIndexToPhysicalPoint((int(xs.max()), 0, 0))[0]
    assert x_max_mm <= x + 16 + 1.0
    assert compare_masks(truth, mask)["fnr"] < 0.1


def test_slice_2d_only_touches_the_seed_slice(ct_phantom):
    seed = ct_phantom.tumour_centre_lps
    mask = grow_from_seeds(ct_phantom.image, [seed], slice_2d=True)
    k = ct_phantom.image.TransformPhysicalPointToIndex(seed)[2]
    arr = sitk.GetArrayFromImage(mask)
    assert set(np.nonzero(arr.any(axis=(1, 2)))[0].tolist()) == {k}
    truth = sitk.GetArrayFromImage(ct_phantom.tumour)[k] > 0
    got = arr[k] > 0
    assert 2 * (truth & got).sum() / (truth.sum() + got.sum()) >= 0.85


def test_refuses_bad_seeds(ct_phantom, mr_phantom):
    img = ct_phantom.image
    with pytest.raises(InputError, match="outside the image"):
        grow_from_seeds(img, [(500.0, 0.0, 0.0)])
    air = index_to_lps(img, (2, 2, 20))
    with pytest.raises(InputError, match="air"):
        grow_from_seeds(img, [air])
    from scipy import ndimage

    depth = ndimage.distance_transform_edt(sitk.GetArrayFromImage(ct_phantom.structures) == 4)
    vertebra = index_to_lps(img, np.unravel_index(np.argmax(depth), depth.shape)[::-1])
    with pytest.raises(InputError, match="bone"):
        grow_from_seeds(img, [vertebra])
    with pytest.raises(InputError, match="signal void"):
        grow_from_seeds(mr_phantom.image, [index_to_lps(mr_phantom.image, (2, 2, 20))], modality="mr")
    with pytest.raises(InputError, match="different slices"):
        c = ct_phantom.tumour_centre_lps
        grow_from_seeds(img, [c, (c[0], c[1], c[2] + 4.0)], slice_2d=True)
    with pytest.raises(InputError, match="outside the box"):
        c = ct_phantom.tumour_centre_lps
        grow_from_seeds(img, [c], box_lps=(c[0] + 5, c[1] - 5, c[2] - 5, c[0] + 20, c[1] + 5, c[2] + 5))
    with pytest.raises(InputError, match="no tumour seed"):
        grow_from_seeds(img, [])


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_segment_lps_and_ijk(tmp_path, ct_phantom, capsys):
    sitk.WriteImage(ct_phantom.image, str(tmp_path / "ct.nrrd"))
    c = ct_phantom.tumour_centre_lps
    rc = main(["segment", "--image", str(tmp_path / "ct.nrrd"), "--seed-lps", f"{c[0]},{c[1]},{c[2]}",
               "--out", str(tmp_path / "roi.nrrd")])
    assert rc == 0
    assert "ml" in capsys.readouterr().out
    out = sitk.ReadImage(str(tmp_path / "roi.nrrd"))
    assert geometry_difference(out, ct_phantom.image) is None
    assert _dice(ct_phantom.tumour, out) >= 0.85
    ijk = ct_phantom.image.TransformPhysicalPointToIndex(c)
    rc = main(["segment", "--image", str(tmp_path / "ct.nrrd"), "--seed-ijk", ",".join(map(str, ijk)),
               "--slice-2d", "--out", str(tmp_path / "roi2d.nrrd")])
    assert rc == 0
    assert np.count_nonzero(sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "roi2d.nrrd")))) > 100


def test_cli_segment_errors_are_one_line_and_write_nothing(tmp_path, ct_phantom, capsys):
    sitk.WriteImage(ct_phantom.image, str(tmp_path / "ct.nrrd"))
    rc = main(["segment", "--image", str(tmp_path / "ct.nrrd"), "--seed-lps", "0,0,900",
               "--out", str(tmp_path / "roi.nrrd")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("nbrisk segment: error:") and "outside the image" in err and err.count("\n") == 1
    assert not (tmp_path / "roi.nrrd").exists()
    rc = main(["segment", "--image", str(tmp_path / "ct.nrrd"), "--seed-ijk", "2,2,20",
               "--out", str(tmp_path / "roi.nrrd")])
    assert rc == 2 and "air" in capsys.readouterr().err
    assert not (tmp_path / "roi.nrrd").exists()


# ----------------------------------------------------------------------------------------------- demo
def test_demo_step_writes_semiauto_manifest(tmp_path):
    import pandas as pd

    from nbrisk.synthetic.demo import DemoContext
    from nbrisk.synthetic.demo_steps import s10_cohort, s20_segment

    lines: list[str] = []
    ctx = DemoContext(out_dir=tmp_path, n_cases=2, seed=0, log=lines.append)
    s10_cohort.run(ctx)
    s20_segment.run(ctx)
    manifest = pd.read_csv(ctx.state["semiauto_manifest"])
    # the cohort's image columns (both contrast phases and the default image) are kept, the mask replaced
    assert list(manifest.columns) == ["case_id", "image_arterial", "image_venous", "image", "mask"]
    assert len(manifest) == 2
    for mask in manifest["mask"]:
        assert (tmp_path / "semiauto").samefile(__import__("pathlib").Path(mask).parent)
    # the demo segments as `nbrisk segment` does by default (one click, the interactive tool's graph cut), not with the
    # region competition it ran until the fourteenth round (0.897 mean on these two cases; the graph cut 0.920)
    assert ctx.state["semiauto_dice"] >= 0.90
    assert any("mean Dice" in s for s in lines)
    first = manifest.iloc[0]
    seeds = pd.read_csv(ctx.state["seeds"]).set_index("case_id")
    x, y, z = seeds.loc[first["case_id"], ["x", "y", "z"]]
    cli_out = tmp_path / "cli_roi.nrrd"
    assert main(["segment", "--image", first["image_arterial"], "--seed-lps", f"{x},{y},{z}",
                 "--out", str(cli_out)]) == 0
    demo_mask = sitk.GetArrayFromImage(sitk.ReadImage(first["mask"]))
    assert np.array_equal(demo_mask > 0, sitk.GetArrayFromImage(sitk.ReadImage(str(cli_out))) > 0)


# ------------------------------------------------------------------------------------------ real data
@pytest.mark.slow
@pytest.mark.parametrize(("case", "seed_radius", "min_dice"), [("lung1", 5.0, 0.8), ("lung2", 5.0, 0.6),
                                                              ("breast1", 1.5, 0.7)])
def test_real_samples_from_deepest_label_point(sample_data_dir, case, seed_radius, min_dice):
    # regression guard on pyradiomics' real cases (measured: lung1 0.83, lung2 0.67, breast1 0.79)
    from scipy import ndimage

    from nbrisk.segmentation.grow import GrowParams

    img = sitk.ReadImage(str(sample_data_dir / f"{case}_image.nrrd"))
    label = sitk.ReadImage(str(sample_data_dir / f"{case}_label.nrrd"))
    arr = sitk.GetArrayFromImage(label) > 0
    depth = ndimage.distance_transform_edt(arr, sampling=img.GetSpacing()[::-1])
    k, j, i = np.unravel_index(np.argmax(depth), arr.shape)
    seed = img.TransformIndexToPhysicalPoint((int(i), int(j), int(k)))
    mask = grow_from_seeds(img, [seed], params=GrowParams.for_seed_radius(seed_radius))
    assert _dice(label, mask) >= min_dice


def test_leak_guard_second_try_on_the_other_core_gives_the_serial_result(tmp_path, monkeypatch):
    """The guard's second try starts on a worker thread beside the first: the mask must equal the one with the
    second try run in the caller's thread, and nothing is submitted with a box or without the guard."""
    import concurrent.futures
    import csv

    from nbrisk.segmentation import region_competition as rc
    from nbrisk.synthetic.phantom import make_cohort

    manifest = make_cohort(tmp_path, 1, seed=0, modality="ct", phases=("venous",))
    with open(manifest.parent / "seeds.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    seed = [(float(row["x"]), float(row["y"]), float(row["z"]))]
    image = sitk.ReadImage(str(tmp_path / "case001_venous.nrrd"))
    threaded = sitk.GetArrayFromImage(grow_from_seeds(image, seed))

    class Inline:
        calls = 0

        def submit(self, fn, *args):
            Inline.calls += 1
            fut: concurrent.futures.Future = concurrent.futures.Future()
            fut.set_result(fn(*args))
            return fut

    monkeypatch.setattr(rc, "_POOL", Inline())
    inline = sitk.GetArrayFromImage(grow_from_seeds(image, seed))
    assert Inline.calls == 1 and np.array_equal(threaded, inline)
    grow_from_seeds(image, seed, params=GrowParams(leak_guard=False))
    x, y, z = seed[0]
    grow_from_seeds(image, seed, box_lps=(x - 20, y - 20, z - 20, x + 20, y + 20, z + 20))
    assert Inline.calls == 1


def test_an_mri_scaled_to_minus_one_one_takes_a_click_in_the_tumour_and_still_refuses_a_void(sample_data_dir):
    """Normalised MRIs hold negative values: z-scores (BraTS' preprocessing), or a scale to [-1, 1] as deep-learning
    pipelines leave them. A void is then near the image's floor, not under 5 % of its maximum, which refused every
    click in a glioma's necrotic core on BraTS' contrast-enhanced T1 in issue 23's twelfth round, and here refused a
    click at the deepest point of brain2's lesion."""
    from scipy import ndimage

    from nbrisk.segmentation.interactive import Prompts, segment_interactive

    raw = sitk.ReadImage(str(sample_data_dir / "brain2_image.nrrd"), sitk.sitkFloat32)
    lesion = sitk.GetArrayFromImage(sitk.ReadImage(str(sample_data_dir / "brain2_label.nrrd"))) > 0
    a = sitk.GetArrayFromImage(raw)
    scaled = sitk.GetImageFromArray((2.0 * (a - a.min()) / (a.max() - a.min()) - 1.0).astype(np.float32))
    scaled.CopyInformation(raw)
    depth = ndimage.distance_transform_edt(lesion, sampling=raw.GetSpacing()[::-1])
    deepest = np.unravel_index(np.argmax(depth), depth.shape)
    click = index_to_lps(raw, deepest[::-1])
    s = sitk.GetArrayFromImage(scaled)
    r = np.ceil(3.0 / np.array(raw.GetSpacing())[::-1]).astype(int)
    near = s[tuple(slice(max(c - k, 0), c + k + 1) for c, k in zip(deepest, r, strict=True))]
    assert np.median(near) < 0.05 * np.percentile(s[::4, ::4, ::4], 99.5)  # the old rule called it a void
    nz = np.argwhere(lesion)
    margin = np.array([1, 4, 4])  # a slice and about 3 mm in-plane
    box = index_to_lps(raw, (nz.min(axis=0) - margin)[::-1]) + index_to_lps(raw, (nz.max(axis=0) + margin)[::-1])
    on_raw = segment_interactive(raw, Prompts(tumour=[click], box=box)).mask
    on_scaled = segment_interactive(scaled, Prompts(tumour=[click], box=box)).mask
    assert sitk.GetArrayFromImage(on_raw)[deepest] == 1
    truth = sitk.GetImageFromArray(lesion.astype(np.uint8))
    truth.CopyInformation(raw)
    assert compare_masks(truth, on_raw)["dice"] > 0.5  # brain2 with a box: about 0.68 after one click
    # the texture feature is log(1 + local SD) in the image's units, so a rescaling moves the border a little
    assert compare_masks(truth, on_scaled)["dice"] > 0.5
    assert compare_masks(on_raw, on_scaled)["dice"] > 0.8
    air = index_to_lps(raw, (2, 2, int(deepest[0])))
    for img in (raw, scaled):
        with pytest.raises(InputError, match="signal void"):
            segment_interactive(img, Prompts(tumour=[air]))
        with pytest.raises(InputError, match="signal void"):
            grow_from_seeds(img, [air], modality="mr")
