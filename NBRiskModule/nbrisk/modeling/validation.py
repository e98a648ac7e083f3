"""Validation schemes: stratified repeated k-fold, nested CV and a fixed (saved) train/test split.

Every scheme clones the recipe's whole pipeline and fits it on training cases only; the held-out cases
get out-of-fold predictions. The decision threshold is learnt inside the training part of each fold,
from out-of-fold predictions of an inner CV there (:mod:`~nbrisk.modeling.thresholds`), so thresholded
metrics are honest. Repeated k-fold keeps every fold's and every repeat's metrics; the headline numbers
and their intervals come from :mod:`~nbrisk.modeling.cvstats`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nbrisk.errors import InputError
from nbrisk.modeling.cvstats import summarise
from nbrisk.modeling.data import Dataset
from nbrisk.modeling.folds import strata_of, stratified_folds
from nbrisk.modeling.metrics import brier
from nbrisk.modeling.pipeline import build_pipeline
from nbrisk.modeling.recipe import Recipe
from nbrisk.modeling.scoring import TIMES, predict_scores
from nbrisk.modeling.thresholds import default_rule, learn_threshold


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


def training_cut(fitted: Any, X: pd.DataFrame, y: np.ndarray, kind: str, rule: Any = None,
                 estimator: Any = None, seed: int = 0, oof: np.ndarray | None = None) -> float:
    """The recipe's threshold for a model fitted on (X, y): see :mod:`~nbrisk.modeling.thresholds`.

    Label-dependent rules (Youden, fixed sensitivity/specificity) use out-of-fold scores of an inner CV
    of ``estimator`` (default: an unfitted clone of ``fitted``) on (X, y), or ``oof`` when given; the
    survival rule is the median training risk score.
    """
    from sklearn.base import clone

    rule = rule or default_rule(kind)
    return learn_threshold(estimator if estimator is not None else clone(fitted), fitted, X, y, kind, rule,
                           seed, oof=oof)


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
    scoring = "roc_auc" if recipe.kind == "classification" else _safe_c_index
    return GridSearchCV(pipe, recipe.search, cv=splitter, scoring=scoring, refit=True, error_score="raise")


def _safe_c_index(est: Any, X: pd.DataFrame, y: np.ndarray) -> float:
    """Harrell's C of a fitted survival pipeline on (X, y); 0.5 when the part has no comparable pair."""
    c = _c_index(y, predict_scores(est, X, "survival")[0])
    return 0.5 if np.isnan(c) else c


def _strata(ds: Dataset) -> np.ndarray:
    return strata_of(ds.y, ds.kind)


def check_fold_sizes(ds: Dataset, n_splits: int) -> None:
    """Raise a one-line error if the cohort is too small for ``n_splits`` folds (with the numbers)."""
    n = len(ds.y)
    if n_splits < 2:
        raise InputError(f"--folds must be at least 2 (got {n_splits})")
    if ds.kind == "survival":
        events = int(ds.y["event"].sum())
        if events < n_splits or n < 2 * n_splits:
            raise InputError(f"{n} cases with {events} events ({n - events} censored) are too few for "
                             f"{n_splits}-fold CV: every fold needs an event and every training part two; "
                             f"use --folds {max(2, min(events, n // 2))} or fewer, or add cases")
        if events < 4:
            raise InputError(f"{n} cases with only {events} events: a Cox model cannot be validated on fewer "
                             "than 4 events; add cases")
        return
    counts = np.bincount(_strata(ds), minlength=2)
    if counts.min() < n_splits:
        raise InputError(f"only {counts.min()} cases of the smaller class (of {n}: {counts[1]} positive, "
                         f"{counts[0]} negative) for {n_splits}-fold CV; use --folds {max(2, counts.min())} "
                         "or fewer, or add cases")


def point_metrics(y: np.ndarray, score: np.ndarray, pred: np.ndarray | None, kind: str) -> dict[str, float]:
    """Point estimates (no intervals) of one set of held-out predictions: a fold or one repeat."""
    if kind == "survival":
        return {"c_index": _c_index(y, score)}
    y = np.asarray(y).astype(int)
    out = {"auc": float("nan"), "brier": brier(y, score)}
    if len(np.unique(y)) == 2:
        from sklearn.metrics import roc_auc_score

        out["auc"] = float(roc_auc_score(y, score))
    if pred is not None:
        pred = np.asarray(pred).astype(int)
        tp, tn = int(((pred == 1) & (y == 1)).sum()), int(((pred == 0) & (y == 0)).sum())
        fp, fn = int(((pred == 1) & (y == 0)).sum()), int(((pred == 0) & (y == 1)).sum())
        for name, k, m in (("sensitivity", tp, tp + fn), ("specificity", tn, tn + fp), ("accuracy", tp + tn, len(y)),
                           ("ppv", tp, tp + fp), ("npv", tn, tn + fn)):
            out[name] = k / m if m else float("nan")
    return out


