"""Train, cross-validate and evaluate a recipe, and write metrics.json plus the figures.

These functions glue :mod:`~nbrisk.modeling.data`, :mod:`~nbrisk.modeling.validation` and the metric
modules together; the CLI verbs ``cv``, ``train`` and ``evaluate`` and the demo call them.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nbrisk.errors import InputError, ModelCompatibilityError
from nbrisk.modeling import plots
from nbrisk.modeling.cvstats import METHOD, corrected_t_test
from nbrisk.modeling.data import Dataset, Table, prepare
from nbrisk.modeling.metrics import calibration, classification_summary, decision_curve, delong_test
from nbrisk.modeling.pipeline import selected_features
from nbrisk.modeling.recipe import ClinicalInput, Recipe, load_recipe, parse_recipe
from nbrisk.modeling.survival import nomogram_axes, survival_summary
from nbrisk.modeling.thresholds import describe
from nbrisk.modeling.trained import TrainedModel
from nbrisk.modeling.validation import (
    Predictions,
    fit_quietly,
    make_estimator,
    predict_scores,
    run_validation,
    training_cut,
)

Progress = Callable[[float, str], None] | None


def _summary(ds: Dataset) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(ds.y), "n_features": len(ds.feature_names),
                           "clinical": [c.name for c in ds.clinical]}
    if ds.kind == "classification":
        out.update({"n_positive": int(ds.y.sum()), "n_negative": int((1 - ds.y).sum()),
                    "positive_fraction": float(ds.y.mean()), "positive_class": _jsonable(ds.positive_class),
                    "classes": [_jsonable(c) for c in ds.classes]})
    else:
        out.update({"n_events": int(ds.y["event"].sum()), "median_time_months": float(np.median(ds.y["time"]))})
    return out


def cross_validate(features: Table, labels: Table, recipe: str | Path | Recipe, clinical: Table | None = None,
                   keep: list[str] | None = None, positive: Any = None, progress: Progress = None,
                   batch: Table | None = None, **scheme: Any) -> tuple[Predictions, Dataset, Recipe]:
    """Validate a recipe (scheme from the recipe, overridable: scheme, n_splits, n_repeats, test_size,
    split_file, fold_seed, thresholds); ``batch``: manifest with the centre column of a combat step."""
    rec = load_recipe(recipe)
    ds, rec = prepare(features, labels, rec, clinical, keep, positive, batch)
    return run_validation(ds, rec, keep=keep, progress=progress, **scheme), ds, rec


def headline(preds: Predictions) -> dict[str, Any]:
    """The metrics of a set of held-out predictions.

    Repeated k-fold / nested CV: every metric is the mean over repeats of the per-repeat metric, with the
    corrected resampled t interval (:mod:`~nbrisk.modeling.cvstats`); ``auc_pooled`` (``c_index_pooled``)
    is the metric of the out-of-fold scores averaged over the repeats, shown beside it and labelled. A
    fixed split or an external set is one independent test set: DeLong / bootstrap intervals.
    """
    if preds.kind == "classification":
        out = classification_summary(preds.y, preds.score, preds.pred)
    else:
        out = survival_summary(preds.y, preds.score, preds.pred, preds.surv, preds.y_train)
    cv = preds.details.get("cv")
    if not cv:
        return out
    key = "auc" if preds.kind == "classification" else "c_index"
    pooled = {f"{key}_pooled": out[key]}
    for k in list(out):  # pooled intervals assume independent cases: not valid for CV, so not reported
        if k.startswith(f"{key}_ci") or k.startswith("auc_boot") or k in ("tp", "tn", "fp", "fn") or (
                k.endswith(("_ci_low", "_ci_high")) and k.split("_ci_")[0] in cv):
            del out[k]
    out.update(pooled)
    out[f"{key}_pooled_note"] = ("metric of the out-of-fold scores averaged over the repeats (optimistic, "
                                 "no interval); the headline is the per-repeat mean")
    thresholds = preds.details.get("thresholds", True)
    if not thresholds:  # validated without thresholds: no thresholded metric at all
        for k in [k for k in out if k.split("_ci_")[0] in ("sensitivity", "specificity", "accuracy", "ppv", "npv")]:
            del out[k]
    for k, v in cv.items():
        if not thresholds and k.split("_ci_")[0].split("_sd_")[0] in ("sensitivity", "specificity", "accuracy",
                                                                       "ppv", "npv"):
            continue
        out[k] = v
    out[f"{key}_ci_method"] = f"{METHOD}; {preds.details['n_splits']} folds x {preds.details['n_repeats']} repeats"
    out["headline"] = "mean over repeats of the per-repeat metric"
    return out


def train(features_df: Table, labels_df: Table, recipe: str | Path | Recipe, clinical_df: Table | None = None,
          keep: list[str] | None = None, *, positive: Any = None, validate: bool = True,
          cv_metrics: dict[str, Any] | None = None, progress: Progress = None, batch: Table | None = None,
          **scheme: Any):
    """Fit a recipe on all given cases; ``metrics`` are from the recipe's validation scheme (if ``validate``).

    ``cv_metrics`` (e.g. what :func:`write_report` returned for the same data) is stored instead of
    running the validation again.
    """
    rec = load_recipe(recipe)
    ds, rec = prepare(features_df, labels_df, rec, clinical_df, keep, positive, batch)
    metrics: dict[str, Any] = {k: v for k, v in (cv_metrics or {}).items() if not isinstance(v, dict | list)}
    if validate and cv_metrics is None:
        preds = run_validation(ds, rec, keep=keep, progress=progress, **scheme)
        metrics = {"scheme": preds.scheme, **headline(preds), **_scalar_details(preds)}
    est = fit_quietly(make_estimator(rec, keep, rec.validation["scheme"] == "nested" and bool(rec.search),
                                     int(rec.validation["inner_splits"])), ds.X, ds.y, ds, len(ds.y))
    fitted = getattr(est, "best_estimator_", est)
    rule = rec.threshold_rule
    threshold = training_cut(fitted, ds.X, ds.y, ds.kind, rule, seed=rec.random_state)
    clinical = []
    for c in ds.clinical:
        d = c.to_dict()
        if d["range"] is None and c.type == "numeric":
            col = ds.X[c.name]
            d["range"] = [float(col.min()), float(col.max())]
        clinical.append(d)
    return TrainedModel(
        pipeline=fitted, feature_names=list(ds.feature_names), clinical_inputs=clinical,
        threshold=threshold, threshold_rule=describe(rule), positive_class=_jsonable(ds.positive_class),
        metrics=_clean(metrics), recipe_name=rec.name, citation=rec.citation, training_summary=_summary(ds),
        kind=ds.kind, recipe=rec.to_dict(), selected_features=selected_features(fitted, ds.X),
        classes=[_jsonable(c) for c in ds.classes])


def _clinical_input(spec: dict[str, Any]) -> ClinicalInput:
    """A ClinicalInput from its stored dict (lists back to tuples)."""
    kwargs: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in spec.items()}
    return ClinicalInput(**kwargs)


def evaluate(trained: Any, features: Table, labels: Table, clinical: Table | None = None,
             positive: Any = None, threshold: float | None = None) -> tuple[Predictions, pd.DataFrame]:
    """Predict an external/test set with a trained model (its training threshold) → (predictions, X)."""
    model_type = "cox" if trained.kind == "survival" else "lr"  # only kind and clinical inputs matter here
    rec = parse_recipe({"name": trained.recipe_name or "model", "steps": [{"model": {"type": model_type}}]},
                       str(trained.recipe_name))
    rec = rec.with_clinical(tuple(_clinical_input(c) for c in trained.clinical_inputs))
    pos = positive if positive is not None else trained.positive_class
    ds, _ = prepare(features, labels, rec, clinical, None, pos)
    missing = [f for f in trained.feature_names if f not in ds.X.columns]
    if missing:
        raise ModelCompatibilityError(f"the features table lacks {len(missing)} feature(s) the model needs, e.g. "
                                      f"{missing[:3]}; extract them with the model's preset")
    X = ds.X[trained.input_columns if hasattr(trained, "input_columns") else ds.X.columns]
    score, surv = predict_scores(trained.pipeline, X, ds.kind)
    thr = float(trained.threshold if threshold is None else threshold)
    pred = (score >= thr) if ds.kind == "classification" else (score > thr)
    return Predictions(kind=ds.kind, case_ids=ds.case_ids, y=ds.y, score=score, pred=pred.astype(int), surv=surv,
                       y_train=ds.y if ds.kind == "survival" else None, scheme="external",
                       details={"threshold": thr}), X


def _scalar_details(preds: Predictions) -> dict[str, Any]:
    d = preds.details
    out: dict[str, Any] = {}
    for k in ("n_splits", "n_repeats", "per_repeat_mean", "per_repeat_sd", "n_train", "n_test", "threshold",
              "train_headline", "fold_seed", "n_train_mean", "n_test_mean", "threshold_rule"):
        if k in d:
            out[k] = d[k]
    if "per_repeat" in d:
        out["per_repeat"] = d["per_repeat"]
    if "per_repeat_metrics" in d:
        out["per_repeat_metrics"] = d["per_repeat_metrics"]
    return out


def compare_cv(a: Predictions, b: Predictions) -> dict[str, Any]:
    """Corrected resampled paired t-test of two recipes validated on the same folds (AUC or C-index).

    DeLong's test assumes one independent test set; on repeated CV its p values are far too small.
    """
    fa, fb = a.details.get("folds"), b.details.get("folds")
    if a.case_ids != b.case_ids or fa is None or fb is None or not np.array_equal(fa, fb):
        raise InputError("the two recipes were not validated on the same folds; run both with the same "
                         "folds/repeats (cv --compare does this)")
    key = "auc" if a.kind == "classification" else "c_index"
    da = np.array([f[key] for f in a.details["per_fold"]], float)
    db = np.array([f[key] for f in b.details["per_fold"]], float)
    res = corrected_t_test(da - db, a.details["n_train_mean"], a.details["n_test_mean"], df=a.details["n_splits"] - 1)
    va = float(np.mean([r[key] for r in a.details["per_repeat_metrics"]]))
    vb = float(np.mean([r[key] for r in b.details["per_repeat_metrics"]]))
    return {"metric": key, "value_1": va, "value_2": vb, **res,
            "method": "corrected resampled paired t-test on fold-level differences (Nadeau & Bengio 2003)"}


def write_report(preds: Predictions, out_dir: Path, extra: dict[str, Any] | None = None,
                 trained: Any = None, X_train: pd.DataFrame | None = None,
                 compare: Predictions | None = None) -> dict[str, Any]:
    """Write metrics.json, predictions.csv (and split.csv) and the figures into ``out_dir`` atomically."""
    metrics: dict[str, Any] = {"scheme": preds.scheme, **headline(preds), **_scalar_details(preds), **(extra or {})}
    if compare is not None and preds.details.get("cv"):
        metrics["cv_test_vs_comparison"] = compare_cv(preds, compare)
    elif compare is not None and preds.kind == "classification":
        metrics["delong_vs_comparison"] = delong_test(preds.y, preds.score, compare.score)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        _write_files(preds, metrics, tmp, trained, X_train)
        out_dir.mkdir(parents=True, exist_ok=True)
        for f in sorted(tmp.iterdir()):
            f.replace(out_dir / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _clean(metrics)


def _write_files(preds: Predictions, metrics: dict[str, Any], d: Path, trained: Any, X_train: Any) -> None:
    table = pd.DataFrame({"case_id": preds.case_ids, "score": preds.score, "predicted": preds.pred})
    if preds.kind == "classification":
        table["label"] = preds.y
        metrics["calibration_curve"] = calibration(preds.y, preds.score)
        metrics["decision_curve"] = decision_curve(preds.y, preds.score, np.arange(0.05, 0.951, 0.05))
        label = None
        if "auc_pooled" in metrics:
            label = (f"pooled OOF curve, AUC {metrics['auc_pooled']:.3f}\nper-repeat mean AUC {metrics['auc']:.3f} "
                     f"(95% CI {metrics['auc_ci_low']:.3f}–{metrics['auc_ci_high']:.3f}, corrected t)")
        plots.roc(preds.y, preds.score, d, label=label)
        plots.calibration(preds.y, preds.score, d)
        plots.decision_curve(preds.y, preds.score, d)
    else:
        table["time"], table["event"] = preds.y["time"], preds.y["event"].astype(int)
        for t, s in preds.surv.items():
            table[f"pfs_{int(t)}"] = s
        plots.kaplan_meier(preds.y, preds.pred, metrics["logrank_p"], d)
        plots.td_auc(metrics, d)
        plots.survival_calibration(metrics, d)
        if trained is not None and X_train is not None:
            nomo = nomogram_axes(trained.pipeline, X_train[trained.input_columns])
            metrics["nomogram"] = nomo
            plots.nomogram(nomo, d)
    table.to_csv(d / "predictions.csv", index=False)
    if "split" in preds.details:
        preds.details["split"].to_csv(d / "split.csv", index=False)
    (d / "metrics.json").write_text(json.dumps(_clean(metrics), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _clean(obj: Any) -> Any:
    """Make a metrics structure JSON-safe (numpy scalars → Python, NaN → None)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, pd.DataFrame):
        return None
    obj = _jsonable(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
