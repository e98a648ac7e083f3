"""Benchmark: semiautomatic ROI on a 512x512x200 CT phantom versus a plain threshold + connected components.

Run from the repository root:

    PYTHONPATH=NBRiskModule python3 bench/bench_segment.py [--repeats 3] [--size 512 512 200]

It builds one synthetic CT with :mod:`nbrisk.synthetic.phantom` (0.7 x 0.7 x 1.25 mm voxels; building it takes a
while and several GB of memory and is not timed), then times

* baseline: ``BinaryThreshold`` (-100..300 HU) + ``ConnectedComponent`` + ``RelabelComponent`` on the
  whole volume, keeping the largest component (what a "plain threshold + connected components" tool does);
* ``grow_from_seeds`` from the tumour centre (one click).

It prints the median wall time of each, their ratio, and the Dice of the semiautomatic mask against the
phantom truth.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def _time(fn, repeats: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    import SimpleITK as sitk

    from nbrisk.reproducibility.agreement import compare_masks
    from nbrisk.synthetic.phantom import PhantomSpec, make_phantom
    from nbrisk.segmentation.grow import grow_from_seeds

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, nargs=3, default=[512, 512, 200], metavar=("X", "Y", "Z"))
    ap.add_argument("--spacing", type=float, nargs=3, default=[0.7, 0.7, 1.25], metavar=("SX", "SY", "SZ"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="SimpleITK threads (0: its default)")
    args = ap.parse_args(argv)
    if args.threads:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(args.threads)
    size, spacing = tuple(args.size), tuple(args.spacing)
    origin = tuple(-n * s / 2.0 for n, s in zip(size, spacing, strict=True))
    t0 = time.perf_counter()
    ph = make_phantom(PhantomSpec(size=size, spacing=spacing, origin=origin), seed=7)
    print(f"phantom {size} voxels at {spacing} mm built in {time.perf_counter() - t0:.1f} s", flush=True)

    def baseline() -> sitk.Image:
        binary = sitk.BinaryThreshold(ph.image, -100, 300, 1, 0)
        return sitk.RelabelComponent(sitk.ConnectedComponent(binary)) == 1

    def semiauto() -> sitk.Image:
        return grow_from_seeds(ph.image, [ph.tumour_centre_lps])

    t_base, _ = _time(baseline, args.repeats)
    t_grow, mask = _time(semiauto, args.repeats)
    dice = compare_masks(ph.tumour, mask)["dice"]
    print(f"threshold + connected components: {t_base:.2f} s (median of {args.repeats})")
    print(f"grow_from_seeds (1 seed):          {t_grow:.2f} s (median of {args.repeats}), Dice {dice:.3f}")
    print(f"ratio grow_from_seeds / threshold+CC: {t_grow / t_base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
