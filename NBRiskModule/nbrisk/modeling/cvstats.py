"""Intervals and tests for repeated cross-validation that account for the folds' dependence.

Repeated k-fold CV gives J = k x r fold estimates that are not independent: their training sets overlap
and every case is tested once per repeat. Treating the pooled out-of-fold predictions as one independent
test set (DeLong) gives intervals that are far too narrow (on a 40-case null table, 6 of 25 DeLong
intervals excluded 0.5). Here the headline value of a metric is the **mean over repeats of the per-repeat
metric** (each repeat's out-of-fold predictions cover every case once), and its 95% interval is the
corrected resampled t interval of Nadeau & Bengio (2003, Machine Learning 52:239), as used for repeated
CV by Bouckaert & Frank (2004):

    se^2 = (1/J + n_test/n_train) * var(fold values),   t quantile with k - 1 degrees of freedom.

The variance is that of the J fold-level values of the metric (AUC on each test fold); the correction
term n_test/n_train inflates it for the overlap of the training sets. The J values reuse the same n
cases, so their effective degrees of freedom are far below J - 1 (Bouckaert 2003 calibrated them for
the same reason); we use k - 1, those of one repeat's independent test folds. With J - 1 df the
interval excluded 0.5 in 13% of 60 shuffled-label runs on a 40-case table (the null CV AUC of small
cohorts is biased below 0.5 and its fold variance shrinks away from 0.5); with k - 1 df see
docs/modeling.md for the measured coverage. Two recipes run on the **same**
folds are compared with the corrected resampled paired t-test on the fold-level differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

#: metrics bounded to [0, 1] (their intervals are clipped there)
BOUNDED = {"auc", "c_index", "sensitivity", "specificity", "accuracy", "ppv", "npv", "brier"}
METHOD = "Nadeau-Bengio corrected resampled t (fold-level variance, k-1 df)"


def corrected_se(fold_values: Any, n_train: float, n_test: float) -> tuple[float, int]:
    """(standard error, degrees of freedom) of a CV mean, Nadeau-Bengio corrected; nan if < 2 values."""
    v = np.asarray(fold_values, float)
    v = v[np.isfinite(v)]
    j = len(v)
    if j < 2 or n_train <= 0:
        return float("nan"), max(j - 1, 0)
    var = float(np.var(v, ddof=1))
    return float(np.sqrt((1.0 / j + n_test / n_train) * var)), j - 1


def corrected_interval(centre: float, fold_values: Any, n_train: float, n_test: float, level: float = 0.95,
                       bounded: bool = True, df: int | None = None) -> tuple[float, float]:
    """Corrected resampled t interval around ``centre`` (the headline mean), clipped to [0, 1] if bounded.

    ``df``: degrees of freedom of the t quantile (default J - 1; :func:`summarise` passes k - 1).
    """
    se, df_j = corrected_se(fold_values, n_train, n_test)
    df = df_j if df is None else min(int(df), df_j)
    if not np.isfinite(se) or not np.isfinite(centre):
        return float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    lo, hi = centre - half, centre + half
    if bounded:
        lo, hi = max(0.0, lo), min(1.0, hi)
    return float(lo), float(hi)


def corrected_t_test(fold_diffs: Any, n_train: float, n_test: float,
                     df: int | None = None) -> dict[str, float]:
    """Corrected resampled paired t-test of mean(fold differences) == 0 (two-sided; ``df`` as above)."""
    d = np.asarray(fold_diffs, float)
    d = d[np.isfinite(d)]
    se, df_j = corrected_se(d, n_train, n_test)
    df = df_j if df is None else min(int(df), df_j)
    mean = float(np.mean(d)) if len(d) else float("nan")
    if not np.isfinite(se):
        return {"mean_diff": mean, "t": float("nan"), "df": df, "p": float("nan")}
    t = mean / se if se != 0 else (0.0 if mean == 0 else float(np.sign(mean) * np.inf))
    return {"mean_diff": mean, "t": float(t), "df": df, "p": float(2 * stats.t.sf(abs(t), df))}


def summarise(per_repeat: list[dict[str, float]], per_fold: list[dict[str, float]], n_train: float,
              n_test: float, df: int | None = None) -> dict[str, Any]:
    """Headline metrics of a repeated CV: per-repeat means with corrected intervals.

    ``per_repeat``: one dict of metric -> value per repeat (computed on that repeat's out-of-fold
    predictions); ``per_fold``: one dict per fold (computed on that test fold). Returns, per metric ``m``,
    ``m`` (mean over repeats), ``m_ci_low``, ``m_ci_high`` and ``m_sd_repeats``.
    """
    out: dict[str, Any] = {}
    names = [k for k in per_repeat[0] if isinstance(per_repeat[0][k], int | float)] if per_repeat else []
    for m in names:
        reps = np.array([r.get(m, np.nan) for r in per_repeat], float)
        folds = np.array([f.get(m, np.nan) for f in per_fold], float)
        centre = float(np.nanmean(reps)) if np.isfinite(reps).any() else float("nan")
        lo, hi = corrected_interval(centre, folds, n_train, n_test, bounded=m in BOUNDED, df=df)
        out[m] = centre
        out[f"{m}_ci_low"], out[f"{m}_ci_high"] = lo, hi
        out[f"{m}_sd_repeats"] = float(np.nanstd(reps)) if np.isfinite(reps).any() else float("nan")
    return out
