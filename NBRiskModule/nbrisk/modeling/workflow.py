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

from nbrisk.modeling import plots
from nbrisk.modeling.data import Dataset, Table, prepare
from nbrisk.modeling.recipe import Recipe, load_recipe
from nbrisk.modeling.validation import Predictions, predict_scores, run_validation, training_cut
from nbrisk.modeling.survival import survival_summary
from nbrisk.modeling.trained import TrainedModel
from nbrisk.modeling.pipeline import selected_features
from nbrisk.modeling.validation import make_estimator
from nbrisk.errors import ModelCompatibilityError
from nbrisk.modeling.recipe import ClinicalInput, parse_recipe
from nbrisk.modeling.metrics import classification_summary
from nbrisk.modeling.metrics import delong_test
from nbrisk.modeling.metrics import calibration, decision_curve
from nbrisk.modeling.survival import nomogram_axes

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
                   **scheme: Any) -> tuple[Predictions, Dataset, Recipe]:
    """Validate a recipe (scheme from the recipe, overridable: scheme, n_splits, n_repeats, test_size, split_file)."""
    rec = load_recipe(recipe)
    ds, rec = prepare(features, labels, rec, clinical, keep, positive)
    return run_validation(ds, rec, keep=keep, progress=progress, **scheme), ds, rec


def headline(preds: Predictions) -> dict[str, Any]:
    """The metrics of a set of held-out predictions."""
    if preds.kind == "classification":
        return classification_summary(preds.y, preds.score, preds.pred)
    return survival_summary(preds.y, preds.score, preds.pred, preds.surv, preds.y_train)


def train(features_df: Table, labels_df: Table, recipe: str | Path | Recipe, clinical_df: Table | None = None,
          keep: list[str] | None = None, *, positive: Any = None, validate: bool = True,
          cv_metrics: dict[str, Any] | None = None, progress: Progress = None,
          **scheme: Any):  # noqa: ANN201 (TrainedModel: circular import)
    """Fit a recipe on all given cases; ``metrics`` are from the recipe's validation scheme (if ``validate``).

    ``cv_metrics`` (e.g. what :func:`write_report` returned for the same data) is stored instead of
    running the validation again.
    """
    rec = load_recipe(recipe)
    ds, rec = prepare(features_df, labels_df, rec, clinical_df, keep, positive)
    metrics: dict[str, Any] = {k: v for k, v in (cv_metrics or {}).items() if not isinstance(v, dict | list)}
    if validate and cv_metrics is None:
        preds = run_validation(ds, rec, keep=keep, progress=progress, **scheme)
        metrics = {"scheme": preds.scheme, **headline(preds), **_scalar_details(preds)}
    est = make_estimator(rec, keep, rec.validation["scheme"] == "nested" and bool(rec.search),
                         int(rec.validation["inner_splits"])).fit(ds.X, ds.y)
    fitted = getattr(est, "best_estimator_", est)
    clinical = []
    for c in ds.clinical:
        d = c.to_dict()
        if d["range"] is None and c.type == "numeric":
            col = ds.X[c.name]
            d["range"] = [float(col.min()), float(col.max())]
        clinical.append(d)
    return TrainedModel(
        pipeline=fitted, feature_names=list(ds.feature_names), clinical_inputs=clinical,
        threshold=training_cut(fitted, ds.X, ds.y, ds.kind), positive_class=_jsonable(ds.positive_class),
        metrics=_clean(metrics), recipe_name=rec.name, citation=rec.citation, training_summary=_summary(ds),
        kind=ds.kind, recipe=rec.to_dict(), selected_features=selected_features(fitted, ds.X),
        classes=[_jsonable(c) for c in ds.classes],
        threshold_rule=("Youden's J on the training data" if ds.kind == "classification"
                        else "median training risk score (low/high Radscore group cut-off)"))


def evaluate(trained: Any, features: Table, labels: Table, clinical: Table | None = None,
             positive: Any = None, threshold: float | None = None) -> tuple[Predictions, pd.DataFrame]:
    """Predict an external/test set with a trained model (its training threshold) → (predictions, X)."""
    model_type = "cox" if trained.kind == "survival" else "lr"  # only kind and clinical inputs matter here
    rec = parse_recipe({"name": trained.recipe_name or "model", "steps": [{"model": {"type": model_type}}]},
                       str(trained.recipe_name))
    rec = rec.with_clinical(tuple(ClinicalInput(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in c.items()})
                                  for c in trained.clinical_inputs))
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
              "train_headline"):
        if k in d:
            out[k] = d[k]
    if "per_repeat" in d:
        out["per_repeat"] = d["per_repeat"]
    return out


def write_report(preds: Predictions, out_dir: Path, extra: dict[str, Any] | None = None,
                 trained: Any = None, X_train: pd.DataFrame | None = None,
                 compare: Predictions | None = None) -> dict[str, Any]:
    """Write metrics.json, predictions.csv (and split.csv) and the figures into ``out_dir`` atomically."""
    metrics: dict[str, Any] = {"scheme": preds.scheme, **headline(preds), **_scalar_details(preds), **(extra or {})}
    if compare is not None and preds.kind == "classification":
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
        plots.roc(preds.y, preds.score, d)
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
