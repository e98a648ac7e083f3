"""Classification and survival metrics against definitions and published worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from nbrisk.modeling import metrics as M


def _hanley_mcneil():
    """Hanley & McNeil (1982) CT ratings: 58 normal, 51 abnormal cases on a 5-point scale; AUC 0.893."""
    normal = np.repeat([1, 2, 3, 4, 5], [33, 6, 6, 11, 2])
    abnormal = np.repeat([1, 2, 3, 4, 5], [3, 2, 2, 11, 33])
    y = np.r_[np.zeros(len(normal)), np.ones(len(abnormal))].astype(int)
    return y, np.r_[normal, abnormal].astype(float)


def _psi(x, y):
    return (x > y) + 0.5 * (x == y)


def _delong_bruteforce(y, scores):
    """DeLong et al. (1988) by definition: O(m n) structural components, covariance matrix of the AUCs."""
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    k = scores.shape[0]
    v10 = np.array([[_psi(pos[r, i], neg[r]).mean() for i in range(m)] for r in range(k)])
    v01 = np.array([[_psi(pos[r], neg[r, j]).mean() for j in range(n)] for r in range(k)])
    aucs = v10.mean(axis=1)
    s = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, s


def test_delong_auc_matches_hanley_mcneil_and_the_definition():
    y, s = _hanley_mcneil()
    auc, var, lo, hi = M.delong_auc(y, s)
    assert auc == pytest.approx(0.8932, abs=5e-4)
    ref_auc, ref_s = _delong_bruteforce(y, s[None, :])
    assert auc == pytest.approx(ref_auc[0])
    assert var == pytest.approx(ref_s[0, 0], rel=1e-10)
    assert lo == pytest.approx(auc - 1.959964 * np.sqrt(var)) and hi == pytest.approx(auc + 1.959964 * np.sqrt(var))
    assert 0.025 < np.sqrt(var) < 0.04  # Hanley & McNeil's SE is 0.032


def test_delong_test_matches_the_definition():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    p1 = y + rng.normal(0, 1.0, 80)
    p2 = 0.5 * y + p1 * 0.3 + rng.normal(0, 1.0, 80)
    res = M.delong_test(y, p1, p2)
    aucs, s = _delong_bruteforce(y, np.vstack([p1, p2]))
    z = (aucs[0] - aucs[1]) / np.sqrt(s[0, 0] + s[1, 1] - 2 * s[0, 1])
    assert res["z"] == pytest.approx(z, rel=1e-9)
    assert res["p"] == pytest.approx(2 * (1 - __import__("scipy").stats.norm.cdf(abs(z))), rel=1e-9)
    assert M.delong_test(y, p1, p1)["p"] == pytest.approx(1.0)


def test_bootstrap_ci_brackets_auc_and_agrees_with_delong():
    y, s = _hanley_mcneil()
    lo, hi = M.bootstrap_auc_ci(y, s, n_boot=2000, seed=1)
    auc, _, dlo, dhi = M.delong_auc(y, s)
    assert lo < auc < hi
    assert lo == pytest.approx(dlo, abs=0.02) and hi == pytest.approx(dhi, abs=0.02)
    assert M.bootstrap_auc_ci(y, s, seed=1) == M.bootstrap_auc_ci(y, s, seed=1)  # seeded


def test_threshold_metrics_and_wilson():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    pred = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0])
    m = M.threshold_metrics(y, pred)
    assert (m["sensitivity"], m["specificity"], m["accuracy"]) == (0.75, 5 / 6, 0.8)
    assert (m["ppv"], m["npv"]) == (0.75, 5 / 6)
    # Wilson interval for 8/10 (Newcombe 1998, Table I style check): 0.490–0.943
    lo, hi = M.wilson_ci(8, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.490, 0.943)


def test_youden_threshold_separates_the_training_scores():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    assert M.youden_threshold(y, p) == pytest.approx(0.5)


def test_brier_calibration_and_decision_curve():
    rng = np.random.default_rng(2)
    p = rng.uniform(0.05, 0.95, 2000)
    y = (rng.random(2000) < p).astype(int)  # perfectly calibrated
    assert M.calibration(y, p)["hosmer_lemeshow_p"] > 0.01
    assert M.calibration(y, np.clip(p + 0.3, 0, 0.99))["hosmer_lemeshow_p"] < 1e-6
    assert M.brier(y, p) == pytest.approx(np.mean(p * (1 - p)), abs=0.02)
    dc = M.decision_curve(y, p, [0.2, 0.5])
    prev = y.mean()
    assert dc["treat_all"][0] == pytest.approx(prev - (1 - prev) * 0.25)
    tp = np.mean((p >= 0.5) & (y == 1))
    fp = np.mean((p >= 0.5) & (y == 0))
    assert dc["model"][1] == pytest.approx(tp - fp)
    assert dc["model"][1] > dc["treat_all"][1]


def test_survival_metrics_on_a_known_cox_model():
    from nbrisk.modeling.radscore import to_structured
    from nbrisk.modeling.survival import harrell_c, logrank_p, survival_summary, td_auc

    rng = np.random.default_rng(0)
    n = 300
    risk = rng.standard_normal(n)
    t = rng.exponential(12 / np.exp(risk))
    c = rng.uniform(6, 40, n)
    y = to_structured(t <= c, np.minimum(t, c))
    cidx, lo, hi = harrell_c(y, risk, n_boot=200)
    assert 0.65 < cidx < 0.8 and lo < cidx < hi
    assert harrell_c(y, -risk, n_boot=10)[0] == pytest.approx(1 - cidx, abs=0.01)
    aucs = td_auc(y, y, risk)
    assert all(0.65 < a < 0.9 for a in aucs.values())
    assert logrank_p(y, (risk > 0).astype(int)) < 1e-6
    assert logrank_p(y, rng.integers(0, 2, n)) > 0.001
    true_s = {tt: np.exp(-tt * np.exp(risk) / 12) for tt in (6.0, 12.0, 24.0)}
    summ = survival_summary(y, risk, (risk > 0).astype(int), true_s)
    assert summ["brier_12"] < 0.25
    cal = summ["calibration_12"]
    np.testing.assert_allclose(cal["predicted"], cal["observed"], atol=0.1)  # true model: calibrated
