"""Segmentation files: Slicer ``.seg.nrrd`` (3-D or layered 4-D) and DICOM SEG, read into label maps.

Both return ``(labelmap, label value, segment name)`` for one chosen segment, in LPS geometry; the callers
in :mod:`nbrisk.io.images` put the ROI on the image grid and check it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError, InputGeometryError
from nbrisk.io.grid import Grid



def read_slicer_seg(p: Path, label: int | None, segment: str | None) -> tuple[sitk.Image, int, str]:
    """Read a Slicer .seg.nrrd (3-D or layered 4-D) and return (labelmap of the chosen layer, value, name)."""
    import nrrd

    try:
        data, hdr = nrrd.read(str(p), index_order="C")
    except Exception as exc:  # pynrrd raises NRRDError, ValueError, OSError on broken files
        raise InputError(f"{p}: cannot read segmentation ({type(exc).__name__}); re-save it from Slicer") from None
    segs = slicer_segments(hdr)
    if not segs:
        raise InputError(f"{p}: no segments in this .seg.nrrd; add a segment in Slicer and save again")
    if segment is not None:
        match = [s for s in segs if s["name"].lower() == segment.lower()]
        if not match:
            raise InputError(f"{p}: no segment named {segment!r} (have: {[s['name'] for s in segs]}); "
                             "pass one of those with --segment")
        chosen = match[0]
    elif label is not None:
        match = [s for s in segs if s["label"] == label]
        if not match:
            raise InputError(f"{p}: no segment with label value {label} (have: {[s['label'] for s in segs]}); "
                             "pass one of those with --label")
        chosen = match[0]
    elif len(segs) == 1:
        chosen = segs[0]
    else:
        raise InputError(f"{p}: holds segments {[s['name'] for s in segs]}; choose one with --segment NAME")
    directions = np.asarray(hdr["space directions"], dtype=object)
    spatial = [i for i, row in enumerate(directions) if row is not None and not _is_nan_row(row)]
    if data.ndim == 4:  # C order: (layer?, z, y, x) or with list axis first in file order
        kinds = hdr.get("kinds", [])
        list_axis = next((i for i, k in enumerate(kinds) if k in ("list", "vector", "none")), 0)
        data = np.take(data, chosen["layer"], axis=data.ndim - 1 - list_axis)
    dirs = np.array([np.asarray(directions[i], dtype=float) for i in spatial])  # rows = axis vectors
    origin = np.asarray(hdr.get("space origin", [0, 0, 0]), dtype=float)
    space = str(hdr.get("space", "left-posterior-superior")).lower()
    if space in ("right-anterior-superior", "ras"):
        flip = np.array([-1.0, -1.0, 1.0])
        origin = origin * flip
        dirs = dirs * flip
    spacing = np.linalg.norm(dirs, axis=1)
    img = sitk.GetImageFromArray(np.ascontiguousarray(data))
    img.SetSpacing(spacing.tolist())
    img.SetOrigin(origin.tolist())
    img.SetDirection((dirs / spacing[:, None]).T.flatten().tolist())
    present = np.unique(sitk.GetArrayViewFromImage(img))
    if chosen["label"] not in present:
        raise InputError(f"{p}: segment {chosen['name']!r} is empty; draw it in Slicer and save again")
    return img, int(chosen["label"]), chosen["name"]


def _is_nan_row(row: object) -> bool:
    try:
        return bool(np.all(np.isnan(np.asarray(row, dtype=float))))
    except (TypeError, ValueError):
        return True


def slicer_segments(hdr: dict) -> list[dict]:
    segs = []
    i = 0
    while f"Segment{i}_ID" in hdr or f"Segment{i}_Name" in hdr:
        segs.append(
            {
                "name": str(hdr.get(f"Segment{i}_Name", f"Segment_{i}")),
                "label": int(hdr.get(f"Segment{i}_LabelValue", i + 1)),
                "layer": int(hdr.get(f"Segment{i}_Layer", 0)),
            }
        )
        i += 1
    return segs


def is_dicom_seg(p: Path) -> bool:
    import pydicom

    try:
        ds = pydicom.dcmread(str(p), stop_before_pixels=True)
    except Exception:  # not DICOM at all
        return False
    return str(getattr(ds, "SOPClassUID", "")) == "1.2.840.10008.5.1.4.1.1.66.4"


def read_dicom_seg(
    p: Path, label: int | None, segment: str | None, reference: sitk.Image | Grid | None = None
) -> tuple[sitk.Image, int, str]:
    """Read a DICOM SEG (binary or fractional): frames are placed by their plane positions.

    With a reference image the frames go straight onto its grid (they must share its in-plane spacing and
    orientation); without one, the volume spans the segment's frames. pydicom only (2.4.4 or 3.x).
    """
    import pydicom

    try:
        seg = pydicom.dcmread(str(p))
        descs = {int(s.SegmentNumber): str(s.get("SegmentLabel", "")) for s in seg.SegmentSequence}
        seg.PerFrameFunctionalGroupsSequence  # noqa: B018 (a SEG without it is broken: fail here)
    except Exception as exc:  # pydicom raises many types on malformed objects
        raise InputError(f"{p}: cannot read DICOM SEG ({type(exc).__name__}: {str(exc)[:80]})") from None
    numbers = list(descs)
    if segment is not None:
        match = [n for n, d in descs.items() if str(d).lower() == segment.lower()]
        if not match:
            raise InputError(f"{p}: no segment labelled {segment!r} (have: {list(descs.values())}); "
                             "pass one of those with --segment")
        num = match[0]
    elif label is not None:
        if label not in numbers:
            raise InputError(f"{p}: no segment number {label} (have: {numbers}); pass one of those with --label")
        num = label
    elif len(numbers) == 1:
        num = numbers[0]
    else:
        raise InputError(f"{p}: holds segments {list(descs.values())}; choose one with --segment NAME")
    if reference is None:
        return _dicom_seg_volume(p, seg, num), int(num), str(descs[num])
    return _dicom_seg_on_reference(p, seg, num, reference), int(num), str(descs[num])


def _group(fg: Any, shared: Any, name: str) -> Any:
    """A functional group's first item, per-frame if the frame has it, else shared."""
    for where in (fg, shared):
        if where is not None and name in where:
            return getattr(where, name)[0]
    raise InputError(f"DICOM SEG lacks {name}; re-export the SEG")


