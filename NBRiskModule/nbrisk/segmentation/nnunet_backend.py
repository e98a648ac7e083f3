"""nnU-Net v2 backend: a user's trained nnU-Net model folder run through nnU-Net's own predictor.

Needs the ``nnunet`` extra (``pip install 'nbrisk[nnunet]'``: nnunetv2 and PyTorch). NBRisk never
downloads weights: ``model_folder`` is a results folder the user trained or received, e.g.
``nnUNet_results/Dataset501_NB/nnUNetTrainer__nnUNetPlans__3d_fullres`` with ``plans.json``,
``dataset.json`` and ``fold_N/checkpoint_final.pth``. The GPU is used when PyTorch sees one, the CPU
otherwise. nnU-Net does its own resampling, normalisation, sliding window and export; the label map it
returns is cut to the tumour label (the label named tumour/tumor/neuroblastoma in ``dataset.json``, else
the given ``label``, else 1). Prompts clip the result like the ONNX backend's (box; points choose
connected components).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from nbrisk.errors import InputError, MissingDependencyError
from nbrisk.segmentation.backend import Progress, Prompts
from nbrisk.segmentation.onnx_backend import _box_mask, _label_at

INSTALL_HINT = "pip install 'nbrisk[nnunet]'"


def nnunet_available() -> bool:
    try:
        import nnunetv2  # noqa: F401
    except ImportError:
        return False
    return True


def check_model_folder(folder: Path) -> dict:
    """Return ``dataset.json``'s content after checking the folder looks like an nnU-Net v2 result."""
    if not folder.is_dir():
        raise InputError(f"{folder}: nnU-Net model folder not found; give the trainer folder "
                         "(…/nnUNetTrainer__nnUNetPlans__3d_fullres)")
    missing = [n for n in ("plans.json", "dataset.json") if not (folder / n).is_file()]
    if missing:
        raise InputError(f"{folder}: not an nnU-Net v2 model folder (missing {', '.join(missing)}); give the "
                         "trainer folder that holds plans.json, dataset.json and fold_N/")
    if not any(folder.glob("fold_*/checkpoint_*.pth")):
        raise InputError(f"{folder}: no fold_N/checkpoint_*.pth in the model folder; train or copy the "
                         "checkpoints there (NBRisk never downloads weights)")
    try:
        dataset = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
        plans = json.loads((folder / "plans.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{folder}: dataset.json or plans.json unreadable ({exc}); "
                         "restore the model's files") from None
    reader = str(plans.get("image_reader_writer", "SimpleITKIO")) if isinstance(plans, dict) else "SimpleITKIO"
    if reader not in ("SimpleITKIO", "SimpleITKIOWithReorient"):
        # NBRisk hands nnU-Net SimpleITK arrays (z, y, x); a model trained on NibabelIO's axis order would
        # see its input transposed
        raise InputError(f"{folder}: the model was trained with nnU-Net's {reader}; NBRisk runs SimpleITKIO "
                         "models only (retrain with the default reader)")
    return dataset


def tumour_label(dataset: dict, label: int | None = None) -> int:
    if label is not None:
        return int(label)
    labels = dataset.get("labels", {})
    for name, value in labels.items():
        if any(k in name.lower() for k in ("tumour", "tumor", "neuroblastoma")) and not isinstance(value, list):
            return int(value)
    return 1


class NnUNetBackend:
    """Runs ``nnUNetPredictor`` on one image; see the module docstring."""

    def __init__(self, model_folder: str | Path, *, folds: tuple[int, ...] | None = None,
                 checkpoint: str = "checkpoint_final.pth", label: int | None = None,
                 device: str = "auto", mirroring: bool = True) -> None:
        folder = Path(model_folder)
        if not nnunet_available():
            raise MissingDependencyError(f"nnU-Net v2 is not installed; {INSTALL_HINT} to run {folder}")
        dataset = check_model_folder(folder)
        n_channels = len(dataset.get("channel_names", dataset.get("modality", {"0": "CT"})))
        if n_channels != 1:
            raise InputError(f"{folder}: this model takes {n_channels} input channels; NBRisk's nnU-Net backend "
                             "runs single-channel models")
        import torch
        from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

        use_gpu = device == "cuda" or (device == "auto" and torch.cuda.is_available())
        dev = torch.device("cuda", 0) if use_gpu else torch.device("cpu")
        self.predictor = nnUNetPredictor(
            tile_step_size=0.5, use_gaussian=True, use_mirroring=mirroring, perform_everything_on_device=use_gpu,
            device=dev, verbose=False, verbose_preprocessing=False, allow_tqdm=False)
        try:
            self.predictor.initialize_from_trained_model_folder(str(folder), use_folds=folds,
                                                                checkpoint_name=checkpoint)
        except (FileNotFoundError, RuntimeError, KeyError) as exc:
            raise InputError(f"{folder}: nnU-Net could not load the model ({str(exc).splitlines()[0][:160]}); "
                             "check the folds and checkpoint name") from None
        self.label = tumour_label(dataset, label)
        self.name = f"nnunet:{folder.name}"
        self.folder = folder

    def segment(self, image: sitk.Image, prompts: Prompts | None = None, *,
                progress: Progress | None = None) -> sitk.Image:
        if progress is not None:
            progress(0.0, f"nnU-Net predicting with {self.folder.name}")
        arr = sitk.GetArrayFromImage(image).astype(np.float32)[None]  # channels, z, y, x
        props = {"sitk_stuff": {"spacing": image.GetSpacing(), "origin": image.GetOrigin(),
                                "direction": image.GetDirection()},
                 "spacing": list(image.GetSpacing())[::-1]}
        seg = np.asarray(self.predictor.predict_single_npy_array(arr, props, None, None, False))
        mask = (seg == self.label).astype(np.uint8)
        mask = _apply_prompts(image, mask, prompts)
        out = sitk.GetImageFromArray(mask)
        out.CopyInformation(image)
        if progress is not None:
            progress(1.0, "nnU-Net done")
        return out


def _apply_prompts(image: sitk.Image, mask: np.ndarray, prompts: Prompts | None) -> np.ndarray:
    if not prompts:
        return mask
    if prompts.box is not None:
        mask = mask * _box_mask(image, prompts.box).astype(np.uint8)
    if prompts.points or prompts.background:
        lab, n = ndimage.label(mask > 0, structure=np.ones((3, 3, 3), bool))
        keep = np.zeros(n + 1, bool)
        hits = [h for h in (_label_at(image, lab, p) for p in prompts.points) if h > 0]
        keep[hits] = True
        if not hits:
            keep[1:] = True
        for p in prompts.background:
            keep[_label_at(image, lab, p)] = False
        keep[0] = False
        mask = keep[lab].astype(np.uint8)
    return mask
