"""``nbrisk predict``: one patient's image + ROI (+ clinical values) → prediction.json and a review report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from nbrisk.cli._args import parse_phase_images
from nbrisk.errors import InputError

COMMAND = "predict"
HELP = "apply a .nbrisk model to one patient: prediction.json plus an HTML/PDF review report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, required=True, help="model bundle (.nbrisk)")
    p.add_argument("--model-sha256", metavar="HEX",
                   help="the bundle file's SHA-256 as its publisher gives it: refuse any other file")
    p.add_argument("--image", action="append", required=True, metavar="[PHASE=]PATH",
                   help="image (NRRD, NIfTI, MHA or a DICOM series folder); multi-phase models: "
                   "--image arterial=a.nrrd --image venous=v.nrrd")
    p.add_argument("--mask", type=Path, required=True, help="ROI: label map, Slicer .seg.nrrd or DICOM SEG")
    p.add_argument("--label", type=int, help="label value of the tumour in the mask (default: the only label)")
    p.add_argument("--segment", help="segment name (Slicer .seg.nrrd / DICOM SEG)")
    p.add_argument("--resample-mask", action="store_true", help="resample a mask on another grid (nearest)")
    p.add_argument("--clinical", nargs="*", default=[], metavar="NAME=VALUE",
                   help="clinical inputs the model needs, e.g. age_months=18 (see 'nbrisk bundle inspect')")
    p.add_argument("--case-id", help="pseudonymous case id for the report (default: image file name)")
    p.add_argument("--idrf", type=Path, help="IDRF checklist JSON to include in the report")
    p.add_argument("--inrg", type=Path, help="INRG stage/risk-group JSON (`nbrisk inrg ... --json`) for the report")
    p.add_argument("--top", type=int, default=10, help="number of contributions to report (default 10)")
    p.add_argument("--no-pdf", action="store_true", help="skip report.pdf (no Chromium needed)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    d = p.add_argument_group("DICOM export (docs/dicom.md)")
    d.add_argument("--dicom-sr", type=Path, metavar="PATH",
                   help="also write the assessment as a DICOM SR (TID 1500) referencing the image series and "
                        "the tumour's DICOM SEG; the image must be a DICOM series folder")
    d.add_argument("--dicom-seg", type=Path, metavar="PATH",
                   help="where the SR's DICOM SEG of the ROI goes (default: beside the SR, NAME_seg.dcm); "
                        "a --mask that is a DICOM SEG is referenced as it is")
    d.add_argument("--seg-algorithm-type", choices=("MANUAL", "SEMIAUTOMATIC", "AUTOMATIC"), default="MANUAL",
                   help="how the ROI was drawn, recorded in the SEG (default MANUAL)")
    d.add_argument("--sr-features", metavar="model|NAME,...",
                   help="radiomics features to add to the SR: 'model' for all the model's features, or names")
    d.add_argument("--new-dicom-references", action="store_true",
                   help="for a non-DICOM image: write SEG and SR in a new study with new UIDs (they then "
                        "reference no image on any PACS)")


def _pairs(items: list[str], flag: str, form: str, example: str) -> dict[str, str]:
    """Parse ``KEY=VALUE`` items of one option; each key once."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"{flag} {item!r}: write {form}, e.g. {flag} {example}")
        if key.strip() in out:
            raise InputError(f"{flag} {key.strip()} given twice; give each once")
        out[key.strip()] = value.strip()
    return out


def parse_clinical(items: list[str]) -> dict[str, str]:
    """Parse ``NAME=VALUE`` pairs (values stay strings; the model's input spec converts them)."""
    return _pairs(items, "--clinical", "NAME=VALUE", "age_months=18")


def _read_json(path: Path | None, what: str, flag: str) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: {what} not found; check {flag}") from exc
    except ValueError as exc:
        raise InputError(f"{path}: {what} is not valid JSON ({exc}); save it again from NBRisk") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: {what} must be a JSON object; save it again from NBRisk")
    return data


def _dicom_preflight(args: argparse.Namespace, images: str | dict[str, str], idrf: dict | None,
                     inrg: dict | None) -> tuple[Any, Any] | None:
    """Before any work: the DICOM source of the image (and the image) when --dicom-sr asks for an SR."""
    if args.dicom_sr is None:
        for flag in ("dicom_seg", "sr_features"):
            if getattr(args, flag):
                raise InputError(f"--{flag.replace('_', '-')} needs --dicom-sr PATH")
        return None
    from nbrisk.io.images import read_image
    from nbrisk.prediction.dicom_export import check_staging, dicom_source_for, image_for_export

    check_staging(idrf, inrg)
    path = image_for_export(images)
    image = read_image(path)
    return dicom_source_for(path, image, new_references=args.new_dicom_references), image


def _export_dicom(args: argparse.Namespace, pred: Any, dicom: tuple[Any, Any], idrf: dict | None,
                  inrg: dict | None) -> dict[str, Path]:
    from nbrisk.io.images import read_mask
    from nbrisk.io.segfiles import is_dicom_seg
    from nbrisk.prediction.dicom_export import export_dicom

    source, image = dicom
    mask = read_mask(args.mask, image, label=args.label, segment=args.segment, reference_path=args.image[-1],
                     resample=args.resample_mask)
    existing = args.mask if (args.dicom_seg is None and args.mask.suffix.lower() == ".dcm"
                             and is_dicom_seg(args.mask)) else None
    return export_dicom(pred, source, mask, args.dicom_sr, seg_path=args.dicom_seg, existing_seg=existing,
                        existing_segment=mask.label,
                        seg_algorithm_type=args.seg_algorithm_type, idrf=idrf, inrg=inrg,
                        features=args.sr_features)


def run(args: argparse.Namespace) -> int:
    from nbrisk.features.cohort import _quiet_radiomics
    from nbrisk.prediction.predict import predict_to_dir

    from nbrisk.cli._progress import Steps

    _quiet_radiomics()  # pyradiomics sets its own log level on import; keep the CLI's output readable
    clinical = parse_clinical(args.clinical)
    idrf = _read_json(args.idrf, "IDRF checklist", "--idrf")
    inrg = _read_json(args.inrg, "INRG result", "--inrg")
    images = parse_phase_images(args.image)
    dicom = _dicom_preflight(args, images, idrf, inrg)
    pred, files = predict_to_dir(args.model, images, args.mask, args.out, label=args.label,
                                 segment=args.segment, resample_mask=args.resample_mask, clinical=clinical,
                                 case_id=args.case_id, idrf=idrf, pdf=not args.no_pdf, top=args.top,
                                 inrg=inrg, model_sha256=args.model_sha256,
                                 step=Steps("predict", 4, quiet=args.quiet))
    prob = "n/a" if pred.probability is None else f"{pred.probability:.3f}"
    print(f"case {pred.case_id}: probability {prob} (threshold {pred.threshold:.3f}) -> class "
          f"{pred.predicted_class}, risk {pred.risk_category}")
    for w in pred.warnings:
        print(f"warning: {w}")
    if dicom is not None:
        files.update(_export_dicom(args, pred, dicom, idrf, inrg))
    for key in ("prediction", "html", "pdf", "seg", "sr"):
        if files.get(key):
            print(f"wrote {files[key]}")
    if not args.no_pdf and files.get("pdf") is None:
        reason = json.loads(files["prediction"].read_text(encoding="utf-8"))["report"].get("pdf_error")  # type: ignore[union-attr]
        print(f"warning: report.pdf not written: {reason}")
    return 0
