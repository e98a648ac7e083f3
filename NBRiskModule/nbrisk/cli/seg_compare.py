"""``nbrisk seg-compare``: agreement metrics between a reference and a test segmentation (or a cohort)."""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np

from nbrisk.errors import InputError, NBRiskError
from nbrisk.reproducibility.agreement import compare_mask_files, read_pairs_manifest

COMMAND = "seg-compare"
HELP = ("Dice, Jaccard, volume difference, Hausdorff (max/95%), mean surface distance, FPRm, FNR of two masks; "
        "with --readers and --model-masks: is a model as good as a second reader?")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference", type=Path,
                   help="reference (manual) mask: label map, .seg.nrrd or DICOM SEG")
    p.add_argument("--test", type=Path, help="test (automatic/semiautomatic) mask on the same grid")
    p.add_argument("--label", type=int, default=None,
                   help="label value of the ROI in the reference (and test)")
    p.add_argument("--test-label", type=int, default=None,
                   help="label value in the test mask (default: --label)")
    p.add_argument("--json", type=Path, default=None, help="also write the metrics of one pair as JSON here")
    p.add_argument("--manifest", type=Path, default=None,
                   help="CSV with case_id,reference,test[,label] (paths relative to the CSV) for a cohort")
    p.add_argument("--out", type=Path, default=None, help="with --manifest: output CSV (default: print CSV)")
    mv = p.add_argument_group("model vs readers (seed 002)")
    mv.add_argument("--readers", type=Path, default=None,
                    help="CSV case_id,reader,mask (paths relative to it): two or more readers per case")
    mv.add_argument("--model-masks", type=Path, default=None,
                    help="CSV case_id,mask of the model's segmentations (e.g. the manifest.csv of "
                         "nbrisk autoseg --manifest)")
    mv.add_argument("--out-dir", type=Path, default=None, help="folder for the tables, verdict and plots")
    mv.add_argument("--consensus", choices=("staple", "majority"), default="staple",
                    help="readers' consensus for model vs consensus (default STAPLE)")
    mv.add_argument("--margin", type=float, default=None,
                    help="non-inferiority margin for the primary metric (default: Dice 0.05)")
    mv.add_argument("--primary", default="dice",
                    help="metric of the plain verdict: dice, jaccard, hd95_mm, msd_mm, fpr_m, abs_volume_diff_pct")


def _fmt(v: float) -> str:
    return "" if math.isnan(v) else f"{v:.6g}"


def run(args: argparse.Namespace) -> int:
    if args.readers is not None or args.model_masks is not None:
        return _run_model_vs_readers(args)
    if args.manifest is not None:
        return _run_manifest(args)
    if args.reference is None or args.test is None:
        raise InputError("give --reference and --test (or --manifest pairs.csv for a cohort)")
    metrics = compare_mask_files(args.reference, args.test, args.label, args.test_label)
    if args.json is not None:
        from nbrisk.io.images import atomic_path

        payload = {"reference": str(args.reference), "test": str(args.test),
                   **{k: (None if math.isnan(v) else v) for k, v in metrics.items()}}
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    for k, v in metrics.items():
        print(f"{k}\t{_fmt(v) or 'nan'}")
    return 0


def _run_manifest(args: argparse.Namespace) -> int:
    from nbrisk.io.images import atomic_path
    from nbrisk.reproducibility.agreement import METRICS

    rows = read_pairs_manifest(args.manifest)
    base = args.manifest.parent
    results, failed = [], 0
    for row in rows:
        label = int(row["label"]) if row.get("label") else args.label
        out: dict[str, str] = {"case_id": row["case_id"]}
        try:
            m = compare_mask_files(base / row["reference"], base / row["test"], label, args.test_label)
            out.update({k: _fmt(m[k]) for k in METRICS})
            out["error"] = ""
        except NBRiskError as exc:
            failed += 1
            out.update(dict.fromkeys(METRICS, ""))
            out["error"] = str(exc)
        results.append(out)
    fields = ["case_id", *METRICS, "error"]
    if args.out is not None:
        with atomic_path(args.out) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            w.writerows(results)
        dice = [float(r["dice"]) for r in results if r["dice"]]
        print(f"{len(results)} pairs, {failed} failed; mean Dice {np.mean(dice):.3f}" if dice else
              f"{len(results)} pairs, {failed} failed")
    else:
        import sys

        w = csv.DictWriter(sys.stdout, fieldnames=fields)
        w.writeheader()
        w.writerows(results)
    return 1 if failed else 0


def _run_model_vs_readers(args: argparse.Namespace) -> int:
    import sys

    from nbrisk.reproducibility.model_vs_readers import (
        METRICS,
        compare_model_to_readers,
        read_mask_manifest,
        write_outputs,
    )

    if args.readers is None or args.model_masks is None or args.out_dir is None:
        raise InputError("model vs readers needs --readers readers.csv, --model-masks model.csv and --out-dir DIR")
    if args.primary not in METRICS:
        raise InputError(f"--primary {args.primary}: use one of {', '.join(METRICS)}")
    if args.margin is not None and args.margin <= 0:
        raise InputError(f"--margin {args.margin}: give a positive margin")
    readers: dict[str, dict[str, str]] = {}
    for r in read_mask_manifest(args.readers, need_reader=True):
        readers.setdefault(r["reader"], {})[r["case_id"]] = r["mask"]
    if len(readers) < 2:
        raise InputError(f"{args.readers}: needs masks of at least two readers (column reader)")
    model = {r["case_id"]: r["mask"] for r in read_mask_manifest(args.model_masks, need_reader=False)}
    last = [-1]

    def progress(f: float, msg: str) -> None:
        if not args.quiet and int(f * 10) != last[0]:
            last[0] = int(f * 10)
            print(f"seg-compare: {msg}", file=sys.stderr, flush=True)

    margins = {args.primary: args.margin} if args.margin is not None else None
    res = compare_model_to_readers(readers, model, consensus=args.consensus, margins=margins,
                                   primary=args.primary, progress=progress)
    files = write_outputs(res, args.out_dir)
    for _, r in res.summary.iterrows():
        print(f"{r['metric']}\tmodel {r['model_mean']:.4g}\tinter-reader {r['inter_reader_mean']:.4g}\t"
              f"diff {r['diff_mean']:+.4g} [{r['ci_low']:+.4g}, {r['ci_high']:+.4g}]\tmargin {r['margin']:g}\t"
              f"{'within' if r['within_inter_observer'] else 'not within'}")
    print(res.verdict["text"])
    print(f"tables, verdict and plots in {args.out_dir} ({files['summary'].name}, plots/)")
    return 0
