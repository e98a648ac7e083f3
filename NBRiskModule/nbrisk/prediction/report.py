"""Render a prediction as a self-contained HTML review report, and print it to PDF with headless Chromium.

The report shows the case id and date, a model-card summary, the score against the training score
distribution, a contributions chart, the ROI outlined on axial/coronal/sagittal slices through the
tumour centre (radiological convention: patient's right on the image's left), the warnings and an IDRF
section (filled from a checklist dict when one is given). Figures are PNGs embedded as data URIs, so the
HTML is a single file. PDF and screenshots need a Chromium binary (``apt-get install chromium``).
"""

from __future__ import annotations

import base64
import io
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from nbrisk import __version__
from nbrisk.errors import MissingDependencyError, NBRiskError
from nbrisk.io.images import atomic_path
from nbrisk.staging.idrf import Checklist, checklist_view

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM_TIMEOUT_S = 120


# ------------------------------------------------------------------------------------------------ figures
def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _window(arr: np.ndarray, roi: np.ndarray) -> tuple[float, float]:
    if float(arr.min()) < -500.0:  # CT in HU: soft-tissue window (W 400, L 40)
        return -160.0, 240.0
    ref = arr[roi > 0] if roi.any() else arr
    lo, hi = np.percentile(ref, [0.5, 99.5])
    pad = 0.5 * (hi - lo)
    return float(lo - pad), float(hi + pad)


def roi_figure(image: sitk.Image, mask: sitk.Image) -> str:
    """Return a PNG data URI with the ROI outlined on three orthogonal slices through its centre."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img = sitk.DICOMOrient(image, "LPS")
    roi = sitk.DICOMOrient(mask, "LPS")
    a = sitk.GetArrayFromImage(img).astype(float)  # z, y, x
    m = sitk.GetArrayFromImage(roi) > 0
    sx, sy, sz = img.GetSpacing()
    k, j, i = (round(c) for c in np.argwhere(m).mean(axis=0)) if m.any() else (s // 2 for s in a.shape)
    vmin, vmax = _window(a, m)
    views = [
        ("Axial", a[k], m[k], sy / sx, False),  # rows: anterior->posterior, cols: right->left
        ("Coronal", a[:, j, :], m[:, j, :], sz / sx, True),  # rows: inferior->superior (flipped)
        ("Sagittal", a[:, :, i], m[:, :, i], sz / sy, True),  # cols: anterior->posterior
    ]
    fig, axes = plt.subplots(1, 3, figsize=(11, 4.0))
    for ax, (title, sl, ms, aspect, flip) in zip(axes, views, strict=True):
        origin = "lower" if flip else "upper"
        ax.imshow(sl, cmap="gray", vmin=vmin, vmax=vmax, aspect=aspect, origin=origin, interpolation="nearest")
        if ms.any():
            ax.imshow(np.ma.masked_where(~ms, ms), cmap="autumn", alpha=0.25, aspect=aspect, origin=origin)
            ax.contour(ms.astype(float), levels=[0.5], colors="#ff2a2a", linewidths=1.4)
        ax.set_title(title, fontsize=12)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].text(0.01, 0.5, "R", color="yellow", transform=axes[0].transAxes, fontsize=11, va="center")
    axes[0].text(0.97, 0.5, "L", color="yellow", transform=axes[0].transAxes, fontsize=11, va="center")
    fig.suptitle("ROI (red outline) on slices through the tumour centre", fontsize=11)
    return _png(fig)


def score_figure(prediction: Mapping[str, Any], reference: Mapping[str, Any]) -> str | None:
    """Return a PNG data URI: the training score histogram with the threshold and this case marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = reference.get("scores")
    p = prediction.get("probability")
    if p is None:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    if scores:
        edges = np.asarray(scores["bin_edges"])
        centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        bottom = np.zeros(len(centres))
        colours = ["#4c78a8", "#f58518", "#54a24b", "#b279a2"]
        for n, (label, counts) in enumerate(scores["counts"].items()):
            name = "training cases" if label == "all" else f"training, class {label}"
            ax.bar(centres, counts, width=width * 0.95, bottom=bottom, color=colours[n % 4], alpha=0.75, label=name)
            bottom += np.asarray(counts)
    ax.axvline(prediction["threshold"], color="black", ls="--", lw=1.2,
               label=f"threshold {prediction['threshold']:.2f}")
    ax.axvline(p, color="#d62728", lw=3, label=f"this case {p:.2f}")
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"probability of class {prediction['positive_class']}")
    ax.set_ylabel("cases")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set_title("Score against the training distribution", fontsize=11)
    return _png(fig)


