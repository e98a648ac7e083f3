"""Validation schemes: stratified repeated k-fold, nested CV and a fixed (saved) train/test split.

Every scheme clones the recipe's whole pipeline and fits it on training cases only; the held-out cases
get out-of-fold predictions. The decision threshold (Youden) and the survival risk-group cut-off (median
Radscore) are also learnt on the training part of each fold, so thresholded metrics are honest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nbrisk.errors import InputError
from nbrisk.modeling.data import Dataset
from nbrisk.modeling.metrics import youden_threshold
from nbrisk.modeling.pipeline import build_pipeline
from nbrisk.modeling.recipe import Recipe
from nbrisk.modeling.pipeline import transform_head

TIMES = (6.0, 12.0, 24.0)  # months: the seeds' 6/12/24-month PFS


@dataclass
class Predictions:
    """Held-out predictions of one validation run (or of an external evaluation)."""

    kind: str
    case_ids: list[str]
    y: np.ndarray
    score: np.ndarray  # P(positive) or Cox linear predictor (higher = worse)
    pred: np.ndarray  # 0/1 at the training threshold, or 1 = high-risk group
    surv: dict[float, np.ndarray] = field(default_factory=dict)  # S(t) per month t
    y_train: np.ndarray | None = None  # survival targets of the training data (for IPCW)
    scheme: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def predict_scores(fitted: Any, X: pd.DataFrame, kind: str) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """Return (score, survival-at-TIMES) of a fitted pipeline."""
    if kind == "classification":
        return fitted.predict_proba(X)[:, 1], {}
    head = transform_head(fitted)
    Xt = head.transform(X) if head is not None else X
    model = fitted[-1]
    risk = np.asarray(model.predict(Xt), float)
    curves = model.predict_survival_function(Xt, return_array=True)
    grid = np.asarray(model.unique_times_, float)
    surv = {}
    for t in TIMES:
        i = int(np.searchsorted(grid, t, side="right")) - 1
        surv[t] = np.ones(len(risk)) if i < 0 else np.asarray(curves[:, i], float)
    return risk, surv


def training_cut(fitted: Any, X: pd.DataFrame, y: np.ndarray, kind: str) -> float:
    """Youden threshold (classification) or median risk (survival) on the training data."""
    score, _ = predict_scores(fitted, X, kind)
    return youden_threshold(y, score) if kind == "classification" else float(np.median(score))


def make_estimator(recipe: Recipe, keep: list[str] | None, nested: bool, inner_splits: int) -> Any:
    """The recipe's pipeline, wrapped in a grid search for nested CV."""
    pipe = build_pipeline(recipe, keep=keep)
    if not nested:
        return pipe
    from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

    if not recipe.search:
        raise InputError(f"recipe {recipe.name}: nested CV needs a 'search' grid (e.g. model__C: [1, 10, 100])")
    splitter = (StratifiedKFold if recipe.kind == "classification" else KFold)(
        inner_splits, shuffle=True, random_state=recipe.random_state)
    scoring = "roc_auc" if recipe.kind == "classification" else None  # Cox: Harrell's C
    return GridSearchCV(pipe, recipe.search, cv=splitter, scoring=scoring, refit=True, error_score="raise")


def _strata(ds: Dataset) -> np.ndarray:
    return ds.y["event"].astype(int) if ds.kind == "survival" else ds.y


def check_fold_sizes(ds: Dataset, n_splits: int) -> None:
    """Raise if a class (or the events) is too small for ``n_splits`` folds."""
    counts = np.bincount(_strata(ds), minlength=2)
    what = ("events" if ds.kind == "survival" else "cases of the smaller class")
    if counts.min() < n_splits:
        raise InputError(f"only {counts.min()} {what} for {n_splits}-fold CV; lower --folds or add cases")