def _seg_frames(p: Path, seg: Any, num: int) -> tuple[np.ndarray, list[int], Any]:
    """(frames as bool/threshold-ready array, indices of the frames of segment ``num``, shared group)."""
    try:
        frames = np.asarray(seg.pixel_array)
    except Exception as exc:  # pydicom raises many types for unreadable pixel data
        raise InputError(f"{p}: cannot decode DICOM SEG pixel data ({type(exc).__name__}); "
                         "re-export it") from None
    if frames.ndim == 2:
        frames = frames[None]
    shared = seg.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in seg else None
    fractional = str(getattr(seg, "SegmentationType", "BINARY")) == "FRACTIONAL"
    thr = (int(getattr(seg, "MaximumFractionalValue", 255)) / 2.0) if fractional else 0
    chosen = []
    for i, fg in enumerate(seg.PerFrameFunctionalGroupsSequence):
        ident = _group(fg, shared, "SegmentIdentificationSequence")
        if int(ident.ReferencedSegmentNumber) == num:
            chosen.append(i)
    return frames > thr, chosen, shared


def _dicom_seg_volume(p: Path, seg: Any, num: int) -> sitk.Image:
    """The segment's frames as a volume on their own grid (origin at the first frame along the normal)."""
    frames, chosen, shared = _seg_frames(p, seg, num)
    if not chosen:
        raise InputError(f"{p}: segment {num} has no frames; the segment is empty")
    per_frame = seg.PerFrameFunctionalGroupsSequence
    plane = _group(per_frame[chosen[0]], shared, "PlaneOrientationSequence")
    iop = np.array([float(v) for v in plane.ImageOrientationPatient])
    pm = _group(per_frame[chosen[0]], shared, "PixelMeasuresSequence")
    row_sp, col_sp = (float(v) for v in pm.PixelSpacing)
    normal = np.cross(iop[:3], iop[3:])
    pos = np.array([[float(v) for v in _group(per_frame[i], shared, "PlanePositionSequence")
                     .ImagePositionPatient] for i in chosen])
    dist = pos @ normal
    distinct = np.unique(np.round(dist, 4))
    if getattr(pm, "SpacingBetweenSlices", None):
        step = float(pm.SpacingBetweenSlices)
    elif len(distinct) > 1:
        step = float(np.min(np.diff(distinct)))
    else:
        step = float(getattr(pm, "SliceThickness", 1.0) or 1.0)
    first = pos[int(np.argmin(dist))]
    ks = (dist - dist.min()) / step
    inplane = (pos - first) - np.outer(dist - dist.min(), normal)
    if np.abs(ks - np.round(ks)).max() > 0.01 or np.abs(inplane).max() > 1e-3 * max(row_sp, col_sp):
        raise InputGeometryError(f"{p}: DICOM SEG frames do not lie on one regular grid; read it with its "
                                 "image (--image) so the frames are placed on the image grid")
    out = np.zeros((round(ks.max()) + 1, frames.shape[1], frames.shape[2]), np.uint8)
    for i, k in zip(chosen, np.round(ks).astype(int), strict=True):
        out[k] |= frames[i].astype(np.uint8)
    img = sitk.GetImageFromArray(out * np.uint8(num if num < 256 else 1))
    img.SetSpacing((col_sp, row_sp, step))
    img.SetOrigin(first.tolist())
    img.SetDirection(np.stack([iop[:3], iop[3:], normal], axis=1).flatten().tolist())
    return img