def contributions_figure(prediction: Mapping[str, Any]) -> str | None:
    """Return a PNG data URI: horizontal bars of the top contributions (red raises risk, blue lowers it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = list(prediction.get("contributions") or [])[::-1]
    if not items:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(items) + 1.2))
    vals = [c["contribution"] for c in items]
    names = [_short_name(c["feature"]) + (" *" if c.get("out_of_range") else "") for c in items]
    ax.barh(range(len(items)), vals, color=["#d62728" if v >= 0 else "#1f77b4" for v in vals])
    ax.set_yticks(range(len(items)), names, fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    unit = "log-odds" if prediction.get("contribution_method", "").startswith("exact") else "probability change"
    ax.set_xlabel(f"contribution ({unit}); red raises risk, blue lowers it; * outside training range")
    ax.set_title("Top contributing inputs", fontsize=11)
    return _png(fig)


def _plain_text(value: Any) -> str:
    """Format card values for people: numbers to 3 decimals, dicts as 'k: v' lists."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_plain_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_plain_text(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _short_name(name: str, limit: int = 48) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


# ------------------------------------------------------------------------------------------------- render
def render_html(prediction: Mapping[str, Any], card: Mapping[str, Any], reference: Mapping[str, Any],
                image: sitk.Image | None = None, mask: sitk.Image | None = None,
                idrf: Mapping[str, Any] | None = None, inrg: Mapping[str, Any] | None = None) -> str:
    """Return the report as one HTML string (figures embedded).

    ``inrg`` is what ``nbrisk inrg --json`` writes (``{"stage": {...}, "risk": {...}}``); the report shows the
    INRGSS stage and the pretreatment risk group with the rule that fired.
    """
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
    env.filters["num"] = lambda v, fmt=".3g": "n/a" if v is None else format(v, fmt)
    env.filters["plain"] = _plain_text
    figures = {
        "roi": roi_figure(image, getattr(mask, "image", mask)) if image is not None and mask is not None else None,
        "score": score_figure(prediction, reference),
        "contributions": contributions_figure(prediction),
    }
    return env.get_template("report.html.j2").render(
        p=prediction, card=card, figures=figures, idrf=_idrf_section(idrf), inrg=_inrg_lines(inrg),
        nbrisk_version=__version__,
        has_training_scores=bool(reference.get("scores")),
    )


def _inrg_lines(inrg: Mapping[str, Any] | None) -> list[str]:
    """One line each for the INRGSS stage and the INRG pretreatment group (as ``nbrisk inrg --json`` gives)."""
    if not inrg:
        return []
    lines = []
    stage = inrg.get("stage") or {}
    if stage.get("stage"):
        lines.append(f"INRGSS stage {stage['stage']}: {stage.get('rule', '')}")
    risk = inrg.get("risk") or {}
    if risk.get("group"):
        lines.append(f"INRG pretreatment group {risk['group']} ({str(risk.get('risk_group', '')).replace('_', ' ')}): "
                     f"{risk.get('rule', '')}")
    elif risk:
        missing = ", ".join(risk.get("missing") or []) or "?"
        lines.append(f"INRG pretreatment group: unclassifiable (missing: {missing})")
    return lines


