"""Survival metrics for Cox/Radscore recipes (statistics from scikit-survival and lifelines).

Harrell's C with a bootstrap CI, cumulative/dynamic time-dependent AUC and the IPCW Brier score at
6/12/24 months, calibration at those times (predicted vs Kaplan–Meier survival by risk tertile),
Kaplan–Meier curves by Radscore risk group with the log-rank test, and the numbers behind the nomogram.
Times are in months; ``y`` is a structured array with fields ``event`` (bool) and ``time``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nbrisk.modeling.pipeline import transform_head

TIMES = (6.0, 12.0, 24.0)


def harrell_c(y: np.ndarray, risk: np.ndarray, n_boot: int = 500, seed: int = 0) -> tuple[float, float, float]:
    """Harrell's C-index of a risk score (higher = earlier event) with a percentile bootstrap 95% CI."""
    from lifelines.utils import concordance_index

    t, e, r = y["time"], y["event"], np.asarray(risk, float)
    try:
        c = float(concordance_index(t, -r, e))
    except ZeroDivisionError:  # no comparable pair (e.g. a tiny test set): no C-index
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        if e[i].sum() == 0:
            continue
        try:
            boots.append(concordance_index(t[i], -r[i], e[i]))
        except ZeroDivisionError:  # a resample without a comparable pair
            continue
    if not boots:
        return c, float("nan"), float("nan")
    return c, float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def _usable_times(y_train: np.ndarray, y_test: np.ndarray) -> list[float]:
    lo = y_test["time"].min()
    hi = min(y_test["time"].max(), y_train["time"][y_train["event"]].max() if y_train["event"].any() else 0)
    return [t for t in TIMES if lo <= t < hi]


def td_auc(y_train: np.ndarray, y_test: np.ndarray, risk: np.ndarray) -> dict[float, float]:
    """Cumulative/dynamic AUC at 6/12/24 months (nan where a time is outside the follow-up)."""
    from sksurv.metrics import cumulative_dynamic_auc

    out = {t: float("nan") for t in TIMES}
    times = [t for t in _usable_times(y_train, y_test) if (y_test["event"] & (y_test["time"] <= t)).any()]
    if times:
        try:
            aucs, _ = cumulative_dynamic_auc(y_train, y_test, risk, np.array(times))
        except ValueError:  # IPCW undefined: test follow-up beyond the training follow-up (tiny cohorts)
            return out
        out.update({t: float(a) for t, a in zip(times, aucs, strict=True)})
    return out


def td_brier(y_train: np.ndarray, y_test: np.ndarray, surv: dict[float, np.ndarray]) -> dict[float, float]:
    """IPCW Brier score of S(t) at 6/12/24 months (nan where a time is outside the follow-up)."""
    from sksurv.metrics import brier_score

    out = {t: float("nan") for t in TIMES}
    times = _usable_times(y_train, y_test)
    if times and surv:
        est = np.column_stack([surv[t] for t in times])
        try:
            _, scores = brier_score(y_train, y_test, est, np.array(times))
        except ValueError:  # IPCW undefined: test follow-up beyond the training follow-up (tiny cohorts)
            return out
        out.update({t: float(s) for t, s in zip(times, scores, strict=True)})
    return out


def km_at(y: np.ndarray, t: float) -> float:
    """Kaplan–Meier survival probability at time t."""
    from lifelines import KaplanMeierFitter

    if len(y) == 0:
        return float("nan")
    km = KaplanMeierFitter().fit(y["time"], y["event"])
    return float(km.survival_function_at_times(t).iloc[0])


def calibration_at(y: np.ndarray, surv_t: np.ndarray, t: float, groups: int = 3) -> dict[str, list[float]]:
    """Mean predicted S(t) vs Kaplan–Meier observed S(t) in risk groups (quantiles of predicted S(t))."""
    order = np.argsort(surv_t, kind="stable")
    pred, obs = [], []
    for idx in np.array_split(order, groups):
        pred.append(float(np.mean(surv_t[idx])))
        obs.append(km_at(y[idx], t))
    return {"predicted": pred, "observed": obs}


