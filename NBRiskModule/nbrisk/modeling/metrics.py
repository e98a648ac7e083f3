"""Classification metrics with 95% confidence intervals, as the seed papers report them.

AUC with DeLong (fast midrank algorithm, Sun & Xu 2014) and stratified bootstrap CIs, the paired DeLong
test between two models, sensitivity/specificity/accuracy/PPV/NPV at a given threshold (Wilson CIs),
Youden's threshold, Brier score, calibration curve with the Hosmer–Lemeshow test and decision-curve
net benefit. All functions take ``y`` as 0/1 and ``p`` as the predicted probability of class 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))


def _midrank(x: np.ndarray) -> np.ndarray:
    return stats.rankdata(x, method="average")


def _delong_components(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (aucs, V10, V01) for a (k, n) array of scores (Sun & Xu's structural components)."""
    y = np.asarray(y).astype(int)
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    tx = np.apply_along_axis(_midrank, 1, pos)
    ty = np.apply_along_axis(_midrank, 1, neg)
    tz = np.apply_along_axis(_midrank, 1, np.concatenate([pos, neg], axis=1))
    aucs = (tz[:, :m].sum(axis=1) / m - (m + 1) / 2.0) / n
    v01 = (tz[:, :m] - tx) / n
    v10 = 1.0 - (tz[:, m:] - ty) / m
    return aucs, v01, v10


def _check_binary(y: Any) -> np.ndarray:
    y = np.asarray(y).astype(int)
    if len(np.unique(y)) != 2:
        raise ValueError("AUC needs both classes among the cases")
    return y


def delong_auc(y: Any, p: Any) -> tuple[float, float, float, float]:
    """Return (auc, variance, ci_low, ci_high) with the DeLong variance (CI clipped to [0, 1])."""
    y = _check_binary(y)
    aucs, v01, v10 = _delong_components(y, np.asarray(p, dtype=float)[None, :])
    var = float(np.var(v01[0], ddof=1) / v01.shape[1] + np.var(v10[0], ddof=1) / v10.shape[1])
    auc = float(aucs[0])
    se = np.sqrt(max(var, 0.0))
    return auc, var, float(max(0.0, auc - Z95 * se)), float(min(1.0, auc + Z95 * se))


def delong_test(y: Any, p1: Any, p2: Any) -> dict[str, float]:
    """Paired DeLong test of AUC(p1) == AUC(p2) on the same cases; returns aucs, difference, z and p."""
    y = _check_binary(y)
    aucs, v01, v10 = _delong_components(y, np.vstack([np.asarray(p1, float), np.asarray(p2, float)]))
    s = np.cov(v01) / v01.shape[1] + np.cov(v10) / v10.shape[1]
    var = float(s[0, 0] + s[1, 1] - 2 * s[0, 1])
    diff = float(aucs[0] - aucs[1])
    z = diff / np.sqrt(var) if var > 0 else 0.0
    return {"auc_1": float(aucs[0]), "auc_2": float(aucs[1]), "auc_diff": diff, "z": float(z),
            "p": float(2 * stats.norm.sf(abs(z)))}


