"""Arguments and helpers shared by the ``cv``, ``train`` and ``evaluate`` verbs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nbrisk.errors import InputError


def add_data_arguments(p: argparse.ArgumentParser, recipe: bool = True) -> None:
    p.add_argument("--features", type=Path, required=True, help="feature CSV (case_id, then one column per feature)")
    p.add_argument("--labels", type=Path, required=True,
                   help="labels CSV: case_id,label (0/1 or two named classes) or case_id,time,event (months)")
    if recipe:
        p.add_argument("--recipe", required=True,
                       help="shipped recipe name (jia2023-svm, kim2024-rf, bi2025-cox-nomogram, zhang2026-combined, "
                            "lr, svm, rf) or a recipe YAML file")
        p.add_argument("--keep", type=Path, help="kept-feature list (one name per line, or a CSV with a 'feature' "
                                                 "column), e.g. the ICC-reproducible features")
    p.add_argument("--clinical", type=Path, help="clinical CSV merged on case_id (columns as the recipe declares)")
    if recipe:
        p.add_argument("--batch-table", type=Path,
                       help="manifest (case_id + centre/scanner column) for a recipe with a 'combat' step")
    p.add_argument("--positive", help="the positive class when labels are named (e.g. --positive high)")


def add_scheme_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheme", choices=["repeated_kfold", "nested", "fixed_split"],
                   help="validation scheme (default: the recipe's)")
    p.add_argument("--folds", type=int, help="k of k-fold CV (default: the recipe's)")
    p.add_argument("--repeats", type=int, help="repeats of k-fold CV (default: the recipe's)")
    p.add_argument("--test-size", type=float, help="fixed split: test fraction (0.2) or case count (90)")
    p.add_argument("--split-file", type=Path,
                   help="fixed split: reuse this case_id,set CSV if it exists (a new split is saved as split.csv)")


def scheme_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    if args.folds is not None and args.folds < 2:
        raise InputError(f"--folds {args.folds}: k-fold cross-validation needs at least 2 folds; "
                         "give --folds 2 or more")
    if args.repeats is not None and args.repeats < 1:
        raise InputError(f"--repeats {args.repeats}: give 1 or more repeats")
    size = args.test_size
    if size is not None and not (0 < size < 1 or size >= 1 and size.is_integer()):
        raise InputError(f"--test-size {args.test_size:g}: give a fraction between 0 and 1 or a whole case count")
    return {k: v for k, v in {"scheme": args.scheme, "n_splits": args.folds, "n_repeats": args.repeats,
                              "test_size": args.test_size, "split_file": args.split_file}.items() if v is not None}


def read_keep(path: Path | None) -> list[str] | None:
    """Read a kept-feature list (text, one per line; or CSV with a 'feature' column)."""
    if path is None:
        return None
    if not path.is_file():
        raise InputError(f"{path}: kept-feature list not found; check --keep")
    if path.suffix.lower() == ".csv":
        import pandas as pd

        df = pd.read_csv(path)
        if "feature" not in df.columns:
            raise InputError(f"{path}: a kept-feature CSV needs a 'feature' column; add one")
        if "kept" in df.columns:
            df = df[df["kept"].astype(bool)]
        names = [str(x) for x in df["feature"]]
    else:
        names = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        names = [n for n in names if n and not n.startswith("#")]
    if not names:
        raise InputError(f"{path}: the kept-feature list is empty; give one feature name per line")
    return names


def fmt_metrics(m: dict[str, Any]) -> str:
    """One line summary of metrics.json (CV: per-repeat means with corrected intervals, pooled beside)."""
    def f(k: str) -> str:
        v = m.get(k)
        return "n/a" if v is None else f"{v:.3f}"

    cv = "auc_pooled" in m or "c_index_pooled" in m
    if "auc" in m:
        if cv:
            return (f"AUC {f('auc')} (mean of {m.get('n_repeats', '?')} repeats; 95% CI {f('auc_ci_low')}–"
                    f"{f('auc_ci_high')}, corrected resampled t; pooled OOF AUC {f('auc_pooled')}), "
                    f"sensitivity {f('sensitivity')}, specificity {f('specificity')}, accuracy {f('accuracy')}, "
                    f"Brier {f('brier')}")
        return (f"AUC {f('auc')} (95% CI {f('auc_ci_low')}–{f('auc_ci_high')}, DeLong; bootstrap "
                f"{f('auc_boot_ci_low')}–{f('auc_boot_ci_high')}), sensitivity {f('sensitivity')}, "
                f"specificity {f('specificity')}, accuracy {f('accuracy')}, Brier {f('brier')}")
    how = "corrected resampled t; pooled " + f("c_index_pooled") if cv else "bootstrap"
    return (f"C-index {f('c_index')} (95% CI {f('c_index_ci_low')}–{f('c_index_ci_high')}, {how}), "
            f"td-AUC 6/12/24 m {f('td_auc_6')}/{f('td_auc_12')}/{f('td_auc_24')}, log-rank p {f('logrank_p')}")


def print_report_summary(headline: str, metrics: dict[str, Any], compare_name: str | None, out: Path) -> int:
    """Print the metrics line, the comparison test (when one was run) and where the report went."""
    print(f"{headline}: {fmt_metrics(metrics)}")
    if compare_name and "delong_vs_comparison" in metrics:
        d = metrics["delong_vs_comparison"]
        print(f"DeLong test vs {compare_name}: AUC {d['auc_1']:.3f} vs {d['auc_2']:.3f}, p = {d['p']:.3g}")
    if compare_name and "cv_test_vs_comparison" in metrics:
        d = metrics["cv_test_vs_comparison"]
        print(f"corrected resampled t-test vs {compare_name} on the same folds: {d['metric']} {d['value_1']:.3f} "
              f"vs {d['value_2']:.3f}, t = {d['t']:.2f} ({d['df']} df), p = {d['p']:.3g}")
    print(f"wrote {Path(out) / 'metrics.json'} and plots")
    return 0
