"""A recipe's ``threshold:`` block: which rule picks the decision threshold (see :mod:`.thresholds`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
        raise InputError(f"{source}: threshold has unknown key(s) {sorted(bad)}; "
                         "allowed: inner_splits, rule, target")
    rule = str(data.get("rule", default_rule(kind).rule))
    if rule not in RULES:
        raise InputError(f"{source}: threshold rule '{rule}' unknown; use one of {sorted(RULES)}")
    if (kind == "survival") != (rule == "median_risk"):
        raise InputError(f"{source}: threshold rule '{rule}' does not fit a {kind} recipe; use "
                         f"{'median_risk' if kind == 'survival' else 'youden, sensitivity or specificity'}")
    target = data.get("target")
    if rule in ("sensitivity", "specificity"):
        if not isinstance(target, int | float) or not 0 < float(target) < 1:
            raise InputError(f"{source}: threshold rule '{rule}' needs a target between 0 and 1 "
                             "(e.g. target: 0.9)")
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
    return (f"{what} on out-of-fold predictions of an inner {rule.inner_splits}-fold CV of the training "
            "cases "
            "(never on the model's own training predictions)")
