"""``nbrisk evaluate``: apply a trained model bundle to an external/test set and report its metrics."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nbrisk.cli._model_args import add_data_arguments, print_report_summary

COMMAND = "evaluate"
HELP = "evaluate a trained model bundle on an external or test set (metrics with CIs and plots)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, required=True, help="model bundle written by nbrisk train")
    add_data_arguments(p, recipe=False)
    p.add_argument("--compare", type=Path, help="second model bundle; adds a paired DeLong test of the AUCs")
    p.add_argument("--out", type=Path, required=True, help="output folder (metrics.json, predictions.csv, plots)")


def load_trained(path: Path) -> Any:
    """Load a verified bundle (:func:`nbrisk.bundle.format.load_bundle`) as a TrainedModel."""
    from nbrisk.bundle.format import load_bundle

    return _from_bundle(load_bundle(path))


def _from_bundle(bundle: Any) -> Any:
    """A TrainedModel view of a loaded :class:`nbrisk.bundle.format.Bundle` (card layout of bundle format 1)."""
    from nbrisk.modeling import TrainedModel

    card = bundle.card
    model = card.get("model", {})
    return TrainedModel(
        pipeline=bundle.pipeline, feature_names=list(card["feature_names"]),
        clinical_inputs=list(card.get("clinical_inputs") or []), threshold=float(model["threshold"]),
        positive_class=model.get("positive_class", 1), metrics=dict(card.get("metrics") or {}),
        recipe_name=str(model.get("recipe") or "model"), citation=str(model.get("citation") or ""),
        training_summary=dict(card.get("training") or {}), kind=str(model.get("kind", "classification")),
        recipe=dict(card.get("recipe") or {}), selected_features=list(card.get("selected_features") or []),
        classes=list(model.get("classes") or []), threshold_rule=str(model.get("threshold_rule") or ""))


def run(args: argparse.Namespace) -> int:
    from nbrisk.modeling import evaluate, write_report

    from nbrisk.cli._progress import Steps

    steps = Steps("evaluate", 2, quiet=args.quiet)
    steps(f"checking and loading {args.model}, predicting the cases")
    trained = load_trained(args.model)
    preds, X = evaluate(trained, args.features, args.labels, args.clinical, args.positive)
    compare = None
    if args.compare:
        compare, _ = evaluate(load_trained(args.compare), args.features, args.labels, args.clinical, args.positive)
    extra = {"model": str(args.model), "recipe": trained.recipe_name, "threshold": trained.threshold}
    steps(f"writing metrics and plots to {args.out}")
    metrics = write_report(preds, args.out, extra, trained=trained, X_train=X, compare=compare)
    steps.done()
    return print_report_summary(f"{trained.recipe_name} on {len(preds.y)} external cases", metrics,
                                args.compare if compare is not None else None, args.out)
