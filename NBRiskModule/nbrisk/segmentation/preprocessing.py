"""What an automatic-segmentation model expects of its input: model grid and intensity normalisation.

A model shipped as ``name.onnx`` has a ``name.json`` beside it (see :class:`ModelConfig`). The same
functions prepare the training data (``Utilities/train_autoseg.py``) and the images at inference, so the
network sees at run time exactly what it saw in training.

Normalisation methods (``normalization`` in the JSON, one entry per modality):

- ``{"method": "clip_scale", "clip": [lo, hi], "mean": m, "std": s}``: CT in HU, clipped then
  ``(x - m) / s``.
- ``{"method": "zscore_foreground", "foreground_fraction": f}``: MRI in any units; the mean and standard
  deviation of the voxels brighter than ``f`` times the 99th percentile (the body), then a z-score.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError

FORMAT = "nbrisk-autoseg/1"


@dataclass(frozen=True)
class ModelConfig:
    """The JSON beside an ONNX segmentation model."""

    spacing_mm: tuple[float, float, float]  # model grid spacing, x y z
    patch_size: tuple[int, int, int]  # sliding-window size in voxels of the model grid, x y z
    normalization: dict[str, dict]  # modality -> method (see the module docstring)
    input_name: str = "image"
    output_name: str = "logits"
    threshold: float = 0.5  # on the sigmoid of the logits
    overlap: float = 0.25  # fraction of the window shared with its neighbour
    gaussian_sigma_scale: float = 0.125  # Gaussian weighting sigma, fraction of the window size
    keep_largest_component: bool = True
    batch_size: int = 2
    name: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | Path) -> ModelConfig:
        p = Path(path)
        if not p.exists():
            raise InputError(f"{p}: model settings not found; put the model's .json beside its .onnx file")
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{p}: not a readable JSON file ({exc}); re-export the model settings") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise InputError(f"{p}: not an NBRisk segmentation-model file (format must be {FORMAT!r}); "
                             "export it with Utilities/train_autoseg.py")
        try:
            cfg = cls(
                spacing_mm=tuple(float(v) for v in d["spacing_mm"]),  # type: ignore[arg-type]
                patch_size=tuple(int(v) for v in d["patch_size"]),  # type: ignore[arg-type]
                normalization={str(k): dict(v) for k, v in d["normalization"].items()},
                input_name=str(d.get("input_name", "image")),
                output_name=str(d.get("output_name", "logits")),
                threshold=float(d.get("threshold", 0.5)),
                overlap=float(d.get("overlap", 0.25)),
                gaussian_sigma_scale=float(d.get("gaussian_sigma_scale", 0.125)),
                keep_largest_component=bool(d.get("keep_largest_component", True)),
                batch_size=int(d.get("batch_size", 2)),
                name=str(d.get("name", "")),
                note=str(d.get("note", "")),
                extra={k: v for k, v in d.items() if k not in _KNOWN},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"{p}: bad or missing model setting ({exc!s}); "
                             "need spacing_mm, patch_size and normalization") from None
        bad = (len(cfg.spacing_mm) != 3 or len(cfg.patch_size) != 3 or min(cfg.spacing_mm) <= 0
               or min(cfg.patch_size) < 8 or not 0.0 <= cfg.overlap < 1.0 or cfg.batch_size < 1)
        if bad:
            raise InputError(f"{p}: spacing_mm/patch_size need 3 positive values (patch >= 8), overlap in [0, 1); "
                             "fix the model settings")
        for mod, norm in cfg.normalization.items():
            if norm.get("method") not in ("clip_scale", "zscore_foreground"):
                raise InputError(f"{p}: normalization for {mod!r} has unknown method {norm.get('method')!r}; "
                                 "use clip_scale or zscore_foreground")
        return cfg

    def to_json(self) -> dict:
        d = {"format": FORMAT, "name": self.name, "note": self.note,
             "spacing_mm": list(self.spacing_mm), "patch_size": list(self.patch_size),
             "normalization": self.normalization, "input_name": self.input_name,
             "output_name": self.output_name, "threshold": self.threshold, "overlap": self.overlap,
             "gaussian_sigma_scale": self.gaussian_sigma_scale,
             "keep_largest_component": self.keep_largest_component, "batch_size": self.batch_size}
        d.update(self.extra)
        return d


_KNOWN = {"format", "name", "note", "spacing_mm", "patch_size", "normalization", "input_name", "output_name",
          "threshold", "overlap", "gaussian_sigma_scale", "keep_largest_component", "batch_size"}


def model_grid(image: sitk.Image, spacing_mm: tuple[float, float, float]) -> sitk.Image:
    """An empty image covering ``image``'s extent (same origin and direction) at ``spacing_mm``."""
    size = [max(1, math.ceil(n * s / t - 1e-6)) for n, s, t in
            zip(image.GetSize(), image.GetSpacing(), spacing_mm, strict=True)]
    ref = sitk.Image(size, sitk.sitkUInt8)
    ref.SetSpacing(tuple(float(v) for v in spacing_mm))
    # keep the first voxel's corner where the image's is: origin moves by half the spacing change
    d = np.array(image.GetDirection()).reshape(3, 3)
    shift = d @ ((np.array(spacing_mm) - np.array(image.GetSpacing())) / 2.0)
    ref.SetOrigin(tuple((np.array(image.GetOrigin()) + shift).tolist()))
    ref.SetDirection(image.GetDirection())
    return ref


def to_model_grid(image: sitk.Image, spacing_mm: tuple[float, float, float],
                  interpolator: int = sitk.sitkLinear) -> sitk.Image:
    """Resample ``image`` (float32) onto the model grid; outside voxels take the image minimum."""
    ref = model_grid(image, spacing_mm)
    img = sitk.Cast(image, sitk.sitkFloat32)
    lo = float(np.min(sitk.GetArrayViewFromImage(img)))
    return sitk.Resample(img, ref, sitk.Transform(), interpolator, lo, sitk.sitkFloat32)


def normalise(arr: np.ndarray, norm: dict) -> np.ndarray:
    """Apply one normalisation method (see the module docstring) and return float32."""
    a = np.asarray(arr, dtype=np.float32)
    method = norm["method"]
    if method == "clip_scale":
        lo, hi = (float(v) for v in norm["clip"])
        return ((np.clip(a, lo, hi) - float(norm["mean"])) / float(norm["std"])).astype(np.float32)
    if method == "zscore_foreground":
        flat = a.ravel()
        sample = flat[:: max(1, flat.size // 2_000_000)]  # percentiles from at most ~2 M voxels
        p99 = float(np.percentile(sample, 99))
        fg = sample[sample > float(norm.get("foreground_fraction", 0.1)) * p99]
        if fg.size < 10:
            fg = sample
        mean, std = float(fg.mean()), float(fg.std())
        return ((a - mean) / (std if std > 0 else 1.0)).astype(np.float32)
    raise InputError(f"unknown normalisation method {method!r}; use clip_scale or zscore_foreground")