def bootstrap_auc_ci(y: Any, p: Any, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Stratified percentile bootstrap 95% CI of the AUC (vectorised over replicates)."""
    y = _check_binary(y)
    p = np.asarray(p, dtype=float)
    rng = np.random.default_rng(seed)
    pos, neg = p[y == 1], p[y == 0]
    bp = pos[rng.integers(0, len(pos), (n_boot, len(pos)))]
    bn = neg[rng.integers(0, len(neg), (n_boot, len(neg)))]
    # Mann-Whitney AUC per replicate: P(pos > neg) + 0.5 P(tie)
    allv = np.concatenate([bp, bn], axis=1)
    ranks = stats.rankdata(allv, axis=1)
    m, n = len(pos), len(neg)
    aucs = (ranks[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * n)
    return float(np.percentile(aucs, 2.5)), float(np.percentile(aucs, 97.5))


def roc_points(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (fpr, tpr, thresholds)."""
    from sklearn.metrics import roc_curve

    return roc_curve(np.asarray(y).astype(int), np.asarray(p, float))


def youden_threshold(y: Any, p: Any) -> float:
    """Threshold maximising sensitivity + specificity − 1, halfway between the two scores it separates."""
    y = np.asarray(y).astype(int)
    if len(np.unique(y)) < 2:
        return 0.5
    from sklearn.metrics import roc_curve

    fpr, tpr, thr = roc_curve(y, np.asarray(p, float), drop_intermediate=False)
    j = tpr - fpr
    best = int(np.argmax(j))
    t = float(thr[best])
    if not np.isfinite(t):
        return float(np.max(p)) + 1e-9
    # halfway to the next lower score (as pROC reports thresholds): same training J, no overfit edge
    return (t + float(thr[best + 1])) / 2 if best + 1 < len(thr) else t


def wilson_ci(k: float, n: float) -> tuple[float, float]:
    """Wilson score 95% interval of a proportion k/n (nan when n is 0)."""
    if n <= 0:
        return float("nan"), float("nan")
    ph = k / n
    den = 1 + Z95**2 / n
    centre = (ph + Z95**2 / (2 * n)) / den
    half = Z95 * np.sqrt(ph * (1 - ph) / n + Z95**2 / (4 * n * n)) / den
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def threshold_metrics(y: Any, pred: Any) -> dict[str, float]:
    """Sensitivity, specificity, accuracy, PPV and NPV of 0/1 predictions, each with a Wilson 95% CI."""
    y = np.asarray(y).astype(int)
    pred = np.asarray(pred).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    out: dict[str, float] = {"tp": tp, "tn": tn, "fp": fp, "fn": fn}
    for name, k, n in (("sensitivity", tp, tp + fn), ("specificity", tn, tn + fp),
                       ("accuracy", tp + tn, len(y)), ("ppv", tp, tp + fp), ("npv", tn, tn + fn)):
        out[name] = k / n if n else float("nan")
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = wilson_ci(k, n)
    return out


def brier(y: Any, p: Any) -> float:
    """Mean squared difference between probability and outcome."""
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def calibration(y: Any, p: Any, n_bins: int = 10) -> dict[str, Any]:
    """Calibration by quantile groups and the Hosmer–Lemeshow test (df = groups − 2)."""
    y = np.asarray(y, float)
    p = np.clip(np.asarray(p, float), 1e-9, 1 - 1e-9)
    g = max(2, min(n_bins, len(y) // 5 or 2))
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, g)
    obs = np.array([y[i].sum() for i in groups])
    exp = np.array([p[i].sum() for i in groups])
    n = np.array([len(i) for i in groups], float)
    pbar = exp / n
    with np.errstate(all="ignore"):
        terms = (obs - exp) ** 2 / (n * pbar * (1 - pbar))
    hl = float(np.nansum(terms))
    dof = max(g - 2, 1)
    return {"mean_predicted": pbar.tolist(), "observed_rate": (obs / n).tolist(), "n": n.astype(int).tolist(),
            "hosmer_lemeshow_chi2": hl, "hosmer_lemeshow_df": dof, "hosmer_lemeshow_p": float(stats.chi2.sf(hl, dof))}


def decision_curve(y: Any, p: Any, thresholds: Any = None) -> dict[str, list[float]]:
    """Net benefit of the model, treat-all and treat-none over threshold probabilities (Vickers & Elkin)."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, float)
    pt = np.asarray(thresholds if thresholds is not None else np.arange(0.01, 0.991, 0.01), float)
    n = len(y)
    prev = y.mean()
    pred = p[None, :] >= pt[:, None]
    tp = (pred & (y[None, :] == 1)).sum(axis=1) / n
    fp = (pred & (y[None, :] == 0)).sum(axis=1) / n
    w = pt / (1 - pt)
    return {"threshold": pt.tolist(), "model": (tp - fp * w).tolist(),
            "treat_all": (prev - (1 - prev) * w).tolist(), "treat_none": [0.0] * len(pt)}


def classification_summary(y: Any, p: Any, pred: Any, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """All headline numbers for one set of predictions (the keys of metrics.json)."""
    auc, _, lo, hi = delong_auc(y, p)
    blo, bhi = bootstrap_auc_ci(y, p, n_boot=n_boot, seed=seed)
    out: dict[str, Any] = {"n": len(np.asarray(y)), "n_positive": int(np.sum(y)), "auc": auc,
                           "auc_ci_low": lo, "auc_ci_high": hi, "auc_ci_method": "DeLong",
                           "auc_boot_ci_low": blo, "auc_boot_ci_high": bhi, "brier": brier(y, p)}
    out.update(threshold_metrics(y, pred))
    cal = calibration(y, p)
    out["hosmer_lemeshow_chi2"] = cal["hosmer_lemeshow_chi2"]
    out["hosmer_lemeshow_p"] = cal["hosmer_lemeshow_p"]
    return out
