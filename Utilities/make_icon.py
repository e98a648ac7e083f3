"""Draw the NBRisk extension/module icon (128x128 PNG) with matplotlib; run once, commit the PNGs."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Circle, Ellipse, FancyBboxPatch


def draw(out: Path) -> None:
    """Write a 128x128 icon: an axial 'slice' with a tumour outline and a risk gauge."""
    fig = plt.figure(figsize=(1.28, 1.28), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 128)
    ax.set_ylim(0, 128)
    ax.axis("off")
    ax.add_patch(FancyBboxPatch((4, 4), 120, 120, boxstyle="round,pad=0,rounding_size=18",
                                fc="#1d2b3a", ec="none"))
    ax.add_patch(Ellipse((64, 70), 92, 70, fc="#5c6b78", ec="#c9d3db", lw=2))       # body outline
    ax.add_patch(Circle((64, 52), 8, fc="#e8e8e8", ec="none"))                       # vertebra
    ax.add_patch(Circle((52, 66), 4.5, fc="#d9534f", ec="none"))                     # aorta
    ax.add_patch(Ellipse((80, 78), 34, 26, angle=20, fc="#f0ad4e", ec="#fff3cd", lw=2.5, alpha=0.95))
    ax.text(64, 14, "NBRisk", ha="center", va="center", color="white", fontsize=13, weight="bold")
    fig.savefig(out, dpi=100, transparent=True)
    plt.close(fig)


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    targets = [root / "Resources" / "NBRisk.png", root / "NBRiskModule" / "Resources" / "Icons" / "NBRiskModule.png"]
    for target in targets if len(sys.argv) < 2 else [Path(sys.argv[1])]:
        target.parent.mkdir(parents=True, exist_ok=True)
        draw(target)
