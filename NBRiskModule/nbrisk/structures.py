"""Read a structure segmentation (Slicer .seg.nrrd or a named label map) as binary masks by name."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError, InputGeometryError

logger = logging.getLogger(__name__)


def parse_names(spec: str) -> dict[int, str]:
    """Label names from "phantom", "1=tumour,2=aorta", a JSON file {"1": "tumour"} or a colour table."""
    import json

    if spec.strip().lower() == "phantom":
        from nbrisk.phantom import STRUCTURES

        return {v: k for k, v in STRUCTURES.items()}
    p = Path(spec)
    try:
        if p.suffix.lower() == ".json" and p.exists():
            return {int(k): str(v) for k, v in json.loads(p.read_text()).items()}
        if p.exists():
            out = {}
            for line in p.read_text().splitlines():
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
    from nbrisk.io import _as_3d_scalar, _read_sitk, conform_to_reference, read_mask

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
        seg_names = [str(hdr[f"Segment{i}_Name"]) for i in range(256) if f"Segment{i}_Name" in hdr]
        out = {}
        for n in seg_names:
            try:
                out[n] = read_mask(
                    p, reference, segment=n, reference_path=reference_path, resample=resample
                ).image
            except InputGeometryError:
                raise
            except InputError as exc:
                logger.warning("skipping segment %r: %s", n, exc)
        return out
    lab = conform_to_reference(
        _as_3d_scalar(_read_sitk(p, "segmentation"), p), reference, p, reference_path, resample=resample
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
