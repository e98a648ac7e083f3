"""scikit-learn's estimator checks on NBRisk's custom selectors/transformers, plus their behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from nbrisk.modeling.radscore import Radscore, to_structured
from nbrisk.modeling.selectors import (
    CorrelationFilter,
    ForwardLogisticSelector,
    KeepList,
    LassoSelector,
    MRMRSelector,
    UnivariateFilter,
    mrmr_rank,
)

ESTIMATORS = [UnivariateFilter(), UnivariateFilter(test="mannwhitney"), CorrelationFilter(), LassoSelector(),
              MRMRSelector(n_features=2), ForwardLogisticSelector(), KeepList(),
              Radscore(cv=0)]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _data(n=120, p=30, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.standard_normal((n, p))
    X[:, 3] += 1.5 * y
    X[:, 7] -= 1.2 * y
    return X, y


def test_univariate_filter_keeps_the_informative_columns():
    X, y = _data()
    for test in ("ttest", "mannwhitney"):
        sel = UnivariateFilter(test=test, alpha=0.001).fit(X, y)
        assert set(np.flatnonzero(sel.get_support())) == {3, 7}
    # vectorised p values equal scipy's per-column test
    from scipy import stats

    p = UnivariateFilter().fit(X, y).pvalues_
    ref = [stats.ttest_ind(X[y == 0, j], X[y == 1, j], equal_var=False).pvalue for j in range(X.shape[1])]
    np.testing.assert_allclose(p, ref, rtol=1e-10)


def test_correlation_filter_drops_the_less_relevant_twin():
    X, y = _data()
    X = np.column_stack([X, X[:, 3] + 0.01 * np.random.default_rng(1).standard_normal(len(y))])
    sel = CorrelationFilter(threshold=0.9).fit(X, y)
    keep = sel.get_support()
    assert keep[3] != keep[-1] and keep.sum() == X.shape[1] - 1


def test_lasso_and_forward_find_the_signal():
    X, y = _data()
    assert {3, 7} <= set(np.flatnonzero(LassoSelector(cv=5, max_features=5).fit(X, y).get_support()))
    fwd = ForwardLogisticSelector(max_features=2).fit(X, y)
    assert set(np.flatnonzero(fwd.get_support())) == {3, 7}


def test_mrmr_matches_mrmr_selection_package():
    mrmr = pytest.importorskip("mrmr")
    rng = np.random.default_rng(3)
    n, p = 90, 60
    y = rng.integers(0, 2, n)
    base = rng.standard_normal((n, 10))
    X = np.column_stack([base @ rng.standard_normal((10, p)) + rng.standard_normal((n, p)), base])
    X[:, :5] += y[:, None] * np.linspace(0.3, 1.5, 5)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    ref = mrmr.mrmr_classif(df, pd.Series(y), K=15, show_progress=False, n_jobs=1)
    ours = [f"f{i}" for i in mrmr_rank(X, y, 15)]
    assert ours == ref


def test_keep_list_intersects_by_name():
    df = pd.DataFrame(np.arange(12.0).reshape(3, 4), columns=list("abcd"))
    sel = KeepList(features=("b", "d", "zz")).fit(df)
    assert list(sel.get_feature_names_out()) == ["b", "d"]
    with pytest.raises(ValueError, match="none of the kept-list"):
        KeepList(features=("zz",)).fit(df)


def test_radscore_is_a_cox_linear_predictor_of_the_signal():
    from sksurv.metrics import concordance_index_censored

    rng = np.random.default_rng(0)
    n = 150
    X = rng.standard_normal((n, 15))
    t = rng.exponential(1 / np.exp(X[:, 0] - X[:, 1]))
    c = rng.exponential(2, n)
    y = to_structured(t <= c, np.minimum(t, c) + 1e-3)
    rs = Radscore(cv=3).fit(X, y)
    assert {0, 1} <= set(rs.selected_)
    assert rs.coef_[0] > 0 > rs.coef_[1]
    score = rs.transform(X)[:, 0]
    assert concordance_index_censored(y["event"], y["time"], score)[0] > 0.7
