"""Scores of a fitted recipe pipeline: P(positive) for classifiers, Cox risk and S(t) for survival models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nbrisk.errors import InputError
from nbrisk.modeling.pipeline import transform_head

TIMES = (6.0, 12.0, 24.0)  # months: the seeds' 6/12/24-month PFS


def predict_scores(fitted: Any, X: pd.DataFrame, kind: str) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """Return (score, survival-at-TIMES) of a fitted pipeline."""
    if kind == "classification":
        return fitted.predict_proba(X)[:, 1], {}
    head = transform_head(fitted)
    Xt = head.transform(X) if head is not None else X
    model = fitted[-1]
    risk = np.asarray(model.predict(Xt), float)
    if not np.isfinite(risk).all():
        raise InputError(f"the Cox model gave non-finite risk scores ({int((~np.isfinite(risk)).sum())} of "
                         f"{len(risk)} cases): its fit diverged; use fewer folds, fewer predictors or more "
                         "cases")
    # S(t|x) = S0(t) ** exp(lp), computed in log space: exp(lp) of a near-separating fit overflows
    base = model._baseline_model.baseline_survival_
    grid = np.asarray(base.x, float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        log_s0 = np.log(np.clip(np.asarray(base.y, float), 1e-300, 1.0))
        rel = np.exp(np.clip(risk, -500.0, 500.0))
    surv = {}
    for t in TIMES:
        i = int(np.searchsorted(grid, t, side="right")) - 1
        surv[t] = np.ones(len(risk)) if i < 0 else np.exp(np.maximum(rel * log_s0[i], -745.0))
    return risk, surv
