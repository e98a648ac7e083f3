"""``nbrisk demo``: run the main job on built-in synthetic data."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from nbrisk.errors import InputError

COMMAND = "demo"
HELP = "run the whole pipeline on a built-in synthetic cohort and print a summary"
MIN_CASES = 8  # two texture classes x the demo's cross-validation folds (fewer cases cannot be cross-validated)
MAX_CASES = 400


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("nbrisk-demo"),
                   help="output folder (default: ./nbrisk-demo); a new folder or an earlier demo's, which is replaced")
    p.add_argument("--cases", type=int, default=16, help=f"number of synthetic cases (default 16, {MIN_CASES} to "
                                                           f"{MAX_CASES})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="worker processes for extraction (default: 2 or the number of cores)")


def run(args: argparse.Namespace) -> int:
    from nbrisk.synthetic.demo import DemoContext, run_demo_atomic

    if not MIN_CASES <= args.cases <= MAX_CASES:
        raise InputError(f"--cases {args.cases}: give {MIN_CASES} to {MAX_CASES} cases (the demo cross-validates "
                         "two classes)")
    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: give 1 or more worker processes")
    ctx = DemoContext(out_dir=args.out, n_cases=args.cases, seed=args.seed, jobs=args.jobs,
                      log=lambda s: print(s, flush=True))
    run_demo_atomic(ctx)
    print(f"demo finished; everything is under {args.out}")
    return 0
