"""Where a DICOM image came from: the UIDs that NBRisk's DICOM SEG and SR outputs must reference.

Reading a DICOM series folder (:func:`nbrisk.io.images.read_image`) records a :class:`DicomSource` for it:
Study, Series and Frame of Reference UIDs, the SOP Class and one SOP Instance UID per slice in the image's
slice order (slice ``k`` of the SimpleITK image is ``sop_instance_uids[k]``), and the patient and study
attributes that a derived object copies. :func:`dicom_source` returns it for a path (None for files that
are not DICOM series); :func:`new_dicom_source` makes fresh references for an image that never was DICOM
(only when the user asks for it: nothing on a PACS has those UIDs).
"""

from __future__ import annotations

from collections.abc import Sequence

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError

# copied from the source series into every derived object (type 2 attributes: empty when absent)
PATIENT_KEYWORDS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex")
STUDY_KEYWORDS = (
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyDescription",
)


@dataclass(frozen=True)
class DicomSource:
    """The DICOM identity of one image series (see the module docstring)."""

    study_instance_uid: str
    series_instance_uid: str
    frame_of_reference_uid: str
    sop_class_uid: str
    sop_instance_uids: tuple[str, ...]  # one per slice, slice 0 of the image first
    modality: str = "CT"
    series_number: int | None = None
    series_description: str = ""
    patient: dict[str, str] = field(
        default_factory=dict
    )  # PatientName, PatientID, PatientBirthDate, PatientSex
    study: dict[str, str] = field(default_factory=dict)  # StudyDate, StudyTime, StudyID, AccessionNumber, ...
    specific_character_set: str = ""
    position_reference_indicator: str = ""
    slice_thickness: float | None = None
    folder: Path | None = None
    created: bool = False  # True: made by new_dicom_source for a non-DICOM image (no such instances exist)

    @property
    def slices(self) -> int:
        return len(self.sop_instance_uids)

    def check_grid(self, image: sitk.Image | Any, where: str | Path = "") -> None:
        """Refuse an image whose slice count differs from this series' (a mask on another grid)."""
        depth = int(image.GetSize()[2])
        if depth != self.slices:
            raise InputError(
                f"{where or self.folder}: image has {depth} slices but the DICOM series "
                f"{self.series_instance_uid} has {self.slices}; use the mask on this series' grid"
            )


# ------------------------------------------------------------------------------------------------ reading
_CACHE: OrderedDict[str, DicomSource] = OrderedDict()
_LOCK = threading.Lock()
_CACHE_SIZE = 16


def _key(folder: Path) -> str:
    """The folder and its modification time: adding or removing a file makes the record stale."""
    try:
        return f"{folder.resolve()}|{folder.stat().st_mtime_ns}"
    except OSError:
        return str(folder)


def remember(source: DicomSource) -> None:
    """Keep the source of a series just read, so :func:`dicom_source` needs no second header pass."""
    if source.folder is None:
        return
    with _LOCK:
        _CACHE[_key(source.folder)] = source
        _CACHE.move_to_end(_key(source.folder))
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)


def dicom_source(path: str | Path, image: sitk.Image | None = None) -> DicomSource | None:
    """The :class:`DicomSource` of a DICOM series folder (None for any other path).

    Uses the record made when :func:`nbrisk.io.images.read_image` read the folder; otherwise reads the
    headers (and the slice order from ``image`` when given, else from the slice positions).
    """
    p = Path(path)
    if not p.is_dir():
        return None
    with _LOCK:
        known = _CACHE.get(_key(p))
    if known is not None:
        return known
    files = sorted(q for q in p.iterdir() if q.is_file())
    source = dicom_source_from_files(files, image, where=p)
    remember(source)
    return source


