"""The trained-model object: a fitted recipe with what a bundle and its model card need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nbrisk.modeling.scoring import predict_scores


@dataclass(frozen=True)
class TrainedModel:
    """A recipe fitted on all given cases, with what a bundle and a model card need.

    ``pipeline`` takes a DataFrame with the columns ``feature_names`` (in that order) followed by the
    clinical inputs (``clinical_inputs``: dicts with name/type/unit/range). ``threshold`` is Youden's on the
    training data (classification; applied to P(positive_class)) or the median training risk score that
    splits low/high Radscore risk groups (survival). ``metrics`` holds the cross-validated metrics.
    """

    pipeline: Any
    feature_names: list[str]
    clinical_inputs: list[dict[str, Any]]
    threshold: float
    positive_class: Any
    metrics: dict[str, Any]
    recipe_name: str
    citation: str
    training_summary: dict[str, Any]
    kind: str
    recipe: dict[str, Any] = field(default_factory=dict)
    selected_features: list[str] = field(default_factory=list)
    classes: list[Any] = field(default_factory=list)
    threshold_rule: str = ""  # how ``threshold`` was chosen, in words (stored in the bundle's card)

    @property
    def input_columns(self) -> list[str]:
        """All columns the pipeline expects: features then clinical inputs."""
        return list(self.feature_names) + [c["name"] for c in self.clinical_inputs]

    def predict_score(self, X: Any) -> Any:
        """P(positive class) for classification, the Cox linear predictor (risk) for survival."""
        return predict_scores(self.pipeline, X[self.input_columns], self.kind)[0]

    def inference_pipeline(self) -> Any:
        """A plain scikit-learn Pipeline without resampling steps (they only act during fit)."""
        from sklearn.pipeline import Pipeline as SkPipeline

        return SkPipeline([(n, s) for n, s in self.pipeline.steps if not hasattr(s, "fit_resample")])


# NBRisk's own estimator classes that a saved inference pipeline may hold (bundle loading allows exactly
# these; nbrisk.bundle.safety reads this list). Resampling steps (FoldSafeSMOTE) act only during fit and are
# dropped at export, so they are not here. Extend when a recipe adds a class.
NBRISK_ESTIMATORS = frozenset({
    "nbrisk.modeling.selectors.UnivariateFilter",
    "nbrisk.modeling.selectors.CorrelationFilter",
    "nbrisk.modeling.selectors.LassoSelector",
    "nbrisk.modeling.selectors.MRMRSelector",
    "nbrisk.modeling.selectors.ForwardLogisticSelector",
    "nbrisk.modeling.selectors.KeepList",
    "nbrisk.modeling.radscore.Radscore",
    "nbrisk.modeling.harmonize.ComBat",
})
