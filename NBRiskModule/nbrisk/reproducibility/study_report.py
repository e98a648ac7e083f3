"""Plots and the one-page HTML summary of a reader study (matplotlib without pyplot, jinja2).

Figures are drawn on ``matplotlib.figure.Figure`` objects (no global pyplot state, no GUI backend) and
saved as PNG; the HTML page embeds them as base64 so it is a single self-contained file.
"""

from __future__ import annotations

import base64
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from nbrisk.reproducibility.icc import CATEGORY_BOUNDS

_NAME_RE = re.compile(r"^(?P<image>[^_]+)_(?P<cls>[^_]+)_(?P<feat>.+)$")


def feature_group(name: str) -> tuple[str, str]:
    """Split a pyradiomics feature name into (image type family, feature class).

    ``wavelet-LLH_glcm_Contrast`` -> ``("wavelet", "glcm")``; ``log-sigma-1-0-mm-3D_firstorder_Mean`` ->
    ``("log", "firstorder")``; names that do not follow the pattern give ``("other", "other")``.
    """
    m = _NAME_RE.match(name)
    if not m:
        return "other", "other"
    image = m["image"].split("-")[0].lower()
    return image, m["cls"].lower()


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def plot_ranked_icc(icc_df: pd.DataFrame, form: str, threshold: float, path: Path, title: str = "") -> Path:
    """Plot every feature's ICC (sorted) with its 95 % interval and the filter threshold."""
    rows = icc_df[(icc_df["form"] == form) & icc_df["icc"].notna()].sort_values("icc").reset_index(drop=True)
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    x = np.arange(len(rows))
    ax.fill_between(
        x,
        rows["ci_low"].clip(lower=-1),
        rows["ci_high"],
        color="tab:blue",
        alpha=0.2,
        step="mid",
        label="95% CI",
    )
    ax.plot(x, rows["icc"], color="tab:blue", lw=1.2, label=form)
    ax.axhline(threshold, color="tab:red", ls="--", lw=1, label=f"threshold {threshold:g}")
    for bound, _ in CATEGORY_BOUNDS:
        ax.axhline(bound, color="grey", lw=0.5, ls=":")
    ax.set_xlabel("feature rank")
    ax.set_ylabel(form)
    ax.set_ylim(max(-1.0, float(np.nanmin(rows["icc"])) - 0.05) if len(rows) else -1.0, 1.02)
    ax.set_title(title or f"{form} per feature ({len(rows)} features)")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def plot_icc_histograms(icc_df: pd.DataFrame, form: str, path: Path) -> Path:
    """Plot ICC histograms per feature class (left) and per image type (right)."""
    rows = icc_df[(icc_df["form"] == form) & icc_df["icc"].notna()].copy()
    groups = rows["feature"].map(feature_group)
    rows["image_type"] = [g[0] for g in groups]
    rows["feature_class"] = [g[1] for g in groups]
    fig = Figure(figsize=(10, 3.8))
    bins = np.linspace(min(-0.2, float(rows["icc"].min()) if len(rows) else 0.0), 1.0, 25)
    for ax, col, label in zip(
        fig.subplots(1, 2), ("feature_class", "image_type"), ("feature class", "image type"), strict=True
    ):
        for name, sub in rows.groupby(col):
            ax.hist(
                sub["icc"].clip(lower=bins[0]),
                bins=bins,
                histtype="step",
                lw=1.4,
                label=f"{name} ({len(sub)})",
            )
        ax.set_xlabel(form)
        ax.set_ylabel("features")
        ax.set_title(f"by {label}")
        ax.legend(fontsize=7)
    return _save(fig, path)


def plot_bland_altman(a: pd.Series, b: pd.Series, feature: str, labels: tuple[str, str], path: Path) -> Path:
    """Bland-Altman plot of one feature between two raters (paired by the series index: case ids)."""
    pair = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    mean, diff = (pair["a"] + pair["b"]) / 2, pair["b"] - pair["a"]
    bias, sd = float(diff.mean()), float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.scatter(mean, diff, s=18, color="tab:blue")
    ax.axhline(bias, color="k", lw=1, label=f"bias {bias:.4g}")
    for s in (-1.96, 1.96):
        ax.axhline(bias + s * sd, color="tab:red", ls="--", lw=1)
    ax.set_xlabel(f"mean of {labels[0]} and {labels[1]}")
    ax.set_ylabel(f"{labels[1]} - {labels[0]}")
    ax.set_title(
        f"Bland-Altman: {feature}\n(limits of agreement {bias - 1.96 * sd:.4g} to {bias + 1.96 * sd:.4g})",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    return _save(fig, path)


def _embed(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_summary(context: dict, path: Path) -> Path:
    """Render ``templates/study_summary.html.j2`` with ``context``; PNG paths under ``plots`` are embedded."""
    import jinja2

    text = resources.files("nbrisk.prediction").joinpath("templates/study_summary.html.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["embed"] = _embed
    env.filters["fmt"] = lambda v, spec=".3f": (
        "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)
    )
    path.write_text(env.from_string(text).render(**context), encoding="utf-8")
    return path
