"""The automatic-segmentation backend interface and the loader that picks a backend for a model.

A backend turns an image into a tumour mask on the image's own grid. Prompts are optional: an interactive
model uses them as its input; a fully automatic model (the shipped ONNX U-Net, nnU-Net) uses them to pick
and bound its result (points choose the connected components to keep, a box clips the mask).

Backends:

- :class:`~nbrisk.segment.onnx_backend.OnnxBackend`: any ``.onnx`` network with its ``.json`` settings
  (sliding window, Gaussian weighting, the model's resampling and normalisation); ``"builtin"`` is the
  small U-Net shipped in ``nbrisk/segment/models`` (trained on synthetic phantoms only; not for patients).
- :class:`~nbrisk.segment.nnunet_backend.NnUNetBackend`: a user's trained nnU-Net v2 model folder
  (``pip install 'nbrisk[nnunet]'``); NBRisk never downloads weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import SimpleITK as sitk

from nbrisk.errors import InputError

Point = tuple[float, float, float]
Progress = Callable[[float, str], None]

BUILTIN = "builtin"
BUILTIN_MODEL = Path(__file__).resolve().parent / "models" / "nbrisk-synthetic-unet3d.onnx"


@dataclass(frozen=True)
class Prompts:
    """Optional user input, all in LPS millimetres.

    ``points``: inside the tumour; ``background``: outside it; ``box``: ``(x0, y0, z0, x1, y1, z1)``.
    """

    points: tuple[Point, ...] = ()
    background: tuple[Point, ...] = ()
    box: tuple[float, float, float, float, float, float] | None = None

    @classmethod
    def of(cls, points: Sequence[Sequence[float]] = (), background: Sequence[Sequence[float]] = (),
           box: Sequence[float] | None = None) -> Prompts:
        if box is not None and len(box) != 6:
            raise InputError("box prompt needs six numbers x0,y0,z0,x1,y1,z1 (LPS mm)")
        return cls(tuple(tuple(float(v) for v in p) for p in points),  # type: ignore[misc]
                   tuple(tuple(float(v) for v in p) for p in background),  # type: ignore[misc]
                   None if box is None else tuple(float(v) for v in box))  # type: ignore[arg-type]

    def __bool__(self) -> bool:
        return bool(self.points or self.background or self.box is not None)


@runtime_checkable
class SegmentationBackend(Protocol):
    """What every automatic-segmentation backend offers."""

    name: str

    def segment(self, image: sitk.Image, prompts: Prompts | None = None, *,
                progress: Progress | None = None) -> sitk.Image:
        """Return a uint8 mask (1 = tumour) on ``image``'s grid. ``progress(fraction, message)`` is optional."""
        ...


def load_backend(model: str | Path | None = None, *, threads: int | None = None,
                 modality: str = "auto") -> SegmentationBackend:
    """Return the backend for ``model``.

    ``None`` or ``"builtin"``: the shipped ONNX U-Net. A ``.onnx`` file: :class:`OnnxBackend` with the
    ``.json`` beside it. A folder holding ``plans.json`` and ``dataset.json`` (an nnU-Net v2 results folder
    such as ``.../nnUNetTrainer__nnUNetPlans__3d_fullres``): :class:`NnUNetBackend`.
    """
    if model is None or str(model) == BUILTIN:
        from nbrisk.segment.onnx_backend import OnnxBackend

        return OnnxBackend(BUILTIN_MODEL, threads=threads, modality=modality)
    p = Path(model)
    if not p.exists():
        raise InputError(f"{p}: model not found; give an .onnx file (with its .json), an nnU-Net model "
                         "folder, or 'builtin'")
    if p.is_dir():
        from nbrisk.segment.nnunet_backend import NnUNetBackend

        return NnUNetBackend(p)
    if p.suffix.lower() == ".onnx":
        from nbrisk.segment.onnx_backend import OnnxBackend

        return OnnxBackend(p, threads=threads, modality=modality)
    raise InputError(f"{p}: unknown model type; give an .onnx file (with its .json), an nnU-Net v2 model "
                     "folder, or 'builtin'")
