"""Decision thresholds learnt without looking at the model's own training predictions.

A threshold that depends on the labels (Youden's J, a fixed sensitivity or specificity) is chosen on
**out-of-fold** predictions of an inner k-fold CV run on the training cases only: the training cases
are split again, the recipe's pipeline is refitted on each inner training part and scores the inner
held-out part. A model's own training predictions are over-fitted (a random forest separates its
training cases almost perfectly), so a Youden cut on them collapses the sensitivity on new cases.

The survival rule ``median_risk`` (low/high Radscore group) uses no outcome: it is the median of the
fitted model's risk scores on the training cases, which is the quantile the same model gives new
cases from the same population (out-of-fold scores come from other models and other scales).

The same functions serve every CV fold (nested inside its training part) and the final trained model
(:func:`nbrisk.modeling.train` and any bundle saved from it), so both use one rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nbrisk.modeling.folds import strata_of, stratified_folds
from nbrisk.modeling.metrics import youden_threshold
from nbrisk.modeling.scoring import predict_scores
from nbrisk.modeling.threshold_rule import LABEL_FREE, ThresholdRule, default_rule, describe, parse_rule


def cut_from_scores(y: Any, score: Any, rule: ThresholdRule) -> float:
    """The threshold a rule picks on (held-out) scores; ``score >= cut`` is positive."""
    score = np.asarray(score, float)
    if rule.rule == "median_risk":
        return float(np.median(score))
    y = np.asarray(y).astype(int)
    if rule.rule == "youden" or len(np.unique(y)) < 2 or rule.target is None:
        return youden_threshold(y, score)
    if rule.rule == "sensitivity":  # the highest cut still reaching the target sensitivity
        pos = np.sort(score[y == 1])[::-1]
        k = int(np.ceil(rule.target * len(pos)))  # positives that must be at or above the cut
        cut = float(pos[max(k, 1) - 1])
        below = score[score < cut]
        return (cut + float(below.max())) / 2 if below.size else cut
    neg = np.sort(score[y == 0])  # specificity: the lowest cut leaving the target share of negatives below
    k = int(np.ceil(rule.target * len(neg)))
    top = float(neg[max(k, 1) - 1])
    above = score[score > top]
    return (top + float(above.min())) / 2 if above.size else top + 1e-9


def inner_oof_scores(estimator: Any, X: Any, y: np.ndarray, kind: str, n_splits: int,
                     seed: int) -> np.ndarray:
    """Out-of-fold scores of an unfitted estimator by stratified k-fold CV on (X, y) alone."""
    from sklearn.base import clone

    strata = strata_of(y, kind)
    k = max(2, min(int(n_splits), int(np.bincount(strata).min())))
    out = np.full(len(y), np.nan)
    for tr, te in stratified_folds(strata, k, seed):
        m = clone(estimator).fit(X.iloc[tr], y[tr])
        out[te] = predict_scores(m, X.iloc[te], kind)[0]
    return out


def learn_threshold(estimator: Any, fitted: Any, X: Any, y: np.ndarray, kind: str, rule: ThresholdRule,
                    seed: int, oof: np.ndarray | None = None) -> float:
    """The threshold of ``rule`` for a model ``fitted`` on (X, y).

    Label-dependent rules use out-of-fold scores: ``oof`` when given (e.g. from the CV that was run on
    the same cases anyway), else an inner CV of the unfitted ``estimator`` on (X, y).
    """
    if rule.rule in LABEL_FREE:
        return cut_from_scores(y, predict_scores(fitted, X, kind)[0], rule)
    if np.bincount(np.asarray(y).astype(int), minlength=2).min() < 2:
        return 0.5  # an inner CV needs two cases of each class; only reached in degenerate folds
    if oof is None:
        oof = inner_oof_scores(estimator, X, y, kind, rule.inner_splits, seed)
    return cut_from_scores(y, oof, rule)


__all__ = ["ThresholdRule", "cut_from_scores", "default_rule", "describe", "inner_oof_scores",
           "learn_threshold", "parse_rule"]
