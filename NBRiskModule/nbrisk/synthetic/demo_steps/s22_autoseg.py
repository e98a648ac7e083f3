"""Demo step: automatic tumour ROI (built-in U-Net) next to the one-click semiautomatic ROI, both scored against the
truth."""

from __future__ import annotations

import csv

import numpy as np

from nbrisk.synthetic.demo import DemoContext

TITLE = "automatic tumour ROI (built-in U-Net, synthetic-only model) next to the one-click semiautomatic ROI"


def run(ctx: DemoContext) -> None:
    from nbrisk.errors import NBRiskError
    from nbrisk.io.images import read_image, read_mask, write_image
    from nbrisk.reproducibility.agreement import compare_masks
    from nbrisk.segmentation.autoseg import autoseg, load_backend

    cohort = ctx.state["cohort_dir"]
    with open(ctx.state["manifest"], newline="") as fh:
        cases = list(csv.DictReader(fh))
    out_dir = ctx.out_dir / "autoseg"
    out_dir.mkdir(parents=True, exist_ok=True)
    backend = load_backend("builtin")
    dice, seconds = [], []
    for row in cases:
        phase_cols = [k for k in row if k.startswith("image_")]
        image_path = cohort / row[phase_cols[0] if phase_cols else "image"]  # the semiautomatic ROI's image
        image = read_image(image_path)
        truth = read_mask(cohort / row["mask"], image, reference_path=image_path)
        try:
            res = autoseg(image, backend)
        except NBRiskError as exc:
            ctx.log(f"  {row['case_id']}: automatic ROI failed ({exc}); Dice 0")
            dice.append(0.0)
            continue
        write_image(res.mask, out_dir / f"{row['case_id']}_autoseg.nrrd")
        m = compare_masks(truth.image, res.mask)
        dice.append(m["dice"])
        seconds.append(res.seconds)
    grow = ctx.state.get("semiauto_dice")
    ctx.state["autoseg_dice"] = float(np.mean(dice))
    ctx.log(f"automatic ROI: mean Dice {np.mean(dice):.3f} (min {np.min(dice):.3f}), "
            f"{np.mean(seconds) if seconds else float('nan'):.2f} s/case; one-click semiautomatic ROI: mean Dice "
            f"{grow:.3f} on the same {len(dice)} cases; masks in {out_dir}" if grow is not None else
            f"automatic ROI: mean Dice {np.mean(dice):.3f} over {len(dice)} cases; masks in {out_dir}")
    ctx.log("  (the built-in model was trained on synthetic phantoms only: not for patients)")
