"""Load one case for extraction: its image (or phase images) and mask, on one checked grid.

The single-case loader that ``extract``, ``predict`` and the reader study share (the batch runner in
:mod:`nbrisk.features.cohort` calls it once per manifest row).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import SimpleITK as sitk

from nbrisk.errors import InputError
from nbrisk.features.extract import roi_region
from nbrisk.features.presets import Preset, phase_refs
from nbrisk.io.images import Mask, check_geometry, read_grid, read_image, read_image_region, read_mask

ImageRef = str | Path | sitk.Image


def _source(ref: ImageRef) -> str:
    return "<image>" if isinstance(ref, sitk.Image) else str(ref)


def load_inputs(image: ImageRef | Mapping[str, ImageRef], mask: str | Path | sitk.Image, preset: Preset | None = None,
                *, label: int | None = None, segment: str | None = None, resample_mask: bool = False,
                roi_only: bool = False) -> tuple[Any, Mask]:
    """Read a case: ``(image or {phase: image}, Mask)`` on one grid.

    ``image`` is a path or a SimpleITK image, or a mapping phase → path/image for a multi-phase preset
    (the preset's phases must all be there). ``mask`` is a label map, Slicer ``.seg.nrrd`` or DICOM SEG path,
    or a SimpleITK label image; ``label``/``segment`` choose the ROI (see :func:`nbrisk.io.images.read_mask`).

    ``roi_only`` (for the ``nbrisk`` engine): when the preset allows it (:func:`nbrisk.features.extract.roi_region`),
    the grids are checked on the file headers and only the block around the ROI that extraction uses is
    read from each image file, and the mask is cut to the same block (``Mask.whole`` keeps the whole grid:
    pass it to :func:`~nbrisk.features.extract.extract_features`). Features are the same; memory holds the block
    instead of the whole CT.
    """
    refs = phase_refs(image, preset)
    phases = tuple(preset.phases) if preset is not None and preset.phases else ()
    ref_path = next(iter(refs.values()))
    on_disk = all(not isinstance(r, sitk.Image) for r in refs.values())
    grids = {p: read_grid(r) for p, r in refs.items()} if roi_only and on_disk and preset is not None else {}
    headers_only = bool(grids) and all(grids.values())

    def whole(r: ImageRef) -> sitk.Image:
        return r if isinstance(r, sitk.Image) else read_image(r)

    images: dict[str, Any] = grids if headers_only else {p: whole(r) for p, r in refs.items()}
    ref: Any = next(iter(images.values()))
    for p, im in images.items():
        check_geometry(ref, im, _source(ref_path), _source(refs[p]), phase=True)
    m = read_mask(mask, ref, label=label, segment=segment,
                  reference_path=None if isinstance(ref_path, sitk.Image) else ref_path, resample=resample_mask)
    if headers_only:
        region = roi_region(preset, m.image)  # type: ignore[arg-type]
        if region is None:
            images = {p: read_image(r) for p, r in refs.items()}  # type: ignore[arg-type]
        else:
            images = {p: read_image_region(r, *region, grids[p]) for p, r in refs.items()}  # type: ignore[arg-type]
            m = dataclasses.replace(m, image=sitk.RegionOfInterest(m.image, region[1], region[0]), whole=ref)
    return (images if phases else images[""]), m


def load_row_inputs(row: Mapping[str, Any], preset: Preset, *, resample_mask: bool = False,
                    roi_only: bool = False) -> tuple[Any, Mask]:
    """Read one manifest row (``image`` or ``image_<phase>``, ``mask``, optional ``label``/``segment``)."""
    image: Any = {p: row[f"image_{p}"] for p in preset.phases} if preset.phases else row["image"]
    label = int(row["label"]) if str(row.get("label", "") or "").strip() else None
    segment = str(row.get("segment", "") or "").strip() or None
    return load_inputs(image, row["mask"], preset, label=label, segment=segment, resample_mask=resample_mask,
                       roi_only=roi_only)
