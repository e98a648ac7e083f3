"""Model training and evaluation: recipes → leakage-free pipelines → validated, reported models.

Public API: :func:`load_recipe`, :func:`build_pipeline`, :func:`train` (→ :class:`TrainedModel`),
:func:`cross_validate`, :func:`evaluate` and :func:`write_report`. The selectors live in
:mod:`nbrisk.modeling.selectors`, the metrics in :mod:`~nbrisk.modeling.metrics` and
:mod:`~nbrisk.modeling.survival`.
"""

from __future__ import annotations

from nbrisk.modeling.pipeline import build_pipeline
from nbrisk.modeling.recipe import Recipe, load_recipe, shipped_recipes
from nbrisk.modeling.trained import NBRISK_ESTIMATORS, TrainedModel


from nbrisk.modeling.workflow import cross_validate, evaluate, train, write_report

__all__ = ["Recipe", "TrainedModel", "build_pipeline", "cross_validate", "evaluate", "load_recipe",
           "shipped_recipes", "train", "write_report", "NBRISK_ESTIMATORS"]
