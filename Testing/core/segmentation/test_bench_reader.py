"""The interactive benchmark's simulated reader (``bench/bench_interactive_seg.py``): the deepest point, and since issue
23's eleventh round the jittered readers, whose spread says how much of a tune decision is the reader's path."""

from __future__ import annotations

import numpy as np
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