def _dicom_seg_on_reference(p: Path, seg: Any, num: int, reference: sitk.Image | Grid) -> sitk.Image:
    frames, chosen, shared = _seg_frames(p, seg, num)
    per_frame = seg.PerFrameFunctionalGroupsSequence
    ref_dir = np.array(reference.GetDirection()).reshape(3, 3)
    ref_sp = reference.GetSpacing()
    out = np.zeros(reference.GetSize()[::-1], np.uint8)
    for i in chosen:
        fg = per_frame[i]
        plane = _group(fg, shared, "PlaneOrientationSequence")
        iop = np.array([float(v) for v in plane.ImageOrientationPatient])
        row_sp, col_sp = (float(v) for v in _group(fg, shared, "PixelMeasuresSequence").PixelSpacing)
        if (np.abs(iop[:3] - ref_dir[:, 0]).max() > 1e-3 or np.abs(iop[3:] - ref_dir[:, 1]).max() > 1e-3
                or abs(col_sp - ref_sp[0]) > 1e-3 * ref_sp[0] or abs(row_sp - ref_sp[1]) > 1e-3 * ref_sp[1]):
            raise InputGeometryError(f"{p}: DICOM SEG frames are not on the image's in-plane grid; re-export "
                                     "the SEG from this series")
        pos = [float(v) for v in _group(fg, shared, "PlanePositionSequence").ImagePositionPatient]
        idx = np.array(reference.TransformPhysicalPointToContinuousIndex(tuple(pos)))
        if np.abs(idx - np.round(idx)).max() > 0.01:
            raise InputGeometryError(f"{p}: DICOM SEG frame {i + 1} is off the image's voxel grid; "
                                     "re-export the SEG")
        x0, y0, k = (int(v) for v in np.round(idx))
        fr = frames[i]
        if not (0 <= k < out.shape[0] and x0 >= 0 and y0 >= 0 and y0 + fr.shape[0] <= out.shape[1]
                and x0 + fr.shape[1] <= out.shape[2]):
            raise InputGeometryError(f"{p}: DICOM SEG frame {i + 1} lies outside the image; is it from this "
                                     "series?")
        out[k, y0 : y0 + fr.shape[0], x0 : x0 + fr.shape[1]] |= fr.astype(np.uint8)

    return Grid.of(reference).apply(sitk.GetImageFromArray(out * np.uint8(num if num < 256 else 1)))
