"""Analyse an imported reader study: segmentation agreement, features per rater, ICC, kept features.

A *rater* is one pass of one reader (``R1_pass1``). Inter-observer ICC compares the first pass of every
reader; intra-observer ICC compares the passes of one reader; with a single reader and a single pass
the ROI-perturbation pseudo-readers of :mod:`nbrisk.reproducibility.perturb` give a reproducibility ICC instead.
``kept.txt`` holds the features that reach the threshold in every ICC analysis that was possible.
All outputs are written into a temporary folder that is renamed to ``out_dir`` at the end.
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from nbrisk import __version__
from nbrisk.errors import InputError
from nbrisk.io.outputs import staging_dir
from nbrisk.reproducibility.icc import (
    CATEGORIES,
    DEFAULT_FORM,
    IccResult,
    category_counts,
    compute_icc,
    kept_features,
    normalize_form,
)
from nbrisk.io.images import read_mask
from nbrisk.reproducibility.perturb import DEFAULT_PERTURBATIONS, write_pseudo_readers
from nbrisk.reproducibility.study import Study
from nbrisk.reproducibility.study_report import plot_bland_altman, plot_icc_histograms, plot_ranked_icc, render_summary
from nbrisk.reproducibility.agreement import METRICS, compare_masks
from nbrisk.reproducibility.model_vs_readers import compare_model_to_readers, write_outputs
from nbrisk.features.cohort import extract_manifest
from nbrisk.features.presets import load_preset

logger = logging.getLogger(__name__)
Progress = Callable[[float, str], None] | None


@dataclass(frozen=True)
class AnalysisResult:
    """What ``analyze_study`` wrote: ICC results per analysis, the kept list and the agreement table."""

    out_dir: Path
    icc: dict[str, IccResult]
    kept: list[str]
    agreement: pd.DataFrame
    features: dict[str, pd.DataFrame]


def rater_masks(study: Study) -> dict[str, dict[str, Path]]:
    """Return ``{rater: {case_id: mask path}}`` for every imported mask (rater = ``<reader>_pass<N>``)."""
    out: dict[str, dict[str, Path]] = {}
    for code, row in sorted(
        study.key.items(), key=lambda kv: (kv[1]["reader"], kv[1]["pass"], kv[1]["case_id"])
    ):
        path = study.mask_path(code)
        if path.is_file():
            out.setdefault(f"{row['reader']}_pass{row['pass']}", {})[row["case_id"]] = path
    return out


def case_images(study: Study) -> dict[str, str]:
    """Return ``{case_id: code}`` of one exported copy of each case's image."""
    out: dict[str, str] = {}
    for code, row in study.key.items():
        out.setdefault(row["case_id"], code)
    return out


def segmentation_agreement(masks: dict[str, dict[str, Path]], progress: Progress = None) -> pd.DataFrame:
    """Compare every inter-observer pair (same pass, two readers) and intra pair (one reader, two passes)."""
    rows = []
    pairs = [(a, b) for a, b in itertools.combinations(sorted(masks), 2) if _pair_kind(a, b)]
    for i, (a, b) in enumerate(pairs):
        if progress:
            progress(i / max(len(pairs), 1), f"comparing {a} with {b}")
        for case in sorted(set(masks[a]) & set(masks[b])):
            ref, test = read_mask(masks[a][case]).image, read_mask(masks[b][case]).image
            rows.append(
                {
                    "case_id": case,
                    "rater_a": a,
                    "rater_b": b,
                    "kind": _pair_kind(a, b),
                    **compare_masks(ref, test),
                }
            )
    return pd.DataFrame(rows, columns=["case_id", "rater_a", "rater_b", "kind", *METRICS])


def _pair_kind(a: str, b: str) -> str | None:
    (ra, pa), (rb, pb) = a.rsplit("_pass", 1), b.rsplit("_pass", 1)
    if ra != rb and pa == pb:
        return "inter"
    return "intra" if ra == rb else None