def logrank_p(y: np.ndarray, group: np.ndarray) -> float:
    """Log-rank test p value between group 1 (high risk) and group 0."""
    from lifelines.statistics import logrank_test

    a, b = group == 1, group == 0
    if a.sum() == 0 or b.sum() == 0:
        return float("nan")
    res = logrank_test(y["time"][a], y["time"][b], event_observed_A=y["event"][a], event_observed_B=y["event"][b])
    return float(res.p_value)


def survival_summary(y: np.ndarray, risk: np.ndarray, group: np.ndarray, surv: dict[float, np.ndarray],
                     y_train: np.ndarray | None = None) -> dict[str, Any]:
    """Headline survival metrics (the keys of metrics.json for survival recipes)."""
    y_train = y if y_train is None else y_train
    c, lo, hi = harrell_c(y, risk)
    out: dict[str, Any] = {"n": len(y), "n_events": int(y["event"].sum()), "c_index": c,
                           "c_index_ci_low": lo, "c_index_ci_high": hi, "logrank_p": logrank_p(y, group)}
    for t, a in td_auc(y_train, y, risk).items():
        out[f"td_auc_{int(t)}"] = a
    for t, b in td_brier(y_train, y, surv).items():
        out[f"brier_{int(t)}"] = b
    for t in TIMES:
        if t in surv:
            out[f"calibration_{int(t)}"] = calibration_at(y, surv[t], t)
    return out


def nomogram_axes(fitted: Any, X: Any) -> dict[str, Any]:
    """Points scale of a fitted Cox pipeline: per predictor, raw values and their linear contributions.

    Predictors are the model's inputs (e.g. ``radscore``); clinical inputs are shown in their own units
    (the clinical branch's imputation/scaling/one-hot is inverted by transforming a grid of raw values).
    """
    import pandas as pd

    model = fitted[-1]
    head = transform_head(fitted)
    Xt = head.transform(X) if head is not None else X
    coef = dict(zip([str(c) for c in Xt.columns], np.ravel(model.coef_), strict=True))
    axes = []
    clinical_cols: set[str] = set()
    feat = head.named_steps.get("features") if head is not None else None
    if feat is not None and hasattr(feat, "named_transformers_") and "clinical" in feat.named_transformers_:
        branch = feat.named_transformers_["clinical"]
        for name, sub, cols in branch.transformers_:
            if name == "remainder" or sub == "drop":
                continue
            raw = X[cols[0]]
            outs = [str(o) for o in sub.get_feature_names_out()]
            clinical_cols.update(outs)
            if pd.api.types.is_numeric_dtype(raw):
                vals = np.linspace(np.nanmin(raw), np.nanmax(raw), 6)
                labels = [f"{v:.3g}" for v in vals]
            else:
                vals = np.array(sorted(raw.dropna().unique().tolist()), dtype=object)
                labels = [str(v) for v in vals]
            tr = sub.transform(pd.DataFrame({cols[0]: vals}))
            tr = tr.to_numpy() if hasattr(tr, "to_numpy") else np.asarray(tr)
            contrib = tr @ np.array([coef[o] for o in outs])
            axes.append({"name": cols[0], "values": labels, "contrib": contrib.tolist()})
    for col in Xt.columns:
        if str(col) in clinical_cols:
            continue
        v = Xt[col].to_numpy(float)
        vals = np.linspace(v.min(), v.max(), 6)
        axes.append({"name": str(col), "values": [f"{x:.2f}" for x in vals],
                     "contrib": (vals * coef[str(col)]).tolist()})
    zero = pd.DataFrame(np.zeros((1, Xt.shape[1])), columns=Xt.columns)
    s0 = model.predict_survival_function(zero, return_array=True)[0]
    grid = np.asarray(model.unique_times_, float)
    base = {}
    for t in TIMES:
        i = int(np.searchsorted(grid, t, side="right")) - 1
        base[t] = 1.0 if i < 0 else float(s0[i])
    return {"axes": axes, "baseline_survival": base}
