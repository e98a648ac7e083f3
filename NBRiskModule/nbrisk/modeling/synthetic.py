"""Synthetic feature/label/clinical tables with known truth, for tests, benchmarks and the demo.

Feature columns carry pyradiomics-like names so the tables look like ``nbrisk extract`` output.
Survival times are in months, drawn from a Cox model (exponential baseline) with uniform censoring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_CLASSES = ("firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")


def feature_names(p: int) -> list[str]:
    """``original_<class>_F<i>``-style names for p columns."""
    return [f"original_{_CLASSES[i % len(_CLASSES)]}_F{i:04d}" for i in range(p)]


def classification_tables(n: int = 80, p: int = 200, informative: int = 5, effect: float = 1.0,
                          positive_fraction: float = 0.5, seed: int = 0,
                          clinical: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Return (features, labels, clinical|None); the first ``informative`` columns shift by ``effect`` SD.

    ``effect=0`` gives pure noise (labels independent of every column). Clinical: ferritin and NSE
    (ng/mL, log-normal, higher in positives when ``effect`` > 0) with a few missing values.
    """
    rng = np.random.default_rng(seed)
    ids = [f"case{i:04d}" for i in range(n)]
    y = (rng.random(n) < positive_fraction).astype(int)
    if y.min() == y.max():
        y[: max(2, n // 4)] = 1 - y[0]
    X = rng.standard_normal((n, p))
    X[:, :informative] += effect * y[:, None]
    feats = pd.DataFrame(X, columns=feature_names(p))
    feats.insert(0, "case_id", ids)
    labels = pd.DataFrame({"case_id": ids, "label": y})
    clin = None
    if clinical:
        ferritin = np.exp(4.5 + 0.5 * effect * y + 0.5 * rng.standard_normal(n))
        nse = np.exp(3.0 + 0.5 * effect * y + 0.5 * rng.standard_normal(n))
        ferritin[rng.random(n) < 0.05] = np.nan
        clin = pd.DataFrame({"case_id": ids, "ferritin": ferritin, "nse": nse})
    return feats, labels, clin


def survival_tables(n: int = 120, p: int = 60, informative: int = 3, effect: float = 0.8, seed: int = 0,
                    median_months: float = 18.0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (features, labels[case_id,time,event], clinical[ki67, metastasis]) from a Cox model."""
    rng = np.random.default_rng(seed)
    ids = [f"case{i:04d}" for i in range(n)]
    X = rng.standard_normal((n, p))
    ki67 = np.clip(rng.normal(30, 15, n), 1, 95)
    meta = (rng.random(n) < 0.4).astype(int)
    lp = effect * X[:, :informative].sum(axis=1) / np.sqrt(max(informative, 1))
    lp = lp + (0.02 * (ki67 - 30) + 0.5 * meta) * (effect > 0)
    rate = np.log(2) / median_months * np.exp(lp)
    t_event = rng.exponential(1 / rate)
    t_cens = rng.uniform(6, 48, n)
    time = np.maximum(np.minimum(t_event, t_cens), 0.1)
    event = (t_event <= t_cens).astype(int)
    feats = pd.DataFrame(X, columns=feature_names(p))
    feats.insert(0, "case_id", ids)
    labels = pd.DataFrame({"case_id": ids, "time": np.round(time, 2), "event": event})
    clin = pd.DataFrame({"case_id": ids, "ki67": np.round(ki67, 1), "metastasis": meta})
    return feats, labels, clin
