"""ComBat harmonisation of radiomics features across centres/scanners, as a leakage-free recipe step.

ComBat (Johnson, Li & Rabinovic 2007, Biostatistics 8:118; for imaging Fortin et al. 2017/2018) models
each feature as ``grand mean + covariate effects + batch shift gamma + batch scale delta * noise`` and
shrinks the per-batch gamma/delta towards their across-feature means with parametric empirical Bayes.

This module implements the same algorithm as the ComBat authors' Python package ``neuroCombat`` 0.2.12
(parametric EB, location/scale; tests compare the two on the same data to 1e-8). We do not call that
package at run time: it prints to stdout on every call, its apply-to-new-data function is marked
"under development", and the maintained wrapper (neuroHarmonize) pins numpy < 2. What we add is the
scikit-learn contract: :class:`ComBat` learns the estimates in ``fit`` on the training cases only and
``transform`` applies them to held-out cases, so in cross-validation the harmonisation is refitted in
every training fold. The batch (centre or scanner) travels as a column of X, named by the step's
``batch`` parameter, and is dropped from the output.

Biological covariates (e.g. the label) cannot be preserved inside a pipeline: a test case's label is
unknown when it is transformed. Fitting ComBat on all cases with the label as a covariate - a common
practice - writes the estimated label effect back into every case, the held-out ones included: that is
leakage (``Testing/core/test_modeling_harmonize.py`` measures it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted


def combat_estimates(X: np.ndarray, batch: np.ndarray, covariates: np.ndarray | None = None,
                     eb: bool = True, mean_only: bool = False, conv: float = 1e-4) -> dict[str, Any]:
    """Fit ComBat on X (cases x features) with batch labels; returns the estimates (neuroCombat's method)."""
    X = np.asarray(X, float)
    batch = np.asarray(batch).astype(str)
    levels, idx = np.unique(batch, return_inverse=True)
    n, p = X.shape
    nb = len(levels)
    if nb < 2:
        raise ValueError("ComBat needs at least two batches")
    counts = np.bincount(idx, minlength=nb)
    if counts.min() < 2:
        raise ValueError(f"ComBat needs at least two cases per batch; batch {levels[counts.argmin()]!r} has "
                         f"{counts.min()}")
    D = np.zeros((n, nb))
    D[np.arange(n), idx] = 1.0
    if covariates is not None:
        C = np.asarray(covariates, float).reshape(n, -1)
        D = np.hstack([D, C])
    B_hat = np.linalg.solve(D.T @ D, D.T @ X)  # (columns of D) x p
    grand_mean = (counts / n) @ B_hat[:nb]
    var_pooled = ((X - D @ B_hat) ** 2).mean(axis=0)
    var_pooled[var_pooled == 0] = 1.0  # constant features stay as they are
    mod_mean = D[:, nb:] @ B_hat[nb:] if D.shape[1] > nb else np.zeros_like(X)
    s = (X - grand_mean - mod_mean) / np.sqrt(var_pooled)
    gamma_hat = np.linalg.solve(D[:, :nb].T @ D[:, :nb], D[:, :nb].T @ s)  # nb x p
    delta_hat = (np.ones((nb, p)) if mean_only
                 else np.vstack([s[idx == b].var(axis=0, ddof=1) for b in range(nb)]))
    delta_hat[delta_hat == 0] = 1.0
    if not eb:
        gamma_star, delta_star = gamma_hat, delta_hat
    else:
        gamma_bar = gamma_hat.mean(axis=1)
        t2 = gamma_hat.var(axis=1, ddof=1)
        gamma_star = np.empty_like(gamma_hat)
        delta_star = np.empty_like(delta_hat)
        for b in range(nb):
            sb = s[idx == b]
            nn = sb.shape[0]
            if mean_only:
                gamma_star[b] = (t2[b] * nn * gamma_hat[b] + gamma_bar[b]) / (t2[b] * nn + 1.0)
                delta_star[b] = 1.0
                continue
            m, v = delta_hat[b].mean(), delta_hat[b].var(ddof=1)
            a_prior, b_prior = (2 * v + m**2) / v, (m * v + m**3) / v
            g_old, d_old = gamma_hat[b].copy(), delta_hat[b].copy()
            for _ in range(10000):
                g_new = (t2[b] * nn * gamma_hat[b] + d_old * gamma_bar[b]) / (t2[b] * nn + d_old)
                sum2 = ((sb - g_new) ** 2).sum(axis=0)
                d_new = (0.5 * sum2 + b_prior) / (nn / 2.0 + a_prior - 1.0)
                change = max(np.max(np.abs(g_new - g_old) / np.abs(g_old)),
                             np.max(np.abs(d_new - d_old) / d_old))
                g_old, d_old = g_new, d_new
                if change <= conv:
                    break
            gamma_star[b], delta_star[b] = g_new, d_new
    return {"batches": levels, "grand_mean": grand_mean, "var_pooled": var_pooled, "gamma_star": gamma_star,
            "delta_star": delta_star, "covariate_coef": B_hat[nb:], "mod_mean": mod_mean}


def combat_apply(X: np.ndarray, batch: np.ndarray, est: dict[str, Any],
                 covariates: np.ndarray | None = None) -> np.ndarray:
    """Harmonise X with fitted estimates; covariate effects are added back when covariates are given."""
    X = np.asarray(X, float)
    batch = np.asarray(batch).astype(str)
    levels = list(est["batches"])
    unknown = sorted(set(batch) - set(levels))
    if unknown:
        raise ValueError(f"batch(es) {unknown} were not among the training batches {levels}")
    idx = np.array([levels.index(b) for b in batch], int)
    mod = np.zeros_like(X)
    if covariates is not None and len(est["covariate_coef"]):
        mod = np.asarray(covariates, float).reshape(len(X), -1) @ est["covariate_coef"]
    sd = np.sqrt(est["var_pooled"])
    s = (X - est["grand_mean"] - mod) / sd
    s = (s - est["gamma_star"][idx]) / np.sqrt(est["delta_star"][idx])
    return s * sd + est["grand_mean"] + mod


class ComBat(TransformerMixin, BaseEstimator):
    """Recipe step ``combat``: ComBat fitted on the training cases, applied to any case of a known batch.

    ``batch`` names the column of X that holds each case's centre/scanner (it comes from the manifest,
    see ``--batch-table``); it is removed from the output. Every other column is harmonised.
    """

    def __init__(self, batch: str = "centre", eb: bool = True, mean_only: bool = False) -> None:
        self.batch = batch
        self.eb = eb
        self.mean_only = mean_only

    def _split(self, X: Any) -> tuple[pd.DataFrame, np.ndarray]:
        if not isinstance(X, pd.DataFrame) or self.batch not in X.columns:
            raise ValueError(f"ComBat needs the batch column {self.batch!r} in X (pass the manifest with "
                             "--batch-table)")
        return X.drop(columns=[self.batch]), X[self.batch].astype(str).to_numpy()

    def fit(self, X: Any, y: Any = None) -> ComBat:
        feats, batch = self._split(X)
        self.feature_names_out_ = np.array([str(c) for c in feats.columns], dtype=object)
        self.estimates_ = combat_estimates(feats.to_numpy(float), batch, eb=self.eb, mean_only=self.mean_only)
        self.estimates_.pop("mod_mean")
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "estimates_")
        feats, batch = self._split(X)
        out = combat_apply(feats.to_numpy(float), batch, self.estimates_)
        return pd.DataFrame(out, index=feats.index, columns=feats.columns)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_

    def set_output(self, *, transform: Any = None) -> ComBat:  # always returns a DataFrame
        return self