def _extract(
    rows: list[dict], preset: object, jobs: int, workdir: Path, name: str, errors: list[str]
) -> pd.DataFrame:
    """Run the cohort extractor on manifest rows; failures go to ``errors`` and leave the table."""
    manifest = workdir / f"{name}.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    res = extract_manifest(manifest, preset, workdir / f"{name}_features.csv", jobs=jobs)  # type: ignore[arg-type]
    if not res.ok:
        for row in pd.read_csv(res.errors_csv, dtype=str).to_dict("records"):
            errors.append(f"{name} {row.get('case_id')} {row.get('reader', '')}: {row.get('message', row)}")
            logger.warning("feature extraction failed for %s", errors[-1])
    return pd.read_csv(res.out_csv, dtype={"case_id": str, "reader": str})


def rater_features(
    study: Study,
    masks: dict[str, dict[str, Path]],
    preset: object,
    jobs: int = 1,
    progress: Progress = None,
    errors: list[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Extract features for each rater's masks with the cohort extractor; return ``{rater: table}``.

    Cases whose extraction fails are left out of that rater's table and described in ``errors``.
    """
    images = case_images(study)
    errors = errors if errors is not None else []
    out = {}
    with tempfile.TemporaryDirectory(prefix="nbrisk-study-") as tmp:
        for i, (rater, cases) in enumerate(masks.items()):
            if progress:
                progress(i / len(masks), f"extracting features of {rater}")
            rows = [
                {
                    "case_id": case,
                    "image": str(study.image_path(images[case]).resolve()),
                    "mask": str(mask.resolve()),
                }
                for case, mask in cases.items()
            ]
            out[rater] = _extract(rows, preset, jobs, Path(tmp), rater, errors)
    return out


def _icc_plan(masks: dict[str, dict[str, Path]]) -> dict[str, list[str]]:
    readers = sorted({r.rsplit("_pass", 1)[0] for r in masks})
    plan = {}
    first = [f"{r}_pass1" for r in readers if f"{r}_pass1" in masks]
    if len(first) >= 2:
        plan["inter"] = first
    for r in readers:
        passes = sorted(m for m in masks if m.rsplit("_pass", 1)[0] == r)
        if len(passes) >= 2:
            plan[f"intra_{r}"] = passes
    return plan


def analyze_study(
    study_dir: str | Path,
    preset: object,
    out_dir: str | Path,
    *,
    threshold: float = 0.75,
    form: str = DEFAULT_FORM,
    jobs: int = 1,
    bland_altman_feature: str | None = None,
    perturbations: Sequence[str] = DEFAULT_PERTURBATIONS,
    progress: Progress = None,
    model_masks: Mapping[str, Path] | None = None,
    consensus: str = "staple",
) -> AnalysisResult:
    """Analyse an imported study into ``out_dir`` (which must not exist yet or be empty).

    With ``model_masks`` (``{case_id: mask path}``, an automatic segmentation of the study's cases) the
    report gains "Model vs readers" (:mod:`nbrisk.reproducibility.model_vs_readers`, first pass of every
    reader) and ``model_vs_readers/`` holds its tables, verdict and plots.
    """
    study, out_dir, form = Study.open(study_dir), Path(out_dir), normalize_form(form)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(f"{out_dir}: exists and is not empty; choose a new results folder")
    preset_obj = load_preset(preset)  # type: ignore[arg-type]
    masks = rater_masks(study)
    if not masks:
        raise InputError(f"{study.root}: no segmentation imported yet; run nbrisk study import first")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(out_dir)
    try:
        agreement = segmentation_agreement(masks, progress)
        agreement.to_csv(tmp / "segmentation_agreement.csv", index=False, float_format="%.10g")
        errors: list[str] = []
        features = rater_features(study, masks, preset_obj, jobs, progress, errors)
        (tmp / "features").mkdir()
        for rater, table in features.items():
            table.to_csv(tmp / "features" / f"{rater}.csv", index=False, float_format="%.10g")
        results = {
            name: compute_icc({r: features[r] for r in raters}) for name, raters in _icc_plan(masks).items()
        }
        if not results:
            results["perturbation"] = _perturbation_icc(
                study, masks, preset_obj, perturbations, tmp, jobs, errors
            )
        kept = _write_icc_outputs(tmp, results, threshold, form)
        model_section = _model_section(masks, model_masks, consensus, tmp) if model_masks else None
        _write_report(
            tmp,
            study,
            masks,
            agreement,
            features,
            results,
            kept,
            preset_obj,
            threshold,
            form,
            bland_altman_feature,
            errors,
            model_section,
        )
        if out_dir.exists():
            out_dir.rmdir()
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return AnalysisResult(out_dir, results, kept, agreement, features)


def _perturbation_icc(
    study: Study,
    masks: dict[str, dict[str, Path]],
    preset: object,
    perturbations: Sequence[str],
    out: Path,
    jobs: int,
    errors: list[str],
) -> IccResult:
    rater = next(iter(masks))
    images = case_images(study)
    cases = [(case, study.image_path(images[case]), path) for case, path in masks[rater].items()]
    with tempfile.TemporaryDirectory(prefix="nbrisk-perturb-") as tmp:
        manifest = write_pseudo_readers(cases, tmp, perturbations)
        table = _extract(
            pd.read_csv(manifest, dtype=str).to_dict("records"),
            preset,
            jobs,
            Path(tmp),
            f"{rater}_perturbations",
            errors,
        )
    table.to_csv(out / "features" / f"{rater}_perturbations.csv", index=False, float_format="%.10g")
    return compute_icc(table)


def _write_icc_outputs(tmp: Path, results: dict[str, IccResult], threshold: float, form: str) -> list[str]:
    kept_sets = []
    for name, res in results.items():
        res.table.to_csv(tmp / f"icc_{name}.csv", index=False, float_format="%.10g")
        kept = kept_features(res.table, threshold, form)
        (tmp / f"kept_{name}.txt").write_text("".join(f"{f}\n" for f in kept), encoding="utf-8")
        kept_sets.append(set(kept))
    order = next(iter(results.values())).table["feature"].drop_duplicates().tolist()
    kept_all = [f for f in order if all(f in s for s in kept_sets)]
    (tmp / "kept.txt").write_text("".join(f"{f}\n" for f in kept_all), encoding="utf-8")
    return kept_all


def _agreement_rows(agreement: pd.DataFrame) -> list[dict]:
    rows = []
    for (a, b, kind), g in agreement.groupby(["rater_a", "rater_b", "kind"], sort=True):
        rows.append(
            {
                "pair": f"{a} vs {b}",
                "kind": kind,
                "n": len(g),
                "dice_mean": g["dice"].mean(),
                "dice_sd": g["dice"].std(ddof=1) if len(g) > 1 else float("nan"),
                "dice_median": g["dice"].median(),
                "hd95_median": g["hd95_mm"].median(),
                "voldiff_mean": g["volume_diff_pct"].mean(),
            }
        )
    return rows


def _write_report(
    tmp: Path,
    study: Study,
    masks: dict[str, dict[str, Path]],
    agreement: pd.DataFrame,
    features: dict[str, pd.DataFrame],
    results: dict[str, IccResult],
    kept: list[str],
    preset: object,
    threshold: float,
    form: str,
    ba_feature: str | None,
    errors: list[str],
    model_section: dict | None = None,
) -> None:
    plots, analyses = tmp / "plots", []
    titles = {"inter": "inter-observer", "perturbation": "one reader, ROI perturbation pseudo-readers"}
    for name, res in results.items():
        figs = [
            plot_ranked_icc(res.table, form, threshold, plots / f"icc_ranked_{name}.png"),
            plot_icc_histograms(res.table, form, plots / f"icc_hist_{name}.png"),
        ]
        feature = ba_feature or _default_ba_feature(res.table)
        if name != "perturbation" and feature is not None:
            a, b = res.readers[:2]
            if feature not in features[a].columns:
                raise InputError(f"--bland-altman {feature}: no such feature; pick one from icc_{name}.csv")
            figs.append(
                plot_bland_altman(
                    features[a].set_index("case_id")[feature],
                    features[b].set_index("case_id")[feature],
                    feature,
                    (a, b),
                    plots / f"bland_altman_{name}.png",
                )
            )
        analyses.append(
            {
                "title": titles.get(name, f"intra-observer, reader {name.removeprefix('intra_')}"),
                "n_cases": res.n_cases,
                "raters": res.readers,
                "n_features": res.table["feature"].nunique(),
                "kept": len(kept_features(res.table, threshold, form)),
                "dropped": res.dropped_cases,
                "constant": len(res.constant_features),
                "incomplete": len(res.incomplete_features),
                "counts": category_counts(res.table).to_dict(orient="index"),
                "plots": figs,
            }
        )
    expected = {f"{row['reader']}_pass{row['pass']}": 0 for row in study.key.values()}
    for row in study.key.values():
        expected[f"{row['reader']}_pass{row['pass']}"] += 1
    notes = []
    if "perturbation" in results:
        pseudo = ", ".join(results["perturbation"].readers)
        notes.append(f"Only one rater: reproducibility from ROI perturbation pseudo-readers ({pseudo}).")
    notes += [f"Feature extraction failed for {e}" for e in errors]
    context = {
        "n_cases": study.info["n_cases"],
        "readers": study.info["readers"],
        "repeats": study.info["repeats"],
        "preset_name": getattr(preset, "name", str(preset)),
        "preset_sha256": getattr(preset, "sha256", ""),
        "n_features": next(iter(results.values())).table["feature"].nunique(),
        "form": form,
        "threshold": threshold,
        "kept_count": len(kept),
        "analyses": analyses,
        "categories": CATEGORIES,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "nbrisk_version": __version__,
        "notes": notes,
        "agreement": _agreement_rows(agreement),
        "raters": [
            {"name": r, "imported": len(masks.get(r, {})), "expected": n} for r, n in expected.items()
        ],
        "model_comparison": model_section,
    }
    render_summary(context, tmp / "summary.html")
    report = {
        "preset": context["preset_name"],
        "preset_sha256": context["preset_sha256"],
        "form": form,
        "threshold": threshold,
        "kept": len(kept),
        "extraction_errors": errors,
        "analyses": {n: r.report() for n, r in results.items()},
    }
    (tmp / "icc_report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")


def _default_ba_feature(table: pd.DataFrame) -> str | None:
    names = table["feature"].drop_duplicates().tolist()
    for pref in ("original_shape_MeshVolume", "original_shape_VoxelVolume", "original_firstorder_Mean"):
        if pref in names:
            return pref
    return names[0] if names else None


def _model_section(masks: dict[str, dict[str, Path]], model_masks: Mapping[str, Path], consensus: str,
                   tmp: Path) -> dict:
    """Model vs readers (first pass of every reader): write ``model_vs_readers/``, return the report context."""
    first = {r.rsplit("_pass", 1)[0]: m for r, m in masks.items() if r.endswith("_pass1")}
    if len(first) < 2:
        raise InputError("model vs readers needs the first pass of at least two readers; import a second reader")
    res = compare_model_to_readers(first, {c: Path(p) for c, p in model_masks.items()}, consensus=consensus)
    files = write_outputs(res, tmp / "model_vs_readers")
    kinds = {"model_vs_reader": "model vs reader", "reader_vs_reader": "reader vs reader",
             "model_vs_consensus": f"model vs {consensus}", "reader_vs_consensus": f"reader vs {consensus}"}
    pooled = [{"kind": kinds.get(r["kind"], r["kind"]), **{k: r[k] for k in r.index if k != "kind"}}
              for _, r in res.pooled.iterrows()]
    return {"verdict": res.verdict["text"], "within": res.verdict["within_inter_observer"],
            "consensus": consensus, "n_cases": int(res.per_case["case_id"].nunique()),
            "summary": res.summary.to_dict(orient="records"), "pooled": pooled,
            "plots": [files["dice_plot"], files["volume_plot"]]}
