"""The Radscore step of survival recipes: a LASSO-Cox linear combination of the selected features.

``Radscore`` standardises its inputs, fits an L1-penalised Cox model (scikit-survival's Coxnet,
``l1_ratio=1``) and outputs one column, ``radscore`` = the linear predictor. The penalty is either given
or chosen by inner cross-validated Harrell C on the training data only (ties go to the sparser model).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning

from nbrisk.modeling.folds import stratified_folds
from sklearn.utils.validation import check_is_fitted, validate_data


def survival_target(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (event: bool, time: float) from a structured survival array (or plain times, all events)."""
    arr = np.asarray(y)
    if arr.dtype.names:
        ev_name = next((n for n in arr.dtype.names if arr[n].dtype == bool), arr.dtype.names[0])
        t_name = next(n for n in arr.dtype.names if n != ev_name)
        return arr[ev_name].astype(bool), arr[t_name].astype(float)
    if arr.ndim != 1:
        raise ValueError("y should be a 1d array (a survival structured array or follow-up times)")
    t = arr.astype(float)
    return np.ones(len(t), dtype=bool), t - t.min() + 1.0


def to_structured(event: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Build scikit-survival's structured target (fields ``event``, ``time``)."""
    out = np.empty(len(time), dtype=[("event", bool), ("time", float)])
    out["event"] = np.asarray(event, dtype=bool)
    out["time"] = np.asarray(time, dtype=float)
    return out


class Radscore(TransformerMixin, BaseEstimator):
    """LASSO-Cox Radscore: ``transform`` returns one column, the Cox linear predictor of the inputs."""

    def __init__(self, alpha: float | None = None, cv: int = 5, max_features: int | None = None,
                 n_alphas: int = 30, random_state: int | None = 0) -> None:
        self.alpha = alpha
        self.cv = cv
        self.max_features = max_features
        self.n_alphas = n_alphas
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> Radscore:
        from sksurv.linear_model import CoxnetSurvivalAnalysis

        if y is None:
            raise ValueError("Radscore requires y to be passed, but the target y is None")
        Xv = validate_data(self, X, dtype=np.float64)
        event, time = survival_target(y)
        if len(time) != Xv.shape[0]:
            raise ValueError(f"X has {Xv.shape[0]} samples but y has {len(time)}")
        self.mean_ = Xv.mean(axis=0)
        sd = Xv.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        Z = (Xv - self.mean_) / self.scale_
        yy = to_structured(event, time)
        path = CoxnetSurvivalAnalysis(l1_ratio=1.0, n_alphas=int(self.n_alphas), alpha_min_ratio=0.05,
                                      max_iter=5000).fit(Z, yy)
        alphas = path.alphas_
        coefs = path.coef_  # (n_features, n_alphas)
        nnz = (coefs != 0).sum(axis=0)
        if self.alpha is not None:
            j = int(np.argmin(np.abs(alphas - float(self.alpha))))
        else:
            score = self._cv_scores(Z, yy, alphas) if self.cv and self.cv > 1 else -alphas
            ok = nnz > 0
            if self.max_features is not None:
                ok &= nnz <= int(self.max_features)
            if not ok.any():
                ok = nnz > 0
            score = np.where(ok, score, -np.inf)
            j = int(np.flatnonzero(score >= np.nanmax(score) - 1e-12)[0])  # largest alpha among the best
        if nnz[j] == 0 and (nnz > 0).any():
            j = int(np.flatnonzero(nnz > 0)[0])
        self.alpha_ = float(alphas[j])
        self.coef_ = coefs[:, j].copy()
        self.selected_ = np.flatnonzero(self.coef_ != 0)
        return self

    def _cv_scores(self, Z: np.ndarray, y: np.ndarray, alphas: np.ndarray) -> np.ndarray:
        from sksurv.exceptions import NoComparablePairException
        from sksurv.linear_model import CoxnetSurvivalAnalysis
        from sksurv.metrics import concordance_index_censored

        folds = max(2, min(int(self.cv), int(y["event"].sum()), int((~y["event"]).sum()) or int(self.cv)))
        scores = np.zeros((folds, len(alphas)))
        strat = y["event"].astype(int) if len(np.unique(y["event"])) > 1 else np.arange(len(y)) % folds
        rs = self.random_state if self.random_state is not None else 0
        for f, (tr, te) in enumerate(stratified_folds(strat, folds, rs)):
            try:
                with warnings.catch_warnings():  # the smallest penalties of a tiny fold's path may not converge;
                    warnings.simplefilter("ignore", ConvergenceWarning)  # their C-index still ranks them
                    m = CoxnetSurvivalAnalysis(l1_ratio=1.0, alphas=alphas, max_iter=5000).fit(Z[tr], y[tr])
            except ArithmeticError:
                scores[f] = 0.5
                continue
            lp = Z[te] @ m.coef_
            for a in range(len(alphas)):
                if y["event"][te].sum() == 0 or np.ptp(lp[:, a]) == 0:
                    scores[f, a] = 0.5
                    continue
                try:
                    scores[f, a] = concordance_index_censored(y["event"][te], y["time"][te], lp[:, a])[0]
                except NoComparablePairException:  # e.g. the fold's only event is its last time
                    scores[f, a] = 0.5
        return scores.mean(axis=0)

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "coef_")
        Xv = validate_data(self, X, reset=False, dtype=np.float64)
        return (((Xv - self.mean_) / self.scale_) @ self.coef_).reshape(-1, 1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "coef_")
        return np.array(["radscore"], dtype=object)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
