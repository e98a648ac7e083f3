"""Automatic segmentation: sliding window, model settings, the shipped ONNX model, prompts, CLI, nnU-Net."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from nbrisk.errors import InputError, MissingDependencyError
from nbrisk.segmentation.autoseg import load_backend
from nbrisk.segmentation.backend import BUILTIN_MODEL, Prompts, SegmentationBackend
from nbrisk.segmentation.onnx_backend import gaussian_weight, sliding_window, window_starts
from nbrisk.segmentation.preprocessing import ModelConfig, model_grid, normalise
from nbrisk.synthetic.phantom import PhantomSpec, make_phantom

ROOT = Path(__file__).resolve().parents[3]
TEST_SEED0 = 200_000  # the training script uses seeds < 50_000 (train) and 50_000+ (validation)


def _dice(a: sitk.Image, b: sitk.Image) -> float:
    x, y = sitk.GetArrayViewFromImage(a) != 0, sitk.GetArrayViewFromImage(b) != 0
    return 2.0 * float((x & y).sum()) / float(x.sum() + y.sum())


def _case(i: int, modality: str = "ct"):
    rng = np.random.default_rng(TEST_SEED0 + i)
    spec = PhantomSpec(modality=modality, texture_class=i % 2,
                       tumour_radius_mm=tuple(float(v) for v in rng.uniform(11, 17, 3)),  # type: ignore[arg-type]
                       tumour_offset_mm=(float(rng.uniform(16, 24)), float(rng.uniform(-12, -4)),
                                         float(rng.uniform(-4, 4))))
    return make_phantom(spec, seed=TEST_SEED0 + i)


# ------------------------------------------------------------------------------------- sliding window
@pytest.mark.parametrize(("length", "patch", "overlap"),
                         [(10, 16, 0.25), (48, 48, 0.5), (100, 48, 0.25), (49, 48, 0.5)])
def test_window_starts_cover_the_axis_with_the_overlap(length: int, patch: int, overlap: float) -> None:
    starts = window_starts(length, patch, overlap)
    assert starts[0] == 0
    covered = np.zeros(max(length, patch), bool)
    for s in starts:
        covered[s:s + patch] = True
    assert covered[:length].all()
    if length > patch:
        assert starts[-1] == length - patch
        assert max(np.diff(starts)) <= int(patch * (1 - overlap))


def test_gaussian_weight_peaks_in_the_centre_and_keeps_the_border() -> None:
    w = gaussian_weight((16, 16, 16), 0.125)
    assert w.max() == pytest.approx(1.0)
    assert w[8, 8, 8] > w[0, 8, 8] > 0
    assert w.min() >= 1e-3


def test_sliding_window_stitches_exactly() -> None:
    """A network whose logits are its input must give sigmoid(input) everywhere, border and padding included."""
    rng = np.random.default_rng(0)
    for shape in [(20, 70, 33), (8, 8, 8)]:
        arr = rng.normal(size=shape).astype(np.float32)
        calls = []

        def predict(batch: np.ndarray, calls: list = calls) -> np.ndarray:
            calls.append(batch.shape)
            assert batch.shape[1:] == (1, 16, 16, 16)
            return batch

        out = sliding_window(arr, predict, (16, 16, 16), 0.5, 0.125, batch_size=3)
        assert out.shape == arr.shape
        np.testing.assert_allclose(out, 1 / (1 + np.exp(-arr)), rtol=1e-5, atol=1e-6)
        assert all(c[0] <= 3 for c in calls)


def test_model_grid_keeps_the_image_extent() -> None:
    img = sitk.Image([96, 96, 48], sitk.sitkInt16)
    img.SetSpacing((1.0, 1.0, 2.0))
    img.SetOrigin((-48.0, -48.0, -48.0))
    ref = model_grid(img, (2.0, 2.0, 2.0))
    assert ref.GetSize() == (48, 48, 48)
    # first voxel's corner stays where the image's is
    assert ref.GetOrigin()[0] - 1.0 == pytest.approx(img.GetOrigin()[0] - 0.5)
    assert ref.GetOrigin()[2] - 1.0 == pytest.approx(img.GetOrigin()[2] - 1.0)


def test_normalisation_methods() -> None:
    a = np.array([-1000.0, 0.0, 50.0, 2000.0])
    out = normalise(a, {"method": "clip_scale", "clip": [-200, 500], "mean": 50, "std": 150})
    np.testing.assert_allclose(out, [(-200 - 50) / 150, -50 / 150, 0.0, (500 - 50) / 150], rtol=1e-6)
    mr = np.concatenate([np.zeros(1000), np.random.default_rng(0).normal(500, 50, 5000)])
    z = normalise(mr, {"method": "zscore_foreground", "foreground_fraction": 0.1})
    assert abs(float(z[1000:].mean())) < 0.05 and abs(float(z[1000:].std()) - 1) < 0.05


# ---------------------------------------------------------------------------------- model settings
def test_model_settings_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        ModelConfig.read(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not a readable JSON"):
        ModelConfig.read(bad)
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(InputError, match="format must be"):
        ModelConfig.read(bad)
    bad.write_text(json.dumps({"format": "nbrisk-autoseg/1", "spacing_mm": [2, 2]}))
    with pytest.raises(InputError, match=r"bad or missing model setting|need 3 positive"):
        ModelConfig.read(bad)


def test_a_corrupt_onnx_file_is_a_one_line_error(tmp_path: Path) -> None:
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"this is not a network")
    (tmp_path / "m.json").write_text(BUILTIN_MODEL.with_suffix(".json").read_text())
    with pytest.raises(InputError, match=r"m\.onnx: not a usable ONNX model"):
        load_backend(onnx)
    with pytest.raises(InputError, match="model not found"):
        load_backend(tmp_path / "missing.onnx")
    with pytest.raises(InputError, match="unknown model type"):
        load_backend(tmp_path / "m.json")


# ------------------------------------------------------------------------------------ shipped model
def test_builtin_model_is_shipped_small_and_marked_synthetic() -> None:
    assert BUILTIN_MODEL.is_file() and BUILTIN_MODEL.stat().st_size < 5_000_000
    cfg = ModelConfig.read(BUILTIN_MODEL.with_suffix(".json"))
    assert "NOT FOR PATIENTS" in cfg.note and "synthetic" in cfg.note.lower()
    assert (BUILTIN_MODEL.parent / "MODEL_CARD.md").is_file()
    assert isinstance(load_backend("builtin"), SegmentationBackend)


@pytest.mark.parametrize("modality", ["ct", "mr"])
def test_builtin_model_segments_held_out_phantoms(modality: str) -> None:
    """Phantoms from seeds no training step saw; the mask comes back on the image grid."""
    backend = load_backend("builtin", threads=1)
    dice = []
    for i in range(2):
        ph = _case(i + (0 if modality == "ct" else 10), modality)
        mask = backend.segment(ph.image)
        assert mask.GetSize() == ph.image.GetSize() and mask.GetSpacing() == ph.image.GetSpacing()
        assert mask.GetOrigin() == ph.image.GetOrigin() and mask.GetPixelID() == sitk.sitkUInt8
        dice.append(_dice(mask, ph.tumour))
    assert min(dice) > 0.85, dice


def test_result_follows_the_image_orientation_and_spacing() -> None:
    """A reoriented (flipped/permuted axes) and resampled image gets its mask on its own grid."""
    ph = _case(3)
    turned = sitk.DICOMOrient(ph.image, "RAS")
    truth = sitk.DICOMOrient(ph.tumour, "RAS")
    assert turned.GetDirection() != ph.image.GetDirection()
    mask = load_backend("builtin", threads=1).segment(turned)
    assert mask.GetDirection() == turned.GetDirection() and mask.GetSize() == turned.GetSize()
    assert _dice(mask, truth) > 0.85


def test_prompts_pick_and_clip_the_result() -> None:
    ph = _case(4)
    backend = load_backend("builtin", threads=1)
    full = backend.segment(ph.image)
    c = ph.tumour_centre_lps
    # a box around the tumour changes nothing; a box beside it leaves nothing
    around = Prompts.of(box=(c[0] - 40, c[1] - 40, c[2] - 40, c[0] + 40, c[1] + 40, c[2] + 40))
    assert _dice(backend.segment(ph.image, around), full) == pytest.approx(1.0)
    aside = Prompts.of(box=(-48, -48, -48, -30, -30, -30))
    assert not np.any(sitk.GetArrayViewFromImage(backend.segment(ph.image, aside)))
    # a background point on the tumour removes it; a tumour point keeps it
    assert not np.any(sitk.GetArrayViewFromImage(backend.segment(ph.image, Prompts.of(background=[c]))))
    assert _dice(backend.segment(ph.image, Prompts.of(points=[c])), full) == pytest.approx(1.0)
    from nbrisk.segmentation.autoseg import autoseg

    with pytest.raises(InputError, match="found no tumour"):
        autoseg(ph.image, backend, prompts=aside)


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_autoseg_one_image_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from nbrisk.cli import main
    from nbrisk.io.images import write_image

    ph = _case(5)
    img = write_image(ph.image, tmp_path / "img.nrrd")
    out = tmp_path / "auto.nrrd"
    assert main(["autoseg", "--image", str(img), "--out", str(out), "--threads", "1"]) == 0
    cap = capsys.readouterr()
    assert "not for patients" in cap.out and "window" in cap.err  # progress on stderr
    assert _dice(sitk.ReadImage(str(out)), ph.tumour) > 0.85
    assert main(["autoseg", "--image", str(tmp_path / "nope.nrrd"), "--out", str(tmp_path / "x.nrrd")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "nope.nrrd" in err and not (tmp_path / "x.nrrd").exists()
    assert main(["autoseg", "--image", str(img), "--out", str(tmp_path / "y.nrrd"),
                 "--box-lps=-48,-48,-48,-30,-30,-30"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "found no tumour" in err[-1] and "img.nrrd" in err[-1] and not (tmp_path / "y.nrrd").exists()
    assert main(["autoseg", "--image", str(img), "--out", str(tmp_path / "z.csv")]) == 2
    assert "--out must be a mask file" in capsys.readouterr().err


def test_cli_autoseg_manifest_with_resume(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from nbrisk.cli import main
    from nbrisk.io.images import write_image

    rows = []
    for i in range(2):
        write_image(_case(6 + i, "mr" if i else "ct").image, tmp_path / f"c{i}.nrrd")
        rows.append({"case_id": f"c{i}", "image": f"c{i}.nrrd"})
    rows.append({"case_id": "broken", "image": "missing.nrrd"})
    with open(tmp_path / "cases.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["case_id", "image"])
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "auto"
    args = ["autoseg", "--manifest", str(tmp_path / "cases.csv"), "--out", str(out), "--threads", "1"]
    assert main(args) == 1  # one case failed
    assert "2 segmented, 0 already done, 1 failed" in capsys.readouterr().out
    with open(out / "manifest.csv", newline="") as fh:
        done = list(csv.DictReader(fh))
    assert [d["case_id"] for d in done] == ["c0", "c1"] and all(Path(d["mask"]).is_file() for d in done)
    assert "missing.nrrd" in (out / "errors.csv").read_text()
    assert main(args) == 1
    assert "0 segmented, 2 already done, 1 failed" in capsys.readouterr().out


def test_panel_command_runs_as_given(tmp_path: Path) -> None:
    """The argument list the Slicer panel hands its CliRunner, run as a real subprocess."""
    from nbrisk.io.images import write_image
    from nbrisk.segmentation.autoseg import model_choices, model_info, panel_command

    ph = _case(8)
    img = write_image(ph.image, tmp_path / "img.nrrd")
    c = ph.tumour_centre_lps
    args = panel_command(img, tmp_path / "m.nrrd", points_lps=[c])
    r = subprocess.run([sys.executable, "-m", "nbrisk", *args], capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT / "NBRiskModule"), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert "window" in r.stderr and "/" in r.stderr  # k/n counters for the runner's progress bar
    assert _dice(sitk.ReadImage(str(tmp_path / "m.nrrd")), ph.tumour) > 0.85
    assert model_choices()[0][1] == "builtin" and model_info("builtin")["synthetic_only"]


# ------------------------------------------------------------------------------------------ nnU-Net
def test_nnunet_backend_without_nnunet_says_how_to_install(tmp_path: Path) -> None:
    from nbrisk.segmentation.nnunet_backend import NnUNetBackend, nnunet_available

    if nnunet_available():
        pytest.skip("nnunetv2 is installed here; this test covers the message shown when it is not")
    with pytest.raises(MissingDependencyError, match=r"nbrisk\[nnunet\]"):
        NnUNetBackend(tmp_path)
    with pytest.raises(MissingDependencyError):
        load_backend(tmp_path)  # a folder means nnU-Net


def test_nnunet_model_folder_checks(tmp_path: Path) -> None:
    from nbrisk.segmentation.nnunet_backend import check_model_folder, tumour_label

    with pytest.raises(InputError, match="not found"):
        check_model_folder(tmp_path / "none")
    with pytest.raises(InputError, match=r"missing plans\.json, dataset\.json"):
        check_model_folder(tmp_path)
    (tmp_path / "plans.json").write_text("{}")
    (tmp_path / "dataset.json").write_text(json.dumps({"labels": {"background": 0, "Tumor": 2}}))
    with pytest.raises(InputError, match="never downloads weights"):
        check_model_folder(tmp_path)
    (tmp_path / "fold_0").mkdir()
    (tmp_path / "fold_0" / "checkpoint_final.pth").write_bytes(b"")
    assert tumour_label(check_model_folder(tmp_path)) == 2
    (tmp_path / "plans.json").write_text(json.dumps({"image_reader_writer": "NibabelIO"}))
    with pytest.raises(InputError, match="SimpleITKIO models only"):
        check_model_folder(tmp_path)
    assert tumour_label({"labels": {"background": 0, "lesion": 1}}) == 1


def test_nnunet_backend_runs_a_real_model_folder() -> None:
    import os

    pytest.importorskip("nnunetv2", reason="nnU-Net v2 is not installed (pip install 'nbrisk[nnunet]')")
    folder = os.environ.get("NBRISK_NNUNET_MODEL")
    if not folder:
        pytest.skip("set NBRISK_NNUNET_MODEL to a single-channel nnU-Net v2 trainer folder to run this "
                    "(Utilities/make_tiny_nnunet_model.py makes one)")
    from nbrisk.segmentation.nnunet_backend import NnUNetBackend

    ph = _case(9)
    backend = NnUNetBackend(folder, folds=None)
    mask = backend.segment(ph.image)
    assert mask.GetSize() == ph.image.GetSize() and mask.GetPixelID() == sitk.sitkUInt8
    assert mask.GetOrigin() == ph.image.GetOrigin() and mask.GetSpacing() == ph.image.GetSpacing()
    assert set(np.unique(sitk.GetArrayViewFromImage(mask))) <= {0, 1}
    aside = backend.segment(ph.image, Prompts.of(box=(-48, -48, -48, -30, -30, -30)))
    assert not np.any(sitk.GetArrayViewFromImage(aside)[30:, 30:, 30:])  # clipped to the corner box


# --------------------------------------------------------------------------------------------- demo
def test_demo_step_reports_both_dice_values(tmp_path: Path) -> None:
    from nbrisk.synthetic.demo import DemoContext
    from nbrisk.synthetic.demo_steps import s10_cohort, s22_autoseg

    lines: list[str] = []
    ctx = DemoContext(out_dir=tmp_path, n_cases=2, seed=0, log=lines.append)
    s10_cohort.run(ctx)
    ctx.state["semiauto_dice"] = 0.5  # what the seeded-grow step would have left (not run here: slow)
    s22_autoseg.run(ctx)
    assert ctx.state["autoseg_dice"] > 0.85
    assert any("automatic ROI: mean Dice" in s and "one-click semiautomatic ROI: mean Dice 0.500" in s for s in lines)
    assert len(list((tmp_path / "autoseg").glob("*_autoseg.nrrd"))) == 2
