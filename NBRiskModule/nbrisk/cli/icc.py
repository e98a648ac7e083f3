"""``nbrisk icc``: ICC per feature from per-reader feature tables, and the kept-features list."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

COMMAND = "icc"
HELP = "intraclass correlation per feature between readers (feature CSVs keyed on case_id)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from nbrisk.reproducibility.icc import DEFAULT_FORM, FORMS

    p.add_argument(
        "--features",
        type=Path,
        nargs="+",
        required=True,
        metavar="CSV",
        help="one feature CSV per reader (case_id + feature columns), or one CSV with a 'reader' column",
    )
    p.add_argument("--readers", help="comma-separated reader names for the CSVs (default: file stems)")
    p.add_argument(
        "--out", type=Path, required=True, help="long ICC table: feature,form,icc,ci_low,ci_high,category"
    )
    p.add_argument(
        "--threshold", type=float, default=0.75, help="keep features with ICC >= this (default 0.75)"
    )
    p.add_argument(
        "--form",
        default=DEFAULT_FORM,
        help=f"ICC form used for the kept list (default {DEFAULT_FORM}; one of {', '.join(FORMS)})",
    )
    p.add_argument(
        "--bound",
        choices=("icc", "ci_low"),
        default="icc",
        help="compare the point estimate (default) or the lower 95%% bound with the threshold",
    )
    p.add_argument("--keep", type=Path, help="write the kept feature names here, one per line")
    p.add_argument(
        "--report", type=Path, help="write a JSON report (dropped cases, constant features, counts)"
    )
    p.add_argument(
        "--alpha", type=float, default=0.05, help="1 - confidence level of the intervals (default 0.05)"
    )


def run(args: argparse.Namespace) -> int:
    from nbrisk.reproducibility.icc import (
        category_counts,
        compute_icc,
        kept_features,
        normalize_form,
        read_feature_tables,
    )
    from nbrisk.io.images import atomic_path

    form = normalize_form(args.form)
    data, names = read_feature_tables(args.features, args.readers.split(",") if args.readers else None)
    result = compute_icc(data, names, alpha=args.alpha)
    kept = kept_features(result.table, args.threshold, form, bound=args.bound)
    with atomic_path(args.out) as tmp:
        result.table.to_csv(tmp, index=False, float_format="%.10g")
    if args.keep:
        with atomic_path(args.keep) as tmp:
            tmp.write_text("".join(f"{f}\n" for f in kept), encoding="utf-8")
    if args.report:
        with atomic_path(args.report) as tmp:
            report = {
                **result.report(),
                "form": form,
                "threshold": args.threshold,
                "bound": args.bound,
                "kept": len(kept),
            }
            tmp.write_text(json.dumps(report, indent=2), encoding="utf-8")
    n_feat = result.table["feature"].nunique()
    print(
        f"ICC of {n_feat} features over {result.n_cases} cases and {len(result.readers)} readers "
        f"({', '.join(result.readers)}) -> {args.out}"
    )
    counts = category_counts(result.table).loc[form]
    print(f"{form}: " + ", ".join(f"{c} {int(v)}" for c, v in counts.items() if v))
    print(
        f"kept {len(kept)} of {n_feat} features with {form} {args.bound} >= {args.threshold:g}"
        + (f" -> {args.keep}" if args.keep else "")
    )
    for case, why in result.dropped_cases.items():
        print(f"dropped case {case}: {why}")
    if result.constant_features:
        shown = ", ".join(result.constant_features[:5]) + (
            " ..." if len(result.constant_features) > 5 else ""
        )
        print(
            f"{len(result.constant_features)} constant feature(s) (category 'constant', never kept): {shown}"
        )
    if result.incomplete_features:
        print(
            f"{len(result.incomplete_features)} feature(s) with missing values used their complete cases only"
        )
    for col, why in result.skipped_columns.items():
        print(f"skipped column {col}: {why}")
    return 0
