"""ONNX Runtime backend: a 3-D segmentation network run by sliding window on the CPU.

Steps (settings from the ``.json`` beside the ``.onnx``, see :mod:`nbrisk.segmentation.preprocessing`):

1. The image is turned to the axis order the model was trained in (a permutation/flip, no interpolation)
   and resampled linearly to the model's spacing; intensities are normalised by the modality's method
   (modality "auto": CT when the image holds air at about -1000 HU).
2. Windows of the model's patch size tile the volume with the configured overlap; each window's
   sigmoid output is weighted by a Gaussian centred on the window (sigma = ``gaussian_sigma_scale`` x
   window size) and the weighted outputs are averaged (less weight on window borders, where a network
   sees least context). Volumes smaller than a window are padded with their minimum.
3. The probability map is cleaned on the model grid (largest connected component, or the components
   holding the point prompts; a box prompt clips it) and resampled linearly onto the image's own grid,
   where it is thresholded. The result is a uint8 mask (1 = tumour) with the image's geometry.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from nbrisk.errors import InputError, MissingDependencyError
from nbrisk.segmentation.backend import Progress, Prompts
from nbrisk.segmentation.grow import detect_modality
from nbrisk.segmentation.preprocessing import ModelConfig, model_grid, normalise

_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def window_starts(length: int, patch: int, overlap: float) -> list[int]:
    """Start indices of windows of ``patch`` voxels covering ``length`` with at least ``overlap`` shared."""
    if length <= patch:
        return [0]
    step = max(1, int(patch * (1.0 - overlap)))
    n = math.ceil((length - patch) / step) + 1
    return sorted({round(v) for v in np.linspace(0, length - patch, n)})


def gaussian_weight(patch: tuple[int, int, int], sigma_scale: float) -> np.ndarray:
    """Separable Gaussian importance map (peak 1, floor 1e-3 so every voxel keeps some weight)."""
    w = np.ones(patch, np.float32)
    for axis, n in enumerate(patch):
        i = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
        g = np.exp(-0.5 * (i / max(sigma_scale * n, 1e-6)) ** 2).astype(np.float32)
        shape = [1, 1, 1]
        shape[axis] = n
        w = w * g.reshape(shape)
    w /= w.max()
    return np.maximum(w, 1e-3)


def sliding_window(arr: np.ndarray, predict, patch: tuple[int, int, int], overlap: float,
                   sigma_scale: float, batch_size: int = 2, progress: Progress | None = None) -> np.ndarray:
    """Probability (sigmoid of ``predict``'s logits) for every voxel of ``arr`` (numpy z-y-x).

    ``predict`` maps a float32 batch ``(n, 1, pz, py, px)`` to logits of the same shape.
    """
    pads = [(max(0, (p - n) // 2), max(0, p - n - (p - n) // 2)) for n, p in zip(arr.shape, patch, strict=True)]
    padded = np.pad(arr, pads, constant_values=float(arr.min())) if any(sum(p) for p in pads) else arr
    weight = gaussian_weight(patch, sigma_scale)
    acc = np.zeros(padded.shape, np.float32)
    wsum = np.zeros(padded.shape, np.float32)
    starts = [window_starts(n, p, overlap) for n, p in zip(padded.shape, patch, strict=True)]
    corners = [(z, y, x) for z in starts[0] for y in starts[1] for x in starts[2]]
    for b in range(0, len(corners), batch_size):
        chunk = corners[b:b + batch_size]
        sl = [tuple(slice(c, c + p) for c, p in zip(corner, patch, strict=True)) for corner in chunk]
        batch = np.stack([padded[s] for s in sl])[:, None].astype(np.float32, copy=False)
        logits = np.asarray(predict(batch), dtype=np.float32)
        prob = 1.0 / (1.0 + np.exp(-np.clip(logits[:, 0], -60, 60)))
        for s, pr in zip(sl, prob, strict=True):
            acc[s] += pr * weight
            wsum[s] += weight
        if progress is not None:
            progress(min(1.0, (b + len(chunk)) / len(corners)), f"window {b + len(chunk)}/{len(corners)}")
    out = acc / np.maximum(wsum, 1e-12)
    crop = tuple(slice(lo, n - hi) for (lo, hi), n in zip(pads, padded.shape, strict=True))
    return out[crop]


class OnnxBackend:
    """A segmentation network in ONNX format with its NBRisk settings JSON (see the module docstring)."""

    def __init__(self, onnx_path: str | Path, config_path: str | Path | None = None, *,
                 threads: int | None = None, modality: str = "auto") -> None:
        p = Path(onnx_path)
        if not p.is_file():
            raise InputError(f"{p}: ONNX model not found; give the path of an .onnx file or 'builtin'")
        if modality not in ("auto", "ct", "mr"):
            raise InputError(f"modality {modality!r} unknown; use auto, ct or mr")
        self.path = p
        self.config = ModelConfig.read(config_path or p.with_suffix(".json"))
        self.name = self.config.name or p.stem
        self.modality = modality
        try:
            import onnxruntime as ort
        except ImportError:
            raise MissingDependencyError("onnxruntime is not installed; pip install onnxruntime") from None
        so = ort.SessionOptions()
        so.intra_op_num_threads = int(threads or 0)
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting on shared cores
        try:
            self.session = ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types (InvalidProtobuf, Fail...)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{p}: not a usable ONNX model ({first[:160]}); re-export the model") from None
        names_in = [i.name for i in self.session.get_inputs()]
        names_out = [o.name for o in self.session.get_outputs()]
        if self.config.input_name not in names_in or self.config.output_name not in names_out:
            raise InputError(f"{p}: the network's input/output names {names_in}/{names_out} do not match "
                             f"the settings ({self.config.input_name!r}, {self.config.output_name!r}); "
                             "fix input_name/output_name in the .json")

    # -------------------------------------------------------------------------------------------- steps
    def pick_modality(self, image: sitk.Image) -> str:
        mod = detect_modality(image) if self.modality == "auto" else self.modality
        if mod not in self.config.normalization:
            raise InputError(f"model {self.name} has no normalisation for modality {mod!r} (it knows "
                             f"{sorted(self.config.normalization)}); pass --modality or use another model")
        return mod

    def _predict(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run([self.config.output_name], {self.config.input_name: batch})[0]

    def probability(self, image: sitk.Image, progress: Progress | None = None) -> sitk.Image:
        """Tumour probability on the model grid (float32 image with the model grid's geometry)."""
        if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
            raise InputError("automatic segmentation needs a 3-D scalar image; give one volume (not 2-D/4-D/RGB)")
        mod = self.pick_modality(image)
        src = image
        if tuple(round(v, 6) for v in image.GetDirection()) != _IDENTITY:
            # bring the axes to the training order (x left, y posterior, z superior) without interpolation
            code = sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(_IDENTITY)
            src = sitk.DICOMOrient(image, code)
        ref = model_grid(src, self.config.spacing_mm)
        lo = float(np.min(sitk.GetArrayViewFromImage(src)))
        resampled = sitk.Resample(src, ref, sitk.Transform(), sitk.sitkLinear, lo, sitk.sitkFloat32)
        del src
        arr = normalise(sitk.GetArrayViewFromImage(resampled), self.config.normalization[mod])
        patch = tuple(self.config.patch_size[::-1])  # numpy z, y, x
        prob = sliding_window(arr, self._predict, patch, self.config.overlap,  # type: ignore[arg-type]
                              self.config.gaussian_sigma_scale, self.config.batch_size, progress)
        out = sitk.GetImageFromArray(prob.astype(np.float32))
        out.CopyInformation(resampled)
        return out

    def postprocess(self, prob: sitk.Image, prompts: Prompts | None) -> sitk.Image:
        """Keep the largest component (or those holding point prompts), clip to the box prompt."""
        arr = sitk.GetArrayFromImage(prob)
        thr = self.config.threshold
        if prompts is not None and prompts.box is not None:
            arr *= _box_mask(prob, prompts.box)
        lab, n = ndimage.label(arr >= thr, structure=np.ones((3, 3, 3), bool))
        if n == 0:  # nothing reaches the threshold (inside the box): an empty result
            out = sitk.GetImageFromArray(np.zeros_like(arr))
            out.CopyInformation(prob)
            return out
        keep = np.zeros(n + 1, bool)
        hit = [_label_at(prob, lab, p) for p in (prompts.points if prompts else ())]
        hit = [h for h in hit if h > 0]
        if hit:
            keep[hit] = True
        elif self.config.keep_largest_component:
            keep[1 + int(np.argmax(ndimage.sum_labels(np.ones_like(lab), lab, range(1, n + 1))))] = True
        else:
            keep[1:] = True
        for p in prompts.background if prompts else ():
            keep[_label_at(prob, lab, p)] = False
        keep[0] = False
        region = ndimage.binary_dilation(keep[lab], iterations=2)  # keep the soft border for interpolation
        out = sitk.GetImageFromArray(np.where(region, arr, 0.0).astype(np.float32))
        out.CopyInformation(prob)
        return out

    def segment(self, image: sitk.Image, prompts: Prompts | None = None, *,
                progress: Progress | None = None) -> sitk.Image:
        """uint8 tumour mask (1 inside) on ``image``'s grid; empty when the model finds no tumour."""
        prob = self.postprocess(self.probability(image, progress), prompts)
        full = sitk.Resample(prob, image, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
        del prob
        mask = sitk.BinaryThreshold(full, lowerThreshold=self.config.threshold, upperThreshold=1e30,
                                    insideValue=1, outsideValue=0)
        mask.CopyInformation(image)
        return mask


def _label_at(grid: sitk.Image, lab: np.ndarray, point) -> int:
    idx = grid.TransformPhysicalPointToContinuousIndex(tuple(float(v) for v in point))
    i = [round(v) for v in idx]
    if not all(0 <= v < n for v, n in zip(i, grid.GetSize(), strict=True)):
        return 0
    return int(lab[i[2], i[1], i[0]])


def _box_mask(grid: sitk.Image, box) -> np.ndarray:
    """1 inside the LPS box, 0 outside, on ``grid`` (numpy z-y-x float32)."""
    lo_p, hi_p = np.minimum(box[:3], box[3:]), np.maximum(box[:3], box[3:])
    corners = [(a, b, c) for a in (lo_p[0], hi_p[0]) for b in (lo_p[1], hi_p[1]) for c in (lo_p[2], hi_p[2])]
    idx = np.array([grid.TransformPhysicalPointToContinuousIndex(tuple(map(float, c))) for c in corners])
    lo = np.maximum(np.floor(idx.min(0)).astype(int), 0)
    hi = np.minimum(np.ceil(idx.max(0)).astype(int) + 1, grid.GetSize())
    m = np.zeros(grid.GetSize()[::-1], np.float32)
    m[lo[2]:hi[2], lo[1]:hi[1], lo[0]:hi[0]] = 1.0
    return m
