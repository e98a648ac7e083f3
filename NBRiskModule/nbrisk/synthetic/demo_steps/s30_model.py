"""Demo step: cross-validate and train a seed recipe on the cohort's features; write the plots."""

from __future__ import annotations

import pandas as pd

from nbrisk.synthetic.demo import DemoContext

TITLE = "model training (jia2023-svm recipe, repeated stratified k-fold CV)"
RECIPE = "jia2023-svm"


def run(ctx: DemoContext) -> None:
    from nbrisk.modeling import cross_validate, load_recipe, train, write_report

    feats, labels = ctx.state.get("features_csv"), ctx.state.get("labels")
    if feats is None or labels is None:
        ctx.log("skipped: no feature table in ctx.state (the extraction step did not run)")
        return
    recipe = load_recipe(ctx.state.get("recipe", RECIPE))
    n_min = int(pd.read_csv(labels)["label"].value_counts().min())
    folds = max(2, min(int(recipe.validation["n_splits"]), n_min))  # small demo cohorts: fewer folds
    preds, ds, recipe = cross_validate(feats, labels, recipe, n_splits=folds)
    out = ctx.out_dir / "model"
    metrics = write_report(preds, out, {"recipe": recipe.name, "citation": recipe.citation})
    trained = train(feats, labels, recipe, cv_metrics=metrics)
    ctx.state["trained"] = trained
    ctx.state["model_dir"] = out
    ctx.state["cv_metrics"] = metrics
    ctx.log(f"{recipe.name} on {len(ds.y)} cases x {len(ds.feature_names)} features, {folds}-fold CV x "
            f"{preds.details['n_repeats']}: AUC {metrics['auc']:.3f} (95% CI {metrics['auc_ci_low']:.3f}–"
            f"{metrics['auc_ci_high']:.3f}, mean of repeats, corrected resampled t), "
            f"sensitivity {metrics['sensitivity']:.2f}, "
            f"specificity {metrics['specificity']:.2f}")
    ctx.log(f"final model uses {len(trained.selected_features)} selected feature(s); threshold "
            f"{trained.threshold:.3f} ({trained.threshold_rule}); plots (ROC, calibration, DCA) in {out}")
