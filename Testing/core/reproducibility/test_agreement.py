"""Agreement metrics against hand-computed cases (shifted/grown cubes, spheres, anisotropic spacing)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import SimpleITK as sitk
from scipy.spatial import cKDTree

from nbrisk.reproducibility.agreement import METRICS, compare_masks
from nbrisk.cli import main
from nbrisk.errors import InputError, InputGeometryError

SHAPE = (40, 40, 40)  # z, y, x


def _img(arr: np.ndarray, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0)) -> sitk.Image:
    im = sitk.GetImageFromArray(arr.astype(np.uint8))
    im.SetSpacing(spacing)
    im.SetOrigin(origin)
    return im


def _cube(lo=(10, 10, 10), hi=(20, 20, 20), shape=SHAPE) -> np.ndarray:
    """Box of voxels x in [lo[0], hi[0]), y ..., z ... (sitk x,y,z order)."""
    a = np.zeros(shape, np.uint8)
    a[lo[2] : hi[2], lo[1] : hi[1], lo[0] : hi[0]] = 1
    return a


def test_identical_masks_agree_perfectly():
    a = _img(_cube())
    m = compare_masks(a, a)
    assert set(m) == set(METRICS)
    assert m["dice"] == 1.0 and m["jaccard"] == 1.0
    assert m["hd_max_mm"] == 0.0 and m["hd95_mm"] == 0.0 and m["msd_mm"] == 0.0
    assert m["fpr_m"] == 0.0 and m["fnr"] == 0.0 and m["volume_diff_ml"] == 0.0
    assert m["volume_ref_ml"] == pytest.approx(1.0)  # 1000 voxels of 1 mm3


def test_cube_shifted_two_voxels_in_x():
    # 10x10x10 cube shifted by 2 voxels: overlap 8x10x10 = 800 voxels
    ref, test = _img(_cube()), _img(_cube((12, 10, 10), (22, 20, 20)))
    m = compare_masks(ref, test)
    assert m["dice"] == pytest.approx(1600 / 2000)
    assert m["jaccard"] == pytest.approx(800 / 1200)
    assert m["fpr_m"] == pytest.approx(0.2)
    assert m["fnr"] == pytest.approx(0.2)
    assert m["volume_diff_ml"] == pytest.approx(0.0)
    assert m["hd_max_mm"] == pytest.approx(2.0)


@pytest.mark.parametrize(("axis", "expected_hd"), [(0, 1.0), (2, 6.0)])
def test_shift_honours_anisotropic_spacing(axis, expected_hd):
    # spacing 0.5 x 0.5 x 3 mm: a 2-voxel shift is 1 mm in x but 6 mm in z
    spacing = (0.5, 0.5, 3.0)
    lo, hi = [10, 10, 10], [20, 20, 20]
    lo2, hi2 = list(lo), list(hi)
    lo2[axis] += 2
    hi2[axis] += 2
    m = compare_masks(_img(_cube(lo, hi), spacing), _img(_cube(lo2, hi2), spacing))
    assert m["hd_max_mm"] == pytest.approx(expected_hd)
    assert m["volume_ref_ml"] == pytest.approx(1000 * 0.75 / 1000)
    assert m["dice"] == pytest.approx(0.8)


def test_cube_grown_by_one_voxel_hand_counted_distances():
    # ref 10^3, test 12^3 around it. Test surface (728 voxels): 600 face voxels at 1 mm from the ref
    # surface, 120 edge voxels at sqrt(2), 8 corners at sqrt(3); every ref surface voxel (488) is 1 mm away.
    ref, test = _img(_cube()), _img(_cube((9, 9, 9), (21, 21, 21)))
    m = compare_masks(ref, test)
    assert m["dice"] == pytest.approx(2000 / 2728)
    assert m["jaccard"] == pytest.approx(1000 / 1728)
    assert m["fpr_m"] == pytest.approx(0.728)
    assert m["fnr"] == 0.0
    assert m["volume_diff_ml"] == pytest.approx(0.728)
    assert m["volume_diff_pct"] == pytest.approx(72.8)
    assert m["hd_max_mm"] == pytest.approx(math.sqrt(3))
    assert m["hd95_mm"] == pytest.approx(math.sqrt(2))
    msd = (600 + 120 * math.sqrt(2) + 8 * math.sqrt(3) + 488) / (728 + 488)
    assert m["msd_mm"] == pytest.approx(msd)


def _sphere(radius_mm: float, spacing, shape=(30, 70, 70), centre_mm=(17.5, 17.5, 45.0)) -> np.ndarray:
    axes = (np.arange(n) * s for n, s in zip(shape, spacing[::-1], strict=True))
    z, y, x = np.meshgrid(*axes, indexing="ij")
    cx, cy, cz = centre_mm
    return ((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 <= radius_mm**2).astype(np.uint8)


def test_concentric_spheres_anisotropic():
    # radii 10 and 14 mm on a 0.5 x 0.5 x 3 mm grid: every surface distance ~ 4 mm, dice ~ 2*10^3/(10^3+14^3)
    spacing = (0.5, 0.5, 3.0)
    ref = _img(_sphere(10.0, spacing), spacing)
    test = _img(_sphere(14.0, spacing), spacing)
    m = compare_masks(ref, test)
    assert m["volume_ref_ml"] == pytest.approx(4 / 3 * math.pi * 1000 / 1000, rel=0.03)
    assert m["volume_test_ml"] == pytest.approx(4 / 3 * math.pi * 14**3 / 1000, rel=0.03)
    assert m["dice"] == pytest.approx(2000 / (1000 + 14**3), rel=0.03)
    assert m["fnr"] == 0.0
    assert 3.0 <= m["msd_mm"] <= 4.5
    assert 3.5 <= m["hd95_mm"] <= 6.0  # poles sit on 3 mm slices


def _brute_force(ref: np.ndarray, test: np.ndarray, spacing) -> tuple[float, float, float]:
    """Independent surface distances with a k-d tree over surface-voxel centres."""
    from scipy import ndimage

    def surface(a):
        a = a.astype(bool)
        face = ndimage.generate_binary_structure(3, 1)
        return a & ~ndimage.binary_erosion(a, structure=face, border_value=0)

    sa, sb = (np.argwhere(surface(m)) * np.array(spacing[::-1]) for m in (ref, test))
    d_ba = cKDTree(sa).query(sb)[0]
    d_ab = cKDTree(sb).query(sa)[0]
    both = np.concatenate([d_ba, d_ab])
    return both.max(), max(np.percentile(d_ba, 95), np.percentile(d_ab, 95)), both.mean()


def test_random_blobs_match_brute_force_kdtree():
    from scipy import ndimage

    rng = np.random.default_rng(3)
    spacing = (0.8, 1.1, 2.5)
    blobs = []
    for _ in range(2):
        a = ndimage.gaussian_filter(rng.standard_normal((24, 40, 40)), 3.0)
        blobs.append((a > 0.02).astype(np.uint8))
    m = compare_masks(_img(blobs[0], spacing), _img(blobs[1], spacing))
    hd, hd95, msd = _brute_force(blobs[0], blobs[1], spacing)
    assert m["hd_max_mm"] == pytest.approx(hd)
    assert m["hd95_mm"] == pytest.approx(hd95)
    assert m["msd_mm"] == pytest.approx(msd)


def test_mask_touching_image_border_has_surface_there():
    a = np.zeros((10, 10, 10), np.uint8)
    a[:, 2:8, 2:8] = 1  # touches z = 0 and z = 9
    b = a.copy()
    b[0] = 0  # one slice less at the border: 1 mm difference there
    m = compare_masks(_img(a), _img(b))
    assert m["hd_max_mm"] == pytest.approx(1.0)


def test_empty_test_gives_defined_values():
    m = compare_masks(_img(_cube()), _img(np.zeros(SHAPE)))
    assert m["dice"] == 0.0 and m["jaccard"] == 0.0
    assert m["fnr"] == 1.0 and m["fpr_m"] == 0.0
    assert m["volume_diff_pct"] == -100.0
    assert math.isnan(m["hd_max_mm"]) and math.isnan(m["msd_mm"])


def test_empty_reference_and_grid_mismatch_raise():
    with pytest.raises(InputError, match="reference mask is empty"):
        compare_masks(_img(np.zeros(SHAPE)), _img(_cube()))
    with pytest.raises(InputGeometryError, match="spacing differs"):
        compare_masks(_img(_cube()), _img(_cube(), spacing=(1.0, 1.0, 2.0)))
    with pytest.raises(InputGeometryError, match="origin differs"):
        compare_masks(_img(_cube()), _img(_cube(), origin=(5.0, 0.0, 0.0)))


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_pair_json(tmp_path, capsys):
    sitk.WriteImage(_img(_cube() * 3), str(tmp_path / "ref.nrrd"))
    sitk.WriteImage(_img(_cube((12, 10, 10), (22, 20, 20))), str(tmp_path / "test.nrrd"))
    rc = main(["seg-compare", "--reference", str(tmp_path / "ref.nrrd"),
               "--test", str(tmp_path / "test.nrrd"),
               "--label", "3", "--test-label", "1", "--json", str(tmp_path / "m.json")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "dice\t0.8" in out
    data = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert data["dice"] == pytest.approx(0.8) and data["hd_max_mm"] == pytest.approx(2.0)


def test_cli_empty_test_writes_null_distances(tmp_path):
    sitk.WriteImage(_img(_cube()), str(tmp_path / "ref.nrrd"))
    sitk.WriteImage(_img(np.zeros(SHAPE)), str(tmp_path / "test.nrrd"))
    rc = main(["seg-compare", "--reference", str(tmp_path / "ref.nrrd"),
               "--test", str(tmp_path / "test.nrrd"),
               "--json", str(tmp_path / "m.json")])
    assert rc == 0
    data = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert data["dice"] == 0.0 and data["hd95_mm"] is None


def test_cli_geometry_mismatch_is_one_line_error(tmp_path, capsys):
    sitk.WriteImage(_img(_cube()), str(tmp_path / "ref.nrrd"))
    sitk.WriteImage(_img(_cube(), spacing=(1, 1, 3)), str(tmp_path / "test.nrrd"))
    rc = main(["seg-compare", "--reference", str(tmp_path / "ref.nrrd"),
               "--test", str(tmp_path / "test.nrrd"),
               "--json", str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("nbrisk seg-compare: error:") and err.count("\n") == 1
    assert not (tmp_path / "m.json").exists()


def test_cli_manifest_cohort(tmp_path, capsys):
    sitk.WriteImage(_img(_cube()), str(tmp_path / "ref.nrrd"))
    sitk.WriteImage(_img(_cube((12, 10, 10), (22, 20, 20))), str(tmp_path / "shift.nrrd"))
    sitk.WriteImage(_img(_cube()), str(tmp_path / "same.nrrd"))
    (tmp_path / "pairs.csv").write_text(
        "case_id,reference,test\nc1,ref.nrrd,shift.nrrd\nc2,ref.nrrd,same.nrrd\nc3,ref.nrrd,missing.nrrd\n"
    )
    rc = main(["seg-compare", "--manifest", str(tmp_path / "pairs.csv"), "--out", str(tmp_path / "m.csv")])
    assert rc == 1  # c3 failed, the others are reported
    import pandas as pd

    df = pd.read_csv(tmp_path / "m.csv").set_index("case_id")
    assert df.loc["c1", "dice"] == pytest.approx(0.8)
    assert df.loc["c2", "dice"] == 1.0
    assert "missing.nrrd" in df.loc["c3", "error"]
    assert "3 pairs, 1 failed" in capsys.readouterr().out
