"""Benchmark: peak memory (RSS high-water mark) of `nbrisk` vs plain pyradiomics extraction.

Writes a synthetic 512x512x200 CT with a tumour of --synthetic cm3 to NRRD once, then runs each engine in a
fresh Python process that reads the files (each engine its own way: see ``child``) and extracts the preset's
single-phase pyradiomics parameters (zhang2026-ct: 1 mm B-spline, original + wavelet + LoG 1-5 mm). Each
process reports its own VmHWM (plus its workers', for -j > 1). Engines alternate; medians of --repeat runs.

    python bench/bench_memory.py --synthetic 500 --preset zhang2026-ct
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(image: str, mask: str, preset_name: str, engine: str, jobs: int, normalize: bool = False) -> None:
    """One engine in this fresh process, reading the files as that engine does.

    Plain pyradiomics reads both files whole (as ``RadiomicsFeatureExtractor.execute(path, path)`` does).
    nbrisk reads them the way ``nbrisk extract`` does (:func:`nbrisk.features.case.load_row_inputs`): the mask
    whole, the image only in the block around the ROI that extraction uses (when the preset allows it).
    """
    import copy
    import dataclasses
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    import numpy as np
    import radiomics
    import SimpleITK as sitk

    radiomics.setVerbosity(logging.ERROR)
    from nbrisk.features.extract import _run, extract_features
    from nbrisk.features.presets import load_preset

    preset = load_preset(preset_name)
    params = copy.deepcopy(preset.pyradiomics)
    if normalize:  # whole-image z-score as jia2023-mri declares it (pyradiomics normalize/normalizeScale)
        params["setting"].update(normalize=True, normalizeScale=100)
    preset = dataclasses.replace(preset, phases=(), pyradiomics=params)  # single-phase parameters
    t = time.perf_counter()
    if engine == "pyradiomics":
        img, msk = sitk.ReadImage(image), sitk.ReadImage(mask)
        base = _vm_hwm_kb()
        values = _run(img, msk, preset.pyradiomics_params(), engine)
    else:
        from nbrisk.features.case import load_row_inputs

        img, m = load_row_inputs({"image": image, "mask": mask}, preset, roi_only=True)
        base = _vm_hwm_kb()
        values = extract_features(img, m.image, preset, jobs=jobs, whole=m.whole).values
    dt = time.perf_counter() - t
    if jobs > 1:
        from nbrisk.features import engine as fastextract

        fastextract.shutdown_pool()
    own = _vm_hwm_kb()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"engine": engine, "jobs": jobs, "seconds": dt, "n": len(values),
                      "rss_after_read_mb": base / 1024, "peak_mb": own / 1024, "worker_peak_mb": workers / 1024,
                      "image_voxels_read": int(np.prod(img.GetSize())),
                      "values": {k: float(v) for k, v in values.items()}}))


def _vm_hwm_kb() -> float:
    """This process's RSS high-water mark (VmHWM: unlike ru_maxrss, not inherited from the parent at exec)."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return float(line.split()[1])
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # pragma: no cover (not Linux)


def make_case(volume: float, image: str, mask: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import SimpleITK as sitk
    from bench_extract import synthetic_case

    img, msk = synthetic_case(volume)
    sitk.WriteImage(img, image)
    sitk.WriteImage(msk, mask, True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", type=float, default=500.0, help="tumour volume in cm3 (512x512x200 CT)")
    ap.add_argument("--preset", default="zhang2026-ct")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1, help="nbrisk worker processes per case")
    ap.add_argument("--make", nargs=2, metavar=("IMAGE", "MASK"), help=argparse.SUPPRESS)
    ap.add_argument("--case-dir", help="keep (and reuse) the synthetic case's NRRD files in this folder")
    ap.add_argument("--normalize", action="store_true",
                    help="add pyradiomics' whole-image normalisation (normalize: true, normalizeScale: 100)")
    ap.add_argument("--child", nargs=6, metavar=("IMAGE", "MASK", "PRESET", "ENGINE", "JOBS", "NORM"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        im, ma, pr, en, jo, no = args.child
        child(im, ma, pr, en, int(jo), no == "1")
        return 0
    if args.make:
        make_case(args.synthetic, *args.make)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.case_dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [str(folder / f"ct{args.synthetic:g}_image.nrrd"), str(folder / f"ct{args.synthetic:g}_mask.nrrd")]
        if not all(Path(p).is_file() for p in paths):
            # the phantom is built in its own process: this parent stays small, so nothing large is forked
            subprocess.run([sys.executable, __file__, "--synthetic", str(args.synthetic), "--make", *paths],
                           check=True)
        import numpy as np
        import SimpleITK as sitk

        m = sitk.ReadImage(paths[1])
        vol = float(sitk.GetArrayViewFromImage(m).sum()) * float(np.prod(m.GetSpacing())) / 1000
        del m
        res: dict[str, list[dict]] = {"pyradiomics": [], "nbrisk": []}
        for i in range(args.repeat):
            for engine in ("pyradiomics", "nbrisk") if i % 2 == 0 else ("nbrisk", "pyradiomics"):
                jobs = args.jobs if engine == "nbrisk" else 1
                out = subprocess.run([sys.executable, __file__, "--child", *paths, args.preset, engine, str(jobs),
                                      "1" if args.normalize else "0"],
                                     capture_output=True, text=True, check=True)
                res[engine].append(json.loads(out.stdout.strip().splitlines()[-1]))
    peak = {e: statistics.median(r["peak_mb"] + (r["worker_peak_mb"] * r["jobs"] if r["jobs"] > 1 else 0)
                                 for r in rs) for e, rs in res.items()}
    secs = {e: statistics.median(r["seconds"] for r in rs) for e, rs in res.items()}
    read = {e: statistics.median(r["rss_after_read_mb"] for r in rs) for e, rs in res.items()}
    a, b = res["nbrisk"][0]["values"], res["pyradiomics"][0]["values"]
    diff = max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-12) for k in b) if list(a) == list(b) else float("inf")
    print(f"synthetic 512x512x200 CT, tumour {vol:.0f} cm3; preset {args.preset} (single-phase parameters"
          f"{' + whole-image normalisation' if args.normalize else ''}); "
          f"{args.repeat} runs per engine, fresh process each (VmHWM of each engine's own process)")
    for e in ("pyradiomics", "nbrisk"):
        r = res[e][0]
        print(f"  {e:11s}: peak RSS {peak[e]:.0f} MB  (after reading: {read[e]:.0f} MB, "
              f"{r['image_voxels_read'] / 1e6:.1f} M image voxels)  time {secs[e]:.1f} s (reading included)")
    print(f"  nbrisk peak / plain peak: {100 * peak['nbrisk'] / peak['pyradiomics']:.0f}%   "
          f"features: {len(a)} vs {len(b)}, max relative difference {diff:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
