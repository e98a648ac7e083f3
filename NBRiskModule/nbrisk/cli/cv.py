"""``nbrisk cv``: cross-validate a recipe on a feature table and write metrics.json plus figures."""

from __future__ import annotations

import argparse
from pathlib import Path

from nbrisk.cli._model_args import (
    add_data_arguments,
    add_scheme_arguments,
    print_report_summary,
    read_keep,
    scheme_kwargs,
)

COMMAND = "cv"
HELP = "validate a model recipe (repeated k-fold, nested CV or fixed split) and write metrics and plots"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data_arguments(p)
    add_scheme_arguments(p)
    p.add_argument("--compare", help="second recipe validated on the same folds; adds a corrected resampled t-test "
                                      "of the AUCs (C-indices) that is valid for CV")
    p.add_argument("--out", type=Path, required=True, help="output folder (metrics.json, predictions.csv, plots)")


def run(args: argparse.Namespace) -> int:
    from nbrisk.cli._progress import Steps
    from nbrisk.modeling import cross_validate, train, write_report

    keep = read_keep(args.keep)
    kw = scheme_kwargs(args)
    steps = Steps("cv", 2 + bool(args.compare), quiet=args.quiet)
    steps(f"cross-validating {args.recipe}")
    preds, ds, rec = cross_validate(args.features, args.labels, args.recipe, args.clinical, keep, args.positive,
                                    batch=args.batch_table, **kw)
    trained = None
    if rec.kind == "survival":  # the nomogram is drawn from the model fitted on all cases
        trained = train(args.features, args.labels, rec, args.clinical, keep, positive=args.positive, validate=False,
                        batch=args.batch_table)
    compare = None
    if args.compare:
        steps(f"cross-validating {args.compare} on the same folds")
        compare, _, _ = cross_validate(args.features, args.labels, args.compare, args.clinical, keep,
                                       args.positive, batch=args.batch_table, fold_seed=preds.details.get("fold_seed"),
                                       n_splits=preds.details.get("n_splits"), n_repeats=preds.details.get("n_repeats"),
                                       **{k: v for k, v in kw.items() if k not in ("n_splits", "n_repeats")})
    extra = {"recipe": rec.name, "recipe_sha256": rec.sha256, "citation": rec.citation,
             "comparison_recipe": args.compare}
    steps(f"writing metrics and plots to {args.out}")
    metrics = write_report(preds, args.out, extra, trained=trained, X_train=ds.X, compare=compare)
    steps.done()
    return print_report_summary(f"{rec.name} [{preds.scheme}, n={len(preds.y)}]", metrics,
                                args.compare if compare is not None else None, args.out)
