"""Reading only the block around the ROI (``nbrisk extract``'s default for presets that allow it).

The block read must give the very same features as reading the whole image: same voxels, same grid, and
pyradiomics' resampling grid anchored to the whole image (tested with lung1's 0.5703125 mm pixels, where a
grid anchored to the block would be shifted by a fraction of a voxel).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from nbrisk.features import preprocess
from nbrisk.features.case import load_row_inputs
from nbrisk.errors import InputError, InputGeometryError
from nbrisk.features.extract import _margin, extract_features, roi_region
from nbrisk.io.images import Grid, read_grid, read_image_region, read_mask
from nbrisk.features.presets import _build, load_preset

pytestmark = pytest.mark.radiomics

CT_LIKE = {  # resampling + wavelet + LoG, like the CT presets, kept small for the test
    "nbrisk": {"name": "block-test", "preprocessing": {}},
    "pyradiomics": {
        "imageType": {"Original": {}, "Wavelet": {}, "LoG": {"sigma": [1.0, 3.0]}},
        "featureClass": {c: None for c in ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")},
        "setting": {"interpolator": "sitkBSpline", "resampledPixelSpacing": [1.0, 1.0, 1.0], "binWidth": 25,
                    "voxelArrayShift": 1000, "padDistance": 10, "label": 1},
    },
}


def _preset():
    return _build(copy.deepcopy(CT_LIKE), "block-test", "")


@pytest.fixture(scope="module")
def lung1_files(sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """lung1 (real CT, 512x512x48) written in each format the block read handles differently."""
    out = tmp_path_factory.mktemp("lung1")
    image = sitk.ReadImage(str(sample_data_dir / "lung1_image.nrrd"))
    files = {"mask": sample_data_dir / "lung1_label.nrrd"}
    for name, compress in (("raw.nrrd", False), ("gz.nrrd", True), ("raw.mha", False), ("gz.nii.gz", True)):
        files[name] = out / f"lung1_{name}"
        sitk.WriteImage(image, str(files[name]), compress)
    return files


@pytest.mark.parametrize("fmt", ["raw.nrrd", "gz.nrrd", "raw.mha", "gz.nii.gz"])
def test_block_read_equals_cropping_the_whole_image(lung1_files: dict[str, Path], fmt: str) -> None:
    path = lung1_files[fmt]
    whole = sitk.ReadImage(str(path))
    grid = read_grid(path)
    assert grid == Grid.of(whole)
    index, size = [200, 150, 7], [61, 90, 20]
    block = read_image_region(path, index, size)
    ref = sitk.RegionOfInterest(whole, size, index)
    assert np.array_equal(sitk.GetArrayViewFromImage(block), sitk.GetArrayViewFromImage(ref))
    assert block.GetOrigin() == ref.GetOrigin() and block.GetSpacing() == ref.GetSpacing()
    assert block.GetDirection() == ref.GetDirection() and block.GetPixelID() == ref.GetPixelID()


def test_grid_is_none_where_a_header_cannot_describe_one_volume(tmp_path: Path) -> None:
    four_d = tmp_path / "4d.nrrd"
    sitk.WriteImage(sitk.JoinSeries([sitk.Image([4, 4, 4], sitk.sitkInt16)] * 2), str(four_d))
    rgb = tmp_path / "rgb.nrrd"
    sitk.WriteImage(sitk.Image([4, 4, 4], sitk.sitkVectorUInt8, 3), str(rgb))
    broken = tmp_path / "broken.nrrd"
    broken.write_bytes(b"NRRD0004\ntype: garbage\n\n")
    for p in (tmp_path, tmp_path / "missing.nrrd", four_d, rgb, broken):
        assert read_grid(p) is None


def test_block_read_of_a_truncated_file_names_it(lung1_files: dict[str, Path], tmp_path: Path) -> None:
    cut = tmp_path / "cut.nrrd"
    cut.write_bytes(lung1_files["raw.nrrd"].read_bytes()[:200_000])
    assert read_grid(cut) is not None  # the header is intact
    with pytest.raises(InputError, match=r"cut\.nrrd: cannot read image"):
        read_image_region(cut, [0, 0, 40], [512, 512, 8])


def test_mask_checked_against_the_header_grid_as_against_the_image(sample_data_dir: Path, tmp_path: Path) -> None:
    image_path = sample_data_dir / "lung1_image.nrrd"
    image = sitk.ReadImage(str(image_path))
    grid = read_grid(image_path)
    mask_path = sample_data_dir / "lung1_label.nrrd"
    a, b = read_mask(mask_path, image), read_mask(mask_path, grid)
    assert np.array_equal(sitk.GetArrayViewFromImage(a.image), sitk.GetArrayViewFromImage(b.image))
    assert Grid.of(a.image) == Grid.of(b.image) == grid
    # a mask stored on a sub-extent (as Slicer saves it) is padded onto the header's grid the same way
    index, size = preprocess.crop_box(*preprocess.roi_bounds(a.image), np.array([5, 5, 2]), grid.size)
    sub = sitk.RegionOfInterest(sitk.ReadImage(str(mask_path)), size, index)
    sitk.WriteImage(sub, str(tmp_path / "sub.nrrd"))
    c = read_mask(tmp_path / "sub.nrrd", grid)
    assert np.array_equal(sitk.GetArrayViewFromImage(c.image), sitk.GetArrayViewFromImage(a.image))
    # another grid is still refused, naming both files, or resampled on request
    other = sitk.ReadImage(str(mask_path))
    other.SetSpacing([0.6, 0.6, 5.0])
    sitk.WriteImage(other, str(tmp_path / "other.nrrd"))
    with pytest.raises(InputGeometryError, match=r"other\.nrrd does not match image .*lung1_image\.nrrd"):
        read_mask(tmp_path / "other.nrrd", grid, reference_path=image_path)
    d = read_mask(tmp_path / "other.nrrd", grid, reference_path=image_path, resample=True)
    e = read_mask(tmp_path / "other.nrrd", image, reference_path=image_path, resample=True)
    assert np.array_equal(sitk.GetArrayViewFromImage(d.image), sitk.GetArrayViewFromImage(e.image))


def test_resampling_grid_anchored_to_the_whole_image(sample_data_dir: Path) -> None:
    from radiomics.imageoperations import resampleImage

    image = sitk.Cast(sitk.ReadImage(str(sample_data_dir / "lung1_image.nrrd")), sitk.sitkFloat64)
    mask = read_mask(sample_data_dir / "lung1_label.nrrd", image).image
    settings = dict(CT_LIKE["pyradiomics"]["setting"])
    ref_img, ref_mask = resampleImage(image, mask, **settings)
    got_img, got_mask = preprocess.resample_like_pyradiomics(image, mask, settings)
    for a, b in ((got_img, ref_img), (got_mask, ref_mask)):
        assert Grid.of(a) == Grid.of(b)
        assert np.array_equal(sitk.GetArrayViewFromImage(a), sitk.GetArrayViewFromImage(b))
    # on a block (origin index 137: 137 x 0.5703125 is not a whole number of 1 mm voxels)
    lo, hi = preprocess.roi_bounds(mask)
    index, size = preprocess.crop_box(lo, hi, _margin(CT_LIKE["pyradiomics"], image.GetSpacing()), image.GetSize())
    assert index[0] % 128 != 0
    img_b, mask_b = (sitk.RegionOfInterest(x, size, index) for x in (image, mask))
    blk_img, blk_mask = preprocess.resample_like_pyradiomics(img_b, mask_b, settings, Grid.of(image))
    assert Grid.of(blk_img) == Grid.of(ref_img) and Grid.of(blk_mask) == Grid.of(ref_mask)
    assert np.array_equal(sitk.GetArrayViewFromImage(blk_mask), sitk.GetArrayViewFromImage(ref_mask))
    assert np.allclose(sitk.GetArrayViewFromImage(blk_img), sitk.GetArrayViewFromImage(ref_img), rtol=0, atol=1e-6)
    naive, _ = resampleImage(img_b, mask_b, **settings)  # what resampling the block as such would do
    assert np.abs(np.array(naive.GetOrigin()) - ref_img.GetOrigin()).max() > 0.05


def test_extraction_from_the_block_equals_the_whole_image(lung1_files: dict[str, Path]) -> None:
    preset = _preset()
    row = {"image": str(lung1_files["gz.nrrd"]), "mask": str(lung1_files["mask"])}
    block, bmask = load_row_inputs(row, preset, roi_only=True)
    full, fmask = load_row_inputs(row, preset)
    assert bmask.whole == Grid.of(full) and fmask.whole is None
    assert np.prod(block.GetSize()) < 0.05 * np.prod(full.GetSize())
    assert Grid.of(bmask.image) == Grid.of(block)
    assert list(block.GetSize()) == roi_region(preset, fmask.image)[1]
    a = extract_features(block, bmask.image, preset, whole=bmask.whole).values
    b = extract_features(full, fmask.image, preset).values
    assert list(a) == list(b) and len(a) == preset.feature_count
    assert all(a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])) for k in a), "block and whole image differ"
    plain = extract_features(full, fmask.image, preset, engine="pyradiomics").values
    x, y = np.array(list(a.values())), np.array(list(plain.values()))
    assert np.allclose(x, y, rtol=1e-4, atol=1e-9, equal_nan=True)


def test_multi_phase_block_read_equals_the_whole_images(lung1_files: dict[str, Path]) -> None:
    raw = copy.deepcopy(CT_LIKE)
    raw["nbrisk"]["phases"] = ["arterial", "venous"]
    raw["pyradiomics"]["imageType"] = {"Original": {}, "LoG": {"sigma": [2.0]}}
    preset = _build(raw, "block-test-2phase", "")
    row = {"image_arterial": str(lung1_files["raw.mha"]), "image_venous": str(lung1_files["gz.nrrd"]),
           "mask": str(lung1_files["mask"])}
    block, bmask = load_row_inputs(row, preset, roi_only=True)
    full, fmask = load_row_inputs(row, preset)
    assert set(block) == {"arterial", "venous"} and bmask.whole == Grid.of(full["venous"])
    assert all(np.prod(b.GetSize()) < 0.05 * np.prod(full["arterial"].GetSize()) for b in block.values())
    a = extract_features(block, bmask.image, preset, whole=bmask.whole).values
    b = extract_features(full, fmask.image, preset).values
    assert list(a) == list(b) and len(a) == preset.feature_count
    assert all(a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])) for k in a)
    # phases on different grids are refused from the headers, naming both files
    other = sitk.ReadImage(str(lung1_files["raw.mha"]))
    other.SetOrigin((0.0, 0.0, 0.0))
    bad = lung1_files["raw.mha"].with_name("moved.mha")
    sitk.WriteImage(other, str(bad))
    with pytest.raises(InputGeometryError, match=r"phase image .*moved\.mha does not match .*origin differs.*"
                                                  r"register or resample the phases"):
        load_row_inputs({**row, "image_venous": str(bad)}, preset, roi_only=True)


def test_presets_that_need_the_whole_image_read_it_whole(sample_data_dir: Path) -> None:
    row = {"image": str(sample_data_dir / "lung1_image.nrrd"), "mask": str(sample_data_dir / "lung1_label.nrrd")}
    for name in ("jia2023-mri", "kim2024-mri-2d"):  # N4 and whole-image z-score; largest axial slice
        image, mask = load_row_inputs(row, load_preset(name), roi_only=True)
        assert image.GetSize() == (512, 512, 48) and mask.whole is None
    zhang = dataclasses.replace(load_preset("zhang2026-ct"), phases=())
    for preset in (load_preset("pyradiomics-default"), zhang):
        image, mask = load_row_inputs(row, preset, roi_only=True)
        assert np.prod(image.GetSize()) < 0.05 * 512 * 512 * 48 and mask.whole is not None


def test_nan_voxels_refused_where_they_are_read(tmp_path: Path) -> None:
    from nbrisk.io.images import read_image

    arr = np.zeros((20, 30, 40), np.float32)
    arr[2, 3, 4] = np.nan
    path = tmp_path / "nan.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(arr), str(path))
    with pytest.raises(InputError, match=r"nan\.nrrd: image has 1 NaN/infinite voxels"):
        read_image(path)
    with pytest.raises(InputError, match=r"nan\.nrrd: image has 1 NaN/infinite voxels"):
        read_image_region(path, [0, 0, 0], [10, 10, 10])
    # a block away from it cannot be influenced by it and is read
    assert read_image_region(path, [20, 10, 10], [10, 10, 10]).GetSize() == (10, 10, 10)


def test_nearest_neighbour_ties_broken_as_on_the_whole_mask() -> None:
    """0.75 mm pixels to 1 mm: every third new voxel centre lies exactly between two old ones, and ITK's
    floating-point index arithmetic (which depends on the input's origin) decides the tie."""
    from radiomics.imageoperations import resampleImage

    z, y, x = np.mgrid[:60, :256, :256]
    arr = (((x - 150) * 0.75) ** 2 + ((y - 100) * 0.75) ** 2 + (z - 30.0) ** 2 < 18.0 ** 2).astype(np.uint8)
    mask = sitk.GetImageFromArray(arr)
    mask.SetSpacing((0.75, 0.75, 1.0))
    mask.SetOrigin((-192.0, -192.0, -100.0))
    image = sitk.Cast(mask, sitk.sitkFloat64) * 100.0
    settings = dict(CT_LIKE["pyradiomics"]["setting"])
    _, ref = resampleImage(image, mask, **settings)
    index, size = preprocess.crop_box(*preprocess.roi_bounds(mask), np.array([20, 20, 14]), mask.GetSize())
    img_b, mask_b = (sitk.RegionOfInterest(v, size, index) for v in (image, mask))
    _, got = preprocess.resample_like_pyradiomics(img_b, mask_b, settings, Grid.of(mask))
    assert Grid.of(got) == Grid.of(ref)
    assert np.array_equal(sitk.GetArrayViewFromImage(got), sitk.GetArrayViewFromImage(ref))
    # the same grid sampled from the block as such breaks some ties the other way
    naive = sitk.Resample(mask_b, ref, sitk.Transform(), sitk.sitkNearestNeighbor, 0, mask_b.GetPixelID())
    assert not np.array_equal(sitk.GetArrayViewFromImage(naive), sitk.GetArrayViewFromImage(ref))


def test_plain_engine_refuses_a_block(lung1_files: dict[str, Path]) -> None:
    from nbrisk.errors import NBRiskError

    preset = _preset()
    block, mask = load_row_inputs({"image": str(lung1_files["raw.mha"]), "mask": str(lung1_files["mask"])}, preset,
                                  roi_only=True)
    with pytest.raises(NBRiskError, match="engine pyradiomics needs the whole image"):
        extract_features(block, mask.image, preset, engine="pyradiomics", whole=mask.whole)


def test_block_read_on_an_oblique_anisotropic_grid(tmp_path: Path) -> None:
    """Direction cosines rotated 30 degrees about z and 0.8 x 0.8 x 2.5 mm voxels: the block still equals."""
    rng = np.random.default_rng(3)
    z, y, x = np.mgrid[:40, :160, :200]
    roi = (((x - 70) * 0.8) ** 2 + ((y - 50) * 0.8) ** 2 + ((z - 18) * 2.5) ** 2) < 14.0 ** 2
    arr = (rng.normal(0, 20, roi.shape) + np.where(roi, 80, 20)).astype(np.int16)
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    direction = (c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0)
    paths = {}
    for name, a in (("image.nrrd", arr), ("mask.nrrd", roi.astype(np.uint8))):
        img = sitk.GetImageFromArray(a)
        img.SetSpacing((0.8, 0.8, 2.5))
        img.SetOrigin((-40.3, 12.7, -55.0))
        img.SetDirection(direction)
        paths[name] = tmp_path / name
        sitk.WriteImage(img, str(paths[name]), True)
    preset = _preset()
    row = {"image": str(paths["image.nrrd"]), "mask": str(paths["mask.nrrd"])}
    block, bmask = load_row_inputs(row, preset, roi_only=True)
    full, fmask = load_row_inputs(row, preset)
    assert np.prod(block.GetSize()) < 0.5 * np.prod(full.GetSize())
    a = extract_features(block, bmask.image, preset, whole=bmask.whole).values
    b = extract_features(full, fmask.image, preset).values
    assert list(a) == list(b)
    assert all(a[k] == b[k] or (np.isnan(a[k]) and np.isnan(b[k])) for k in a)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64, np.int32])
