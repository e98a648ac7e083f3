"""Build an imbalanced-learn Pipeline from a recipe, with every data-dependent step inside it.

Layout: ``[radiomics steps...] (+ clinical columns) → (smote) → model``. With clinical inputs the
radiomics steps run in a ColumnTransformer next to a small clinical branch (impute, scale or one-hot);
SMOTE then resamples the joined matrix. imblearn's Pipeline runs samplers in ``fit`` only, so
cross-validation refits selection and resampling on each training fold and never touches the test fold.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from imblearn.over_sampling import SMOTE
from sklearn.neighbors import NearestNeighbors

from nbrisk.modeling.recipe import ClinicalInput, Recipe, load_recipe
from nbrisk.modeling import selectors as s
from nbrisk.modeling.radscore import Radscore
from nbrisk.modeling.harmonize import ComBat


class FoldSafeSMOTE(SMOTE):
    """SMOTE whose ``k_neighbors`` shrinks to (minority count - 1) in small training folds."""

    def _fit_resample(self, X: Any, y: Any) -> Any:
        counts = np.unique(y, return_counts=True)[1]
        self._k_cap = max(1, int(counts.min()) - 1)
        return super()._fit_resample(X, y)

    def _validate_estimator(self) -> None:
        super()._validate_estimator()
        cap = getattr(self, "_k_cap", None)
        if cap is not None and isinstance(self.k_neighbors, numbers.Integral) and self.k_neighbors > cap:
            self.nn_k_ = NearestNeighbors(n_neighbors=cap + 1)


def make_step(name: str, params: dict[str, Any], random_state: int, keep: list[str] | None = None) -> Any:
    """Instantiate one recipe step (not the model)."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import RobustScaler, StandardScaler

    p = dict(params)
    if name == "impute":
        return SimpleImputer(strategy=p.get("strategy", "median"))
    if name == "scale":
        return RobustScaler() if p.get("method", "zscore") == "robust" else StandardScaler()
    if name == "keep":
        return s.KeepList(features=tuple(keep) if keep else None)
    if name == "univariate":
        return s.UnivariateFilter(**p)
    if name == "correlation":
        return s.CorrelationFilter(**p)
    if name == "lasso":
        return s.LassoSelector(random_state=random_state, **p)
    if name == "mrmr":
        return s.MRMRSelector(**p)
    if name == "forward":
        return s.ForwardLogisticSelector(**p)
    if name == "radscore":
        return Radscore(random_state=random_state, **p)
    if name == "smote":
        return FoldSafeSMOTE(random_state=random_state, **p)
    if name == "combat":
        return ComBat(**p)
    raise ValueError(f"unknown step {name!r}")


def make_model(model: dict[str, Any], random_state: int) -> Any:
    """Instantiate the final estimator of a recipe."""
    p = {k: v for k, v in model.items() if k != "type"}
    mtype = model["type"]
    if mtype == "lr":
        from sklearn.linear_model import LogisticRegression

        l1 = float(p.pop("l1_ratio", 0.0))
        return LogisticRegression(C=float(p.pop("C", 1.0)), l1_ratio=l1, solver="saga" if l1 > 0 else "lbfgs",
                                  max_iter=int(p.pop("max_iter", 5000)), random_state=random_state, **p)
    if mtype == "svm":
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import SVC

        cv = int(p.pop("calibration_cv", 3))
        method = p.pop("calibration_method", "sigmoid")
        return CalibratedClassifierCV(SVC(random_state=random_state, **p), cv=cv, method=method)
    if mtype == "rf":
        from sklearn.ensemble import RandomForestClassifier

        p.setdefault("n_estimators", 300)
        return RandomForestClassifier(random_state=random_state, n_jobs=1, **p)
    if mtype == "cox":
        from sksurv.linear_model import CoxPHSurvivalAnalysis

        return CoxPHSurvivalAnalysis(alpha=float(p.get("alpha", 0.01)), ties=p.get("ties", "breslow"))
    raise ValueError(f"unknown model type {mtype!r}")


def _clinical_branch(clinical: tuple[ClinicalInput, ...]) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline as SkPipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts = []
    for c in clinical:
        strategy = c.missing if c.missing in ("median", "mean", "most_frequent", "constant") else "most_frequent"
        if c.type == "numeric":
            pipe = SkPipeline([("impute", SimpleImputer(strategy=strategy)), ("scale", StandardScaler())])
        else:
            cats = [list(c.categories)] if c.categories else "auto"
            pipe = SkPipeline([("impute", SimpleImputer(strategy=strategy, fill_value="missing")),
                               ("onehot", OneHotEncoder(categories=cats, handle_unknown="ignore",
                                                        drop="if_binary", sparse_output=False))])
        parts.append((c.name, pipe, [c.name]))
    return ColumnTransformer(parts, verbose_feature_names_out=False)


def build_pipeline(recipe: Recipe | str, keep: list[str] | None = None) -> Any:
    """Return the unfitted imblearn Pipeline of a recipe (columns = radiomics features + clinical inputs).

    ``keep`` (e.g. the ICC-kept list) adds a :class:`~nbrisk.modeling.selectors.KeepList` step in front of
    the radiomics steps when the recipe has no explicit ``keep`` step.
    """
    from imblearn.pipeline import Pipeline
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline as SkPipeline

    recipe = load_recipe(recipe)
    rs = recipe.random_state
    body = list(recipe.steps)
    if keep and not any(n == "keep" for n, _ in body):
        body.insert(1 if body and body[0][0] == "combat" else 0, ("keep", {}))
    pre = [(n, make_step(n, p, rs, keep)) for n, p in body if n != "smote"]
    post = [(n, make_step(n, p, rs, keep)) for n, p in body if n == "smote"]
    steps: list[tuple[str, Any]]
    if recipe.clinical:
        radiomics = SkPipeline(pre) if pre else "passthrough"
        merged = ColumnTransformer([("clinical", _clinical_branch(recipe.clinical), [c.name for c in recipe.clinical])],
                                   remainder=radiomics, verbose_feature_names_out=False)
        steps = [("features", merged)]
    else:
        steps = list(pre)
    steps += post
    steps.append(("model", make_model(recipe.model, rs)))
    pipe = Pipeline(steps)
    pipe.set_output(transform="pandas")
    return pipe


def transform_head(fitted: Any) -> Any:
    """The fitted steps before the model, samplers left out (they act in ``fit`` only), as a Pipeline."""
    from sklearn.pipeline import Pipeline as SkPipeline

    steps = [(n, st) for n, st in fitted.steps[:-1] if not hasattr(st, "fit_resample")]
    return SkPipeline(steps) if steps else None


def selected_features(fitted: Any, X: Any) -> list[str]:
    """Names of the columns that reach the model (after selection), for a fitted pipeline and its input."""
    head = transform_head(fitted)
    if head is None:
        return list(X.columns)
    out = head.transform(X.iloc[:1])
    return [str(c) for c in out.columns]
