"""Seed 002's question on a synthetic reader study: is the built-in model within inter-reader variability?

Cases: held-out phantoms (seeds 300 000+, never used in training or validation), half CT (default tissue
values: tumour and soft tissue differ by texture only) and half MRI. Two simulated readers delineate each
tumour: the truth's border moved by a reader-specific bias (R1 draws generously, R2 tightly, each with a
per-case jitter) plus a smooth random displacement (SD ``--border-sd`` mm, correlated over about 5 mm), so
their masks differ the way two people's do (not by a plain shift). The model is the built-in ONNX U-Net.
``compare_model_to_readers`` then reports model vs each reader, reader vs reader and model vs the STAPLE
consensus, the paired intervals of "model minus inter-reader" and the verdict. ``--study`` also runs the
whole reader-study pipeline (export, import of both readers, analyze with the model's masks) so the
report's "Model vs readers" section is produced.

    nice -n 5 python bench/bench_model_vs_readers.py --cases 20 --out /tmp/mvr
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "NBRiskModule"))
SEED0 = 300_000
READERS = {"R1": 0.6, "R2": -0.5}  # border bias in mm (outward positive)


def simulated_reader(truth: sitk.Image, bias_mm: float, border_sd: float, rng: np.random.Generator) -> sitk.Image:
    t = sitk.GetArrayFromImage(truth) != 0
    sp = np.array(truth.GetSpacing())[::-1]
    inside = ndimage.distance_transform_edt(t, sampling=sp)
    outside = ndimage.distance_transform_edt(~t, sampling=sp)
    signed = outside - inside  # < 0 inside
    noise = ndimage.gaussian_filter(rng.standard_normal(t.shape), 5.0 / sp)
    noise *= border_sd / (noise.std() + 1e-12)
    arr = signed < bias_mm + float(rng.normal(0, 0.3)) + noise
    lab, n = ndimage.label(arr)
    if n > 1:
        arr = lab == 1 + int(np.argmax(ndimage.sum_labels(arr, lab, range(1, n + 1))))
    out = sitk.GetImageFromArray(ndimage.binary_fill_holes(arr).astype(np.uint8))
    out.CopyInformation(truth)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--border-sd", type=float, default=0.8, help="SD (mm) of the readers' random border motion")
    ap.add_argument("--out", type=Path, required=True, help="new folder for images, masks and results")
    ap.add_argument("--study", action="store_true", help="also run study export/import/analyze with the model")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from nbrisk.io.images import write_image
    from nbrisk.reproducibility.model_vs_readers import compare_model_to_readers, write_outputs
    from nbrisk.segmentation.autoseg import load_backend
    from nbrisk.synthetic.phantom import PhantomSpec, make_phantom

    out = args.out
    (out / "cases").mkdir(parents=True, exist_ok=False)
    backend = load_backend("builtin", threads=args.threads)
    readers: dict[str, dict[str, Path]] = {r: {} for r in READERS}
    model, truth_dice, manifest = {}, [], []
    for i in range(args.cases):
        seed = SEED0 + i
        rng = np.random.default_rng(seed)
        modality = "ct" if i % 2 == 0 else "mr"
        spec = PhantomSpec(modality=modality, texture_class=(i // 2) % 2,
                           tumour_radius_mm=tuple(float(v) for v in rng.uniform(11.0, 17.0, 3)),  # type: ignore[arg-type]
                           tumour_offset_mm=(float(rng.uniform(16, 24)), float(rng.uniform(-12, -4)),
                                             float(rng.uniform(-4, 4))))
        ph = make_phantom(spec, seed=seed)
        case = f"case{i + 1:03d}"
        img = write_image(ph.image, out / "cases" / f"{case}_image.nrrd")
        write_image(ph.tumour, out / "cases" / f"{case}_truth.nrrd")
        manifest.append((case, img))
        for r, bias in READERS.items():
            readers[r][case] = write_image(simulated_reader(ph.tumour, bias, args.border_sd, rng),
                                           out / "cases" / f"{case}_{r}.nrrd")
        mask = backend.segment(ph.image)
        model[case] = write_image(mask, out / "cases" / f"{case}_model.nrrd")
        x, y = sitk.GetArrayViewFromImage(mask) != 0, sitk.GetArrayViewFromImage(ph.tumour) != 0
        truth_dice.append(2 * float((x & y).sum()) / float(x.sum() + y.sum()))
        print(f"{case} ({modality}): model Dice vs truth {truth_dice[-1]:.3f}", file=sys.stderr, flush=True)
    res = compare_model_to_readers(readers, model, consensus="staple")
    write_outputs(res, out / "results")
    with open(out / "readers.csv", "w") as fh:
        fh.write("case_id,reader,mask\n" + "".join(f"{c},{r},{p}\n" for r, d in readers.items() for c, p in d.items()))
    with open(out / "model.csv", "w") as fh:
        fh.write("case_id,mask\n" + "".join(f"{c},{p}\n" for c, p in model.items()))
    pooled = res.pooled.set_index("kind")
    report = {"cases": args.cases, "model_dice_vs_truth_mean": float(np.mean(truth_dice)),
              "summary": res.summary.to_dict(orient="records"), "verdict": res.verdict,
              "pooled_dice_mean": pooled["dice_mean"].to_dict()}
    if args.study:
        report["study_report"] = str(_study(out, manifest, readers, model))
    (out / "bench_report.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(res.summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(res.pooled[["kind", "dice_mean", "hd95_mm_mean", "msd_mm_mean", "fpr_m_mean",
                      "abs_volume_diff_pct_mean"]].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(res.verdict["text"])
    print(f"model vs truth: mean Dice {np.mean(truth_dice):.3f}; results in {out / 'results'}")
    return 0


def _study(out: Path, manifest, readers, model) -> Path:
    """Export a one-pass study for R1 and R2, return each reader's masks, import, analyze with the model."""
    import csv

    from nbrisk.cli import main as cli

    with open(out / "study_cases.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["case_id", "image"])
        w.writerows([(c, str(p)) for c, p in manifest])
    study = out / "study"
    assert cli(["study", "export", "--manifest", str(out / "study_cases.csv"), "--readers", "R1,R2",
                "--repeats", "1", "--out", str(study), "--seed", "1"]) == 0
    with open(study / "key" / "key.csv", newline="") as fh:
        key = list(csv.DictReader(fh))
    for r in ("R1", "R2"):
        back = out / f"back_{r}"
        for row in key:
            if row["reader"] == r:
                folder = back / f"pass{row['pass']}" / "segmentations"
                folder.mkdir(parents=True, exist_ok=True)
                m = sitk.ReadImage(str(readers[r][row["case_id"]]))
                sitk.WriteImage(m, str(folder / f"{row['code']}.nrrd"), True)
        assert cli(["study", "import", "--study", str(study), "--reader", r, "--from", str(back)]) == 0
    res = out / "study_results"
    assert cli(["study", "analyze", "--study", str(study), "--preset", "pyradiomics-default", "--out", str(res),
                "--model-masks", str(out / "model.csv")]) == 0
    return res / "summary.html"


if __name__ == "__main__":
    raise SystemExit(main())