def dicom_source_from_files(
    files: Sequence[str | Path], image: sitk.Image | None = None, *, where: Path | None = None
) -> DicomSource:
    """The :class:`DicomSource` of one image series given as files (e.g. the files Slicer's DICOM database
    lists for a loaded series); files that are not DICOM images are skipped, two series are refused."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    series: dict[str, list[tuple[str, Any]]] = {}
    for f in files:
        try:
            ds = pydicom.dcmread(str(f), stop_before_pixels=True)
        except (InvalidDicomError, OSError):
            continue  # not DICOM (GDCM's series reader skips such files too)
        except Exception as exc:  # pydicom raises many types for broken headers
            what = type(exc).__name__
            raise InputError(f"{f}: unreadable DICOM header ({what}); re-export the series") from None
        if "ImagePositionPatient" in ds:
            series.setdefault(str(getattr(ds, "SeriesInstanceUID", "")), []).append((str(f), ds))
    place = where or (Path(files[0]).parent if files else Path("."))
    if len(series) != 1:
        raise InputError(
            f"{place}: holds {len(series)} DICOM image series; give the files of exactly one series"
        )
    names, headers = (list(t) for t in zip(*next(iter(series.values())), strict=True))
    return source_from_headers(place, names, headers, image)


def source_from_headers(
    folder: Path, files: list[str], headers: list[Any], image: sitk.Image | None
) -> DicomSource:
    """Build the source of one series from its files' headers (pydicom datasets, same order as ``files``).

    Slice order: the slice index each header's Image Position (Patient) has on ``image``; without an image,
    ascending position along the slice normal (the order GDCM gives the image reader).
    """
    first = headers[0]
    missing = [
        k
        for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
        if not str(getattr(first, k, "") or "")
    ]
    if missing:
        raise InputError(
            f"{files[0]}: DICOM header lacks {', '.join(missing)}; re-export the series from the PACS"
        )
    order = _slice_order(files, headers, image)
    sops = tuple(str(headers[i].SOPInstanceUID) for i in order)
    if len(set(sops)) != len(sops):
        raise InputError(f"{folder}: two slices share one SOP Instance UID; re-export the series")
    for_uid = str(getattr(first, "FrameOfReferenceUID", "") or "")
    if not for_uid:
        raise InputError(
            f"{files[0]}: DICOM header has no Frame of Reference UID; re-export the series "
            "(a SEG or SR cannot be placed without it)"
        )
    thickness = getattr(first, "SliceThickness", None)
    try:
        number = int(first.SeriesNumber) if getattr(first, "SeriesNumber", None) not in (None, "") else None
    except (TypeError, ValueError):
        number = None
    charset = getattr(first, "SpecificCharacterSet", "") or ""
    return DicomSource(
        study_instance_uid=str(first.StudyInstanceUID),
        series_instance_uid=str(first.SeriesInstanceUID),
        frame_of_reference_uid=for_uid,
        sop_class_uid=str(first.SOPClassUID),
        sop_instance_uids=sops,
        modality=str(getattr(first, "Modality", "") or "OT"),
        series_number=number,
        series_description=str(getattr(first, "SeriesDescription", "") or ""),
        patient={k: _text(first, k) for k in PATIENT_KEYWORDS},
        study={k: _text(first, k) for k in STUDY_KEYWORDS},
        specific_character_set="\\".join(charset) if isinstance(charset, list | tuple) else str(charset),
        position_reference_indicator=_text(first, "PositionReferenceIndicator"),
        slice_thickness=float(thickness) if thickness not in (None, "") else None,
        folder=folder,
    )


def _text(ds: Any, keyword: str) -> str:
    value = getattr(ds, keyword, "")
    return "" if value is None else str(value)


def _slice_order(files: list[str], headers: list[Any], image: sitk.Image | None) -> list[int]:
    """Indices into ``headers`` for slices 0, 1, ... of the image."""
    try:
        ipps = [np.array([float(v) for v in h.ImagePositionPatient]) for h in headers]
        iop = np.array([float(v) for v in headers[0].ImageOrientationPatient])
    except (AttributeError, TypeError, ValueError):
        raise InputError(
            f"{files[0]}: DICOM slices lack Image Position/Orientation (Patient); re-export the series"
        ) from None
    if image is None:
        normal = np.cross(iop[:3], iop[3:])
        return [int(i) for i in np.argsort([float(p @ normal) for p in ipps], kind="stable")]
    ks = [image.TransformPhysicalPointToContinuousIndex([float(v) for v in p])[2] for p in ipps]
    order = [-1] * int(image.GetSize()[2])
    for i, k in enumerate(ks):
        kk = round(k)
        if abs(k - kk) > 0.05 or not 0 <= kk < len(order) or order[kk] != -1:
            raise InputError(
                f"{files[i]}: slice position does not fall on one slice of the series' volume; "
                "re-export the series"
            )
        order[kk] = i
    if -1 in order:
        raise InputError(
            f"{files[0]}: the series has fewer slice files than volume slices; re-export the series"
        )
    return order


# ------------------------------------------------------------------------------------------ new references
def new_dicom_source(image: sitk.Image | Any, modality: str = "CT") -> DicomSource:
    """Fresh Study, Series, Frame of Reference and per-slice SOP Instance UIDs for a non-DICOM image.

    ``created=True``: writers then reference no source instances (none exist on any PACS).
    """
    from pydicom.uid import generate_uid

    sop_class = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4"}.get(
        modality, "1.2.840.10008.5.1.4.1.1.7"
    )
    return DicomSource(
        study_instance_uid=generate_uid(),
        series_instance_uid=generate_uid(),
        frame_of_reference_uid=generate_uid(),
        sop_class_uid=sop_class,
        sop_instance_uids=tuple(generate_uid() for _ in range(int(image.GetSize()[2]))),
        modality=modality,
        patient={k: "" for k in PATIENT_KEYWORDS},
        study={**{k: "" for k in STUDY_KEYWORDS}, "StudyID": "1"},
        slice_thickness=float(image.GetSpacing()[2]),
        created=True,
    )
