"""The reader's prompts for interactive segmentation (clicks, a painted seed labelmap, a box) and their checks.

Every check raises a one-line :class:`nbrisk.errors.InputError` naming the prompt and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError
from nbrisk.segmentation.grow import CT_TUMOUR_RANGE_HU, detect_modality
from nbrisk.segmentation.region_competition import signal_void_level


@dataclass(slots=True)
class Prompts:
    """What the reader gave. Points are LPS mm; ``labelmap`` is a seed labelmap on the image grid."""

    tumour: list[tuple[float, float, float]] = field(default_factory=list)
    background: list[tuple[float, float, float]] = field(default_factory=list)
    box: tuple[float, float, float, float, float, float] | None = None  # x0,y0,z0,x1,y1,z1 LPS mm
    labelmap: sitk.Image | None = None
    tumour_label: int = 1
    background_label: int = 2


def to_index(image: sitk.Image, p: Sequence[float], what: str) -> np.ndarray:
    """Continuous (z, y, x) index of an LPS point; InputError when outside the image."""
    if len(p) != 3:
        raise InputError(f"{what} {tuple(p)} needs three coordinates x,y,z in LPS mm")
    idx = np.array(image.TransformPhysicalPointToContinuousIndex([float(v) for v in p]))
    size = np.array(image.GetSize())
    if np.any(idx < -0.5) or np.any(idx > size - 0.5):
        raise InputError(
            f"{what} at ({', '.join(f'{v:.1f}' for v in p)}) mm LPS lies outside the image; "
            "place it inside the image"
        )
    return idx[::-1]


def check_first_seed(image: sitk.Image, zyx: np.ndarray, lps: Sequence[float], modality: str) -> None:
    """The first tumour click must lie in soft tissue: not air or bone (CT), not a signal void (MRI).

    Later clicks are corrections and may sit on a partial-volume rim, so only the first is checked.
    """
    mod = detect_modality(image) if modality == "auto" else modality.lower()
    if mod not in ("ct", "mr"):
        raise InputError(f"modality {modality!r} is unknown; use ct, mr or auto")
    c = np.floor(zyx + 0.5).astype(int)
    r = np.maximum(np.ceil(3.0 / np.array(image.GetSpacing())[::-1]).astype(int), 0)
    lo = np.maximum(c - r, 0)
    hi = np.minimum(c + r + 1, np.array(image.GetSize())[::-1])
    sz = (hi - lo)[::-1].tolist()
    block = sitk.GetArrayFromImage(
        sitk.RegionOfInterest(image, [int(v) for v in sz], [int(v) for v in lo[::-1]])
    )
    med = float(np.median(block))
    where = f"tumour seed at ({', '.join(f'{v:.1f}' for v in lps)}) mm LPS"
    lo_ct, hi_ct = CT_TUMOUR_RANGE_HU
    if mod == "ct" and med < lo_ct:
        raise InputError(
            f"{where} lies in air/lung ({med:.0f} HU, tumour tissue is {lo_ct:.0f} to {hi_ct:.0f} HU); "
            "move it inside the tumour"
        )
    if mod == "ct" and med > hi_ct:
        raise InputError(
            f"{where} lies in bone/contrast ({med:.0f} HU, tumour tissue is {lo_ct:.0f} to "
            f"{hi_ct:.0f} HU); move it into soft tumour tissue"
        )
    if mod == "mr":
        void = signal_void_level(sitk.GetArrayViewFromImage(image)[::4, ::4, ::4])
        if med < void:
            raise InputError(
                f"{where} lies in a signal void ({med:.4g}, under {void:.4g}: 5% of the image's range above its "
                "floor); move it inside the tumour"
            )


def box_index(image: sitk.Image, box: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    if len(box) != 6:
        raise InputError(f"box {tuple(box)} needs six numbers x0,y0,z0,x1,y1,z1 in LPS mm")
    size = np.array(image.GetSize())
    a = np.array(image.TransformPhysicalPointToContinuousIndex([float(v) for v in box[:3]]))
    b = np.array(image.TransformPhysicalPointToContinuousIndex([float(v) for v in box[3:]]))
    if np.any(np.maximum(a, b) < -0.5) or np.any(np.minimum(a, b) > size - 0.5):
        raise InputError(f"box {tuple(box)} mm LPS does not overlap the image; draw the box on this image")
    lo = np.clip(np.floor(np.minimum(a, b) + 0.5), 0, size - 1).astype(int)
    hi = np.clip(np.floor(np.maximum(a, b) + 0.5), 0, size - 1).astype(int)
    return lo[::-1], hi[::-1] + 1  # (z, y, x), stop exclusive


def labelmap_points(image: sitk.Image, prompts: Prompts, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Voxel indices (z, y, x) of painted tumour and background seeds."""
    if prompts.labelmap is None:
        return np.zeros((0, 3), int), np.zeros((0, 3), int)
    lm = prompts.labelmap
    if (
        lm.GetSize() != image.GetSize()
        or not np.allclose(lm.GetSpacing(), image.GetSpacing(), atol=1e-4)
        or not np.allclose(lm.GetOrigin(), image.GetOrigin(), atol=1e-3)
    ):
        raise InputError(
            f"{name} (size {lm.GetSize()}) is not on the image grid (size {image.GetSize()}); "
            "paint the seeds on this image or resample the labelmap to it"
        )
    arr = sitk.GetArrayViewFromImage(lm)
    t = np.argwhere(arr == prompts.tumour_label)
    b = np.argwhere(arr == prompts.background_label)
    if len(t) == 0 and len(b) == 0:
        raise InputError(
            f"{name} holds no voxel of the tumour label {prompts.tumour_label} or the "
            f"background label {prompts.background_label}; paint seeds or give the right labels"
        )
    return t, b


def labelmap_mask(pts: np.ndarray, image: sitk.Image) -> np.ndarray:
    lo, hi = pts.min(axis=0), pts.max(axis=0) + 1
    m = np.zeros(tuple(int(v) for v in hi - lo), bool)
    m[tuple((pts - lo).T)] = True
    return m
