"""``nbrisk predict``: one patient's image + ROI (+ clinical values) → prediction.json and a review report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from nbrisk.errors import InputError
from nbrisk.features.case import parse_phase_images

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


def run(args: argparse.Namespace) -> int:
    from nbrisk.features.cohort import _quiet_radiomics
    from nbrisk.prediction.predict import predict_to_dir

    _quiet_radiomics()  # pyradiomics sets its own log level on import; keep the CLI's output readable
    clinical = parse_clinical(args.clinical)
    idrf = _read_json(args.idrf, "IDRF checklist", "--idrf")
    inrg = _read_json(args.inrg, "INRG result", "--inrg")
    pred, files = predict_to_dir(args.model, parse_phase_images(args.image), args.mask, args.out, label=args.label,
                                 segment=args.segment, resample_mask=args.resample_mask, clinical=clinical,
                                 case_id=args.case_id, idrf=idrf, pdf=not args.no_pdf, top=args.top,
                                 inrg=inrg, model_sha256=args.model_sha256)
    prob = "n/a" if pred.probability is None else f"{pred.probability:.3f}"
    print(f"case {pred.case_id}: probability {prob} (threshold {pred.threshold:.3f}) -> class "
          f"{pred.predicted_class}, risk {pred.risk_category}")
    for w in pred.warnings:
        print(f"warning: {w}")
    for key in ("prediction", "html", "pdf"):
        if files.get(key):
            print(f"wrote {files[key]}")
    if not args.no_pdf and files.get("pdf") is None:
        reason = json.loads(files["prediction"].read_text(encoding="utf-8"))["report"].get("pdf_error")  # type: ignore[union-attr]
        print(f"warning: report.pdf not written: {reason}")
    return 0
