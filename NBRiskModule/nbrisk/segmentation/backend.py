"""The automatic-segmentation backend interface (``load_backend`` in :mod:`nbrisk.segmentation.autoseg` picks one).

A backend turns an image into a tumour mask on the image's own grid. Prompts are optional: an interactive
model uses them as its input; a fully automatic model (the shipped ONNX U-Net, nnU-Net) uses them to pick
and bound its result (points choose the connected components to keep, a box clips the mask).

Backends:

- :class:`~nbrisk.segmentation.onnx_backend.OnnxBackend`: any ``.onnx`` network with its ``.json`` settings
  (sliding window, Gaussian weighting, the model's resampling and normalisation); ``"builtin"`` is the
  small U-Net shipped in ``nbrisk/segmentation/models`` (trained on synthetic phantoms only; not for patients).
- :class:`~nbrisk.segmentation.nnunet_backend.NnUNetBackend`: a user's trained nnU-Net v2 model folder
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
