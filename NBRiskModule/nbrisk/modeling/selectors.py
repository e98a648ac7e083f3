"""scikit-learn compatible feature selectors used by the recipes (all vectorised, all fit-only).

Each selector follows the estimator contract (``__init__`` stores parameters, ``fit`` learns
``support_`` and ``scores_``/``ranking_``, ``transform`` only indexes columns) so a Pipeline refits it on
every training fold. Survival targets (structured arrays with an ``event`` field) are reduced to the
event indicator for the classification-style relevance measures.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin, f_classif
from sklearn.utils.validation import check_is_fitted, validate_data

MRMR_FLOOR = 0.001  # the mrmr-selection package's floor for |correlation| in the redundancy term


def class_target(y: Any) -> np.ndarray:
    """Return a 1-D label array; survival structured arrays give their event indicator.

    When every case of a (small) survival training fold had an event, or none had, the indicator has one
    class; the early-versus-late split at the median follow-up time is used instead (what the event
    indicator stands for when censoring is rare).
    """
    arr = np.asarray(y)
    if arr.dtype.names:
        name = next((n for n in arr.dtype.names if arr[n].dtype == bool), arr.dtype.names[0])
        event = arr[name].astype(int)
        if len(np.unique(event)) < 2 and len(arr) > 1:
            t_name = next(n for n in arr.dtype.names if n != name)
            time = arr[t_name].astype(float)
            return (time <= np.median(time)).astype(int)
        return event
    return arr.ravel()


def _standardise(X: np.ndarray) -> np.ndarray:
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores (higher is better), ties broken by column order."""
    return np.argsort(-scores, kind="stable")[:k]


