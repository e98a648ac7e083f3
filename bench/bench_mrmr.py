"""Benchmark: NBRisk's vectorised mRMR against the mrmr-selection package (same ranking? how much faster?).

Run: PYTHONPATH=NBRiskModule python3 bench/bench_mrmr.py [--cases 100] [--features 1874] [--k 20] [--repeat 3]
Prints one line per dataset and a summary; writes bench/results/mrmr.json. The default shape is seed 001's
feature count (1874) for a cohort of 100 cases. Both sides run single-threaded (mrmr n_jobs=1).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd


def correlated_features(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Radiomics-like data: blocks of correlated features, a few of them shifted by the class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    latent = rng.standard_normal((n, max(p // 20, 2)))
    X = latent[:, rng.integers(0, latent.shape[1], p)] + 0.7 * rng.standard_normal((n, p))
    X[:, : max(p // 50, 3)] += y[:, None] * rng.uniform(0.3, 1.2, max(p // 50, 3))
    return X, y


def main() -> None:
    import mrmr

    from nbrisk.modeling.selectors import mrmr_rank

    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--features", type=int, default=1874)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3, help="datasets (seeds) to compare")
    args = ap.parse_args()
    rows = []
    for seed in range(args.repeat):
        X, y = correlated_features(args.cases, args.features, seed)
        df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
        t0 = time.perf_counter()
        ref = mrmr.mrmr_classif(df, pd.Series(y), K=args.k, show_progress=False, n_jobs=1)
        t1 = time.perf_counter()
        ours = [f"f{i}" for i in mrmr_rank(X, y, args.k)]
        t2 = time.perf_counter()
        rows.append({"seed": seed, "same_ranking": ours == ref, "mrmr_selection_s": t1 - t0, "nbrisk_s": t2 - t1,
                     "speedup": (t1 - t0) / max(t2 - t1, 1e-9)})
        r = rows[-1]
        print(f"seed {seed}: same ranking {r['same_ranking']}, mrmr-selection {r['mrmr_selection_s']:.3f} s, "
              f"nbrisk {r['nbrisk_s']:.4f} s, speed-up x{r['speedup']:.0f}", flush=True)
    summary = {"cases": args.cases, "features": args.features, "k": args.k, "runs": rows,
               "all_same_ranking": all(r["same_ranking"] for r in rows),
               "median_speedup": float(np.median([r["speedup"] for r in rows]))}
    print(f"{args.cases} cases x {args.features} features, top {args.k}: identical rankings in "
          f"{sum(r['same_ranking'] for r in rows)}/{len(rows)} datasets; "
          f"median speed-up x{summary['median_speedup']:.0f}")
    out = Path(__file__).parent / "results" / "mrmr.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
