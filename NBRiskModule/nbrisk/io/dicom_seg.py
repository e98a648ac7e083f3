"""Write a tumour ROI as a binary DICOM Segmentation that references its source CT/MR series.

One segment (label, SNOMED CT category "Morphologically Abnormal Structure" and type "Neoplasm", algorithm
type MANUAL / SEMIAUTOMATIC / AUTOMATIC), one frame per image slice that holds ROI voxels, each frame
derived from (and placed exactly on) its source slice. pydicom only (2.4.4 or 3.x, see docs/dicom.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError
from nbrisk.io.dicom_codes import (
    ALGORITHM_TYPES,
    MORPHOLOGICALLY_ABNORMAL_STRUCTURE,
    NEOPLASM,
    SEGMENTATION_DERIVATION,
    SOURCE_IMAGE_PURPOSE,
    Code,
)
from nbrisk.io.dicom_common import base_dataset, code_sequence, referenced_instances, save_dataset
from nbrisk.io.dicom_source import DicomSource

SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
TUMOUR_RGB_LAB = (34885, 53486, 50171)  # CIELab (DICOM scaled) of a red, for viewers that honour it


@dataclass(frozen=True, slots=True)
class SegInfo:
    """What an SR needs to reference a written SEG."""

    path: Path
    sop_instance_uid: str
    series_instance_uid: str
    segment_number: int
    segment_label: str
    tracking_uid: str
    frames: int
    voxels: int
    sop_class_uid: str = SEG_SOP_CLASS


def write_dicom_seg(
    mask: sitk.Image | Any,
    source: DicomSource,
    path: str | Path,
    *,
    algorithm_type: str = "SEMIAUTOMATIC",
    algorithm_name: str = "NBRisk seeded region growing",
    segment_label: str = "Tumour",
    category: Code = MORPHOLOGICALLY_ABNORMAL_STRUCTURE,
    segment_type: Code = NEOPLASM,
    series_number: int = 901,
    series_description: str = "NBRisk tumour segmentation (research use)",
) -> SegInfo:
    """Write ``mask`` (binary, on the source series' grid; a :class:`~nbrisk.io.images.Mask` works too) as a
    DICOM SEG in the source's study and return its references.

    With ``source.created`` (new references for a non-DICOM image) no source instance is referenced.
    """
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    mask = getattr(mask, "image", mask)
    algorithm_type = algorithm_type.upper()
    if algorithm_type not in ALGORITHM_TYPES:
        raise InputError(f"algorithm type {algorithm_type!r}: use one of {', '.join(ALGORITHM_TYPES)}")
    arr = sitk.GetArrayFromImage(mask) != 0  # (z, y, x)
    source.check_grid(mask, path)
    frames_k = [int(k) for k in np.flatnonzero(arr.reshape(arr.shape[0], -1).any(axis=1))]
    if not frames_k:
        raise InputError(f"{path}: the ROI is empty; nothing to write as a DICOM SEG")
    direction = np.array(mask.GetDirection()).reshape(3, 3)
    spacing = mask.GetSpacing()

    ds = base_dataset(source, SEG_SOP_CLASS, "SEG", series_number, series_description)
    ds.FrameOfReferenceUID = source.frame_of_reference_uid
    ds.PositionReferenceIndicator = source.position_reference_indicator
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.ContentLabel = "TUMOUR"
    ds.ContentDescription = "Tumour ROI"
    ds.ContentCreatorName = ""
    ds.LossyImageCompression = "00"
    ds.SegmentationType = "BINARY"
    ds.SegmentsOverlap = "NO"

    seg = Dataset()
    seg.SegmentNumber = 1
    seg.SegmentLabel = segment_label[:64]
    seg.SegmentAlgorithmType = algorithm_type
    if algorithm_type != "MANUAL":
        seg.SegmentAlgorithmName = algorithm_name[:64]
    seg.SegmentedPropertyCategoryCodeSequence = code_sequence(category)
    seg.SegmentedPropertyTypeCodeSequence = code_sequence(segment_type)
    tracking_uid = generate_uid()
    seg.TrackingID = "tumour"
    seg.TrackingUID = tracking_uid
    seg.RecommendedDisplayCIELabValue = list(TUMOUR_RGB_LAB)
    ds.SegmentSequence = [seg]

    # image pixel: 1 bit per pixel, frames packed back to back (little-endian bit order within each byte)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(arr.shape[1]), int(arr.shape[2])
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    packed = np.packbits(arr[frames_k].ravel(), bitorder="little").tobytes()
    if len(packed) % 2:
        packed += b"\0"
    ds.PixelData = packed
    ds["PixelData"].VR = "OB"
    ds.NumberOfFrames = len(frames_k)

    # functional groups: one plane orientation and pixel spacing for all frames, a position per frame
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = [_ds(spacing[1]), _ds(spacing[0])]  # row spacing (y), column spacing (x)
    pm.SliceThickness = _ds(source.slice_thickness or spacing[2])
    pm.SpacingBetweenSlices = _ds(spacing[2])
    shared.PixelMeasuresSequence = [pm]
    po = Dataset()
    po.ImageOrientationPatient = [_ds(v) for v in (*direction[:, 0], *direction[:, 1])]
    shared.PlaneOrientationSequence = [po]
    ds.SharedFunctionalGroupsSequence = [shared]
    per_frame = []
    for k in frames_k:
        fg = Dataset()
        if not source.created:
            src = Dataset()
            src.ReferencedSOPClassUID = source.sop_class_uid
            src.ReferencedSOPInstanceUID = source.sop_instance_uids[k]
            src.PurposeOfReferenceCodeSequence = code_sequence(SOURCE_IMAGE_PURPOSE)
            der = Dataset()
            der.DerivationCodeSequence = code_sequence(SEGMENTATION_DERIVATION)
            der.SourceImageSequence = [src]
            fg.DerivationImageSequence = [der]
        fc = Dataset()
        fc.DimensionIndexValues = [1, k + 1]
        fg.FrameContentSequence = [fc]
        pp = Dataset()
        pp.ImagePositionPatient = [_ds(v) for v in mask.TransformIndexToPhysicalPoint((0, 0, k))]
        fg.PlanePositionSequence = [pp]
        si = Dataset()
        si.ReferencedSegmentNumber = 1
        fg.SegmentIdentificationSequence = [si]
        per_frame.append(fg)
    ds.PerFrameFunctionalGroupsSequence = per_frame

    dim_uid = generate_uid()
    org = Dataset()
    org.DimensionOrganizationUID = dim_uid
    ds.DimensionOrganizationSequence = [org]
    ds.DimensionOrganizationType = "3D"
    idx_seg, idx_pos = Dataset(), Dataset()
    idx_seg.DimensionOrganizationUID = dim_uid
    idx_seg.DimensionIndexPointer = 0x0062000B  # Referenced Segment Number
    idx_seg.FunctionalGroupPointer = 0x0062000A  # Segment Identification Sequence
    idx_seg.DimensionDescriptionLabel = "Segment Number"
    idx_pos.DimensionOrganizationUID = dim_uid
    idx_pos.DimensionIndexPointer = 0x00200032  # Image Position (Patient)
    idx_pos.FunctionalGroupPointer = 0x00209113  # Plane Position Sequence
    idx_pos.DimensionDescriptionLabel = "Image Position Patient"
    ds.DimensionIndexSequence = [idx_seg, idx_pos]

    if not source.created:  # Common Instance Reference: the source series' slices this SEG derives from
        ser = Dataset()
        ser.SeriesInstanceUID = source.series_instance_uid
        ser.ReferencedInstanceSequence = referenced_instances(
            source.sop_class_uid, [source.sop_instance_uids[k] for k in frames_k]
        )
        ds.ReferencedSeriesSequence = [ser]
    save_dataset(ds, path)
    return SegInfo(
        Path(path),
        str(ds.SOPInstanceUID),
        str(ds.SeriesInstanceUID),
        1,
        segment_label,
        tracking_uid,
        len(frames_k),
        int(arr.sum()),
    )


def seg_info(path: str | Path, segment_number: int | None = None) -> SegInfo:
    """The references of an existing DICOM SEG (ours or another tool's), for an SR to point at."""
    import pydicom

    p = Path(path)
    try:
        ds = pydicom.dcmread(str(p), stop_before_pixels=True)
    except Exception as exc:  # pydicom raises many types on broken files
        raise InputError(f"{p}: cannot read DICOM SEG ({type(exc).__name__}); check the file") from None
    segs = {int(s.SegmentNumber): s for s in ds.get("SegmentSequence", [])}
    if not segs:
        raise InputError(f"{p}: DICOM SEG has no segments; export the segmentation again")
    num = segment_number if segment_number in segs else min(segs)
    s = segs[num]
    return SegInfo(
        p,
        str(ds.SOPInstanceUID),
        str(ds.SeriesInstanceUID),
        num,
        str(s.get("SegmentLabel", "")),
        str(s.get("TrackingUID", "") or ""),
        int(ds.get("NumberOfFrames", 1)),
        -1,
        str(ds.SOPClassUID),
    )


def _ds(value: float) -> str:
    """A decimal string of at most 16 characters that keeps as many digits as fit."""
    text = repr(float(value))
    if len(text) <= 16:
        return text
    for digits in range(15, 0, -1):
        text = f"{float(value):.{digits}g}"
        if len(text) <= 16:
            return text
    return f"{float(value):.6e}"
