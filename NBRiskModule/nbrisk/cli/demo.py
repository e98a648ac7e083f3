"""``nbrisk demo``: run the main job on built-in synthetic data."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

COMMAND = "demo"
HELP = "run the whole pipeline on a built-in synthetic cohort and print a summary"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("nbrisk-demo"), help="output folder (default: ./nbrisk-demo)")
    p.add_argument("--cases", type=int, default=16, help="number of synthetic cases (default 16)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="worker processes for extraction (default: 2 or the number of cores)")


def run(args: argparse.Namespace) -> int:
    from nbrisk.synthetic.demo import DemoContext, run_demo

    ctx = DemoContext(out_dir=args.out, n_cases=args.cases, seed=args.seed, jobs=args.jobs,
                      log=lambda s: print(s, flush=True))
    run_demo(ctx)
    print(f"demo finished; everything is under {args.out}")
    return 0
