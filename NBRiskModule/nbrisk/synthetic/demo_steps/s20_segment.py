"""Demo step: semiautomatic tumour ROI from each case's seed point, scored against the phantom truth.

One click at the tumour's centre, segmented the way ``nbrisk segment``, ``nbrisk.segment`` and the Slicer panel do by
default (``segment_interactive``: the first click's graph cut); until issue 23's fourteenth round the demo still ran
the region competition (``grow_from_seeds``, ``--method competition``), which is lower on these phantoms."""

from __future__ import annotations

import csv

import numpy as np

from nbrisk.synthetic.demo import DemoContext

TITLE = "semiautomatic tumour ROI from seed points"


def run(ctx: DemoContext) -> None:
    from nbrisk.io.images import read_image, read_mask, write_image
    from nbrisk.reproducibility.agreement import compare_masks
    from nbrisk.segmentation.interactive import Prompts, segment_interactive

    cohort = ctx.state["cohort_dir"]
    with open(ctx.state["manifest"], newline="") as fh:
        cases = {r["case_id"]: r for r in csv.DictReader(fh)}
    with open(ctx.state["seeds"], newline="") as fh:
        seeds = {r["case_id"]: (float(r["x"]), float(r["y"]), float(r["z"])) for r in csv.DictReader(fh)}
    out_dir = ctx.out_dir / "semiauto"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, dice = [], []
    for case_id, row in cases.items():
        # multi-phase cohorts: draw on the first (arterial) phase, where the phantom tumour stands out
        phase_cols = [k for k in row if k.startswith("image_")]
        image_path = cohort / row[phase_cols[0] if phase_cols else "image"]
        image = read_image(image_path)
        result = segment_interactive(image, Prompts(tumour=[seeds[case_id]]))
        mask = result.mask
        mask_path = out_dir / f"{case_id}_semiauto.nrrd"
        write_image(mask, mask_path)
        truth = read_mask(cohort / row["mask"], image, reference_path=image_path)
        m = compare_masks(truth.image, mask)
        dice.append(m["dice"])
        ctx.log(f"  {case_id}: Dice {m['dice']:.3f}, HD95 {m['hd95_mm']:.1f} mm, "
                f"volume {m['volume_test_ml']:.1f} ml vs truth {m['volume_ref_ml']:.1f} ml"
                + "".join(f"; {n}" for n in result.notes))
        rows.append({**{k: str((cohort / v).resolve()) for k, v in row.items() if k.startswith("image")},
                     "case_id": case_id, "mask": str(mask_path.resolve())})
    manifest = out_dir / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["case_id", *[k for k in rows[0] if k.startswith("image")], "mask"])
        w.writeheader()
        w.writerows(rows)
    ctx.state["semiauto_manifest"] = manifest
    ctx.state["semiauto_dice"] = float(np.mean(dice))
    ctx.log(f"semiautomatic ROI (one click each, as nbrisk segment): mean Dice {np.mean(dice):.3f} "
            f"(min {np.min(dice):.3f}) against the phantom truth over {len(dice)} cases; masks in {out_dir}")
