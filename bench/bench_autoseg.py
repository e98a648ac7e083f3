"""Benchmark: the built-in segmentation model's held-out Dice, and time and peak memory on a 512x512x200 CT.

1. Held-out Dice: phantoms drawn like the demo cohort's (``make_cohort``'s ranges; CT with the default
   tissue values, where the tumour differs from soft tissue by texture only, CT arterial phase, and MRI),
   from seeds that neither training (< 50 000) nor validation (50 000+) used, segmented through the full
   backend (model grid, sliding window, back onto the image grid) and scored against the phantom truth.
   The seeded grow (``grow_from_seeds`` from the tumour centre) runs on the same cases for comparison.
2. Speed and memory: a 512x512x200 CT phantom (0.7 x 0.7 x 1.5 mm, written once to
   ``~/.cache/nbrisk/bench``) is segmented by ``nbrisk autoseg`` in a child process with ``--threads``
   (default 2); wall time and the child's peak resident memory (``ru_maxrss``) are reported, the median of
   ``--repeat`` runs. Its Dice is reported too (a field of view 3.7 times wider than training's).

    nice -n 5 python bench/bench_autoseg.py --cases 20 --repeat 2 --json /tmp/autoseg_bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "NBRiskModule"))
TEST_SEED0 = 100_000


def _dice(a, b) -> float:
    import SimpleITK as sitk

    x, y = sitk.GetArrayViewFromImage(a) != 0, sitk.GetArrayViewFromImage(b) != 0
    return 2.0 * float((x & y).sum()) / max(1.0, float(x.sum() + y.sum()))


def held_out(n: int, threads: int, with_grow: bool) -> dict:
    from nbrisk.segmentation.autoseg import load_backend
    from nbrisk.segmentation.grow import grow_from_seeds
    from nbrisk.synthetic.phantom import PHASE_VALUES, PhantomSpec, make_phantom

    backend = load_backend("builtin", threads=threads)
    out: dict[str, dict] = {}
    for kind in ("ct", "ct_arterial", "mr"):
        dice, grow, secs = [], [], []
        for i in range(n):
            seed = TEST_SEED0 + 1000 * len(out) + i
            rng = np.random.default_rng(seed)
            radius = tuple(float(v) for v in rng.uniform(11.0, 17.0, 3))
            offset = (float(rng.uniform(16, 24)), float(rng.uniform(-12, -4)), float(rng.uniform(-4, 4)))
            extra = {"values": PHASE_VALUES["arterial"]} if kind == "ct_arterial" else {}
            spec = PhantomSpec(modality=kind[:2], texture_class=i % 2, tumour_radius_mm=radius,  # type: ignore[arg-type]
                               tumour_offset_mm=offset, extra=extra)
            ph = make_phantom(spec, seed=seed)
            t0 = time.perf_counter()
            mask = backend.segment(ph.image)
            secs.append(time.perf_counter() - t0)
            dice.append(_dice(mask, ph.tumour))
            if with_grow:
                try:
                    grow.append(_dice(grow_from_seeds(ph.image, [ph.tumour_centre_lps]), ph.tumour))
                except Exception:  # a failed grow scores 0
                    grow.append(0.0)
        out[kind] = {"n": n, "dice_mean": float(np.mean(dice)), "dice_sd": float(np.std(dice, ddof=1)),
                     "dice_min": float(np.min(dice)), "dice_median": float(np.median(dice)),
                     "seconds_per_case": float(np.mean(secs))}
        if grow:
            out[kind]["grow_dice_mean"] = float(np.mean(grow))
        print(f"{kind}: Dice {np.mean(dice):.3f} +- {np.std(dice, ddof=1):.3f} (min {np.min(dice):.3f}) over {n} "
              f"held-out phantoms" + (f"; seeded grow {np.mean(grow):.3f}" if grow else "") +
              f"; {np.mean(secs):.2f} s/case", file=sys.stderr, flush=True)
    return out


def big_ct(cache: Path) -> tuple[Path, Path]:
    from nbrisk.io.images import write_image
    from nbrisk.synthetic.phantom import PhantomSpec, make_phantom

    img, truth = cache / "ct512x512x200_image.nrrd", cache / "ct512x512x200_truth.nrrd"
    if not img.is_file() or not truth.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        print("making the 512x512x200 CT phantom (once)...", file=sys.stderr, flush=True)
        sp = (0.7, 0.7, 1.5)
        size = (512, 512, 200)
        spec = PhantomSpec(size=size, spacing=sp, origin=tuple(-s * n / 2 for s, n in zip(sp, size, strict=True)),
                           tumour_radius_mm=(16.0, 13.0, 14.0))  # type: ignore[arg-type]
        ph = make_phantom(spec, seed=TEST_SEED0 - 1)
        write_image(ph.image, img)
        write_image(ph.tumour, truth)
    return img, truth


_CHILD = """
import resource, sys, time
t0 = time.perf_counter()
from nbrisk.cli import main
code = main(sys.argv[1:])
wall = time.perf_counter() - t0
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024.0
ru = resource.getrusage(resource.RUSAGE_SELF)
print(f"{wall} {hwm} {ru.ru_utime + ru.ru_stime}", file=sys.stderr)
sys.exit(code)
"""


def timed_child(img: Path, out: Path, threads: int) -> tuple[float, float, float]:
    """(wall s, peak resident MiB, CPU s) of one ``nbrisk autoseg`` run in a fresh interpreter.

    Peak memory is the child's own VmHWM (after exec), so the parent's memory never counts.
    """
    cmd = [sys.executable, "-c", _CHILD, "-q", "autoseg", "--image", str(img), "--out", str(out),
           "--threads", str(threads)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "NBRiskModule")}
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"autoseg failed: {r.stderr.strip()[-500:]}")
    wall, hwm, cpu = (float(v) for v in r.stderr.strip().splitlines()[-1].split())
    return wall, hwm, cpu


def load_average() -> float:
    return os.getloadavg()[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=20, help="held-out phantoms per kind (CT, CT arterial, MRI)")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs on the 512x512x200 CT")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-grow", action="store_true", help="skip the seeded-grow comparison")
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    res: dict = {"threads": args.threads, "cpu_count": os.cpu_count()}
    res["held_out"] = held_out(args.cases, args.threads, not args.no_grow)
    if not args.skip_big:
        import SimpleITK as sitk

        img, truth = big_ct(Path.home() / ".cache" / "nbrisk" / "bench")
        out = Path(os.environ.get("TMPDIR", "/tmp")) / f"nbrisk_bench_autoseg_{os.getpid()}.nrrd"
        runs, loads = [], []
        for _ in range(args.repeat):
            loads.append(load_average())
            runs.append(timed_child(img, out, args.threads))
        dice = _dice(sitk.ReadImage(str(out)), sitk.ReadImage(str(truth)))
        out.unlink()
        res["ct512"] = {"size": [512, 512, 200], "spacing_mm": [0.7, 0.7, 1.5],
                        "wall_s_median": statistics.median(r[0] for r in runs),
                        "wall_s": [r[0] for r in runs], "peak_rss_mib_max": max(r[1] for r in runs),
                        "cpu_s": [r[2] for r in runs], "load_average_before": loads, "dice": dice}
        print(f"512x512x200 CT: {res['ct512']['wall_s_median']:.1f} s (median of {args.repeat}, whole CLI run "
              f"incl. reading and writing; CPU {statistics.median(r[2] for r in runs):.1f} s; machine load {loads}), "
              "peak memory "
              f"{res['ct512']['peak_rss_mib_max']:.0f} MiB, Dice {dice:.3f}",
              file=sys.stderr)
    text = json.dumps(res, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
