"""Export one prediction as DICOM: the tumour as a SEG and the risk assessment as a TID 1500 SR.

:func:`export_dicom` is what ``nbrisk predict --dicom-sr`` and the Slicer panel's export call;
:func:`dicom_source_for` checks up front (before any work) that the image is a DICOM series, or that the
user asked for new references.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError
from nbrisk.io import dicom_codes as C
from nbrisk.io.dicom_seg import SegInfo, seg_info, write_dicom_seg
from nbrisk.io.dicom_source import DicomSource, dicom_source, new_dicom_source
from nbrisk.io.images import read_image
from nbrisk.prediction.dicom_sr import SrContent, write_dicom_sr

RADIOMICS_CLASSES = ("shape", "shape2D", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")


def image_for_export(image_path: str | Path | Mapping[str, str | Path]) -> Path:
    """The image whose series the SEG and SR reference: the only one, or the last phase (the ROI's image)."""
    if isinstance(image_path, Mapping):
        return Path(list(image_path.values())[-1])
    return Path(image_path)


def dicom_source_for(
    image_path: str | Path,
    image: sitk.Image | None = None,
    *,
    new_references: bool = False,
    flag: str = "--new-dicom-references",
) -> DicomSource:
    """The DICOM identity of ``image_path``, new UIDs when asked, or a one-line refusal."""
    p = Path(image_path)
    source = dicom_source(p, image)
    if source is not None:
        return source
    if not new_references:
        raise InputError(
            f"{p}: not a DICOM series, so NBRisk cannot write a DICOM SEG/SR that references it; "
            f"give the DICOM series folder, or pass {flag} to create new study/series UIDs"
        )
    if image is None:
        image = read_image(p)
    return new_dicom_source(image)


def radiomics_inputs(inputs: Mapping[str, Any]) -> dict[str, float]:
    """The radiomics feature values among a prediction's inputs (clinical inputs left out)."""
    out = {}
    for name, value in inputs.items():
        parts = str(name).split("_")
        if len(parts) >= 3 and parts[-2] in RADIOMICS_CLASSES:
            try:
                out[str(name)] = float(value)
            except (TypeError, ValueError):
                continue
    return out


def select_features(inputs: Mapping[str, Any], request: str | list[str] | None) -> dict[str, float]:
    """``None``: no features; ``"model"``: every radiomics input of the model; else the named columns."""
    if not request:
        return {}
    available = radiomics_inputs(inputs)
    if request == "model" or request == ["model"]:
        return available
    names = [n.strip() for n in (request.split(",") if isinstance(request, str) else request) if n.strip()]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise InputError(
            f"feature(s) {', '.join(unknown[:5])} are not inputs of this model; choose among "
            f"{', '.join(list(available)[:5])}... or pass 'model' for all of them"
        )
    return {n: available[n] for n in names}


def content_from_prediction(
    prediction: Any,
    mask: sitk.Image | Any,
    *,
    idrf: Mapping[str, Any] | None = None,
    inrg: Mapping[str, Any] | None = None,
    features: str | list[str] | None = None,
) -> SrContent:
    """The SR's values from a :class:`~nbrisk.prediction.predict.Prediction` (or its ``to_dict()``), the ROI,
    an IDRF checklist (``Checklist.to_dict()``) and an INRG result (``nbrisk inrg --json``)."""
    pred = prediction.to_dict() if hasattr(prediction, "to_dict") else dict(prediction)
    model = pred.get("model") or {}
    sha = str(model.get("file_sha256") or "")
    if not sha:
        raise InputError("the prediction names no model file SHA-256; predict with a saved .nbrisk bundle")
    img = getattr(mask, "image", mask)
    voxels = int(np.count_nonzero(sitk.GetArrayViewFromImage(img)))
    volume_ml = voxels * float(np.prod(img.GetSpacing())) / 1000.0
    statuses: dict[str, str] = {}
    for row in (idrf or {}).get("idrf", []):
        statuses[str(row["id"])] = str(row.get("status", "unset"))
    stage = (inrg or {}).get("stage") or {}
    risk = (inrg or {}).get("risk") or {}
    return SrContent(
        risk_score=float(pred["score"]),
        predicted_class=str(pred["predicted_class"]),
        risk_category=str(pred["risk_category"]),
        model_name=str(model.get("name") or model.get("recipe") or model.get("file") or "NBRisk model"),
        model_version=str(model.get("version") or model.get("created") or "unknown"),
        model_sha256=sha,
        volume_ml=volume_ml,
        idrf=statuses,
        inrgss_stage=stage.get("stage") if isinstance(stage, Mapping) else None,
        inrg_risk_group=risk.get("risk_group") if isinstance(risk, Mapping) else None,
        inrg_group=(risk.get("group") or None) if isinstance(risk, Mapping) else None,
        features=select_features(pred.get("inputs") or {}, features),
    )


def check_staging(idrf: Mapping[str, Any] | None, inrg: Mapping[str, Any] | None) -> None:
    """Refuse, before any work, IDRF checklist or INRG values the SR cannot code."""
    for row in (idrf or {}).get("idrf", []):
        item, status = str(row.get("id")), str(row.get("status", "unset"))
        if item not in C.IDRF_CODES:
            raise InputError(
                f"IDRF checklist: {item!r} is not one of the 20 IDRFs NBRisk codes; save the "
                "checklist again from 'nbrisk idrf'"
            )
        if status not in C.IDRF_STATUS:
            raise InputError(
                f"IDRF checklist: {item}: status {status!r}; use one of {', '.join(C.IDRF_STATUS)}"
            )
    stage = (inrg or {}).get("stage") or {}
    risk = (inrg or {}).get("risk") or {}
    if isinstance(stage, Mapping) and stage.get("stage") not in (None, *C.INRGSS_STAGES):
        raise InputError(
            f"INRG result: stage {stage.get('stage')!r}; use one of {', '.join(C.INRGSS_STAGES)}"
        )
    if isinstance(risk, Mapping) and risk.get("risk_group") not in (None, *C.INRG_RISK_GROUPS):
        raise InputError(
            f"INRG result: risk group {risk.get('risk_group')!r}; use one of {', '.join(C.INRG_RISK_GROUPS)}"
        )


def export_dicom(
    prediction: Any,
    source: DicomSource,
    mask: sitk.Image | Any,
    sr_path: str | Path,
    *,
    seg_path: str | Path | None = None,
    existing_seg: str | Path | None = None,
    existing_segment: int | None = None,
    seg_algorithm_type: str = "MANUAL",
    idrf: Mapping[str, Any] | None = None,
    inrg: Mapping[str, Any] | None = None,
    features: str | list[str] | None = None,
) -> dict[str, Path]:
    """Write the SEG (unless ``existing_seg``, a DICOM SEG of this series, is given) and the SR.

    ``mask``: the ROI on the source image's grid (a :class:`~nbrisk.io.images.Mask` or binary image).
    ``seg_path`` defaults to the SR's name with ``_seg`` added. Returns ``{"sr": ..., "seg": ...}``.
    """
    sr_path = Path(sr_path)
    check_staging(idrf, inrg)
    content = content_from_prediction(prediction, mask, idrf=idrf, inrg=inrg, features=features)
    if existing_seg is not None:
        seg = _check_existing_seg(Path(existing_seg), source, existing_segment)
    else:
        seg_path = Path(seg_path) if seg_path else sr_path.with_name(f"{sr_path.stem}_seg.dcm")
        if seg_path.resolve() == sr_path.resolve():
            raise InputError(f"{sr_path}: the SEG and the SR need two file names; pass another SEG path")
        seg = write_dicom_seg(
            mask, source, seg_path, algorithm_type=seg_algorithm_type, algorithm_name="NBRisk ROI"
        )
    try:
        write_dicom_sr(sr_path, content, source, seg)
    except BaseException:
        if existing_seg is None:  # no SEG without its SR
            seg.path.unlink(missing_ok=True)
        raise
    return {"sr": sr_path, "seg": seg.path}


def _check_existing_seg(path: Path, source: DicomSource, segment: int | None) -> SegInfo:
    import pydicom

    info = seg_info(path, segment)
    ds = pydicom.dcmread(str(path), stop_before_pixels=True)
    if str(getattr(ds, "FrameOfReferenceUID", "")) != source.frame_of_reference_uid:
        raise InputError(
            f"{path}: this DICOM SEG has another Frame of Reference than the image series "
            f"{source.series_instance_uid}; use the SEG made on this series"
        )
    return info
