"""Leakage tests: on pure noise every recipe's CV AUC stays near 0.5, while selection or SMOTE done
outside the folds (the classic mistake) inflates it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sklearn.metrics import roc_auc_score

from nbrisk.modeling import cross_validate, load_recipe, shipped_recipes
from nbrisk.modeling.synthetic import classification_tables, survival_tables

CLASSIFICATION = [r for r in shipped_recipes() if load_recipe(r).kind == "classification"]


def _noise(n=200, p=150, seed=11, positive_fraction=0.4):
    return classification_tables(n=n, p=p, informative=0, effect=0.0, positive_fraction=positive_fraction,
                                 seed=seed, clinical=True)


def _fast(recipe_name):
    """The shipped recipe with smaller forests (same steps, same selection) for the default test run."""
    rec = load_recipe(recipe_name)
    model = dict(rec.model)
    if model["type"] == "rf":
        model["n_estimators"] = 100
    return replace(rec, model=model)


def _auc(recipe, n_repeats, n_splits=None):
    f, lab, clin = _noise()
    preds, _, _ = cross_validate(f, lab, recipe, clinical=clin if recipe.clinical else None, n_repeats=n_repeats,
                                 n_splits=n_splits)
    return roc_auc_score(preds.y, preds.score)


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_noise_auc_is_chance_for_every_recipe(name):
    auc = _auc(_fast(name), n_repeats=1, n_splits=5)
    assert 0.4 <= auc <= 0.6, f"{name}: CV AUC {auc:.3f} on pure noise"


@pytest.mark.slow
@pytest.mark.parametrize("name", CLASSIFICATION)
def test_noise_auc_is_chance_for_every_shipped_recipe_as_is(name):
    auc = _auc(load_recipe(name), n_repeats=None)
    assert 0.4 <= auc <= 0.6, f"{name}: CV AUC {auc:.3f} on pure noise"


def test_noise_c_index_is_chance_for_the_survival_recipe():
    f, lab, clin = survival_tables(n=150, p=100, effect=0.0, seed=5)
    preds, _, _ = cross_validate(f, lab, "bi2025-cox-nomogram", clinical=clin, n_repeats=1)
    from sksurv.metrics import concordance_index_censored

    c = concordance_index_censored(preds.y["event"], preds.y["time"], preds.score)[0]
    assert 0.4 <= c <= 0.6, f"C-index {c:.3f} on pure noise"


def test_selection_outside_the_folds_inflates_auc():
    """t-test + LASSO fitted on ALL cases before CV: the same noise now looks predictive."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from nbrisk.modeling.selectors import LassoSelector, UnivariateFilter

    f, lab, _ = _noise(n=100, p=1000)  # seed 001's regime: far more features than cases
    X, y = f.drop(columns="case_id").to_numpy(), lab["label"].to_numpy()
    Xs = StandardScaler().fit_transform(X)
    keep = UnivariateFilter(alpha=0.05, min_features=5).fit(Xs, y).get_support()
    keep2 = LassoSelector(cv=5, max_features=28, min_features=2).fit(Xs[:, keep], y).get_support()
    leaky = Xs[:, keep][:, keep2]
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    p = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression()), leaky, y, cv=cv,
                          method="predict_proba")[:, 1]
    leaky_auc = roc_auc_score(y, p)
    honest, _, _ = cross_validate(f, lab, "jia2023-svm", n_repeats=1)
    honest_auc = roc_auc_score(honest.y, honest.score)
    assert 0.35 <= honest_auc <= 0.65
    assert leaky_auc > 0.7 and leaky_auc - honest_auc > 0.15, (leaky_auc, honest_auc)


def test_smote_outside_the_folds_inflates_auc():
    """SMOTE on ALL cases before CV: synthetic copies of test cases sit in the training folds."""
    from imblearn.over_sampling import SMOTE
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    f, lab, _ = _noise(n=120, p=30, positive_fraction=0.25)
    X, y = f.drop(columns="case_id").to_numpy(), lab["label"].to_numpy()
    Xr, yr = SMOTE(random_state=0).fit_resample(X, y)
    rf = RandomForestClassifier(n_estimators=100, random_state=0)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    leaky_auc = roc_auc_score(yr, cross_val_predict(rf, Xr, yr, cv=cv, method="predict_proba")[:, 1])
    from imblearn.pipeline import make_pipeline

    honest = cross_val_predict(make_pipeline(SMOTE(random_state=0), rf), X, y, cv=cv, method="predict_proba")[:, 1]
    honest_auc = roc_auc_score(y, honest)
    assert 0.35 <= honest_auc <= 0.65
    assert leaky_auc > 0.7 and leaky_auc - honest_auc > 0.15, (leaky_auc, honest_auc)
