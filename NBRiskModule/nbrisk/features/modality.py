"""Does the image look like the preset's modality? A warning from the intensity range, never an error.

CT intensities are Hounsfield units: air is about -1000 HU, and a CT of the body always contains air
(outside the patient, in lungs or bowel). MRI intensities are arbitrary positive numbers (z-scored MRI
stays within a few units of 0). So values at or below -500 mean CT, and a whole image with nothing
below -500 is very unlikely to be a body CT. A cropped block around the ROI may hold no air, so only the
first rule is applied to blocks.
"""

from __future__ import annotations

import logging

import SimpleITK as sitk

logger = logging.getLogger(__name__)

AIR_HU = -500.0
_warned: set[tuple[str, str]] = set()


def modality_mismatch(image: sitk.Image, modality: str, whole_image: bool = True) -> str | None:
    """A one-line reason when ``image``'s intensities contradict ``modality`` (CT or MR), else None."""
    mod = modality.upper()
    if mod not in ("CT", "MR", "MRI"):
        return None
    f = sitk.MinimumMaximumImageFilter()
    f.Execute(image)
    lo, hi = float(f.GetMinimum()), float(f.GetMaximum())
    if mod.startswith("MR") and lo <= AIR_HU:
        return (f"intensities reach {lo:.0f} (range {lo:.0f} to {hi:.0f}); values at or below {AIR_HU:.0f} "
                "are "
                "air in Hounsfield units, so this looks like a CT")
    if mod == "CT" and whole_image and lo > AIR_HU:
        return (f"no intensity at or below {AIR_HU:.0f} (range {lo:.4g} to {hi:.4g}); a body CT in "
                "Hounsfield "
                "units contains air at about -1000, so this looks like an MRI (or a CT not in HU)")
    return None


def warn_if_mismatch(image: sitk.Image, preset_name: str, modality: str, whole_image: bool = True,
                     what: str = "the image") -> str | None:
    """Log the mismatch once per preset and reason (a cohort would otherwise repeat it for every case)."""
    reason = modality_mismatch(image, modality, whole_image)
    if reason is None:
        return None
    key = (preset_name, modality.upper())
    msg = (f"preset {preset_name} is for {modality.upper()} but {what} has {reason}; "
           f"use a{'n MRI' if modality.upper() == 'CT' else ' CT'} preset (nbrisk presets lists them)")
    if key not in _warned:
        _warned.add(key)
        logger.warning(msg)
    return msg


__all__ = ["modality_mismatch", "warn_if_mismatch"]