@pytest.mark.parametrize("compress", [False, True])
def test_nrrd_block_reader_streams_and_equals_itk(tmp_path: Path, dtype, compress: bool) -> None:
    from nbrisk.io.nrrd_block import read_block

    rng = np.random.default_rng(0)
    arr = (rng.normal(0, 50, (23, 31, 37)) + 100).astype(dtype)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((0.7, 0.8, 2.5))
    img.SetOrigin((-10.5, 3.25, 7.0))
    path = tmp_path / "vol.nrrd"
    sitk.WriteImage(img, str(path), compress)
    index, size = [5, 7, 3], [20, 11, 17]
    block = read_block(path, index, size)
    assert block is not None and block.dtype == arr.dtype  # the streamed path, not ITK's fallback
    assert np.array_equal(block, arr[3:20, 7:18, 5:25])
    got = read_image_region(path, index, size)
    ref = sitk.RegionOfInterest(img, size, index)
    assert np.array_equal(sitk.GetArrayViewFromImage(got), sitk.GetArrayViewFromImage(ref))
    assert Grid.of(got) == Grid.of(ref) and got.GetPixelID() == ref.GetPixelID()


def test_nrrd_block_reader_big_endian_and_what_it_leaves_to_itk(tmp_path: Path) -> None:
    from nbrisk.io.nrrd_block import read_block

    arr = np.arange(4 * 5 * 6, dtype=">i2").reshape(4, 5, 6)
    big = tmp_path / "big.nrrd"
    big.write_bytes(b"NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 6 5 4\n"
                    b"space directions: (1,0,0) (0,1,0) (0,0,1)\nkinds: domain domain domain\nendian: big\n"
                    b"encoding: raw\nspace origin: (0,0,0)\nmy key:=value: with colon\n\n" + arr.tobytes())
    assert np.array_equal(read_block(big, [1, 1, 1], [4, 3, 2]), arr[1:3, 1:4, 1:5])
    got = read_image_region(big, [1, 1, 1], [4, 3, 2])
    ref = sitk.RegionOfInterest(sitk.ReadImage(str(big)), [4, 3, 2], [1, 1, 1])
    assert np.array_equal(sitk.GetArrayViewFromImage(got), sitk.GetArrayViewFromImage(ref))
    detached = tmp_path / "vol.nhdr"
    sitk.WriteImage(sitk.GetImageFromArray(arr.astype(np.int16)), str(detached))
    vector = tmp_path / "rgb.nrrd"
    sitk.WriteImage(sitk.Image([4, 4, 4], sitk.sitkVectorUInt8, 3), str(vector))
    truncated = tmp_path / "cut.nrrd"
    truncated.write_bytes(big.read_bytes()[:-40])
    for p in (detached, vector, truncated):
        assert read_block(p, [0, 0, 0], [2, 2, 2] if p != truncated else [6, 5, 4]) is None
    with pytest.raises(InputError, match=r"cut\.nrrd: cannot read image"):
        read_image_region(truncated, [0, 0, 0], [6, 5, 4])