def _c_index(y: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C, nan when no pair is comparable (e.g. a test fold without events) or risk is not finite."""
    risk = np.asarray(risk, float)
    if not np.isfinite(risk).all() or not y["event"].any():
        return float("nan")
    from sksurv.exceptions import NoComparablePairException
    from sksurv.metrics import concordance_index_censored

    try:
        return float(concordance_index_censored(y["event"], y["time"], risk)[0])
    except NoComparablePairException:
        return float("nan")


def run_validation(ds: Dataset, recipe: Recipe, keep: list[str] | None = None, scheme: str | None = None,
                   n_splits: int | None = None, n_repeats: int | None = None, test_size: float | None = None,
                   split_file: Path | None = None,
                   progress: Callable[[float, str], None] | None = None, fold_seed: int | None = None,
                   thresholds: bool = True) -> Predictions:
    """Validate a recipe on a dataset with the recipe's (or the given) scheme.

    Repeated k-fold: repeat r uses folds seeded ``fold_seed + r`` (default: the recipe's random_state),
    so two recipes given the same ``fold_seed`` see identical folds. Each fold's threshold comes from an
    inner CV of its training part (``thresholds=False`` skips that and every thresholded metric).
    """
    v = dict(recipe.validation)
    scheme = scheme or v["scheme"]
    if scheme == "fixed_split" or split_file is not None:
        return _fixed_split(ds, recipe, keep, test_size if test_size is not None else v["test_size"], split_file,
                            recipe.random_state if fold_seed is None else int(fold_seed))
    k = int(n_splits or v["n_splits"])
    reps = int(n_repeats or v["n_repeats"])
    check_fold_sizes(ds, k)
    from sklearn.base import clone

    seed0 = recipe.random_state if fold_seed is None else int(fold_seed)
    est = make_estimator(recipe, keep, scheme == "nested", int(v["inner_splits"]))
    rule = recipe.threshold_rule
    n = len(ds.y)
    strata = _strata(ds)
    sums = np.zeros(n)
    high = np.zeros(n)
    surv_sum = {t: np.zeros(n) for t in TIMES}
    per_repeat: list[dict[str, float]] = []
    per_fold: list[dict[str, float]] = []
    best_params: list[dict[str, Any]] = []
    folds = np.zeros((reps, n), int)
    n_tr: list[int] = []
    n_te: list[int] = []
    for r in range(reps):
        rep_score = np.zeros(n)
        rep_pred = np.zeros(n, int)
        for f, (tr, te) in enumerate(stratified_folds(strata, k, seed0 + r)):
            if progress:
                progress((r * k + f) / (reps * k), f"repeat {r + 1}/{reps}, fold {f + 1}/{k}")
            folds[r, te] = f
            m = fit_quietly(clone(est), ds.X.iloc[tr], ds.y[tr], ds, len(tr))
            if hasattr(m, "best_params_"):
                best_params.append(m.best_params_)
                m = m.best_estimator_
            score, surv = predict_scores(m, ds.X.iloc[te], ds.kind)
            pred = None
            if thresholds:
                cut = training_cut(m, ds.X.iloc[tr], ds.y[tr], ds.kind, rule, seed=seed0 + 1000 * (r + 1) + f)
                pred = (score >= cut) if ds.kind == "classification" else (score > cut)
                rep_pred[te] = pred
                high[te] += pred
            rep_score[te] = score
            sums[te] += score
            for t in TIMES:
                if surv:
                    surv_sum[t][te] += surv[t]
            per_fold.append({"repeat": r, "fold": f, **point_metrics(ds.y[te], score, pred, ds.kind)})
            n_tr.append(len(tr))
            n_te.append(len(te))
        per_repeat.append(point_metrics(ds.y, rep_score, rep_pred if thresholds else None, ds.kind))
    score = sums / reps
    pred = (high / reps > 0.5).astype(int)  # the majority of the repeats' held-out decisions
    head = "auc" if ds.kind == "classification" else "c_index"
    first = [p[head] for p in per_repeat]
    metric_names = [m for m in per_repeat[0]]
    cv = summarise([{m: p[m] for m in metric_names} for p in per_repeat],
                   [{m: p.get(m, np.nan) for m in metric_names} for p in per_fold],
                   float(np.mean(n_tr)), float(np.mean(n_te)), df=k - 1)
    details = {"n_splits": k, "n_repeats": reps, "per_repeat": first, "fold_seed": seed0,
               "per_repeat_mean": float(np.mean(first)), "per_repeat_sd": float(np.std(first)),
               "per_repeat_metrics": per_repeat, "per_fold": per_fold, "cv": cv, "folds": folds,
               "n_train_mean": float(np.mean(n_tr)), "n_test_mean": float(np.mean(n_te)),
               "thresholds": thresholds, "threshold_rule": rule.to_dict(), "best_params": best_params}
    return Predictions(kind=ds.kind, case_ids=ds.case_ids, y=ds.y, score=score, pred=pred,
                       surv={t: s / reps for t, s in surv_sum.items()} if ds.kind == "survival" else {},
                       y_train=ds.y if ds.kind == "survival" else None, scheme=scheme, details=details)


def fit_quietly(est: Any, X: pd.DataFrame, y: np.ndarray, ds: Dataset, n_train: int) -> Any:
    """Fit one fold's pipeline; numerical failures of tiny folds become a one-line error with the numbers."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in exp() of diverging Cox fits: checked below
        try:
            m = est.fit(X, y)
        except (ArithmeticError, ValueError) as exc:
            if ds.kind != "survival":
                raise
            events = int(y["event"].sum())
            raise InputError(f"the Cox model could not be fitted on a training fold of {n_train} cases with "
                             f"{events} events ({str(exc).splitlines()[0][:80]}); "
                             "use fewer folds or add cases") from None
    return m


def _headline(y: np.ndarray, score: np.ndarray, kind: str) -> float:
    if kind == "classification":
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(y, score))
    return _c_index(y, score)


def make_split(ds: Dataset, test_size: float, seed: int) -> pd.DataFrame:
    """A stratified train/test split (``test_size`` fraction or case count) as a case_id,set table."""
    from sklearn.model_selection import train_test_split

    ts: float | int = int(test_size) if test_size >= 1 else float(test_size)
    strata: np.ndarray | None = _strata(ds)
    counts = np.bincount(_strata(ds), minlength=2)
    if counts.min() < 2:
        if ds.kind == "classification":
            raise InputError(f"only {counts.min()} case(s) of the smaller class among {len(ds.y)}: a train/test "
                             "split needs at least 2 of each class; add cases")
        strata = None  # e.g. a single censored case: split the events at random
    _tr, te = train_test_split(np.arange(len(ds.y)), test_size=ts, stratify=strata, random_state=seed)
    sets = np.array(["train"] * len(ds.y), dtype=object)
    sets[te] = "test"
    return pd.DataFrame({"case_id": ds.case_ids, "set": sets})


def _fixed_split(ds: Dataset, recipe: Recipe, keep: list[str] | None, test_size: float,
                 split_file: Path | None, seed: int) -> Predictions:
    if split_file is not None and Path(split_file).is_file():
        split = pd.read_csv(split_file, dtype={"case_id": str})
        if not {"case_id", "set"} <= set(split.columns) or set(split["case_id"]) != set(ds.case_ids):
            raise InputError(f"{split_file}: must list every case_id once with set=train|test; "
                             "delete it to draw a new split")
        split = split.set_index("case_id").loc[ds.case_ids].reset_index()
    else:
        split = make_split(ds, test_size, seed)
    tr = np.flatnonzero(split["set"].to_numpy() == "train")
    te = np.flatnonzero(split["set"].to_numpy() == "test")
    ytr, yte = ds.y[tr], ds.y[te]
    for name, yy, need in (("training", ytr, 2), ("test", yte, 1)):
        if ds.kind == "survival":
            if int(yy["event"].sum()) < need:
                raise InputError(f"the {name} set of the split ({len(yy)} cases) has {int(yy['event'].sum())} "
                                 f"event(s), fewer than {need}; use a larger test size or more cases")
        elif len(np.unique(yy)) < 2:
            raise InputError(f"the {name} set of the split ({len(yy)} cases) has only one class; use more cases")
    nested = recipe.validation.get("scheme") == "nested" and bool(recipe.search)
    m = fit_quietly(make_estimator(recipe, keep, nested, int(recipe.validation["inner_splits"])), ds.X.iloc[tr], ytr,
                    ds, len(tr))
    if hasattr(m, "best_estimator_"):
        m = m.best_estimator_
    score, surv = predict_scores(m, ds.X.iloc[te], ds.kind)
    cut = training_cut(m, ds.X.iloc[tr], ytr, ds.kind, recipe.threshold_rule, seed=recipe.random_state)
    pred = (score >= cut) if ds.kind == "classification" else (score > cut)
    train_score, _ = predict_scores(m, ds.X.iloc[tr], ds.kind)
    details = {"n_train": len(tr), "n_test": len(te), "split": split, "threshold": cut, "fold_seed": seed,
               "train_headline": _headline(ytr, train_score, ds.kind)}
    return Predictions(kind=ds.kind, case_ids=[ds.case_ids[i] for i in te], y=yte, score=score,
                       pred=pred.astype(int), surv=surv, y_train=ytr if ds.kind == "survival" else None,
                       scheme="fixed_split", details=details)
