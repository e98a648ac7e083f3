"""The risk assessment as a DICOM Comprehensive 3D SR following TID 1500 (Measurement Report).

Tree written (codes in :mod:`nbrisk.io.dicom_codes`, listed in docs/dicom.md)::

    CONTAINER Imaging Measurement Report (TID 1500)
      HAS CONCEPT MOD  Language of Content = English (United States)
      HAS OBS CONTEXT  Observer Type = Device; Device Observer UID / Name / Manufacturer / Model Name
      HAS CONCEPT MOD  Procedure reported = Computed tomography | Magnetic resonance imaging
      CONTAINS TEXT    Intended use = "Research use, not validated for clinical use"
      CONTAINS CONTAINER Image Library > Image Library Group > IMAGE (each source slice)
      CONTAINS CONTAINER Imaging Measurements
        CONTAINER Measurement Group (TID 1411, the tumour)
          Tracking Identifier / Tracking UID; Finding = Neoplasm; Referenced Segment (the SEG);
          Source series for segmentation
          NUM Volume [cm3] (Sum of segmented voxel method)
          NUM Model risk score [1] + Algorithm Name / Version / Parameters (SHA-256 of the model file)
          TEXT Predicted class; TEXT Model risk category
          CODE one per IDRF = Present | Absent | Not assessed | Not assessable
          NUM one per selected radiomics feature (IBSI code where one exists) + TEXT its column name
        CONTAINER Measurement Group (TID 1501, staging)
          Tracking Identifier / Tracking UID
          CODE INRGSS stage; CODE INRG pretreatment risk group; TEXT INRG pretreatment group

:func:`read_dicom_sr` reads such a file back into the :class:`SrContent` that made it (the round trip the
tests check). pydicom only (2.4.4 or 3.x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbrisk.errors import InputError
from nbrisk.io import dicom_codes as C
from nbrisk.io.dicom_codes import Code
from nbrisk.io.dicom_common import (
    DEVICE_OBSERVER_UID,
    MANUFACTURER,
    MODEL_NAME,
    base_dataset,
    code_sequence,
    coding_schemes,
    read_code,
    referenced_instances,
    save_dataset,
)
from nbrisk.io.dicom_seg import SegInfo, _ds
from nbrisk.io.dicom_source import DicomSource

COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
FEATURE_NAME = C.nbr("RADNAME", "Radiomics feature column name")


@dataclass
class SrContent:
    """Every value the SR states (what :func:`read_dicom_sr` returns)."""

    risk_score: float
    predicted_class: str
    risk_category: str
    model_name: str
    model_version: str
    model_sha256: str
    volume_ml: float | None = None
    idrf: dict[str, str] = field(default_factory=dict)  # IDRF id -> present / absent / unset / not_assessable
    inrgss_stage: str | None = None  # L1, L2, M, MS or unclassifiable
    inrg_risk_group: str | None = None  # very_low, low, intermediate, high or unclassifiable
    inrg_group: str | None = None  # pretreatment group letter (Cohn 2009 table row)
    features: dict[str, float] = field(default_factory=dict)  # radiomics column name -> value
    intended_use: str = C.RESEARCH_USE


@dataclass(frozen=True, slots=True)
class SrReferences:
    """What a read-back SR points at."""

    study_instance_uid: str
    source_series_uid: str
    seg_sop_instance_uid: str
    segment_number: int
    image_instances: tuple[str, ...]
    tracking_uid: str


# ------------------------------------------------------------------------------------------- content items
def _item(relationship: str | None, value_type: str, concept: Code | None) -> Any:
    from pydicom.dataset import Dataset

    d = Dataset()
    if relationship:
        d.RelationshipType = relationship
    d.ValueType = value_type
    if concept is not None:
        d.ConceptNameCodeSequence = code_sequence(concept)
    return d


def _container(
    relationship: str | None, concept: Code, children: list[Any], template: str | None = None
) -> Any:
    from pydicom.dataset import Dataset

    d = _item(relationship, "CONTAINER", concept)
    d.ContinuityOfContent = "SEPARATE"
    if template:
        t = Dataset()
        t.MappingResource = "DCMR"
        t.TemplateIdentifier = template
        d.ContentTemplateSequence = [t]
    d.ContentSequence = children
    return d


def _code(relationship: str, concept: Code, value: Code) -> Any:
    d = _item(relationship, "CODE", concept)
    d.ConceptCodeSequence = code_sequence(value)
    return d


def _text(relationship: str, concept: Code, text: str) -> Any:
    d = _item(relationship, "TEXT", concept)
    d.TextValue = text
    return d


def _uid(relationship: str, concept: Code, uid: str) -> Any:
    d = _item(relationship, "UIDREF", concept)
    d.UID = uid
    return d


def _num(concept: Code, value: float, unit: Code, children: list[Any] | None = None) -> Any:
    from pydicom.dataset import Dataset

    if not math.isfinite(value):
        raise InputError(
            f"{concept.meaning}: value {value} is not a finite number; cannot write it into the SR"
        )
    d = _item("CONTAINS", "NUM", concept)
    mv = Dataset()
    mv.NumericValue = _ds(value)
    mv.FloatingPointValue = float(value)  # the exact value; NumericValue keeps at most 16 characters
    mv.MeasurementUnitsCodeSequence = code_sequence(unit)
    d.MeasuredValueSequence = [mv]
    if children:
        d.ContentSequence = children
    return d


def _image(
    relationship: str, concept: Code | None, sop_class: str, sop_uid: str, segment: int | None = None
) -> Any:
    d = _item(relationship, "IMAGE", concept)
    ref = referenced_instances(sop_class, [sop_uid])[0]
    if segment is not None:
        ref.ReferencedSegmentNumber = segment
    d.ReferencedSOPSequence = [ref]
    return d


# ------------------------------------------------------------------------------------------------ writing
def write_dicom_sr(
    path: str | Path, content: SrContent, source: DicomSource, seg: SegInfo, *, series_number: int = 902
) -> str:
    """Write ``content`` as a TID 1500 Comprehensive 3D SR in the source's study; returns its SOP Instance
    UID.

    ``seg``: the DICOM SEG of the tumour (written by :func:`nbrisk.io.dicom_seg.write_dicom_seg`, or an
    existing one described by :func:`nbrisk.io.dicom_seg.seg_info`).
    """
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    ds = base_dataset(
        source,
        COMPREHENSIVE_3D_SR,
        "SR",
        series_number,
        "NBRisk risk assessment - research use, not for clinical use",
    )
    ds.ReferencedPerformedProcedureStepSequence = []  # type 2
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.PerformedProcedureCodeSequence = []  # type 2

    used: set[str] = set()

    def track(code: Code) -> Code:
        used.add(code.scheme)
        return code

    # ---- the tumour (TID 1411)
    algo = [
        _text("HAS CONCEPT MOD", C.ALGORITHM_NAME, content.model_name),
        _text("HAS CONCEPT MOD", C.ALGORITHM_VERSION, content.model_version),
        _text("HAS CONCEPT MOD", C.ALGORITHM_PARAMETERS, f"SHA-256 {content.model_sha256}"),
    ]
    tumour = [
        _text("HAS OBS CONTEXT", C.TRACKING_IDENTIFIER, "tumour"),
        _uid("HAS OBS CONTEXT", C.TRACKING_UID, seg.tracking_uid or generate_uid()),
        _code("CONTAINS", C.FINDING, C.NEOPLASM),
        _image("CONTAINS", C.REFERENCED_SEGMENT, seg.sop_class_uid, seg.sop_instance_uid, seg.segment_number),
        _uid("CONTAINS", C.SOURCE_SERIES_FOR_SEGMENTATION, source.series_instance_uid),
    ]
    if content.volume_ml is not None:
        tumour.append(
            _num(
                C.VOLUME,
                content.volume_ml,
                C.CUBIC_CENTIMETER,
                [_code("HAS CONCEPT MOD", C.MEASUREMENT_METHOD, C.SUM_OF_VOXELS_VOLUME)],
            )
        )
    tumour.append(_num(track(C.RISK_SCORE), content.risk_score, C.NO_UNITS, algo))
    tumour.append(_text("CONTAINS", track(C.PREDICTED_CLASS), str(content.predicted_class)))
    tumour.append(_text("CONTAINS", track(C.RISK_CATEGORY), str(content.risk_category)))
    for idrf_id, status in content.idrf.items():
        concept = C.IDRF_CODES.get(idrf_id)
        if concept is None:
            raise InputError(f"IDRF {idrf_id!r} is not one of the 20 IDRFs NBRisk codes; fix the checklist")
        if status not in C.IDRF_STATUS:
            raise InputError(f"IDRF {idrf_id}: status {status!r}; use one of {', '.join(C.IDRF_STATUS)}")
        tumour.append(_code("CONTAINS", track(concept), track(C.IDRF_STATUS[status])))
    for name, value in content.features.items():
        concept, _ = C.radiomics_code(name)
        tumour.append(
            _num(
                track(concept),
                float(value),
                C.NO_UNITS,
                [_text("HAS CONCEPT MOD", track(FEATURE_NAME), name)],
            )
        )
    groups = [_container("CONTAINS", C.MEASUREMENT_GROUP, tumour, "1411")]

    # ---- staging (TID 1501)
    staging = []
    if content.inrgss_stage is not None:
        staging.append(
            _code(
                "CONTAINS",
                track(C.INRGSS_STAGE),
                track(_lookup(C.INRGSS_STAGES, content.inrgss_stage, "INRGSS stage")),
            )
        )
    if content.inrg_risk_group is not None:
        staging.append(
            _code(
                "CONTAINS",
                track(C.INRG_RISK_GROUP),
                track(_lookup(C.INRG_RISK_GROUPS, content.inrg_risk_group, "INRG risk group")),
            )
        )
    if content.inrg_group:
        staging.append(_text("CONTAINS", track(C.INRG_GROUP_LETTER), content.inrg_group))
    if staging:
        groups.append(
            _container(
                "CONTAINS",
                C.MEASUREMENT_GROUP,
                [
                    _text("HAS OBS CONTEXT", C.TRACKING_IDENTIFIER, "INRG staging"),
                    _uid("HAS OBS CONTEXT", C.TRACKING_UID, generate_uid()),
                    *staging,
                ],
                "1501",
            )
        )

    # ---- root (TID 1500)
    procedure = C.PROCEDURES.get(source.modality, C.IMAGING_PROCEDURE)
    root = [
        _code("HAS CONCEPT MOD", C.LANGUAGE_OF_CONTENT, C.ENGLISH_US),
        _code("HAS OBS CONTEXT", C.OBSERVER_TYPE, C.DEVICE),
        _uid("HAS OBS CONTEXT", C.DEVICE_OBSERVER_UID, DEVICE_OBSERVER_UID),
        _text("HAS OBS CONTEXT", C.DEVICE_OBSERVER_NAME, MODEL_NAME),
        _text("HAS OBS CONTEXT", C.DEVICE_OBSERVER_MANUFACTURER, MANUFACTURER),
        _text("HAS OBS CONTEXT", C.DEVICE_OBSERVER_MODEL_NAME, MODEL_NAME),
        _code("HAS CONCEPT MOD", C.PROCEDURE_REPORTED, procedure),
        _text("CONTAINS", track(C.INTENDED_USE), content.intended_use),
    ]
    if not source.created:
        library = [_image("CONTAINS", None, source.sop_class_uid, uid) for uid in source.sop_instance_uids]
        root.append(
            _container("CONTAINS", C.IMAGE_LIBRARY, [_container("CONTAINS", C.IMAGE_LIBRARY_GROUP, library)])
        )
    root.append(_container("CONTAINS", C.IMAGING_MEASUREMENTS, groups))
    top = _container(None, C.IMAGING_MEASUREMENT_REPORT, root, "1500")
    for key in (
        "ValueType",
        "ConceptNameCodeSequence",
        "ContinuityOfContent",
        "ContentTemplateSequence",
        "ContentSequence",
    ):
        setattr(ds, key, getattr(top, key))
    schemes = coding_schemes(used)
    if schemes:
        ds.CodingSchemeIdentificationSequence = schemes

    # evidence: the image slices (when they exist) and the SEG, all in this study
    series = []
    if not source.created:
        s = Dataset()
        s.SeriesInstanceUID = source.series_instance_uid
        s.ReferencedSOPSequence = referenced_instances(source.sop_class_uid, source.sop_instance_uids)
        series.append(s)
    s = Dataset()
    s.SeriesInstanceUID = seg.series_instance_uid
    s.ReferencedSOPSequence = referenced_instances(seg.sop_class_uid, [seg.sop_instance_uid])
    series.append(s)
    study = Dataset()
    study.StudyInstanceUID = source.study_instance_uid
    study.ReferencedSeriesSequence = series
    ds.CurrentRequestedProcedureEvidenceSequence = [study]
    save_dataset(ds, path)
    return str(ds.SOPInstanceUID)


def _lookup(table: dict[str, Code], key: str, what: str) -> Code:
    if key not in table:
        raise InputError(f"{what} {key!r}: use one of {', '.join(table)}")
    return table[key]


# ------------------------------------------------------------------------------------------------ reading
def read_dicom_sr(path: str | Path) -> tuple[SrContent, SrReferences]:
    """Read an SR written by :func:`write_dicom_sr` back into its content and references."""
    import pydicom

    p = Path(path)
    try:
        ds = pydicom.dcmread(str(p))
        title = read_code(ds.ConceptNameCodeSequence)
    except Exception as exc:  # pydicom raises many types on broken files
        raise InputError(f"{p}: cannot read DICOM SR ({type(exc).__name__}); check the file") from None
    if title != C.IMAGING_MEASUREMENT_REPORT:
        raise InputError(f"{p}: not a TID 1500 Imaging Measurement Report; give an SR written by NBRisk")
    root = list(ds.ContentSequence)
    measurements = next(i for i in root if _name(i) == C.IMAGING_MEASUREMENTS)
    intended = next((i.TextValue for i in root if _name(i) == C.INTENDED_USE), "")
    library = next((i for i in root if _name(i) == C.IMAGE_LIBRARY), None)
    images: tuple[str, ...] = ()
    if library is not None:
        images = tuple(
            str(img.ReferencedSOPSequence[0].ReferencedSOPInstanceUID)
            for grp in library.ContentSequence
            for img in grp.ContentSequence
        )
    by_code_idrf = {c: k for k, c in C.IDRF_CODES.items()}
    by_code_status = {c: k for k, c in C.IDRF_STATUS.items()}
    values: dict[str, Any] = {
        "idrf": {},
        "features": {},
        "volume_ml": None,
        "inrgss_stage": None,
        "inrg_risk_group": None,
        "inrg_group": None,
    }
    refs: dict[str, Any] = {}
    for group in measurements.ContentSequence:
        for item in group.ContentSequence:
            name = _name(item)
            if name == C.TRACKING_UID and "source_series_uid" not in refs:
                refs["tracking_uid"] = str(item.UID)
            elif name == C.REFERENCED_SEGMENT:
                ref = item.ReferencedSOPSequence[0]
                refs["seg"] = (str(ref.ReferencedSOPInstanceUID), int(ref.ReferencedSegmentNumber))
            elif name == C.SOURCE_SERIES_FOR_SEGMENTATION:
                refs["source_series_uid"] = str(item.UID)
            elif name == C.VOLUME:
                values["volume_ml"] = _value(item)
            elif name == C.RISK_SCORE:
                values["risk_score"] = _value(item)
                for mod in item.ContentSequence:
                    key = {
                        C.ALGORITHM_NAME: "model_name",
                        C.ALGORITHM_VERSION: "model_version",
                        C.ALGORITHM_PARAMETERS: "model_sha256",
                    }[_name(mod)]  # type: ignore[index]
                    values[key] = str(mod.TextValue).removeprefix("SHA-256 ")
            elif name == C.PREDICTED_CLASS:
                values["predicted_class"] = str(item.TextValue)
            elif name == C.RISK_CATEGORY:
                values["risk_category"] = str(item.TextValue)
            elif name in by_code_idrf:
                values["idrf"][by_code_idrf[name]] = by_code_status[read_code(item.ConceptCodeSequence)]
            elif name == C.INRGSS_STAGE:
                values["inrgss_stage"] = _key_of(C.INRGSS_STAGES, read_code(item.ConceptCodeSequence))
            elif name == C.INRG_RISK_GROUP:
                values["inrg_risk_group"] = _key_of(C.INRG_RISK_GROUPS, read_code(item.ConceptCodeSequence))
            elif name == C.INRG_GROUP_LETTER:
                values["inrg_group"] = str(item.TextValue)
            elif item.ValueType == "NUM":
                column = next(str(m.TextValue) for m in item.ContentSequence if _name(m) == FEATURE_NAME)
                values["features"][column] = _value(item)
    content = SrContent(intended_use=str(intended), **values)
    seg_uid, seg_num = refs.get("seg", ("", 0))
    return content, SrReferences(
        str(ds.StudyInstanceUID),
        refs.get("source_series_uid", ""),
        seg_uid,
        seg_num,
        images,
        refs.get("tracking_uid", ""),
    )


def _name(item: Any) -> Code | None:
    return read_code(item.ConceptNameCodeSequence) if "ConceptNameCodeSequence" in item else None


def _value(item: Any) -> float:
    mv = item.MeasuredValueSequence[0]
    if "FloatingPointValue" in mv:
        return float(mv.FloatingPointValue)
    return float(mv.NumericValue)


def _key_of(table: dict[str, Code], code: Code) -> str:
    return next(k for k, c in table.items() if c == code)
