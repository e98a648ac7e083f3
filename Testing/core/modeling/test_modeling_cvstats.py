"""CV intervals that account for the folds' dependence, CV-valid comparison, and nested thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from nbrisk.modeling import cross_validate, train
from nbrisk.modeling.cvstats import corrected_interval, corrected_se, corrected_t_test
from nbrisk.modeling.metrics import delong_auc
from nbrisk.modeling.synthetic import classification_tables
from nbrisk.modeling.workflow import compare_cv, headline
from scipy import stats


def test_corrected_resampled_t_by_hand():
    v = np.array([0.6, 0.7, 0.55, 0.8, 0.65, 0.75])
    se, df = corrected_se(v, n_train=32, n_test=8)
    assert df == 5 and se == pytest.approx(np.sqrt((1 / 6 + 8 / 32) * v.var(ddof=1)))
    lo, hi = corrected_interval(0.7, v, 32, 8, df=4)
    assert (hi - lo) / 2 == pytest.approx(stats.t.ppf(0.975, 4) * se) and lo < 0.7 < hi
    assert corrected_interval(0.95, v, 32, 8)[1] == 1.0  # clipped to [0, 1]
    res = corrected_t_test(v - v, 32, 8)
    assert res["t"] == 0 and res["p"] == 1.0


@pytest.fixture(scope="module")
def null_40():
    f, lab, _ = classification_tables(n=40, p=20, informative=0, effect=0.0, seed=123)
    return f, lab


def _shuffled(lab, seed):
    return lab.assign(label=np.random.default_rng(seed).permutation(lab["label"].to_numpy()))


def test_cv_headline_is_the_per_repeat_mean_with_a_wider_interval_than_pooled_delong(null_40):
    f, lab = null_40
    preds, _, _ = cross_validate(f, _shuffled(lab, 0), "lr", thresholds=False, n_repeats=3)
    m = headline(preds)
    per_repeat = [r["auc"] for r in preds.details["per_repeat_metrics"]]
    assert len(per_repeat) == 3 and m["auc"] == pytest.approx(np.mean(per_repeat))
    assert m["auc_pooled"] == pytest.approx(delong_auc(preds.y, preds.score)[0])  # shown beside, labelled
    assert "auc_boot_ci_low" not in m and "DeLong" not in m["auc_ci_method"]
    fold = np.array([r["auc"] for r in preds.details["per_fold"]])
    se, _ = corrected_se(fold, preds.details["n_train_mean"], preds.details["n_test_mean"])
    assert m["auc_ci_high"] - m["auc_ci_low"] == pytest.approx(2 * stats.t.ppf(0.975, 4) * se)
    _, _, dlo, dhi = delong_auc(preds.y, preds.score)
    assert m["auc_ci_high"] - m["auc_ci_low"] > dhi - dlo  # the pooled DeLong interval is too narrow for CV
    assert "sensitivity" not in m  # thresholds skipped: no thresholded metric is reported


def test_comparison_uses_the_same_folds_and_a_cv_valid_test():
    f, lab, _ = classification_tables(n=60, p=30, informative=4, effect=1.0, seed=2)
    a, _, _ = cross_validate(f, lab, "lr", n_repeats=2, thresholds=False)
    b, _, _ = cross_validate(f, lab, "svm", n_repeats=2, thresholds=False, fold_seed=a.details["fold_seed"])
    np.testing.assert_array_equal(a.details["folds"], b.details["folds"])
    res = compare_cv(a, b)
    d = [x["auc"] - y["auc"] for x, y in zip(a.details["per_fold"], b.details["per_fold"], strict=True)]
    assert res["mean_diff"] == pytest.approx(np.mean(d)) and res["df"] == 4 and 0 < res["p"] <= 1
    c, _, _ = cross_validate(f, lab, "lr", n_repeats=2, thresholds=False, fold_seed=99)  # other folds
    from nbrisk.errors import InputError

    with pytest.raises(InputError, match="same folds"):
        compare_cv(a, c)


def _null_exclusions(f, lab, runs, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(runs):
        lab_r = lab.assign(label=rng.permutation(lab["label"].to_numpy()))
        preds, _, _ = cross_validate(f, lab_r, "lr", thresholds=False, fold_seed=int(rng.integers(1 << 30)))
        m = headline(preds)
        _, _, dlo, dhi = delong_auc(preds.y, preds.score)
        out.append((not m["auc_ci_low"] <= 0.5 <= m["auc_ci_high"], not dlo <= 0.5 <= dhi))
    return np.array(out)


@pytest.mark.slow
def test_interval_calibration_on_200_shuffled_label_runs(null_40):
    """>= 200 shuffled-label runs on a 40-case table (lr, 5-fold x 5): the 95% interval excludes 0.5 in
    at most 7% of runs (measured: 7/200 = 3.5%; the pooled DeLong interval: 55/200 = 27.5%)."""
    f, lab = null_40
    ex = _null_exclusions(f, lab, 200)
    assert ex[:, 0].mean() <= 0.07, ex.mean(axis=0)
    assert ex[:, 1].mean() > 0.15  # the old pooled DeLong interval on the same runs is badly miscalibrated


def test_thresholds_come_from_inner_out_of_fold_predictions():
    """A random forest's own training predictions separate its training cases, so a Youden cut on them
    sits at the edge; the nested (inner out-of-fold) cut keeps the sensitivity."""
    from dataclasses import replace

    from nbrisk.modeling import load_recipe
    from nbrisk.modeling.thresholds import ThresholdRule, describe

    f, lab, _ = classification_tables(n=80, p=40, informative=5, effect=0.7, positive_fraction=0.3, seed=7)
    rec = load_recipe("rf")
    rec = replace(rec, model={**rec.model, "n_estimators": 100})
    preds, _, _ = cross_validate(f, lab, rec, n_repeats=1)
    m = headline(preds)
    assert m["sensitivity"] > 0.4 and m["specificity"] > 0.4, (m["sensitivity"], m["specificity"])
    # the old rule (Youden on the training predictions) on the same folds collapses the sensitivity
    from nbrisk.modeling.metrics import youden_threshold
    from nbrisk.modeling.pipeline import build_pipeline
    from nbrisk.modeling.validation import predict_scores, stratified_folds

    X, y = f.set_index("case_id"), lab["label"].to_numpy()
    hits = pos = 0
    for tr, te in stratified_folds(y, 5, rec.random_state):
        mdl = build_pipeline(rec).fit(X.iloc[tr], y[tr])
        cut = youden_threshold(y[tr], predict_scores(mdl, X.iloc[tr], "classification")[0])
        hits += int(((predict_scores(mdl, X.iloc[te], "classification")[0] >= cut) & (y[te] == 1)).sum())
        pos += int(y[te].sum())
    assert hits / pos < m["sensitivity"] - 0.15, (hits / pos, m["sensitivity"])
    tm = train(f, lab, rec, validate=False)
    assert tm.threshold_rule == describe(ThresholdRule("youden")) and "out-of-fold" in tm.threshold_rule


def test_fixed_sensitivity_rule():
    from nbrisk.modeling.thresholds import ThresholdRule, cut_from_scores, parse_rule

    rng = np.random.default_rng(0)
    y = np.r_[np.ones(40), np.zeros(60)].astype(int)
    s = np.r_[rng.normal(1, 1, 40), rng.normal(0, 1, 60)]
    cut = cut_from_scores(y, s, ThresholdRule("sensitivity", 0.9))
    assert (s[y == 1] >= cut).mean() >= 0.9 and (s[y == 1] >= cut + 1e-6).mean() >= 0.875
    cut = cut_from_scores(y, s, ThresholdRule("specificity", 0.8))
    assert (s[y == 0] < cut).mean() >= 0.8
    from nbrisk.errors import InputError

    with pytest.raises(InputError, match="needs a target"):
        parse_rule({"rule": "sensitivity"}, "classification")
    with pytest.raises(InputError, match="does not fit a survival recipe"):
        parse_rule({"rule": "youden"}, "survival")


def test_bundle_saved_from_a_notebook_stores_the_same_rule(tmp_path):
    from nbrisk.bundle.format import load_bundle, save_bundle
    from nbrisk.modeling.recipe import parse_recipe

    f, lab, _ = classification_tables(n=40, p=10, informative=3, effect=1.5, seed=1)
    rec = parse_recipe({"name": "lr-sens", "threshold": {"rule": "sensitivity", "target": 0.9},
                        "steps": [{"scale": {}}, {"model": {"type": "lr"}}]})
    tm = train(f, lab, rec, validate=False)
    path = save_bundle(tmp_path / "m.nbrisk", tm, "pyradiomics-default", "0" * 64)
    card = load_bundle(path).card
    assert card["model"]["threshold"] == tm.threshold
    assert card["model"]["threshold_rule"] == tm.threshold_rule and "sensitivity >= 0.9" in tm.threshold_rule
    assert tm.recipe["threshold"] == {"rule": "sensitivity", "target": 0.9, "inner_splits": 3}
