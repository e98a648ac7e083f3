"""The region competition's mm-ball morphology (dilations, erosions, hole fill) works on the mask's box and shares
distance transforms for speed: each must equal the plain whole-array operation it replaces, voxel for voxel."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from nbrisk.segmentation import region_competition as rc


def _masks(seed: int, n: int = 60):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        shape = tuple(int(v) for v in rng.integers(3, 30, 3))
        spacing = rng.uniform(0.5, 4.0, 3)
        m = ndimage.gaussian_filter(rng.standard_normal(shape), rng.uniform(0.7, 2.5)) > rng.uniform(-0.2, 0.4)
        kind = rng.random()
        if kind < 0.1:
            m[:] = False
        elif kind < 0.2:
            m[:] = True
        elif kind < 0.35:
            m[:] = False
            m[tuple(int(rng.integers(0, s)) for s in shape)] = True
        yield m, spacing, float(rng.uniform(0.1, 9.0)), float(rng.uniform(0.1, 9.0))


@pytest.mark.parametrize("seed", [0, 1])
def test_box_morphology_equals_the_whole_array_distance_transform(seed):
    for m, sp, r1, r2 in _masks(seed):
        dil = ndimage.distance_transform_edt(~m, sampling=sp) <= r1 if m.any() else m
        ero = ndimage.distance_transform_edt(m, sampling=sp) > r1
        assert np.array_equal(rc._dilate(m, r1, sp), dil)
        assert np.array_equal(rc.erode(m, r1, sp), ero)
        both = rc._dilations(m, (r1, r2), sp)
        assert np.array_equal(both[0], dil)
        assert np.array_equal(both[1], rc._dilate(m, r2, sp))


@pytest.mark.parametrize("seed", [5, 6])
def test_itk_distance_map_equals_scipys_distance_transform(seed):
    """The distances come from ITK's signed Maurer map (several times faster): within 1e-4 mm of scipy's, on 3-D
    blocks, one-slice blocks, and masks with no True or no False voxel."""
    for m, sp, _, _ in _masks(seed):
        for arr in (m, m[:1]):
            np.testing.assert_allclose(rc.edt(arr, sp), ndimage.distance_transform_edt(arr, sampling=sp), atol=1e-4)


@pytest.mark.parametrize("seed", [2, 3])
def test_one_call_slice_fill_equals_filling_each_slice(seed):
    for m, _, _, _ in _masks(seed):
        ref = ndimage.binary_fill_holes(m)
        for k in range(ref.shape[0]):
            ref[k] = ndimage.binary_fill_holes(ref[k])
        assert np.array_equal(rc._fill(m), ref)
    ring = np.zeros((3, 7, 7), bool)  # a hole open across slices (top and bottom open): filled per slice
    ring[:, 1:6, 1:6] = True
    ring[:, 3, 3] = False
    assert rc._fill(ring).all(axis=0)[3, 3]


def test_box_from_projections_equals_the_box_from_indices():
    for m, sp, r1, _ in _masks(4):
        if not m.any():
            continue
        pad = np.ceil(r1 / sp).astype(int) + 1
        nz = np.nonzero(m)
        ref = tuple(slice(max(int(i.min()) - d, 0), int(i.max()) + d + 1) for i, d in zip(nz, pad, strict=True))
        assert rc.box_slices(m, r1, sp) == ref