def run_validation(ds: Dataset, recipe: Recipe, keep: list[str] | None = None, scheme: str | None = None,
                   n_splits: int | None = None, n_repeats: int | None = None, test_size: float | None = None,
                   split_file: Path | None = None,
                   progress: Callable[[float, str], None] | None = None) -> Predictions:
    """Validate a recipe on a dataset with the recipe's (or the given) scheme."""
    v = dict(recipe.validation)
    scheme = scheme or v["scheme"]
    if scheme == "fixed_split" or split_file is not None:
        return _fixed_split(ds, recipe, keep, test_size if test_size is not None else v["test_size"], split_file)
    k = int(n_splits or v["n_splits"])
    reps = int(n_repeats or v["n_repeats"])
    check_fold_sizes(ds, k)
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    est = make_estimator(recipe, keep, scheme == "nested", int(v["inner_splits"]))
    n = len(ds.y)
    sums = np.zeros(n)
    cuts = np.zeros(n)
    high = np.zeros(n)
    surv_sum = {t: np.zeros(n) for t in TIMES}
    per_repeat: list[float] = []
    best_params: list[dict[str, Any]] = []
    for r in range(reps):
        rep_score = np.zeros(n)
        skf = StratifiedKFold(k, shuffle=True, random_state=recipe.random_state + r)
        for f, (tr, te) in enumerate(skf.split(ds.X, _strata(ds))):
            if progress:
                progress((r * k + f) / (reps * k), f"repeat {r + 1}/{reps}, fold {f + 1}/{k}")
            m = clone(est).fit(ds.X.iloc[tr], ds.y[tr])
            if hasattr(m, "best_params_"):
                best_params.append(m.best_params_)
                m = m.best_estimator_
            score, surv = predict_scores(m, ds.X.iloc[te], ds.kind)
            cut = training_cut(m, ds.X.iloc[tr], ds.y[tr], ds.kind)
            rep_score[te] = score
            sums[te] += score
            cuts[te] += cut
            high[te] += score >= cut if ds.kind == "classification" else score > cut
            for t in TIMES:
                if surv:
                    surv_sum[t][te] += surv[t]
        per_repeat.append(_headline(ds.y, rep_score, ds.kind))
    score = sums / reps
    pred = (score >= cuts / reps).astype(int) if ds.kind == "classification" else (high / reps > 0.5).astype(int)
    details = {"n_splits": k, "n_repeats": reps, "per_repeat": per_repeat,
               "per_repeat_mean": float(np.mean(per_repeat)), "per_repeat_sd": float(np.std(per_repeat)),
               "best_params": best_params}
    return Predictions(kind=ds.kind, case_ids=ds.case_ids, y=ds.y, score=score, pred=pred,
                       surv={t: s / reps for t, s in surv_sum.items()} if ds.kind == "survival" else {},
                       y_train=ds.y if ds.kind == "survival" else None, scheme=scheme, details=details)


def _headline(y: np.ndarray, score: np.ndarray, kind: str) -> float:
    if kind == "classification":
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(y, score))
    from sksurv.metrics import concordance_index_censored

    return float(concordance_index_censored(y["event"], y["time"], score)[0])


def make_split(ds: Dataset, test_size: float, seed: int) -> pd.DataFrame:
    """A stratified train/test split (``test_size`` fraction or case count) as a case_id,set table."""
    from sklearn.model_selection import train_test_split

    ts: float | int = int(test_size) if test_size >= 1 else float(test_size)
    tr, te = train_test_split(np.arange(len(ds.y)), test_size=ts, stratify=_strata(ds), random_state=seed)
    sets = np.array(["train"] * len(ds.y), dtype=object)
    sets[te] = "test"
    return pd.DataFrame({"case_id": ds.case_ids, "set": sets})


def _fixed_split(ds: Dataset, recipe: Recipe, keep: list[str] | None, test_size: float,
                 split_file: Path | None) -> Predictions:
    if split_file is not None and Path(split_file).is_file():
        split = pd.read_csv(split_file, dtype={"case_id": str})
        if not {"case_id", "set"} <= set(split.columns) or set(split["case_id"]) != set(ds.case_ids):
            raise InputError(f"{split_file}: must list every case_id once with set=train|test; "
                             "delete it to draw a new split")
        split = split.set_index("case_id").loc[ds.case_ids].reset_index()
    else:
        split = make_split(ds, test_size, recipe.random_state)
    tr = np.flatnonzero(split["set"].to_numpy() == "train")
    te = np.flatnonzero(split["set"].to_numpy() == "test")
    ytr, yte = ds.y[tr], ds.y[te]
    for name, yy in (("training", ytr), ("test", yte)):
        st = yy["event"].astype(int) if ds.kind == "survival" else yy
        if len(np.unique(st)) < 2:
            raise InputError(f"the {name} set of the split has only one class/no events; use more cases")
    nested = recipe.validation.get("scheme") == "nested" and bool(recipe.search)
    m = make_estimator(recipe, keep, nested, int(recipe.validation["inner_splits"])).fit(ds.X.iloc[tr], ytr)
    if hasattr(m, "best_estimator_"):
        m = m.best_estimator_
    score, surv = predict_scores(m, ds.X.iloc[te], ds.kind)
    cut = training_cut(m, ds.X.iloc[tr], ytr, ds.kind)
    pred = (score >= cut) if ds.kind == "classification" else (score > cut)
    train_score, _ = predict_scores(m, ds.X.iloc[tr], ds.kind)
    details = {"n_train": len(tr), "n_test": len(te), "split": split, "threshold": cut,
               "train_headline": _headline(ytr, train_score, ds.kind)}
    return Predictions(kind=ds.kind, case_ids=[ds.case_ids[i] for i in te], y=yte, score=score,
                       pred=pred.astype(int), surv=surv, y_train=ytr if ds.kind == "survival" else None,
                       scheme="fixed_split", details=details)
