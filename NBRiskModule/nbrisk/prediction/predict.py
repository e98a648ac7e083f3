"""Predict one patient with a bundle: features → probability, class, risk category, contributions, warnings.

:func:`predict_case` extracts the features with the bundle's own preset (refusing a preset whose content
hash differs from the one the model was trained on) and calls :func:`predict_features`, which is pure
(feature values in, :class:`Prediction` out). Contributions are exact for linear models (each feature's
term of the log-odds relative to the training mean, which sum to the log-odds difference) and
occlusion-based otherwise (change of probability when one input is replaced by its training median).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import SimpleITK as sitk

from nbrisk.bundle.format import Bundle, category_text, load_bundle
from nbrisk.errors import InputError, ModelCompatibilityError, NBRiskError, naming_mask
from nbrisk.features.case import load_inputs, phase_refs
from nbrisk.features.extract import extract_features
from nbrisk.features.presets import load_preset
from nbrisk.io.outputs import staged
from nbrisk.prediction.report import html_to_pdf, write_report

BORDERLINE = 0.05  # |probability - threshold| below this is flagged as uncertain
MAX_RANGE_WARNINGS = 5


@dataclass(frozen=True, slots=True)
class Contribution:
    """One input's share of the score (log-odds for linear models, probability points for occlusion)."""

    feature: str
    value: float
    contribution: float
    direction: str  # "raises risk" | "lowers risk"
    training_min: float | None = None
    training_max: float | None = None
    out_of_range: bool = False


@dataclass(frozen=True, slots=True)
class Prediction:
    """A model's result for one case; the report and the Slicer panel show it and never recompute it."""

    case_id: str
    created: str
    probability: float | None
    score: float
    threshold: float
    predicted_class: Any
    positive_class: Any
    risk_category: str
    contribution_method: str
    baseline: float | None
    contributions: tuple[Contribution, ...]
    warnings: tuple[str, ...]
    inputs: dict[str, Any] = field(default_factory=dict)  # floats; categorical clinical inputs as text
    model: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["contributions"] = [asdict(c) for c in self.contributions]
        d["warnings"] = list(self.warnings)
        return _json_ready(d)


