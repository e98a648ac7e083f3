"""What the IBSI sarcoma cases' expert masks are, measured (issue 23, eleventh round).

For every case with both a CT and a T1 MRI in ``~/.cache/nbrisk/ibsi_sts`` (see ``bench_interactive_seg.py``):

* the CT's mask against the T1 MRI's mask resampled onto the CT's grid (nearest neighbour): Dice, and the two
  volumes in ml. Equal masks mean one contour was carried to both images, so on at least one of them (on both, if it
  was drawn on a third series) the expert border is not where that image shows it;
* how far each image's crop reaches beyond the mask's bounding box on each side (mm; z, y, x): the IBSI images are
  cropped a fixed distance around the contour, which a segmentation method must not use.

Usage: ``python bench/sts_masks.py [--out masks.jsonl]``; prints one line per case and a summary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from bench_interactive_seg import dice  # beside this file: the benchmark's Dice

STS = Path.home() / ".cache" / "nbrisk" / "ibsi_sts"


def _margins(mask: np.ndarray, spacing: np.ndarray) -> tuple[list[float], list[float]]:
    nz = np.argwhere(mask)
    lo, hi = nz.min(axis=0), nz.max(axis=0)
    return (lo * spacing).round(1).tolist(), ((np.array(mask.shape) - 1 - hi) * spacing).round(1).tolist()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write one JSON line per case here")
    a = ap.parse_args()
    rows = []
    for ct_path in sorted(STS.glob("STS_*_CT_mask.nii.gz")):
        mr_path = ct_path.with_name(ct_path.name.replace("_CT_", "_MR_T1_"))
        if not mr_path.exists():
            continue
        ct, mr = sitk.ReadImage(str(ct_path)), sitk.ReadImage(str(mr_path))
        on_ct = sitk.Resample(mr, ct, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
        a_ct, a_mr = sitk.GetArrayFromImage(ct) > 0, sitk.GetArrayFromImage(mr) > 0
        sp_ct, sp_mr = np.array(ct.GetSpacing())[::-1], np.array(mr.GetSpacing())[::-1]
        ct_lo, ct_hi = _margins(a_ct, sp_ct)
        mr_lo, mr_hi = _margins(a_mr, sp_mr)
        row = {"case": ct_path.name[:7], "dice_ct_vs_mr": round(dice(a_ct, sitk.GetArrayFromImage(on_ct) > 0), 4),
               "ml_ct": round(float(a_ct.sum() * np.prod(sp_ct)) / 1000.0, 1),
               "ml_mr": round(float(a_mr.sum() * np.prod(sp_mr)) / 1000.0, 1), "ct_crop_before_mm": ct_lo,
               "ct_crop_after_mm": ct_hi, "mr_crop_before_mm": mr_lo, "mr_crop_after_mm": mr_hi}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if not rows:
        raise SystemExit(f"no case with both a CT and a T1 MRI mask in {STS}; see bench_interactive_seg.py")
    d = np.array([r["dice_ct_vs_mr"] for r in rows])
    crop = np.array([r["ct_crop_before_mm"] + r["ct_crop_after_mm"] for r in rows])
    near = np.mean(np.abs(crop - 51.0) <= 1.5) * 100
    print(f"{len(rows)} cases: CT mask vs T1 mask Dice min {d.min():.4f}, median {np.median(d):.4f}; CT crop beyond "
          f"the mask: median {np.median(crop):.0f} mm, {near:.0f} % of sides within 1.5 mm of 51 mm")
    if a.out:
        a.out.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
