"""Pieces shared by NBRisk's DICOM writers (SEG, SR): the patient/study/series header, codes, saving.

Written with pydicom alone and tested with pydicom 2.4.4 (what 3D Slicer 5.10 bundles) and 3.x, so that
installing NBRisk into Slicer never replaces Slicer's pydicom (see docs/dicom.md).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from nbrisk.io.dicom_codes import IBSI, PRIVATE_SCHEME, PRIVATE_SCHEME_NAME, PRIVATE_SCHEME_VERSION, Code
from nbrisk.io.dicom_source import DicomSource
from nbrisk.io.images import atomic_path

MANUFACTURER = "NBRisk contributors"
MODEL_NAME = "NBRisk"
DEVICE_SERIAL = "NBRisk"
# A fixed UID naming NBRisk as the SR's Device Observer (made once with pydicom's generate_uid)
DEVICE_OBSERVER_UID = "1.2.826.0.1.3680043.8.498.29542647733519095921900055694330842675"


def pydicom_major() -> int:
    import pydicom

    return int(str(pydicom.__version__).split(".")[0])


def software_version() -> str:
    from nbrisk import __version__

    return f"nbrisk {__version__}"


def now() -> tuple[str, str]:
    t = _dt.datetime.now().astimezone()
    return t.strftime("%Y%m%d"), t.strftime("%H%M%S")


def code_dataset(code: Code) -> Any:
    """One item of a code sequence (Long Code Value for private values over 16 characters)."""
    from pydicom.dataset import Dataset

    item = Dataset()
    if len(code.value) > 16:
        item.LongCodeValue = code.value
    else:
        item.CodeValue = code.value
    item.CodingSchemeDesignator = code.scheme
    item.CodeMeaning = code.meaning[:64]
    return item


def code_sequence(code: Code) -> list[Any]:
    return [code_dataset(code)]


def read_code(seq: Any) -> Code:
    """The first code of a code sequence."""
    item = seq[0]
    value = item.get("CodeValue") or item.get("LongCodeValue") or item.get("URNCodeValue") or ""
    return Code(str(value), str(item.CodingSchemeDesignator), str(item.CodeMeaning))


def coding_schemes(used: set[str]) -> list[Any]:
    """Coding Scheme Identification items for the non-standard schemes used (private, IBSI)."""
    from pydicom.dataset import Dataset

    out = []
    if PRIVATE_SCHEME in used:
        d = Dataset()
        d.CodingSchemeDesignator = PRIVATE_SCHEME
        d.CodingSchemeName = PRIVATE_SCHEME_NAME
        d.CodingSchemeVersion = PRIVATE_SCHEME_VERSION
        d.CodingSchemeResponsibleOrganization = "NBRisk (docs/dicom.md lists the codes)"
        out.append(d)
    if IBSI in used:
        d = Dataset()
        d.CodingSchemeDesignator = IBSI
        d.CodingSchemeName = "Image Biomarker Standardisation Initiative"
        d.CodingSchemeResponsibleOrganization = "IBSI"
        out.append(d)
    return out


def base_dataset(
    source: DicomSource, sop_class_uid: str, modality: str, series_number: int, series_description: str
) -> Any:
    """A new instance in the source's study: file meta, SOP Common, Patient, General Study, General Series,
    General Equipment (+ Enhanced General Equipment) filled in; the caller adds the rest."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    sop_uid = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class_uid  # type: ignore[assignment]
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    date, time = now()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class_uid
    ds.SOPInstanceUID = sop_uid
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    for k, v in source.patient.items():
        setattr(ds, k, v)
    ds.StudyInstanceUID = source.study_instance_uid
    for k, v in source.study.items():
        if k == "StudyDescription" and not v:
            continue  # type 3
        setattr(ds, k, v)
    if source.created:  # a new study: give it the date it was made
        ds.StudyDate, ds.StudyTime = date, time
    ds.Modality = modality
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = series_number
    ds.SeriesDescription = series_description[:64]
    ds.SeriesDate, ds.SeriesTime = date, time
    ds.Manufacturer = MANUFACTURER
    ds.ManufacturerModelName = MODEL_NAME
    ds.DeviceSerialNumber = DEVICE_SERIAL
    ds.SoftwareVersions = software_version()
    ds.InstanceNumber = 1
    ds.ContentDate, ds.ContentTime = date, time
    return ds


def referenced_instances(sop_class_uid: str, sop_uids: tuple[str, ...] | list[str]) -> list[Any]:
    from pydicom.dataset import Dataset

    out = []
    for uid in sop_uids:
        d = Dataset()
        d.ReferencedSOPClassUID = sop_class_uid
        d.ReferencedSOPInstanceUID = uid
        out.append(d)
    return out


def save_dataset(ds: Any, path: str | Path) -> Path:
    """Write a DICOM file (Part 10, explicit VR little endian) atomically, with pydicom 2.4 or 3.x."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if pydicom_major() >= 3:
            ds.save_as(str(tmp), enforce_file_format=True)
        else:
            ds.is_little_endian, ds.is_implicit_VR = True, False
            ds.save_as(str(tmp), write_like_original=False)
    return path
