"""Stratified fold assignment that also works when one stratum is smaller than the number of folds."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold


def strata_of(y: np.ndarray, kind: str) -> np.ndarray:
    """What folds are stratified by: the class (classification) or the event indicator (survival)."""
    return np.asarray(y["event"] if kind == "survival" else y).astype(int)


def stratified_folds(strata: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train, test) index pairs stratified by ``strata``.

    scikit-learn's StratifiedKFold when every stratum has at least k members; otherwise (e.g. 14 events
    and 2 censored cases) each stratum is shuffled and dealt round the folds in turn, so the small
    stratum lands in as many folds as it has members and no warning is raised.
    """
    strata = np.asarray(strata).astype(int)
    counts = np.bincount(strata)
    if counts[counts > 0].min() >= k:
        skf = StratifiedKFold(k, shuffle=True, random_state=seed)
        return list(skf.split(np.zeros(len(strata)), strata))
    rng = np.random.default_rng(seed)
    fold = np.empty(len(strata), int)
    start = 0
    for s in np.flatnonzero(counts):
        idx = rng.permutation(np.flatnonzero(strata == s))
        fold[idx] = (start + np.arange(len(idx))) % k
        start = (start + len(idx)) % k
    return [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(k)]
