"""Per-repeat mean AUC with its corrected interval next to the old pooled AUC (and its DeLong CI), per recipe.

    python bench/bench_cv_intervals.py [--null-runs 0]

Tables: the synthetic classification table of docs/modeling.md (80 cases x 200 features, 5 informative
at 1 SD; ``nbrisk.modeling.synthetic``) and 120 synthetic Cox cases for the survival recipe. Each recipe
runs with its own folds x repeats; thresholds are skipped (they do not change the AUC). With
``--null-runs N`` it also repeats the shuffled-label calibration study on a 40-case noise table (lr).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

import numpy as np

from nbrisk.modeling import cross_validate, load_recipe, shipped_recipes
from nbrisk.modeling.metrics import delong_auc
from nbrisk.modeling.survival import harrell_c
from nbrisk.modeling.synthetic import classification_tables, survival_tables
from nbrisk.modeling.workflow import headline


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--null-runs", type=int, default=0)
    ap.add_argument("--recipes", nargs="*")
    args = ap.parse_args()
    f, lab, clin = classification_tables(n=80, p=200, informative=5, effect=1.0, seed=0, clinical=True)
    print("| recipe | folds x repeats | per-repeat mean AUC (95% CI, corrected t) | old: pooled AUC (DeLong CI) |")
    print("|---|---|---|---|")
    for name in args.recipes or shipped_recipes():
        rec = load_recipe(name)
        t0 = time.time()
        if rec.kind == "survival":
            sf, sl, sc = survival_tables(n=120, p=60, seed=0)
            preds, _, _ = cross_validate(sf, sl, rec, sc, thresholds=False)
            m = headline(preds)
            c, lo, hi = harrell_c(preds.y, preds.score)
            print(f"| {name} (C-index) | {m['c_index_ci_method'].split('; ')[1]} | {m['c_index']:.3f} "
                  f"({m['c_index_ci_low']:.3f}–{m['c_index_ci_high']:.3f}) | {c:.3f} ({lo:.3f}–{hi:.3f}, bootstrap) |",
                  flush=True)
            continue
        if rec.model_type == "rf":
            rec = replace(rec, model={**rec.model, "n_estimators": 100})
        preds, _, _ = cross_validate(f, lab, rec, clin if rec.clinical else None, thresholds=False)
        m = headline(preds)
        auc, _, lo, hi = delong_auc(preds.y, preds.score)
        print(f"| {name} | {m['auc_ci_method'].split('; ')[1]} | {m['auc']:.3f} ({m['auc_ci_low']:.3f}–"
              f"{m['auc_ci_high']:.3f}) | {auc:.3f} ({lo:.3f}–{hi:.3f}) |", flush=True)
        print(f"  {name}: {time.time() - t0:.0f} s", file=sys.stderr)
    if args.null_runs:
        nf, nl, _ = classification_tables(n=40, p=20, informative=0, effect=0.0, seed=123)
        rng = np.random.default_rng(0)
        ex = np.zeros(2, int)
        for i in range(args.null_runs):
            lab_r = nl.assign(label=rng.permutation(nl["label"].to_numpy()))
            preds, _, _ = cross_validate(nf, lab_r, "lr", thresholds=False, fold_seed=int(rng.integers(1 << 30)))
            m = headline(preds)
            _, _, dlo, dhi = delong_auc(preds.y, preds.score)
            ex += [not m["auc_ci_low"] <= 0.5 <= m["auc_ci_high"], not dlo <= 0.5 <= dhi]
            print(f"null run {i + 1}/{args.null_runs}", file=sys.stderr)
        print(f"null runs: {args.null_runs}; 95% interval excludes 0.5: corrected t {ex[0]} "
              f"({ex[0] / args.null_runs:.1%}), pooled DeLong {ex[1]} ({ex[1] / args.null_runs:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
