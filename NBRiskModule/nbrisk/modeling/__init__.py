"""Model training and evaluation: recipes → leakage-free pipelines → validated, reported models.

Public API: :func:`load_recipe`, :func:`build_pipeline`, :func:`train` (→ :class:`TrainedModel`),
:func:`cross_validate`, :func:`evaluate` and :func:`write_report`. The selectors live in
:mod:`nbrisk.modeling.selectors`, the metrics in :mod:`~nbrisk.modeling.metrics` and
:mod:`~nbrisk.modeling.survival`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nbrisk.modeling.pipeline import build_pipeline
from nbrisk.modeling.recipe import Recipe, load_recipe, shipped_recipes


@dataclass(frozen=True)
class TrainedModel:
    """A recipe fitted on all given cases, with what a bundle and a model card need.

    ``pipeline`` takes a DataFrame with the columns ``feature_names`` (in that order) followed by the
    clinical inputs (``clinical_inputs``: dicts with name/type/unit/range). ``threshold`` follows the recipe's rule
    (:mod:`~nbrisk.modeling.thresholds`): by default Youden's J on out-of-fold predictions of an inner CV of
    the training cases (classification; applied to P(positive_class)), or the median training risk score
    that splits low/high Radscore risk groups (survival); ``threshold_rule`` says which. ``metrics`` holds the cross-validated metrics.
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
    threshold_rule: str = ""  # how ``threshold`` was chosen (one line for the model card)

    @property
    def input_columns(self) -> list[str]:
        """All columns the pipeline expects: features then clinical inputs."""
        return list(self.feature_names) + [c["name"] for c in self.clinical_inputs]

    def predict_score(self, X: Any) -> Any:
        """P(positive class) for classification, the Cox linear predictor (risk) for survival."""
        from nbrisk.modeling.validation import predict_scores

        return predict_scores(self.pipeline, X[self.input_columns], self.kind)[0]

    def inference_pipeline(self) -> Any:
        """A plain scikit-learn Pipeline without resampling steps (they only act during fit)."""
        from sklearn.pipeline import Pipeline as SkPipeline

        return SkPipeline([(n, s) for n, s in self.pipeline.steps if not hasattr(s, "fit_resample")])


def trusted_types() -> list[str]:
    """Fully qualified names of NBRisk's own estimator classes (for skops' trusted list)."""
    return ["nbrisk.modeling.selectors.UnivariateFilter", "nbrisk.modeling.selectors.CorrelationFilter",
            "nbrisk.modeling.selectors.LassoSelector", "nbrisk.modeling.selectors.MRMRSelector",
            "nbrisk.modeling.selectors.ForwardLogisticSelector", "nbrisk.modeling.selectors.KeepList",
            "nbrisk.modeling.radscore.Radscore", "nbrisk.modeling.pipeline.FoldSafeSMOTE"]


from nbrisk.modeling.workflow import cross_validate, evaluate, train, write_report  # noqa: E402

__all__ = ["Recipe", "TrainedModel", "build_pipeline", "cross_validate", "evaluate", "load_recipe",
           "shipped_recipes", "train", "trusted_types", "write_report"]