class _Selector(SelectorMixin, BaseEstimator):
    """Shared plumbing: validation, ``support_`` bookkeeping and tags."""

    def _validate(self, X: Any, y: Any = None, reset: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        if y is None:
            if self.__sklearn_tags__().target_tags.required:
                raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
            return validate_data(self, X, reset=reset, dtype=np.float64), None
        yy = class_target(y)
        Xv = validate_data(self, X, reset=reset, dtype=np.float64)
        if len(yy) != Xv.shape[0]:
            raise ValueError(f"X has {Xv.shape[0]} samples but y has {len(yy)}")
        if len(np.unique(yy)) < 2:
            raise ValueError(f"{type(self).__name__} needs two classes; y has one class only")
        return Xv, yy

    def _validate_xy(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_validate` for selectors that need y (their tags require it, so y=None has raised already)."""
        Xv, yy = self._validate(X, y)
        if yy is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        return Xv, yy

    def _set_support(self, idx: np.ndarray, n: int) -> None:
        support = np.zeros(n, dtype=bool)
        support[np.asarray(idx, dtype=int)] = True
        self.support_ = support
        self.selected_order_ = np.asarray(idx, dtype=int)

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


class UnivariateFilter(_Selector):
    """Keep features whose class means differ: Welch t-test or Mann–Whitney U (ANOVA/Kruskal for >2 classes).

    Features with ``p < alpha`` are kept, at most ``max_features`` (smallest p first) and at least
    ``min_features`` (the smallest p values even if none is significant).
    """

    def __init__(self, test: str = "ttest", alpha: float = 0.05, max_features: int | None = None,
                 min_features: int = 1) -> None:
        self.test = test
        self.alpha = alpha
        self.max_features = max_features
        self.min_features = min_features

    def fit(self, X: Any, y: Any) -> UnivariateFilter:
        Xv, yy = self._validate_xy(X, y)
        classes = np.unique(yy)
        groups = [Xv[yy == c] for c in classes]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # near-constant columns (e.g. shape features of same-size phantoms): p is nan/1, not news
            warnings.filterwarnings("ignore", message="Precision loss occurred", category=RuntimeWarning)
            if self.test == "ttest":
                p = (stats.ttest_ind(groups[0], groups[1], axis=0, equal_var=False).pvalue if len(groups) == 2
                     else f_classif(Xv, yy)[1])
            elif self.test == "mannwhitney":
                p = (stats.mannwhitneyu(groups[0], groups[1], axis=0).pvalue if len(groups) == 2
                     else _kruskal(groups))
            else:
                raise ValueError(f"test must be 'ttest' or 'mannwhitney', got {self.test!r}")
        p = np.where(np.isfinite(p), p, 1.0)
        self.pvalues_ = p
        self.scores_ = -np.log10(np.clip(p, 1e-300, 1.0))
        order = np.argsort(p, kind="stable")
        n_sig = int((p < self.alpha).sum())
        k = max(n_sig, min(int(self.min_features), Xv.shape[1]))
        if self.max_features is not None:
            k = min(k, int(self.max_features))
        self._set_support(order[: max(k, 1)], Xv.shape[1])
        return self


def _kruskal(groups: list[np.ndarray]) -> np.ndarray:
    allx = np.concatenate(groups)
    ranks = stats.rankdata(allx, axis=0)
    n = allx.shape[0]
    h = np.zeros(allx.shape[1])
    start = 0
    for g in groups:
        r = ranks[start:start + len(g)]
        h += r.sum(axis=0) ** 2 / len(g)
        start += len(g)
    h = 12.0 / (n * (n + 1)) * h - 3 * (n + 1)
    return stats.chi2.sf(h, len(groups) - 1)


class CorrelationFilter(_Selector):
    """Drop one feature of every pair with ``|Pearson r| > threshold`` (the less relevant by ANOVA F goes)."""

    def __init__(self, threshold: float = 0.9) -> None:
        self.threshold = threshold

    def fit(self, X: Any, y: Any) -> CorrelationFilter:
        Xv, yy = self._validate_xy(X, y)
        n_feat = Xv.shape[1]
        with np.errstate(all="ignore"):
            rel = f_classif(Xv, yy)[0] if len(np.unique(yy)) > 1 else np.zeros(n_feat)
        rel = np.where(np.isfinite(rel), rel, 0.0)
        order = np.argsort(-rel, kind="stable")
        Z = _standardise(Xv)
        corr = np.abs(Z.T @ Z) / max(Xv.shape[0], 1)
        kept: list[int] = []
        dropped = np.zeros(n_feat, dtype=bool)
        for j in order:
            if dropped[j]:
                continue
            kept.append(j)
            dropped |= corr[j] > self.threshold
        self.scores_ = rel
        self._set_support(np.array(sorted(kept)), n_feat)
        return self


class LassoSelector(_Selector):
    """Keep the features with non-zero L1-penalised logistic coefficients (``l1_ratio=1``).

    ``cv`` (int) picks ``C`` by stratified inner cross-validation on the training data only; otherwise ``C``
    is used as given. At most ``max_features`` by |coefficient|; at least ``min_features`` (ranked by
    |coefficient| then ANOVA F) so a too-strong penalty never leaves the model without inputs.
    """

    def __init__(self, C: float = 1.0, cv: int | None = None, max_features: int | None = None,
                 min_features: int = 1, random_state: int | None = 0) -> None:
        self.C = C
        self.cv = cv
        self.max_features = max_features
        self.min_features = min_features
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> LassoSelector:
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
        from sklearn.model_selection import StratifiedKFold

        Xv, yy = self._validate_xy(X, y)
        Z = _standardise(Xv)
        binary = len(np.unique(yy)) == 2
        if self.cv:
            n_min = int(np.bincount(np.unique(yy, return_inverse=True)[1]).min())
            folds = max(2, min(int(self.cv), n_min))
            model = LogisticRegressionCV(Cs=np.logspace(-2, 2, 10), l1_ratios=(1.0,),
                                         solver="liblinear" if binary else "saga",
                                         scoring="neg_log_loss",
                                         cv=StratifiedKFold(folds, shuffle=True, random_state=self.random_state),
                                         max_iter=10000, random_state=self.random_state, use_legacy_attributes=False)
        else:
            model = LogisticRegression(C=self.C, l1_ratio=1.0, solver="liblinear" if binary else "saga", max_iter=10000,
                                       random_state=self.random_state)
        model.fit(Z, yy)
        coef = np.abs(np.atleast_2d(model.coef_)).sum(axis=0)
        with np.errstate(all="ignore"):
            f = f_classif(Xv, yy)[0] if len(np.unique(yy)) > 1 else np.zeros(Xv.shape[1])
        f = np.where(np.isfinite(f), f, 0.0)
        self.coef_ = coef
        self.scores_ = coef + 1e-12 * f / (1.0 + f.max())  # |coef| first, F breaks ties among zeros
        k = max(int((coef > 0).sum()), min(int(self.min_features), Xv.shape[1]))
        if self.max_features is not None:
            k = min(k, int(self.max_features))
        self._set_support(_top(self.scores_, max(k, 1)), Xv.shape[1])
        return self


class MRMRSelector(_Selector):
    """Minimum-redundancy maximum-relevance selection (the F-test / correlation quotient, "FCQ").

    Relevance is the ANOVA F statistic, redundancy the mean |Pearson r| (floored at 0.001) with the
    already selected features; the score is their quotient. This reproduces ``mrmr_selection``'s
    ``mrmr_classif`` ranking, but computes each step as one matrix-vector product.
    """

    def __init__(self, n_features: int = 10) -> None:
        self.n_features = n_features

    def fit(self, X: Any, y: Any) -> MRMRSelector:
        Xv, yy = self._validate_xy(X, y)
        ranking = mrmr_rank(Xv, yy, int(self.n_features))
        if not ranking:  # no feature has any relevance: keep the first, so the pipeline still runs
            ranking = [0]
        self.ranking_ = np.asarray(ranking, dtype=int)
        self._set_support(self.ranking_, Xv.shape[1])
        return self


def mrmr_rank(X: np.ndarray, y: np.ndarray, k: int) -> list[int]:
    """Return the column indices of the first ``k`` mRMR (FCQ) picks, in selection order."""
    with np.errstate(all="ignore"):
        rel = f_classif(X, y)[0] if len(np.unique(y)) > 1 else np.zeros(X.shape[1])
    rel = np.where(np.isfinite(rel), rel, 0.0)
    cand = np.flatnonzero(rel > 0)
    k = min(k, len(cand))
    if k == 0:
        return []
    Z = _standardise(X[:, cand])
    sd_ok = X[:, cand].std(axis=0) > 0
    n = X.shape[0]
    rel_c = rel[cand]
    red_sum = np.zeros(len(cand))
    available = np.ones(len(cand), dtype=bool)
    picks: list[int] = []
    for i in range(k):
        if i == 0:
            score = rel_c.copy()
        else:
            last = picks[-1]
            r = np.abs(Z.T @ Z[:, last]) / n if sd_ok[last] else np.zeros(len(cand))
            r = np.where(sd_ok, r, 0.0)
            red_sum += np.clip(r, MRMR_FLOOR, None)
            denom = red_sum / i
            denom = np.where(np.isclose(denom, 1.0, rtol=0, atol=1e-12), np.inf, denom)
            score = rel_c / denom
        score = np.where(available, score, -np.inf)
        best = int(np.argmax(score))
        picks.append(best)
        available[best] = False
    return [int(cand[j]) for j in picks]


class ForwardLogisticSelector(_Selector):
    """Forward stepwise multivariable logistic regression: add the feature that lowers AIC (or BIC) most.

    Stops when no candidate improves the criterion or ``max_features`` are in the model.
    """

    def __init__(self, max_features: int = 2, criterion: str = "aic") -> None:
        self.max_features = max_features
        self.criterion = criterion

    def fit(self, X: Any, y: Any) -> ForwardLogisticSelector:
        Xv, yy = self._validate_xy(X, y)
        if self.criterion not in ("aic", "bic"):
            raise ValueError(f"criterion must be 'aic' or 'bic', got {self.criterion!r}")
        Z = _standardise(Xv)
        n = len(yy)
        penalty = 2.0 if self.criterion == "aic" else np.log(max(n, 2))
        chosen: list[int] = []
        best = _ic(Z[:, []], yy, penalty)
        self.path_ = [best]
        while len(chosen) < int(self.max_features):
            trials = [(j, _ic(Z[:, [*chosen, j]], yy, penalty)) for j in range(Z.shape[1]) if j not in chosen]
            if not trials:
                break
            j, ic = min(trials, key=lambda t: t[1])
            if ic >= best and chosen:
                break
            chosen.append(j)
            best = ic
            self.path_.append(ic)
        self._set_support(np.array(chosen), Xv.shape[1])
        return self


def _ic(Z: np.ndarray, y: np.ndarray, penalty: float) -> float:
    """Information criterion of a (nearly) unpenalised logistic fit on the columns of Z."""
    from sklearn.linear_model import LogisticRegression

    classes, yi = np.unique(y, return_inverse=True)
    if Z.shape[1] == 0:
        p = np.bincount(yi) / len(yi)
        ll = float(np.sum(np.log(p[yi])))
        return -2 * ll + penalty * (len(classes) - 1)
    m = LogisticRegression(C=1e4, max_iter=1000).fit(Z, yi)
    proba = np.clip(m.predict_proba(Z)[np.arange(len(yi)), yi], 1e-12, 1.0)
    n_par = (Z.shape[1] + 1) * (len(classes) - 1)
    return -2 * float(np.sum(np.log(proba))) + penalty * n_par


class KeepList(_Selector):
    """Intersect the columns with a kept list (e.g. ICC-reproducible features); ``None`` keeps all.

    Needs named columns (a DataFrame) when ``features`` is given; raises if none of them is present.
    """

    def __init__(self, features: tuple[str, ...] | list[str] | None = None) -> None:
        self.features = features

    def fit(self, X: Any, y: Any = None) -> KeepList:
        Xv, _ = self._validate(X)
        n = Xv.shape[1]
        if self.features is None:
            self._set_support(np.arange(n), n)
            return self
        names = list(getattr(self, "feature_names_in_", [f"x{i}" for i in range(n)]))
        wanted = set(self.features)
        idx = np.array([i for i, c in enumerate(names) if c in wanted], dtype=int)
        if idx.size == 0:
            raise ValueError("none of the kept-list features is among the input columns")
        self._set_support(idx, n)
        return self

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags
