"""Benchmark: the Slicer panel's grow (NBRiskLogic.grow_tumour) on a 512x512x200 CT, with Slicer's real MRML.

``--set sts_mr --pad-to 512 512 60`` runs the same case's T1 MRI instead (the first click without a box then takes
its size from rays).

Run from the repository root after ``pip install -e '.[test]'`` (slicer-core and PySide6 come with the test extras):

    PYTHONPATH=NBRiskModule QT_QPA_PLATFORM=offscreen python3 bench/bench_panel_grow.py [--case STS_014]

An IBSI sarcoma CT (``~/.cache/nbrisk/ibsi_sts``, see ``bench_interactive_seg.py``) is centred in a 512x512x200
volume, loaded with ``slicer.util.loadVolume`` into a real scene, and grown the way the panel grows it: one click,
one click + a markups ROI box, then the benchmark reader's next clicks, each added to the markups and grown
again with the cached state. Printed per interaction: wall seconds of ``grow_tumour`` (the core call plus
writing the preview segment into MRML) and the Dice of the preview against the expert mask.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "Testing" / "slicer_layer"))
sys.path.insert(0, str(ROOT / "NBRiskModule"))

import bench_interactive_seg as B  # noqa: E402
import harness  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="STS_014")
    ap.add_argument("--set", default="sts_ct", choices=("sts_ct", "sts_mr"), help="the case's CT or its T1 MRI")
    ap.add_argument("--pad-to", type=int, nargs=3, default=[512, 512, 200], help="volume size (x y z)")
    ap.add_argument("--clicks", type=int, default=5)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp())
    slicer, _core = harness.setup_slicer(str(tmp), with_qt=True)
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication([])
    from NBRiskLib.slicer_logic import PREVIEW_SEGMENT, NBRiskLogic

    (_, case, img, truth_img), = [c for c in B.load_cases([args.set], "all") if c[1] == args.case]
    img, truth_img = B.pad_to(img, truth_img, list(args.pad_to))
    sitk.WriteImage(img, str(tmp / "ct.nrrd"))
    truth = sitk.GetArrayFromImage(truth_img) > 0
    sp = np.array(img.GetSpacing())[::-1]
    volume = slicer.util.loadVolume(str(tmp / "ct.nrrd"))
    seg = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "seg")
    seg.CreateDefaultDisplayNodes()
    logic = NBRiskLogic()
    for prompt in ("clicks", "box"):
        seeds = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", f"seeds {prompt}")
        bgs = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", f"background {prompt}")
        roi = None
        if prompt == "box":
            x0, y0, z0, x1, y1, z1 = B.bbox_lps(img, truth, 3.0)
            roi = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsROINode", "box")
            roi.SetCenter(-(x0 + x1) / 2, -(y0 + y1) / 2, (z0 + z1) / 2)  # LPS -> RAS
            roi.SetSize(x1 - x0, y1 - y0, z1 - z0)
        c0, _ = B.deepest(truth, sp)
        p = B.to_lps(img, c0)
        seeds.AddControlPoint([-p[0], -p[1], p[2]])
        for k in range(1, args.clicks + 1):
            t0 = time.perf_counter()
            logic.grow_tumour(volume, seeds, bgs, seg, "Tumour", False, roi)
            dt = time.perf_counter() - t0
            sid = seg.GetSegmentation().GetSegmentIdBySegmentName(PREVIEW_SEGMENT)
            pred = slicer.util.arrayFromSegmentBinaryLabelmap(seg, sid, volume) > 0
            print(f"{case} {prompt:6s} interaction {k}: {dt:.2f} s, Dice {B.dice(truth, pred):.3f}", flush=True)
            nxt = B.next_click(truth, pred, sp)
            if nxt is None:
                break
            q = B.to_lps(img, nxt[0])
            (seeds if nxt[1] else bgs).AddControlPoint([-q[0], -q[1], q[2]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
