"""The interactive benchmark's simulated reader (``bench/bench_interactive_seg.py``): the deepest point, and since issue
23's eleventh round the jittered readers, whose spread says how much of a tune decision is the reader's path."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk


def _sphere(shape=(20, 40, 40), centre=(10, 20, 20), r=8.0, spacing=(2.0, 1.0, 1.0)) -> np.ndarray:
    z, y, x = np.indices(shape)
    d2 = sum(((g - c) * s) ** 2 for g, c, s in zip((z, y, x), centre, spacing, strict=True))
    return d2 <= r * r


def test_a_jittered_click_lands_near_the_deepest_point_inside_its_region(bench):
    sp = np.array([2.0, 1.0, 1.0])
    ball = _sphere()
    idx, depth = bench.deepest(ball, sp)
    assert tuple(idx) == (10, 20, 20) and depth >= 8.0
    assert bench.jittered(idx, ball, sp, None, 2.0) is idx  # reader 0: the deepest point itself
    drawn = {tuple(bench.jittered(idx, ball, sp, np.random.default_rng(k), 2.0)) for k in range(40)}
    assert len(drawn) > 3  # not always the same voxel ...
    for v in drawn:  # ... but always within 2 mm, inside the region
        assert ball[v] and np.sqrt((((np.array(v) - idx) * sp) ** 2).sum()) <= 2.0
    again = [tuple(bench.jittered(idx, ball, sp, np.random.default_rng(7), 2.0)) for _ in range(3)]
    assert len(set(again)) == 1  # a seed gives one click
    thin = np.zeros_like(ball)
    thin[10, 20, 20] = True  # a region of one voxel: the click stays on it
    assert tuple(bench.jittered(np.array([10, 20, 20]), thin, sp, np.random.default_rng(1), 2.0)) == (10, 20, 20)


def test_reader_zero_is_the_deepest_point_reader_and_other_readers_differ(bench):
    from nbrisk.synthetic.phantom import PhantomSpec, make_phantom

    ph = make_phantom(PhantomSpec(modality="ct"), seed=2)
    img = sitk.Cast(ph.image, sitk.sitkFloat32)
    truth = bench._mask(ph.tumour, ph.image)
    plain = bench.run_case(img, truth, "baseline", "box", 3, 3.0)["dice"]
    zero = bench.run_case(img, truth, "baseline", "box", 3, 3.0, reader=0)["dice"]
    assert plain == zero
    others = [bench.run_case(img, truth, "baseline", "box", 3, 3.0, reader=k)["dice"] for k in (1, 2, 3)]
    assert any(o != zero for o in others)


def test_the_readers_table_averages_each_case_over_its_readers(bench):
    rows = []
    for case, base in (("a", 0.80), ("b", 0.90), ("c", 0.70)):
        for reader, shift in enumerate((0.0, 0.02, -0.02)):
            row = {"set": "s", "split": "tune", "protocol": "clicks", "method": "m", "case": case,
                   "dice": [base + shift] * 5, "seconds": [0.1] * 5}
            if reader:
                row["reader"] = reader
            rows.append(row)
    table = bench.summarise_readers(rows).splitlines()[-1]
    assert "| 3 | 3 | 0.800 | 0.800 | 0.800 | 0.780-0.820 |" in table
    assert "0.800" in bench.summarise(rows, 5).splitlines()[2]  # reader 0's table: case a, b, c -> median 0.800


def test_the_median_interval_holds_the_true_median_and_narrows_with_more_cases(bench):
    rng = np.random.default_rng(3)
    widths, held = [], 0
    for trial in range(20):
        small = rng.normal(0.84, 0.05, 28)  # a report set's size: true median 0.84
        lo, hi = bench.median_ci(list(small), seed=trial)
        held += lo <= 0.84 <= hi
        widths.append(hi - lo)
    assert held >= 16  # a 95 % interval: nearly always
    assert 0.02 < np.median(widths) < 0.06  # about +- 0.02 for 28 cases of SD 0.05
    lo, hi = bench.median_ci(list(rng.normal(0.84, 0.05, 400)))
    assert hi - lo < 0.5 * np.median(widths)
    assert bench.median_ci([0.8, 0.9, 0.85], seed=1) == bench.median_ci([0.8, 0.9, 0.85], seed=1)
    assert bench.median_ci([0.7]) == (0.7, 0.7)


def _rows(method, values, reader=0):
    rows = []
    for i, v in enumerate(values):
        row = {"set": "s", "split": "report", "protocol": "clicks", "method": method, "case": f"c{i}",
               "dice": [v - 0.1] * 4 + [v], "seconds": [0.1] * 5}
        if reader:
            row["reader"] = reader
        rows.append(row)
    return rows


def test_the_paired_comparison_tells_a_shift_on_every_case_from_noise(bench):
    rng = np.random.default_rng(5)
    base = rng.uniform(0.7, 0.95, 28)
    shifted = bench.compare(_rows("a", base + 0.01) + _rows("b", base), "a", "b").splitlines()[-1]
    assert "| 28 |" in shifted and "+0.010 (+0.010 to +0.010)" in shifted and "| 28 / 0 |" in shifted
    noise = rng.normal(0, 0.02, 14)
    noise = np.concatenate([noise, -noise])  # as many better as worse, by as much
    noisy = bench.compare(_rows("a", base + noise) + _rows("b", base), "a", "b").splitlines()[-1]
    d = float(noisy.split("(")[1].split(" to ")[0]), float(noisy.split(" to ")[1].split(")")[0])
    assert d[0] < -0.002 and d[1] > 0.002  # noise: the interval holds 0, well inside
    # only the cases (and readers) both methods ran are paired
    part = bench.compare(_rows("a", base[:10] + 0.02) + _rows("b", base), "a", "b").splitlines()[-1]
    assert "| 10 |" in part and "| 10 / 0 |" in part
    # readers: paired by case and reader, then each case's mean difference (28 cases, not 56 pairs)
    two = _rows("a", base + 0.02) + _rows("b", base) + _rows("a", base, 1) + _rows("b", base, 1) + _rows("b", base, 2)
    last = bench.compare(two, "a", "b").splitlines()[-1]
    assert "| 28 |" in last and "+0.010 (+0.010 to +0.010)" in last


def test_the_table_gives_the_median_interval_after_five_clicks(bench):
    table = bench.summarise(_rows("m", [0.80, 0.85, 0.90]), 5).splitlines()
    assert "Dice@5 95% CI" in table[0]
    assert "| 0.850 | 0.800-0.900 |" in table[2]


def test_the_nninteractive_method_puts_each_prompt_on_its_voxel(bench, monkeypatch):
    """The benchmark's ``nninteractive`` method against the real nnInteractive package: its LPS clicks and box land on
    the voxels they name, in nnInteractive's own interaction channels, on an image with anisotropic spacing, an origin
    and a flipped axis. Runs where ``pip install nninteractive`` was done and NBRISK_NNINTERACTIVE_MODEL names a model
    folder (Utilities/make_tiny_nninteractive_model.py makes one with random weights: no Dice is checked)."""
    import os

    pytest.importorskip("nnInteractive.inference.inference_session",
                        reason="nnInteractive is not installed (pip install nninteractive)")
    if not os.environ.get("NBRISK_NNINTERACTIVE_MODEL"):
        pytest.skip("set NBRISK_NNINTERACTIVE_MODEL to an nnInteractive model folder "
                    "(Utilities/make_tiny_nninteractive_model.py makes one)")
    from interactive_methods import METHODS, NNInteractive

    monkeypatch.setattr(NNInteractive, "autozoom", False)  # one patch per prompt: random weights fill the image
    arr = np.random.default_rng(3).normal(0.0, 1.0, (24, 40, 36)).astype(np.float32)  # (z, y, x)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((0.8, 0.9, 2.5))
    img.SetOrigin((-12.0, 30.0, -40.0))
    img.SetDirection((-1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0))
    lps = lambda zyx: img.TransformContinuousIndexToPhysicalPoint([float(v) for v in zyx[::-1]])  # noqa: E731
    seg = METHODS["nninteractive"](img)
    click, lo, hi = (10, 20, 15), (8, 12, 9), (14, 27, 22)
    box = lps(lo) + lps(hi)  # two corners, as the benchmark gives them
    mask = seg([lps(click)], [], box)
    assert mask.dtype == bool and mask.shape == arr.shape
    s = seg.session

    def channels() -> np.ndarray:  # nnInteractive's interaction channels, dense
        i = s.interactions
        return np.asarray(i.float().cpu() if hasattr(i, "cpu") else i[...])

    inter = channels()
    pos, neg = s.channel_mapping["points"]
    box_pos = s.channel_mapping["bbox2d"][0]
    assert np.unravel_index(np.argmax(inter[pos]), arr.shape) == click
    placed = np.argwhere(inter[box_pos] > 0)
    assert set(placed[:, 0]) == {click[0]}  # a 2-D box on the click's axial slice
    assert tuple(placed[:, 1:].min(0)) == lo[1:] and tuple(placed[:, 1:].max(0)) == hi[1:]
    assert not inter[neg].any()
    back = (5, 30, 30)
    seg([lps(click)], [lps(back)], box)  # the reader's second click: background; the first is not placed again
    inter = channels()
    assert np.unravel_index(np.argmax(inter[neg]), arr.shape) == back
    assert np.unravel_index(np.argmax(inter[pos]), arr.shape) == click
    METHODS["nninteractive"](img)  # the benchmark's next protocol on the same image starts from no prompts
    assert not channels().any()
