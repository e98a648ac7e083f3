"""A new IDRF checklist pre-filled with image hints from a structure segmentation, and its contact table.

What ``nbrisk idrf --image --segmentation [--contacts]`` does, callable from a notebook or the Slicer panel.
"""

from __future__ import annotations

import csv
from pathlib import Path

import SimpleITK as sitk

from nbrisk.io.images import atomic_path, read_image
from nbrisk.io.structures import parse_names, read_structures
from nbrisk.staging.hints import contact_table, hints_from_masks
from nbrisk.staging.idrf import Checklist

CONTACT_FIELDS = ("structure", "type", "axis", "cross_section", "slice", "point_lps", "contact_fraction",
                  "area_mm2", "aspect_ratio", "no_lumen")


def checklist_from_segmentation(image: str | Path, segmentation: str | Path, *, names: str | None = None,
                                tumour: str | None = None, case_id: str = "", reader: str = "",
                                resample: bool = False) -> tuple[Checklist, dict[str, sitk.Image]]:
    """A new checklist (every item unset) with the hints measured on ``segmentation``, and the structure masks.

    ``names``: label names for a plain label map ("1=tumour,2=aorta", a JSON file, a colour table or
    "phantom"); a Slicer ``.seg.nrrd`` names its segments itself.
    """
    image_path, seg_path = Path(image), Path(segmentation)
    img = read_image(image_path)
    masks = read_structures(seg_path, img, parse_names(names) if names else None, reference_path=image_path,
                            resample=resample)
    hints = hints_from_masks(masks, tumour=tumour)
    checklist = Checklist.new(case_id, image=image_path.name, segmentation=seg_path.name, reader=reader,
                              hints=hints)
    return checklist, masks


def write_contact_table(masks: dict[str, sitk.Image], tumour: str | None, path: str | Path) -> Path:
    """Write the per-cross-section tumour/vessel contact measurements behind the hints as a CSV."""
    rows = contact_table(masks, tumour)
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(CONTACT_FIELDS))
        w.writeheader()
        for r in rows:
            pt = r["point_lps"]
            w.writerow({**r, "point_lps": " ".join(f"{v:.2f}" for v in pt) if pt else ""})  # type: ignore[attr-defined]
    return path
