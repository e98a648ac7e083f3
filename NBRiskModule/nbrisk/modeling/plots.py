"""Figures of a validation or evaluation run, each written as PNG and SVG (matplotlib, no pyplot state).

ROC (DeLong CI for a test set; the per-repeat mean and corrected CI for CV), calibration with
Hosmer–Lemeshow, decision curve, Kaplan–Meier by risk group with the log-rank p, time-dependent AUC, survival
calibration, and a nomogram drawn here (points per predictor, total points → 6/12/24-month PFS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from nbrisk.modeling import metrics as M


def save(fig: Figure, out_dir: Path, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` (metadata without dates, so reruns are byte-stable)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=120, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(paths[1], bbox_inches="tight", metadata={"Date": None, "Creator": None})
    return paths


def roc(y: Any, p: Any, out_dir: Path, title: str = "ROC", label: str | None = None) -> list[Path]:
    """ROC curve; the legend gives the DeLong CI (one test set) unless ``label`` says otherwise (CV)."""
    fpr, tpr, _ = M.roc_points(y, p)
    if label is None:
        auc, _, lo, hi = M.delong_auc(y, p)
        label = f"AUC {auc:.3f} (95% CI {lo:.3f}–{hi:.3f}, DeLong)"
    fig = Figure(figsize=(4.5, 4.5))
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, lw=2, label=label)
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
    ax.set(xlabel="1 − specificity", ylabel="sensitivity", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize=8)
    return save(fig, out_dir, "roc")


def calibration(y: Any, p: Any, out_dir: Path) -> list[Path]:
    cal = M.calibration(y, p)
    fig = Figure(figsize=(4.5, 4.5))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1, label="ideal")
    ax.plot(cal["mean_predicted"], cal["observed_rate"], "o-", label=f"model (HL p = {cal['hosmer_lemeshow_p']:.3f})")
    ax.set(xlabel="predicted probability", ylabel="observed frequency", title="Calibration", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=8)
    return save(fig, out_dir, "calibration")


def decision_curve(y: Any, p: Any, out_dir: Path) -> list[Path]:
    dc = M.decision_curve(y, p)
    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    ax.plot(dc["threshold"], dc["model"], lw=2, label="model")
    ax.plot(dc["threshold"], dc["treat_all"], lw=1, label="treat all")
    ax.plot(dc["threshold"], dc["treat_none"], lw=1, c="k", label="treat none")
    prev = float(np.mean(y))
    ax.set(xlabel="threshold probability", ylabel="net benefit", title="Decision curve",
           ylim=(min(-0.05, -prev * 0.2), prev + 0.05), xlim=(0, 1))
    ax.legend(fontsize=8)
    return save(fig, out_dir, "dca")


def kaplan_meier(y: np.ndarray, group: np.ndarray, p_value: float, out_dir: Path) -> list[Path]:
    from lifelines import KaplanMeierFitter

    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    for g, label in ((0, "low Radscore risk"), (1, "high Radscore risk")):
        sel = group == g
        if sel.any():
            KaplanMeierFitter(label=f"{label} (n={int(sel.sum())})").fit(
                y["time"][sel], y["event"][sel]).plot_survival_function(ax=ax, ci_show=True)
    ax.set(xlabel="months", ylabel="progression-free survival", title=f"Kaplan–Meier (log-rank p = {p_value:.3g})",
           ylim=(0, 1.02))
    return save(fig, out_dir, "km")


def td_auc(values: dict[str, float], out_dir: Path) -> list[Path]:
    fig = Figure(figsize=(4.5, 3.5))
    ax = fig.add_subplot()
    ts = [6, 12, 24]
    ax.plot(ts, [values.get(f"td_auc_{t}", np.nan) for t in ts], "o-")
    ax.axhline(0.5, ls="--", c="grey", lw=1)
    ax.set(xlabel="months", ylabel="time-dependent AUC", ylim=(0, 1), xticks=ts, title="Time-dependent AUC")
    return save(fig, out_dir, "td_auc")


def survival_calibration(summary: dict[str, Any], out_dir: Path) -> list[Path]:
    fig = Figure(figsize=(4.5, 4.5))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
    for t in (6, 12, 24):
        cal = summary.get(f"calibration_{t}")
        if cal:
            ax.plot(cal["predicted"], cal["observed"], "o-", label=f"{t} months")
    ax.set(xlabel="predicted PFS", ylabel="observed PFS (Kaplan–Meier)", xlim=(0, 1), ylim=(0, 1),
           title="Calibration at 6/12/24 months")
    ax.legend(fontsize=8)
    return save(fig, out_dir, "calibration")


def nomogram(nomo: dict[str, Any], out_dir: Path) -> list[Path]:
    """Draw the classic nomogram (see :func:`nomogram_figure`) and save it."""
    return save(nomogram_figure(nomo), out_dir, "nomogram")


def nomogram_figure(nomo: dict[str, Any]) -> Figure:
    """The classic nomogram: one points row, one row per predictor, total points, PFS rows.

    Tick labels that would overlap a neighbour on the rendered figure are left out (the tick stays), so
    every axis stays legible however the values crowd; end labels are kept first.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    axes = nomo["axes"]
    ranges = [max(a["contrib"]) - min(a["contrib"]) for a in axes]
    unit = max(max(ranges), 1e-12) / 100.0  # linear predictor per point
    lp_min = sum(min(a["contrib"]) for a in axes)
    max_total = sum(ranges) / unit
    rows = 1 + len(axes) + 1 + len(nomo["baseline_survival"])
    fig = Figure(figsize=(8, 0.6 * rows + 0.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xlim(-0.35, 1.05)
    ax.set_ylim(-rows, 1)
    ax.axis("off")
    row_labels: list[list[Any]] = []

    def row(y: float, label: str, xs: list[float], labels: list[str]) -> None:
        name = ax.text(-0.34, y, label if len(label) <= 22 else label[:21] + "…", va="center", fontsize=9)
        if xs:
            ax.plot([min(xs), max(xs)], [y, y], c="k", lw=1)
        texts = []
        for x, lab in zip(xs, labels, strict=True):
            ax.plot([x, x], [y, y + 0.12], c="k", lw=1)
            if lab:
                texts.append(ax.text(x, y + 0.18, lab, ha="center", fontsize=7))
        row_labels.append([name, *texts])

    pts = np.linspace(0, 100, 11)
    row(0, "Points", list(pts / 100), [f"{p:.0f}" for p in pts])
    for i, a in enumerate(axes):
        lo = min(a["contrib"])
        xs = [(c - lo) / unit / 100 for c in a["contrib"]]
        row(-(i + 1), a["name"], xs, list(a["values"]))
    ytot = -(len(axes) + 1)
    tots = np.linspace(0, max_total, 6)
    scale = max(max_total, 1e-12)
    row(ytot, "Total points", list(tots / scale), [f"{t:.0f}" for t in tots])
    for j, (t, s0) in enumerate(nomo["baseline_survival"].items()):
        xs, labs = [], []
        for prob in (0.95, 0.9, 0.8, 0.6, 0.4, 0.2, 0.05):
            if not 0 < s0 < 1:
                break
            lp = np.log(np.log(prob) / np.log(s0))
            total = (lp - lp_min) / unit
            if 0 <= total <= max_total:
                xs.append(total / scale)
                labs.append(f"{prob:.2f}")
        row(ytot - j - 1, f"{int(t)}-month PFS", xs, labs)
    ax.set_title("Nomogram (Cox model): points per predictor → total points → PFS probability", fontsize=10)
    _thin_labels(fig, row_labels)
    return fig


def _thin_labels(fig: Figure, rows: list[list[Any]], pad_px: float = 2.0) -> None:
    """Hide tick labels whose rendered boxes would overlap a kept one (ends first, then left to right)."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # an Agg canvas (nomogram_figure)
    for name, *texts in rows:
        if not texts:
            continue
        order = sorted(texts, key=lambda t: t.get_position()[0])
        order = [order[0], order[-1], *order[1:-1]] if len(order) > 1 else order
        kept: list[Any] = [name.get_window_extent(renderer)]
        for t in order:
            box = t.get_window_extent(renderer).expanded(1.0, 1.0)
            box = box.from_extents(box.x0 - pad_px, box.y0, box.x1 + pad_px, box.y1)
            if any(box.overlaps(k) for k in kept):
                t.set_visible(False)
            else:
                kept.append(box)