def _idrf_section(idrf: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Rows (region/item/status/note) and a summary line for the report's IDRF section.

    An NBRisk checklist (``nbrisk.staging.idrf`` JSON) is shown through :func:`nbrisk.staging.idrf.checklist_view`, the
    same rows the Slicer panel shows; any other mapping with an ``items`` list (label/present/note) is
    shown as given.
    """
    if idrf is None:
        return None
    if idrf.get("format") == "nbrisk-idrf-checklist":
        cl = Checklist.from_dict(dict(idrf), "IDRF checklist")
        rows = [{"region": r.region, "label": r.text, "value": r.status.replace("_", " "),
                 "note": "; ".join(t for t in (r.note, r.evidence) if t)} for r in checklist_view(cl)]
        done = "complete" if cl.is_complete else f"{len(cl.open_idrfs())} IDRF(s) not yet assessed"
        summary = (f"{cl.positive_count} of {len(cl.idrf_ids)} IDRFs present ({done}); reader "
                   f"{cl.reader or 'not recorded'}, last modified {cl.modified or 'unknown'}")
        return {"summary": summary, "rows": rows}
    rows = []
    for it in idrf.get("items") or []:
        if isinstance(it, Mapping):
            value = it.get("present", it.get("value", it.get("status", "")))
            if isinstance(value, bool) or value is None:
                value = {True: "present", False: "absent", None: "not assessed"}[value]
            rows.append({"region": str(it.get("region") or ""), "label": str(it.get("label") or it.get("id") or "?"),
                         "value": str(value), "note": str(it.get("note") or "")})
    return {"summary": None, "rows": rows}


def write_report(out_dir: str | Path, prediction: Mapping[str, Any], card: Mapping[str, Any],
                 reference: Mapping[str, Any], image: sitk.Image | None = None, mask: Any = None,
                 idrf: Mapping[str, Any] | None = None, pdf: bool = True,
                 inrg: Mapping[str, Any] | None = None) -> dict[str, Path | None]:
    """Write ``report.html`` (and ``report.pdf`` when ``pdf``) into ``out_dir``; return their paths."""
    out = Path(out_dir)
    html = out / "report.html"
    with atomic_path(html) as tmp:
        tmp.write_text(render_html(prediction, card, reference, image, mask, idrf, inrg), encoding="utf-8")
    files: dict[str, Path | None] = {"html": html, "pdf": None}
    if pdf:
        files["pdf"] = html_to_pdf(html, out / "report.pdf")
    return files


# ----------------------------------------------------------------------------------------------- chromium
def find_chromium() -> str | None:
    """Return a Chromium/Chrome executable ($NBRISK_CHROMIUM first), or None."""
    env = os.environ.get("NBRISK_CHROMIUM")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    return next((p for p in (shutil.which(n) for n in CHROMIUM_NAMES) if p), None)


def _chromium(args: list[str], html: Path, target: Path) -> Path:
    exe = find_chromium()
    if exe is None:
        raise MissingDependencyError("PDF/screenshot needs Chromium; install it (Debian: apt-get install chromium) "
                                     "or set NBRISK_CHROMIUM to its path")
    with tempfile.TemporaryDirectory(prefix="nbrisk-chromium-") as profile, atomic_path(target) as tmp:
        cmd = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
               f"--user-data-dir={profile}", *[a.replace("{out}", str(tmp)) for a in args],
               html.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise NBRiskError(f"{html}: Chromium did not finish within {CHROMIUM_TIMEOUT_S} s") from exc
        if proc.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
            tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no output"]
            raise NBRiskError(f"{html}: Chromium failed to render {target.name} ({tail[0][:160]})")
    return target


def html_to_pdf(html: str | Path, pdf: str | Path) -> Path:
    """Print an HTML file to PDF with headless Chromium (A4, backgrounds, no header/footer)."""
    return _chromium(["--print-to-pdf={out}", "--no-pdf-header-footer"], Path(html), Path(pdf))


def screenshot(html: str | Path, png: str | Path, width: int = 1280, height: int = 3600) -> Path:
    """Save a PNG screenshot of an HTML file as Chromium renders it (the report's readability check)."""
    return _chromium(["--screenshot={out}", f"--window-size={width},{height}"], Path(html), Path(png))
