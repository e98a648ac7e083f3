"""Benchmark: `nbrisk` extraction vs plain pyradiomics on the same image and settings.

Prints the time of each engine (median of --repeat runs, interleaved), the ratio plain/nbrisk and the
largest relative feature difference. The preset's own preprocessing (N4, ROI z-score, largest slice) is
done once beforehand and shared, so only the pyradiomics part is compared (plain pyradiomics cannot do
N4 itself); its cost is printed separately.

    python bench/bench_extract.py --case lung2 --preset jia2023-mri
    python bench/bench_extract.py --synthetic 150 --preset zhang2026-ct   # 512x512x200 CT, 150 cm3 tumour
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Testing"))
warnings.filterwarnings("ignore")


def synthetic_case(volume_cm3: float, seed: int = 0) -> tuple[sitk.Image, sitk.Image]:
    from nbrisk.synthetic.phantom import PhantomSpec, make_phantom

    r = (volume_cm3 * 1000 * 3 / (4 * np.pi)) ** (1 / 3)  # mm, sphere-equivalent radius
    spec = PhantomSpec(size=(512, 512, 200), spacing=(0.75, 0.75, 1.0), tumour_radius_mm=(r * 1.1, r * 0.9, r),
                       tumour_offset_mm=(60.0, -20.0, 0.0), origin=(-192.0, -192.0, -100.0))
    ph = make_phantom(spec, seed=seed)
    return ph.image, ph.tumour


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="lung2", help="pyradiomics sample case (brain1, lung2, ...)")
    ap.add_argument("--synthetic", type=float, help="use a 512x512x200 synthetic CT with a tumour of this volume (cm3)")
    ap.add_argument("--case-dir", help="keep (and reuse) the synthetic case's NRRD files in this folder")
    ap.add_argument("--preset", default="jia2023-mri")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2],
                    help="nbrisk worker processes per case to compare (default: 1 and 2)")
    args = ap.parse_args()

    import radiomics

    radiomics.setVerbosity(logging.ERROR)
    from nbrisk.features.extract import _run, prepare
    from nbrisk.features.presets import load_preset
    from nbrisk.io.images import load_case

    preset = load_preset(args.preset)
    if args.synthetic:
        files = [Path(args.case_dir or ".") / f"ct{args.synthetic:g}_{k}.nrrd" for k in ("image", "mask")]
        if args.case_dir and all(f.is_file() for f in files):
            image, mask = (sitk.ReadImage(str(f)) for f in files)
        else:
            image, mask = synthetic_case(args.synthetic)
            if args.case_dir:
                files[0].parent.mkdir(parents=True, exist_ok=True)
                sitk.WriteImage(image, str(files[0]))
                sitk.WriteImage(mask, str(files[1]), True)
        label = f"synthetic 512x512x200 CT, {args.synthetic:g} cm3 tumour"
    else:
        from conftest import ensure_sample_data

        d = ensure_sample_data()
        image, m = load_case(d / f"{args.case}_image.nrrd", d / f"{args.case}_label.nrrd")
        mask, label = m.image, f"pyradiomics sample {args.case}"
    t = time.perf_counter()
    img_p, mask_p, _ = prepare(image, mask, preset)
    t_pre = time.perf_counter() - t
    params = preset.pyradiomics_params()
    runs = [("pyradiomics", 1)] + [("nbrisk", j) for j in args.jobs]
    if any(j > 1 for j in args.jobs):  # start the worker pool outside the timed runs (a CLI pays this once)
        from nbrisk.features import engine as fastextract

        t = time.perf_counter()
        fastextract._pool(max(args.jobs))
        print(f"  (worker pool start-up, paid once per process: {time.perf_counter() - t:.2f} s)")
    times: dict[tuple[str, int], list[float]] = {r: [] for r in runs}
    results = {}
    for i in range(args.repeat):
        for engine, jobs in runs if i % 2 == 0 else runs[::-1]:  # interleaved, order alternating
            t = time.perf_counter()
            results[(engine, jobs)] = _run(img_p, mask_p, params, engine, jobs)
            times[(engine, jobs)].append(time.perf_counter() - t)
    ref = results[("pyradiomics", 1)]
    tp = statistics.median(times[("pyradiomics", 1)])
    print(f"{label}; preset {preset.name} ({len(ref)} features per phase), {args.repeat} interleaved repeats")
    print(f"  nbrisk preprocessing (shared, not compared): {t_pre:.2f} s")
    print(f"  plain pyradiomics: median {tp:.2f} s  (runs: {', '.join(f'{t:.1f}' for t in times[runs[0]])})")
    for r in runs[1:]:
        tn = statistics.median(times[r])
        print(f"  nbrisk -j{r[1]}: median {tn:.2f} s  (runs: {', '.join(f'{t:.1f}' for t in times[r])})  "
              f"speed ratio (plain/nbrisk): {tp / tn:.2f}x  max relative feature difference: "
              f"{max_rel_diff(results[r], ref):.2e}")
    return 0


def max_rel_diff(a: dict[str, float], b: dict[str, float]) -> float:
    """Largest relative difference between two feature dicts (same names required)."""
    assert list(a) == list(b), "feature names or order differ"
    x = np.array([a[k] for k in b])
    y = np.array([b[k] for k in b])
    both_nan = np.isnan(x) & np.isnan(y)
    rel = np.abs(x - y) / np.maximum(np.abs(y), 1e-12)
    return float(np.nanmax(np.where(both_nan | np.isclose(x, y, rtol=0, atol=1e-12), 0, rel)))


if __name__ == "__main__":
    sys.exit(main())
