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

from dataclasses import dataclass
from typing import Any

import numpy as np

from nbrisk.errors import InputError

RULES = {"youden", "sensitivity", "specificity", "median_risk"}
LABEL_FREE = {"median_risk"}


@dataclass(frozen=True)
class ThresholdRule:
    """How a recipe's decision threshold is chosen (``threshold:`` block of a recipe)."""

    rule: str = "youden"
    target: float | None = None  # the sensitivity or specificity to reach
    inner_splits: int = 3

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "inner_splits": self.inner_splits}
        if self.target is not None:
            out["target"] = self.target
        return out


def default_rule(kind: str) -> ThresholdRule:
    return ThresholdRule("youden") if kind == "classification" else ThresholdRule("median_risk")


def parse_rule(data: Any, kind: str, source: str = "recipe") -> ThresholdRule:
    """Validate a recipe's ``threshold:`` mapping (None -> the kind's default)."""
    if data is None:
        return default_rule(kind)
    if not isinstance(data, dict):
        raise InputError(f"{source}: 'threshold' must be a mapping like {{rule: youden}} or "
                         "{rule: sensitivity, target: 0.9}")
    bad = set(data) - {"rule", "target", "inner_splits"}
    if bad:
        raise InputError(f"{source}: threshold has unknown key(s) {sorted(bad)}; allowed: inner_splits, rule, target")
    rule = str(data.get("rule", default_rule(kind).rule))
    if rule not in RULES:
        raise InputError(f"{source}: threshold rule '{rule}' unknown; use one of {sorted(RULES)}")
    if (kind == "survival") != (rule == "median_risk"):
        raise InputError(f"{source}: threshold rule '{rule}' does not fit a {kind} recipe; use "
                         f"{'median_risk' if kind == 'survival' else 'youden, sensitivity or specificity'}")
    target = data.get("target")
    if rule in ("sensitivity", "specificity"):
        if not isinstance(target, int | float) or not 0 < float(target) < 1:
            raise InputError(f"{source}: threshold rule '{rule}' needs a target between 0 and 1 (e.g. target: 0.9)")
        target = float(target)
    elif target is not None:
        raise InputError(f"{source}: threshold rule '{rule}' takes no target")
    inner = data.get("inner_splits", 3)
    if not isinstance(inner, int) or inner < 2:
        raise InputError(f"{source}: threshold inner_splits must be an integer >= 2")
    return ThresholdRule(rule, target, inner)


def describe(rule: ThresholdRule) -> str:
    """One line for the model card: how the stored threshold was chosen."""
    if rule.rule == "median_risk":
        return "median risk score of the training cases (low/high Radscore group cut-off; uses no outcome)"
    what = "Youden's J" if rule.rule == "youden" else f"{rule.rule} >= {rule.target:g}"
    return (f"{what} on out-of-fold predictions of an inner {rule.inner_splits}-fold CV of the training cases "
            "(never on the model's own training predictions)")


def cut_from_scores(y: Any, score: Any, rule: ThresholdRule) -> float:
    """The threshold a rule picks on (held-out) scores; ``score >= cut`` is positive."""
    from nbrisk.modeling.metrics import youden_threshold

    score = np.asarray(score, float)
    if rule.rule == "median_risk":
        return float(np.median(score))
    y = np.asarray(y).astype(int)
    if rule.rule == "youden" or len(np.unique(y)) < 2:
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


def inner_oof_scores(estimator: Any, X: Any, y: np.ndarray, kind: str, n_splits: int, seed: int) -> np.ndarray:
    """Out-of-fold scores of an unfitted estimator by stratified k-fold CV on (X, y) alone."""
    from sklearn.base import clone

    from nbrisk.modeling.validation import predict_scores, stratified_folds, strata_of

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
    from nbrisk.modeling.validation import predict_scores

    if rule.rule in LABEL_FREE:
        return cut_from_scores(y, predict_scores(fitted, X, kind)[0], rule)
    if np.bincount(np.asarray(y).astype(int), minlength=2).min() < 2:
        return 0.5  # an inner CV needs two cases of each class; only reached in degenerate folds
    if oof is None:
        oof = inner_oof_scores(estimator, X, y, kind, rule.inner_splits, seed)
    return cut_from_scores(y, oof, rule)
