"""Benchmark: cohort throughput (cases per minute) of `nbrisk extract --manifest` with 1 vs 2 worker processes.

Builds a synthetic cohort (``nbrisk.synthetic.phantom.make_cohort``, 96x96x48 CT or MRI phantoms) once, then extracts
it with ``-j 1`` and ``-j 2`` alternately (``--no-resume``, fresh output each time) and prints the median wall
times and the throughput ratio. The same per-case function runs on Dask with ``--executor dask``.
``--readers N`` makes it a reader study: each case gets N masks (the phantom's and N-1 pseudo-readers:
volume -10%, +10%, a 1-voxel shift), as in the several-readers cohorts of the seeds.

    python bench/bench_cohort.py --cases 8 --preset pyradiomics-default --repeat 2
    python bench/bench_cohort.py --cases 24 --preset jia2023-mri --modality mr --readers 2 --repeat 2
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=8)
    ap.add_argument("--preset", default="pyradiomics-default")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--executor", choices=("local", "dask"), default="local")
    ap.add_argument("--modality", choices=("ct", "mr"), default="ct")
    ap.add_argument("--readers", type=int, default=1, help="masks per case (1: one row per case)")
    ap.add_argument("--one-core-baseline", action="store_true",
                    help="also time -j 1 bound to a single core: the scaling of the runner itself, without the "
                         "threads a single worker already uses (N4, SimpleITK filters)")
    args = ap.parse_args()
    if args.one_core_baseline and not hasattr(os, "sched_setaffinity"):
        ap.error("--one-core-baseline needs CPU affinity (Linux)")
    warnings.filterwarnings("ignore")
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    from nbrisk.features.cohort import extract_manifest
    from nbrisk.synthetic.phantom import make_cohort

    with tempfile.TemporaryDirectory() as tmp:
        from nbrisk.features.presets import load_preset

        phases = load_preset(args.preset).phases  # multi-phase presets get one image per phase
        manifest = make_cohort(Path(tmp) / "cohort", args.cases, seed=1, phases=phases, modality=args.modality)
        if args.readers > 1:
            import csv

            from nbrisk.reproducibility.perturb import DEFAULT_PERTURBATIONS, write_pseudo_readers

            if args.readers - 1 > len(DEFAULT_PERTURBATIONS) or phases:
                ap.error(f"--readers: 1 to {len(DEFAULT_PERTURBATIONS) + 1}, single-phase presets only")
            with open(manifest, newline="") as fh:
                cases = [(r["case_id"], manifest.parent / r["image"], manifest.parent / r["mask"])
                         for r in csv.DictReader(fh)]
            manifest = write_pseudo_readers(cases, Path(tmp) / "readers", DEFAULT_PERTURBATIONS[:args.readers - 1])
        n_rows = args.cases * args.readers
        runs: list[int | str] = [*args.jobs, *(["1 on one core"] if args.one_core_baseline else [])]
        times: dict[int | str, list[float]] = {j: [] for j in runs}
        cores: dict[int | str, list[float]] = {j: [] for j in runs}  # CPU seconds used per wall second
        allowed = os.sched_getaffinity(0) if args.one_core_baseline else set()
        for i in range(args.repeat):
            for j in runs if i % 2 == 0 else runs[::-1]:
                if isinstance(j, str):
                    os.sched_setaffinity(0, {min(allowed)})
                t, c = time.perf_counter(), _cpu()
                res = extract_manifest(manifest, args.preset, Path(tmp) / f"out{j}" / "f.csv",
                                       jobs=1 if isinstance(j, str) else j, resume=False, executor=args.executor)
                times[j].append(time.perf_counter() - t)
                cores[j].append((_cpu() - c) / times[j][-1])
                if isinstance(j, str):
                    os.sched_setaffinity(0, allowed)
                assert res.n_failed == 0 and res.n_extracted == n_rows
    base = statistics.median(times[args.jobs[0]])
    # ratios within each repeat (runs back to back) cancel the slow drifts of a shared machine's speed
    paired = {j: statistics.median(a / b for a, b in zip(times[args.jobs[0]], times[j], strict=True))
              for j in runs}
    print(f"synthetic cohort of {args.cases} {args.modality.upper()} cases (96x96x48) x {args.readers} reader(s), "
          f"preset {args.preset}, executor {args.executor}, "
          f"{args.repeat} alternating runs; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for j in runs:
        m = statistics.median(times[j])
        print(f"  -j {j}: median {m:.1f} s ({60 * n_rows / m:.1f} extractions/min; runs "
              f"{', '.join(f'{t:.1f}' for t in times[j])})  throughput vs -j {args.jobs[0]}: {base / m:.2f}x  "
              f"(median of per-repeat ratios: {paired[j]:.2f}x; cores actually obtained: "
              f"{statistics.median(cores[j]):.2f})")
    if args.one_core_baseline:
        one = times["1 on one core"]
        for j in args.jobs[1:]:
            r = statistics.median(a / b for a, b in zip(one, times[j], strict=True))
            print(f"  -j {j} vs -j 1 on one core: {statistics.median(one) / statistics.median(times[j]):.2f}x "
                  f"(median of per-repeat ratios: {r:.2f}x)")
    return 0


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the case workers)."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


if __name__ == "__main__":
    sys.exit(main())