def _json_ready(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_ready(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# ------------------------------------------------------------------------------------------ entry points
def predict_case(bundle: Bundle, image: sitk.Image, mask: Any, clinical: Mapping[str, Any] | None = None, *,
                 case_id: str = "case", top: int = 10) -> Prediction:
    """Extract ``image``/``mask`` features with the bundle's preset and predict (see module docstring)."""
    preset = load_preset(bundle.preset_name)
    if preset.sha256 != bundle.preset_sha256:
        raise ModelCompatibilityError(
            f"{bundle.path or 'bundle'}: preset '{bundle.preset_name}' here has hash {preset.sha256[:12]}, the "
            f"model was trained with {bundle.preset_sha256[:12]}; install the nbrisk version that made the model"
        )
    mask_image = getattr(mask, "image", mask)
    with naming_mask(getattr(mask, "path", None)):
        fv = extract_features(image, mask_image, preset)
    bundle.check_extraction(fv.preset_sha256, list(fv.values))
    extra = []
    trained_with = str(bundle.card.get("versions", {}).get("pyradiomics-bhklab") or "").lstrip("v")
    running = str(fv.pyradiomics_version or "").lstrip("v")
    if trained_with and running and trained_with.split(".")[:3] != running.split(".")[:3]:
        extra.append(f"version drift: features extracted with pyradiomics {fv.pyradiomics_version}, model trained "
                     f"with {trained_with}")
    return predict_features(bundle, fv.values, clinical, case_id=case_id, top=top, extra_warnings=extra)


def predict_features(bundle: Bundle, features: Mapping[str, float], clinical: Mapping[str, Any] | None = None, *,
                     case_id: str = "case", top: int = 10, extra_warnings: list[str] | None = None) -> Prediction:
    """Predict from already extracted feature values (names as in the bundle's card)."""
    warnings = [*bundle.warnings, *(extra_warnings or [])]
    clin = _clinical_values(bundle, clinical or {}, warnings)
    x = bundle.align(features, clin)
    if x[bundle.feature_names].isna().any(axis=None):
        bad = [c for c in bundle.feature_names if x[c].isna().any()]
        raise InputError(f"feature/clinical value(s) missing or NaN: {', '.join(bad[:5])}; check the ROI and inputs")
    flags = _range_flags(bundle, x.iloc[0], warnings)
    if bundle.kind == "classification":
        score = float(bundle.predict_proba(x)[0])
        probability: float | None = score
    else:
        probability = None
        score = float(np.ravel(bundle.pipeline.predict(bundle.model_input(x)))[0])
    method, baseline, contribs = contributions(bundle, x, flags)
    contribs = sorted(contribs, key=lambda c: -abs(c.contribution))[:top]
    positive = bundle.card["model"]["positive_class"]
    classes = bundle.card["model"].get("classes") or ([0, 1] if bundle.kind == "classification" else [])
    negative = next((c for c in classes if str(c) != str(positive)), "low")
    high = score >= bundle.threshold
    if probability is not None and abs(probability - bundle.threshold) < BORDERLINE:
        warnings.append(f"borderline: probability {probability:.3f} is within {BORDERLINE} of the threshold "
                        f"{bundle.threshold:.3f}; the predicted class is uncertain")
    labels = bundle.card.get("risk_labels") or {}
    return Prediction(
        case_id=case_id, created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        probability=probability, score=score, threshold=bundle.threshold,
        predicted_class=(positive if high else negative) if bundle.kind == "classification" else
        ("high" if high else "low"), positive_class=positive,
        risk_category=str(labels.get("high" if high else "low", "high" if high else "low")),
        contribution_method=method, baseline=baseline, contributions=tuple(contribs),
        warnings=tuple(dict.fromkeys(warnings)), inputs=dict(x.iloc[0].items()),
        model=bundle.summary(),
    )


# ---------------------------------------------------------------------------------------------- inputs
IMPUTING = {"median", "mean", "most_frequent", "constant"}  # missing-value rules the pipeline itself applies


def _clinical_values(bundle: Bundle, given: Mapping[str, Any], warnings: list[str]) -> dict[str, Any]:
    spec = {c["name"]: c for c in bundle.clinical_inputs}
    unknown = sorted(set(given) - set(spec))
    if unknown:
        known = ", ".join(spec) or "none"
        raise InputError(f"the model has no clinical input {unknown[0]!r} (it takes: {known}); fix --clinical")
    out: dict[str, Any] = {}
    for name, item in spec.items():
        out[name] = _missing_clinical(bundle, item, warnings) if name not in given \
            else _clinical_value(item, given[name], warnings)
    return out


def _missing_clinical(bundle: Bundle, item: Mapping[str, Any], warnings: list[str]) -> Any:
    name, unit = item["name"], f" {item['unit']}" if item.get("unit") else ""
    hint = f"pass --clinical {name}=VALUE for a real prediction"
    if item.get("missing") in IMPUTING:
        warnings.append(f"missing clinical input {name}: filled by the model's own imputer "
                        f"({item['missing']} of the training data); {hint}")
        return np.nan
    median = bundle.reference.get("inputs", {}).get(name, {}).get("median")
    if median is None or item.get("type") == "categorical":
        raise InputError(f"clinical input {name!r} is required by this model; pass --clinical {name}=VALUE")
    warnings.append(f"missing clinical input {name}: used the training median {median:g}{unit}; {hint}")
    return float(median)


def _clinical_value(item: Mapping[str, Any], raw: Any, warnings: list[str]) -> Any:
    name, unit = item["name"], f" {item['unit']}" if item.get("unit") else ""
    if item.get("type") == "categorical":
        value = category_text(raw)
        cats = item.get("categories")
        if cats and value not in [str(c) for c in cats]:
            raise InputError(f"clinical input {name}={raw!r} is not one of {list(cats)}; fix --clinical")
        return value
    try:
        number = float(raw)
    except (TypeError, ValueError) as exc:
        raise InputError(f"clinical input {name}={raw!r} is not a number; give it in{unit or ' its unit'}") from exc
    lo, hi = (item.get("range") or [None, None])[:2]
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        warnings.append(f"clinical input {name}={number:g}{unit} is outside its valid range [{lo}, {hi}]")
    return number


def _range_flags(bundle: Bundle, row: pd.Series, warnings: list[str]) -> dict[str, bool]:
    ref = bundle.reference.get("inputs", {})
    if not ref:
        warnings.append("the bundle carries no training ranges; out-of-range inputs cannot be flagged")
        return {}
    flags = {}
    outside = []
    for name, value in row.items():
        st = ref.get(name) or {}
        flags[name] = bool("min" in st and _as_float(value) == _as_float(value)
                           and (_as_float(value) < st["min"] or _as_float(value) > st["max"]))
        if flags[name]:
            outside.append(f"{name}={value:.4g} (training {st['min']:.4g}..{st['max']:.4g})")
    if outside:
        shown = "; ".join(outside[:MAX_RANGE_WARNINGS])
        more = f" and {len(outside) - MAX_RANGE_WARNINGS} more" if len(outside) > MAX_RANGE_WARNINGS else ""
        warnings.append(f"{len(outside)} input(s) outside the training range: {shown}{more}; "
                        "the model extrapolates here")
    return flags


# ----------------------------------------------------------------------------------------- contributions
def _is_linear(est: Any) -> bool:
    """A model whose score is ``coef_ . z + intercept_`` (logistic regression, Cox, linear SVM)."""
    coef = getattr(est, "coef_", None)
    return coef is not None and np.atleast_2d(coef).shape[0] == 1


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _reference_row(bundle: Bundle, stat: str) -> pd.DataFrame | None:
    """The training ``stat`` (mean/median; the mode for categorical inputs) of every input, as one row."""
    ref = bundle.reference.get("inputs", {})
    row = {c: ref.get(c, {}).get(stat, ref.get(c, {}).get("mode")) for c in bundle.input_columns}
    if any(v is None for v in row.values()):
        return None
    return bundle.align(pd.DataFrame([row]))


def contributions(bundle: Bundle, x: pd.DataFrame, flags: Mapping[str, bool] | None = None
                  ) -> tuple[str, float | None, list[Contribution]]:
    """Return (method, baseline score, contributions) for the single row ``x``."""
    flags = flags or {}
    pipe = bundle.pipeline
    steps = getattr(pipe, "steps", [("model", pipe)])
    est = steps[-1][1]
    ref = bundle.reference.get("inputs", {})

    def contrib(name: str, value: float, c: float) -> Contribution:
        st = ref.get(name, {})
        return Contribution(name, float(value), float(c), "raises risk" if c >= 0 else "lowers risk",
                            st.get("min"), st.get("max"), bool(flags.get(name, False)))

    if _is_linear(est):
        head = pipe[:-1] if len(steps) > 1 else None
        z = _transform(head, bundle.model_input(x))
        mean_row = _reference_row(bundle, "mean")
        z0 = _transform(head, bundle.model_input(mean_row)) if mean_row is not None else np.zeros_like(z)
        w = np.ravel(est.coef_)
        names = _names_after(head, bundle.model_input(x), bundle.input_columns, z.shape[1])
        terms = w * (z[0] - z0[0])
        baseline = float(np.dot(w, z0[0]) + float(np.ravel(getattr(est, "intercept_", [0.0]))[0]))
        xs = x.iloc[0]
        unit = "log-odds" if bundle.kind == "classification" else "log relative hazard"
        method = f"exact linear: coefficient x (transformed value - training mean), in {unit}"
        return method, baseline, [contrib(n, _as_float(xs.get(n, z[0, j])), t)
                                  for j, (n, t) in enumerate(zip(names, terms, strict=True))]
    median_row = _reference_row(bundle, "median")
    if median_row is None or bundle.kind != "classification":
        return "unavailable (no training reference in the bundle)", None, []
    rows = pd.concat([x] * len(bundle.input_columns), ignore_index=True)
    for j in range(len(bundle.input_columns)):
        rows.iloc[j, j] = median_row.iloc[0, j]
    p = bundle.predict_proba(x)[0]
    p_occ = bundle.predict_proba(rows)
    base = float(bundle.predict_proba(median_row)[0])
    method = "occlusion: probability change when the input is replaced by its training median"
    return method, base, [contrib(c, _as_float(x.iloc[0, j]), p - p_occ[j]) for j, c in enumerate(bundle.input_columns)]


def _transform(head: Any, x: Any) -> np.ndarray:
    z = x if head is None else head.transform(x)
    return np.asarray(z, dtype=float).reshape(len(x), -1)


def _names_after(head: Any, x: Any, inputs: list[str], n: int) -> list[str]:
    """Column names reaching the model: the frame's own (set_output pandas), else get_feature_names_out."""
    if head is not None:
        out = head.transform(x)
        if isinstance(out, pd.DataFrame) and out.shape[1] == n:
            return [str(c) for c in out.columns]
    return _names_out(head, inputs, n)


def _names_out(head: Any, inputs: list[str], n: int) -> list[str]:
    if head is None:
        return inputs[:n]
    try:
        names = [str(s) for s in head.get_feature_names_out(np.asarray(inputs, dtype=object))]
    except (AttributeError, ValueError, TypeError):
        names = []
    return names if len(names) == n else [f"x{j}" for j in range(n)]


# ------------------------------------------------------------------------------------------- files + CLI
def predict_to_dir(model: str | Path, image_path: str | Path | Mapping[str, str | Path], mask_path: str | Path,
                   out_dir: str | Path, *, label: int | None = None, segment: str | None = None,
                   resample_mask: bool = False, clinical: Mapping[str, Any] | None = None,
                   case_id: str | None = None, idrf: Mapping[str, Any] | None = None, pdf: bool = True,
                   top: int = 10, inrg: Mapping[str, Any] | None = None,
                   model_sha256: str | None = None,
                   step: Callable[[str], None] | None = None) -> tuple[Prediction, dict[str, Path | None]]:
    """Load, predict and write ``prediction.json``, ``report.html`` (and ``report.pdf``) into ``out_dir``.

    ``image_path`` is one image, or ``{phase: path}`` for a multi-phase preset (the bundle's preset says
    which phases). Images and mask are read by the same code as cohort extraction. Everything is written
    into a staging folder first and moved into ``out_dir`` only at the end, so a failure leaves no partial
    result. A missing Chromium only skips the PDF (with the reason in the JSON). ``model_sha256``: refuse a
    bundle file whose SHA-256 differs (see :func:`nbrisk.bundle.format.load_bundle`).
    """
    step = step or (lambda _what: None)
    step(f"checking and loading the model {Path(model).name}")
    bundle = load_bundle(model, expected_sha256=model_sha256)
    step("reading the image(s) and the mask")
    image, mask, names = _read_inputs(bundle, image_path, mask_path, label, segment, resample_mask)
    first = Path(next(iter(image_path.values())) if isinstance(image_path, Mapping) else image_path)
    step(f"extracting {bundle.preset_name} features and predicting")
    pred = predict_case(bundle, image, mask, clinical, case_id=case_id or _case_id(first), top=top)
    step("writing prediction.json and the report" + (" (HTML, PDF)" if pdf else " (HTML)"))
    shown = image[list(image)[-1]] if isinstance(image, Mapping) else image  # ROI figure: the last phase
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with staged(out / "report") as staging:  # a killed run's staging folder is removed by the next run
        stage = Path(staging)
        data = pred.to_dict()
        files = write_report(stage, data, bundle.card, bundle.reference, shown, mask, idrf=idrf, pdf=False,
                             inrg=inrg)
        report: dict[str, Any] = {"html": "report.html", "pdf": None}
        if pdf:
            try:
                files["pdf"] = html_to_pdf(files["html"], stage / "report.pdf")  # type: ignore[arg-type]
                report["pdf"] = "report.pdf"
            except NBRiskError as exc:  # no Chromium, or it failed: keep the HTML, say why in the JSON
                report["pdf_error"] = str(exc)
        data["report"] = report
        data["source"] = {"image": names, "mask": Path(mask_path).name, "label": mask.label,
                          "segment": mask.segment_name, "model": Path(model).name}
        (stage / "prediction.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
        result: dict[str, Path | None] = {"prediction": out / "prediction.json", "html": out / "report.html",
                                          "pdf": out / "report.pdf" if report["pdf"] else None}
        for name in ("report.html", "report.pdf", "prediction.json"):
            if (stage / name).exists():
                os.replace(stage / name, out / name)
    if hasattr(step, "done"):
        step.done()  # type: ignore[attr-defined]
    return pred, result


def _read_inputs(bundle: Bundle, image_path: str | Path | Mapping[str, str | Path], mask_path: str | Path,
                 label: int | None, segment: str | None, resample_mask: bool) -> tuple[Any, Any, Any]:
    """Read image(s) and mask as cohort extraction does; return (image or {phase: image}, Mask, file names)."""
    preset = load_preset(bundle.preset_name)
    refs = phase_refs(image_path, preset)
    image, mask = load_inputs(image_path, mask_path, preset, label=label, segment=segment,
                              resample_mask=resample_mask)
    names = {p: Path(r).name for p, r in refs.items()}
    return image, mask, (names if preset.phases else names[""])


def _case_id(image_path: Path) -> str:
    name = image_path.name
    for suffix in (".nii.gz", ".nrrd", ".nii", ".mha", ".mhd", ".dcm"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name
