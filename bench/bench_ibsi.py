"""Benchmark: the `ibsi` mode vs the pyradiomics-equal mode on the same image and mask.

For each case, times ``extract_features(..., "pyradiomics-default")`` (pyradiomics-equal mode, nbrisk engine)
and the IBSI mode with an IBSI preset (median of --repeat runs, interleaved) and prints both and the ratio.
Cases: pyradiomics' sample cases (cached by the tests) and, when cached, the IBSI CT radiomics phantom.

    python bench/bench_ibsi.py --cases brain1 lung2 ibsi-ct --repeat 3
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Testing"))
warnings.filterwarnings("ignore")


def load(case: str) -> tuple[sitk.Image, sitk.Image]:
    if case == "ibsi-ct":
        d = Path.home() / ".cache" / "nbrisk" / "ibsi" / "ct_phantom"
        img, msk = sitk.ReadImage(str(d / "image.nii.gz")), sitk.ReadImage(str(d / "mask.nii.gz"))
        msk = sitk.Cast(msk > 0, sitk.sitkUInt8)
        msk.CopyInformation(img)
        return img, msk
    from conftest import ensure_sample_data

    d = ensure_sample_data()
    img = sitk.ReadImage(str(d / f"{case}_image.nrrd"))
    msk = sitk.ReadImage(str(d / f"{case}_label.nrrd"))
    return img, sitk.Cast(msk == 1, sitk.sitkUInt8)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["brain1", "lung2", "ibsi-ct"])
    ap.add_argument("--preset", default="pyradiomics-default", help="pyradiomics-equal preset")
    ap.add_argument("--ibsi-preset", default="auto",
                    help="IBSI preset; auto: ibsi1-config-c (HU range) for the IBSI CT phantom, "
                         "ibsi1-config-d (3D, 2 mm, outlier filter, FBN 32; no HU range) for the samples")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    from nbrisk.features.extract import extract_features
    from nbrisk.features.ibsi.extract import compute_sitk, load_ibsi_preset

    print(f"{'case':<10} {'voxels':>9} {'roi':>7} {'pyradiomics-equal s':>20} {'ibsi s':>8} {'ibsi/pyr':>9} "
          f"{'n pyr':>6} {'n ibsi':>7}")
    for case in args.cases:
        img, msk = load(case)
        name = args.ibsi_preset if args.ibsi_preset != "auto" else (
            "ibsi1-config-c" if case == "ibsi-ct" else "ibsi1-config-d")
        settings = load_ibsi_preset(name)
        t_p, t_i = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fp = extract_features(img, msk, args.preset)
            t_p.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            fi = compute_sitk(img, msk, settings)
            t_i.append(time.perf_counter() - t0)
            print(f"  {case}: pyradiomics-equal {t_p[-1]:.2f} s, ibsi {t_i[-1]:.2f} s", file=sys.stderr)
        mp, mi = statistics.median(t_p), statistics.median(t_i)
        n_roi = int(sitk.GetArrayViewFromImage(msk).sum())
        print(f"{case:<10} {img.GetNumberOfPixels():>9} {n_roi:>7} {mp:>20.2f} {mi:>8.2f} {mi / mp:>9.2f} "
              f"{len(fp.values):>6} {len(fi):>7}  ({name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
