"""Read a structure segmentation (Slicer .seg.nrrd or a named label map) as binary masks by name."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError
from nbrisk.io.images import as_3d_scalar, conform_to_reference, read_sitk
from nbrisk.io.segfiles import read_slicer_seg, slicer_segments

logger = logging.getLogger(__name__)

# The synthetic phantoms' structure labels (nbrisk.synthetic.phantom draws them; "phantom" names them here).
PHANTOM_LABELS = {
    "tumour": 1,
    "aorta": 2,
    "ivc": 3,
    "vertebra": 4,
    "kidney_left": 5,
    "kidney_right": 6,
    "spinal_canal": 7,
    "liver": 8,
}


def parse_names(spec: str) -> dict[int, str]:
    """Label names from "phantom", "1=tumour,2=aorta", a JSON file {"1": "tumour"} or a colour table."""
    if spec.strip().lower() == "phantom":
        return {v: k for k, v in PHANTOM_LABELS.items()}
    p = Path(spec)
    try:
        if p.suffix.lower() == ".json" and p.exists():
            return {int(k): str(v) for k, v in json.loads(p.read_text(encoding="utf-8")).items()}
        if p.exists():
            out = {}
            for line in p.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if parts and not parts[0].startswith("#") and len(parts) >= 2:
                    out[int(parts[0])] = parts[1]
            return out
        return {
            int(k): v.strip() for k, v in (item.split("=", 1) for item in spec.split(",") if item.strip())
        }
    except (ValueError, OSError) as exc:
        raise InputError(
            f"cannot read label names from {spec!r} ({exc}); use 1=tumour,2=aorta, a JSON file, "
            "a colour table or 'phantom'"
        ) from None


def read_structures(
    path: str | Path,
    reference: sitk.Image,
    names: dict[int, str] | None = None,
    reference_path: str | Path | None = None,
    *,
    resample: bool = False,
) -> dict[str, sitk.Image]:
    """Read a Slicer .seg.nrrd (segment names from the file) or a label map with ``names`` as binary masks.

    Masks come back on the reference grid (a Slicer sub-extent is padded losslessly); any other grid
    mismatch is an :class:`~nbrisk.errors.InputGeometryError` unless ``resample`` (nearest neighbour).
    Empty segments are skipped with a warning.
    """

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: segmentation not found; check the path")
    if p.name.lower().endswith(".seg.nrrd"):
        import nrrd

        try:
            hdr = nrrd.read_header(str(p))
        except Exception as exc:  # pynrrd raises NRRDError, ValueError, OSError on broken headers
            raise InputError(
                f"{p}: cannot read segmentation header ({type(exc).__name__}); re-save it"
            ) from None
        segs = slicer_segments(hdr)
        out = {}
        for layer in dict.fromkeys(sg["layer"] for sg in segs):  # one read per layer, not per segment
            members = [sg for sg in segs if sg["layer"] == layer]
            labelmap = None
            for sg in members:  # the reader needs a non-empty segment to pick the layer by
                try:
                    labelmap, _, _ = read_slicer_seg(p, None, sg["name"])
                    break
                except InputError as exc:
                    if "is empty" not in str(exc):
                        raise
            if labelmap is None:
                logger.warning("%s: layer %s holds only empty segments; skipped", p, layer)
                continue
            arr = sitk.GetArrayViewFromImage(labelmap)
            for sg in members:
                m = sitk.GetImageFromArray((arr == sg["label"]).astype(np.uint8))
                m.CopyInformation(labelmap)
                if not np.any(sitk.GetArrayViewFromImage(m)):
                    logger.warning("%s: segment %r is empty; skipped", p, sg["name"])
                    continue
                out[sg["name"]] = conform_to_reference(m, reference, p, reference_path, resample=resample)
        return out
    lab = conform_to_reference(
        as_3d_scalar(read_sitk(p, "segmentation"), p), reference, p, reference_path, resample=resample
    )
    arr = sitk.GetArrayViewFromImage(lab)
    present = [int(v) for v in np.unique(arr) if v != 0]
    if not names:
        raise InputError(
            f"{p}: label map holds labels {present}; name them with --names "
            "(e.g. 1=tumour,2=aorta, a JSON/colour-table file, or 'phantom')"
        )
    out = {}
    for v in present:
        if v in names:
            m = sitk.GetImageFromArray((arr == v).astype(np.uint8))
            m.CopyInformation(lab)
            out[names[v]] = m
    return out
