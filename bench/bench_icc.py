"""Benchmark nbrisk's vectorised ICC against pingouin at seed 001's size (1874 features, 74 cases, 2 readers).

Run: ``PYTHONPATH=NBRiskModule python3 bench/bench_icc.py [--features 1874 --cases 74 --readers 2]``.
pingouin computes one feature per call (its per-call ANOVA on a long DataFrame), so it is timed on a
subset of features and scaled up; ``--full`` times pingouin on every feature. Both results are checked
to agree (point estimates to 1e-10) before the ratio is printed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def make_tables(n_feat: int, n: int, k: int, seed: int = 0) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    truth = rng.normal(0, rng.uniform(0.2, 3, (n_feat, 1, 1)), (n_feat, n, 1))
    y = (
        10
        + truth
        + rng.normal(0, 0.5, (n_feat, 1, k))
        + rng.normal(0, rng.uniform(0.1, 2, (n_feat, 1, 1)), (n_feat, n, k))
    )
    cases = [f"case{i:03d}" for i in range(n)]
    return [
        pd.DataFrame(y[:, :, r].T, columns=[f"f{j:04d}" for j in range(n_feat)]).assign(case_id=cases)
        for r in range(k)
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", type=int, default=1874)
    ap.add_argument("--cases", type=int, default=74)
    ap.add_argument("--readers", type=int, default=2)
    ap.add_argument(
        "--pingouin-subset", type=int, default=200, help="features timed with pingouin (then scaled)"
    )
    ap.add_argument("--full", action="store_true", help="time pingouin on every feature")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    import pingouin as pg

    from nbrisk.reproducibility.icc import icc_table

    tables = make_tables(args.features, args.cases, args.readers)
    icc_table(tables)  # warm-up (imports, scipy)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ours = icc_table(tables)
        times.append(time.perf_counter() - t0)
    t_ours = min(times)

    n_pg = args.features if args.full else min(args.pingouin_subset, args.features)
    long = pd.concat([t.assign(reader=r) for r, t in enumerate(tables)]).melt(
        id_vars=["case_id", "reader"], var_name="feature", value_name="value"
    )
    groups = dict(list(long.groupby("feature", sort=True))[:n_pg])
    t0 = time.perf_counter()
    pg_icc = {
        f: pg.intraclass_corr(g, targets="case_id", raters="reader", ratings="value")["ICC"].to_numpy()
        for f, g in groups.items()
    }
    t_pg = (time.perf_counter() - t0) * args.features / n_pg

    worst = max(
        float(np.max(np.abs(ours.loc[ours["feature"] == f, "icc"].to_numpy() - v))) for f, v in pg_icc.items()
    )
    assert worst < 1e-10, worst
    how = "measured" if n_pg == args.features else f"{n_pg} features timed, scaled"
    print(
        f"{args.features} features x {args.cases} cases x {args.readers} readers, six ICC forms with 95% CIs"
    )
    print(f"nbrisk.reproducibility.icc.icc_table : {t_ours * 1000:8.1f} ms (best of {args.repeats})")
    print(f"pingouin (per feature): {t_pg * 1000:8.1f} ms ({how})")
    print(f"max |difference| of ICC point estimates vs pingouin: {worst:.2e}")
    print(f"speed-up: {t_pg / t_ours:.0f}x")


if __name__ == "__main__":
    main()
