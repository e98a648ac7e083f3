"""Is an automatic segmentation as good as a second reader? (seed 002's question)

For every case with at least two reader masks and a model mask:

- model vs each reader (the reader is the reference, the model the test);
- reader vs reader, every ordered pair (each reader once the reference, so the asymmetric metrics, FPRm
  and the volume difference, are averaged over both directions);
- model vs the readers' consensus: STAPLE (SimpleITK's ``STAPLEImageFilter``, probability >= 0.5) or a
  majority vote (more than half of the readers).

Metrics come from :func:`nbrisk.reproducibility.agreement.compare_masks`: Dice, Jaccard, HD95, mean
surface distance (MSD), FPRm and the absolute volume difference in percent of the reference.

Per case, ``model`` is the mean of the model-vs-reader values and ``inter`` the mean of the reader-vs-reader
values; the paired difference ``model - inter`` is summarised by its mean with a 95% percentile bootstrap
interval over cases (``n_boot`` resamples, fixed seed). The model is *within inter-observer variability*
for a metric when the whole interval stays on the good side of ``-margin`` (higher-is-better metrics) or
``+margin`` (lower-is-better): a non-inferiority test with the stated margin. The plain verdict uses the
primary metric (Dice by default); the other metrics are reported the same way.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from nbrisk.errors import InputError
from nbrisk.io.images import read_mask
from nbrisk.reproducibility.agreement import compare_masks

# metric -> (column of compare_masks, higher is better, default non-inferiority margin, unit)
METRICS: dict[str, tuple[str, bool, float, str]] = {
    "dice": ("dice", True, 0.05, ""),
    "jaccard": ("jaccard", True, 0.05, ""),
    "hd95_mm": ("hd95_mm", False, 2.0, "mm"),
    "msd_mm": ("msd_mm", False, 0.5, "mm"),
    "fpr_m": ("fpr_m", False, 0.05, ""),
    "abs_volume_diff_pct": ("volume_diff_pct", False, 10.0, "%"),
}
Progress = Callable[[float, str], None] | None


@dataclass(frozen=True)
class Comparison:
    per_case: pd.DataFrame  # long: case_id, comparison, kind, reference, test, metrics, volumes
    paired: pd.DataFrame  # case_id, metric, model, inter, diff
    summary: pd.DataFrame  # metric, margin, mean model, mean inter, mean diff, CI, within
    pooled: pd.DataFrame  # comparison kind x metric: mean, sd, median
    verdict: dict


def consensus_mask(masks: Sequence[sitk.Image], method: str = "staple") -> sitk.Image:
    """STAPLE (probability >= 0.5) or majority (> half of the readers) of binary masks on one grid."""
    bins = [sitk.Cast(m != 0, sitk.sitkUInt8) for m in masks]
    if method == "majority":
        total = np.sum([sitk.GetArrayFromImage(b).astype(np.int32) for b in bins], axis=0)
        arr = (2 * total > len(bins)).astype(np.uint8)
    elif method == "staple":
        prob = sitk.STAPLE(bins, 1.0)
        arr = (sitk.GetArrayFromImage(prob) >= 0.5).astype(np.uint8)
    else:
        raise InputError(f"consensus {method!r} unknown; use staple or majority")
    out = sitk.GetImageFromArray(arr)
    out.CopyInformation(bins[0])
    return out


def _row(case: str, comparison: str, kind: str, ref: str, test: str, m: Mapping[str, float]) -> dict:
    r: dict[str, str | float] = {"case_id": case, "comparison": comparison, "kind": kind, "reference": ref,
                                 "test": test}
    r.update({k: float(m[col]) for k, (col, _, _, _) in METRICS.items()})
    r["abs_volume_diff_pct"] = abs(float(m["volume_diff_pct"]))
    r["volume_ref_ml"], r["volume_test_ml"] = float(m["volume_ref_ml"]), float(m["volume_test_ml"])
    return r


def compare_cases(readers: Mapping[str, Mapping[str, sitk.Image | Path]],
                  model: Mapping[str, sitk.Image | Path], *, consensus: str = "staple",
                  model_name: str = "model", progress: Progress = None) -> pd.DataFrame:
    """Per-case metrics of every comparison (see the module docstring).

    ``readers``: ``{reader: {case_id: mask}}``; ``model``: ``{case_id: mask}``. Cases need the model and at
    least two readers; others are skipped. Masks are images or paths (read with ``read_mask``).
    """
    def load(m, ref=None, ref_path=None):
        if isinstance(m, sitk.Image):
            return m
        return read_mask(Path(m), ref, reference_path=ref_path).image

    cases = sorted(c for c in model if sum(c in readers[r] for r in readers) >= 2)
    if not cases:
        raise InputError("no case has both the model's mask and at least two readers' masks; check that the "
                         "case_id values of the model and reader manifests match")
    rows = []
    for i, case in enumerate(cases):
        if progress:
            progress(i / len(cases), f"case {i + 1}/{len(cases)} {case}")
        names = sorted(r for r in readers if case in readers[r])
        first = readers[names[0]][case]
        ref_img = load(first)
        ref_path = None if isinstance(first, sitk.Image) else Path(first)
        rmasks = {r: (ref_img if r == names[0] else load(readers[r][case], ref_img, ref_path)) for r in names}
        mmask = load(model[case], ref_img, ref_path)
        for r in names:
            rows.append(_row(case, f"{model_name} vs {r}", "model_vs_reader", r, model_name,
                             compare_masks(rmasks[r], mmask)))
        for a, b in itertools.permutations(names, 2):
            rows.append(_row(case, f"{b} vs {a}", "reader_vs_reader", a, b, compare_masks(rmasks[a], rmasks[b])))
        cons = consensus_mask([rmasks[r] for r in names], consensus)
        if np.any(sitk.GetArrayViewFromImage(cons)):
            rows.append(_row(case, f"{model_name} vs {consensus}", "model_vs_consensus", consensus, model_name,
                             compare_masks(cons, mmask)))
            for r in names:
                rows.append(_row(case, f"{r} vs {consensus}", "reader_vs_consensus", consensus, r,
                                 compare_masks(cons, rmasks[r])))
    if progress:
        progress(1.0, f"case {len(cases)}/{len(cases)} compared")
    return pd.DataFrame(rows)


def bootstrap_ci(diff: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``diff`` (NaNs dropped)."""
    d = diff[np.isfinite(diff)]
    if d.size == 0:
        return math.nan, math.nan
    if d.size == 1:
        return float(d[0]), float(d[0])
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, (n_boot, d.size))].mean(axis=1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def summarise(per_case: pd.DataFrame, *, margins: Mapping[str, float] | None = None, primary: str = "dice",
              n_boot: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Paired differences, their intervals, pooled tables and the verdict (see the module docstring)."""
    if primary not in METRICS:
        raise InputError(f"primary metric {primary!r} unknown; use one of {', '.join(METRICS)}")
    margins = {k: float(v[2]) for k, v in METRICS.items()} | dict(margins or {})
    mvr = per_case[per_case["kind"] == "model_vs_reader"]
    rvr = per_case[per_case["kind"] == "reader_vs_reader"]
    paired_rows, summary_rows = [], []
    for metric, (_, higher, _, unit) in METRICS.items():
        model = mvr.groupby("case_id")[metric].mean()
        inter = rvr.groupby("case_id")[metric].mean()
        both = pd.concat([model.rename("model"), inter.rename("inter")], axis=1, join="inner")
        both["diff"] = both["model"] - both["inter"]
        for case, r in both.iterrows():
            paired_rows.append({"case_id": case, "metric": metric, "model": r["model"], "inter": r["inter"],
                                "diff": r["diff"]})
        lo, hi = bootstrap_ci(both["diff"].to_numpy(float), n_boot, seed)
        margin = margins[metric]
        within = bool(lo > -margin) if higher else bool(hi < margin)
        if math.isnan(lo):
            within = False
        summary_rows.append({
            "metric": metric, "unit": unit, "better": "higher" if higher else "lower",
            "n_cases": int(both["diff"].notna().sum()),
            "model_mean": float(both["model"].mean()), "inter_reader_mean": float(both["inter"].mean()),
            "diff_mean": float(both["diff"].mean()), "ci_low": lo, "ci_high": hi, "margin": margin,
            "within_inter_observer": within})
    summary = pd.DataFrame(summary_rows)
    paired = pd.DataFrame(paired_rows)
    pooled = (per_case.groupby("kind")[list(METRICS)].agg(["mean", "std", "median"]))
    pooled.columns = [f"{m}_{s}" for m, s in pooled.columns]
    pooled = pooled.reset_index()
    p = summary.set_index("metric").loc[primary]
    sign = "-" if p["better"] == "higher" else "+"
    unit = f" {p['unit']}" if p["unit"] else ""
    if p["within_inter_observer"]:
        word = "within inter-observer variability"
    else:
        word = "NOT shown to be within inter-observer variability"
    text = (f"The model is {word} on {primary}: model minus inter-reader = {p['diff_mean']:+.3f}{unit} "
            f"(95% CI {p['ci_low']:+.3f} to {p['ci_high']:+.3f}, {int(p['n_cases'])} cases; "
            f"non-inferiority margin {sign}{p['margin']:g}{unit}).")
    verdict = {"primary": primary, "within_inter_observer": bool(p["within_inter_observer"]), "text": text,
               "margin": float(p["margin"]), "diff_mean": float(p["diff_mean"]), "ci": [p["ci_low"], p["ci_high"]],
               "per_metric": {r["metric"]: bool(r["within_inter_observer"]) for r in summary_rows},
               "bootstrap": {"resamples": n_boot, "seed": seed, "interval": "95% percentile, paired over cases"}}
    return paired, summary, pooled, verdict


def compare_model_to_readers(readers, model, *, consensus: str = "staple", margins=None, primary: str = "dice",
                             n_boot: int = 2000, seed: int = 0, model_name: str = "model",
                             progress: Progress = None) -> Comparison:
    per_case = compare_cases(readers, model, consensus=consensus, model_name=model_name, progress=progress)
    paired, summary, pooled, verdict = summarise(per_case, margins=margins, primary=primary, n_boot=n_boot, seed=seed)
    verdict["consensus"] = consensus
    return Comparison(per_case, paired, summary, pooled, verdict)


# ------------------------------------------------------------------------------------------------ plots
def plot_dice_scatter(per_case: pd.DataFrame, path: Path) -> Path:
    """Per case: Dice of model vs reader (y, mean over readers) against reader vs reader (x)."""
    from matplotlib.figure import Figure

    mvr = per_case[per_case["kind"] == "model_vs_reader"].groupby("case_id")["dice"]
    rvr = per_case[per_case["kind"] == "reader_vs_reader"].groupby("case_id")["dice"].mean()
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    lo = float(min(mvr.min().min(), rvr.min(), 0.8)) - 0.02
    ax.plot([lo, 1], [lo, 1], color="0.6", lw=1, label="model = inter-reader")
    y = mvr.mean().reindex(rvr.index)
    ax.errorbar(rvr, y, yerr=[y - mvr.min().reindex(rvr.index), mvr.max().reindex(rvr.index) - y], fmt="o",
                ms=4, color="tab:blue", ecolor="tab:blue", elinewidth=0.8, capsize=2,
                label="case (bar: range over readers)")
    ax.set_xlim(lo, 1)
    ax.set_ylim(lo, 1)
    ax.set_xlabel("Dice reader vs reader")
    ax.set_ylabel("Dice model vs reader")
    ax.set_title("Per-case Dice: model vs readers against inter-reader", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def plot_volume_bland_altman(per_case: pd.DataFrame, path: Path) -> Path:
    """Bland-Altman of tumour volumes: model minus each reader, and reader minus reader (one direction)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    sel = {"model_vs_reader": ("model - reader", "tab:blue"), "reader_vs_reader": ("reader - reader", "tab:orange")}
    for kind, (label, colour) in sel.items():
        g = per_case[per_case["kind"] == kind]
        if kind == "reader_vs_reader":
            g = g[g["reference"] < g["test"]]  # one direction per pair
        mean = (g["volume_ref_ml"] + g["volume_test_ml"]) / 2
        diff = g["volume_test_ml"] - g["volume_ref_ml"]
        if diff.empty:
            continue
        bias, sd = float(diff.mean()), float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
        ax.scatter(mean, diff, s=16, color=colour,
                   label=f"{label}: bias {bias:+.2f} ml, LoA {bias - 1.96 * sd:+.2f} to {bias + 1.96 * sd:+.2f}")
        ax.axhline(bias, color=colour, lw=1)
        for s in (-1.96, 1.96):
            ax.axhline(bias + s * sd, color=colour, ls="--", lw=0.8)
    ax.set_xlabel("mean volume (ml)")
    ax.set_ylabel("difference (ml)")
    ax.set_title("Bland-Altman of tumour volumes", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def write_outputs(res: Comparison, out_dir: str | Path) -> dict[str, Path]:
    """CSV tables, verdict JSON and the two plots into ``out_dir`` (created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "per_case": out / "model_vs_readers_per_case.csv",
        "paired": out / "model_vs_readers_paired.csv",
        "summary": out / "model_vs_readers_summary.csv",
        "pooled": out / "model_vs_readers_pooled.csv",
        "verdict": out / "model_vs_readers_verdict.json",
    }
    res.per_case.to_csv(files["per_case"], index=False, float_format="%.6g")
    res.paired.to_csv(files["paired"], index=False, float_format="%.6g")
    res.summary.to_csv(files["summary"], index=False, float_format="%.6g")
    res.pooled.to_csv(files["pooled"], index=False, float_format="%.6g")
    files["verdict"].write_text(json.dumps(res.verdict, indent=2, default=float) + "\n", encoding="utf-8")
    files["dice_plot"] = plot_dice_scatter(res.per_case, out / "plots" / "model_vs_readers_dice.png")
    files["volume_plot"] = plot_volume_bland_altman(res.per_case, out / "plots" / "model_vs_readers_volume_ba.png")
    return files


def read_mask_manifest(path: str | Path, *, need_reader: bool) -> list[dict[str, str]]:
    """Rows of a ``case_id,[reader,]mask`` CSV with paths made absolute (relative to the CSV)."""
    import csv

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: manifest not found; check the path")
    with open(p, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    need = {"case_id", "mask"} | ({"reader"} if need_reader else set())
    if not rows or not need <= set(rows[0]):
        raise InputError(f"{p}: manifest needs the columns {','.join(sorted(need))} (paths relative to it)")
    for r in rows:
        r["mask"] = str((p.parent / r["mask"]).resolve())
    return rows
