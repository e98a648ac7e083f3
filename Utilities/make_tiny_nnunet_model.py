#!/usr/bin/env python3
"""Make a tiny nnU-Net v2 model folder (random weights) to exercise NBRisk's nnU-Net backend without a GPU.

nnU-Net's own planner plans three phantoms (``nbrisk.synthetic.phantom``), and an ``nnUNetTrainer``
saves its untrained network as ``checkpoint_final.pth``, so the folder has exactly the layout of a trained
model. Its masks are meaningless (random weights): it tests the plumbing, not accuracy. Needs nnunetv2.

    python Utilities/make_tiny_nnunet_model.py /tmp/nnu
    NBRISK_NNUNET_MODEL=/tmp/nnu/results/Dataset999_Tiny/nnUNetTrainer__nnUNetPlans__3d_fullres \\
        python -m pytest Testing/core/segmentation/test_autoseg.py -k nnunet
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "NBRiskModule"))


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    base = Path(sys.argv[1]).resolve()
    for k in ("raw", "preprocessed", "results"):
        os.environ[f"nnUNet_{k}"] = str(base / k)
        (base / k).mkdir(parents=True, exist_ok=True)
    import SimpleITK as sitk

    from nbrisk.synthetic.phantom import PhantomSpec, make_phantom

    ds = base / "raw" / "Dataset999_Tiny"
    (ds / "imagesTr").mkdir(parents=True, exist_ok=True)
    (ds / "labelsTr").mkdir(parents=True, exist_ok=True)
    for i in range(3):
        ph = make_phantom(PhantomSpec(), seed=900 + i)
        sitk.WriteImage(ph.image, str(ds / "imagesTr" / f"tiny_{i:03d}_0000.nrrd"))
        sitk.WriteImage(ph.tumour, str(ds / "labelsTr" / f"tiny_{i:03d}.nrrd"))
    (ds / "dataset.json").write_text(json.dumps({"channel_names": {"0": "CT"}, "labels": {"background": 0, "tumour": 1},
                                                 "numTraining": 3, "file_ending": ".nrrd"}))
    pp = base / "preprocessed" / "Dataset999_Tiny"
    if not (pp / "nnUNetPlans.json").exists():
        entry = ("from nnunetv2.experiment_planning.plan_and_preprocess_entrypoints import plan_and_preprocess_entry; "
                 "plan_and_preprocess_entry()")
        subprocess.run([sys.executable, "-c", entry, "-d", "999", "-c", "3d_fullres", "-np", "1"], check=True)
    import torch
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

    plans = json.loads((pp / "nnUNetPlans.json").read_text())
    plans["continue_training"] = False  # nnunetv2 2.8's trainer pops this key
    dataset = json.loads((pp / "dataset.json").read_text())
    trainer = nnUNetTrainer(plans=plans, configuration="3d_fullres", fold=0, dataset_json=dataset,
                            device=torch.device("cpu"))
    trainer.initialize()
    out = Path(trainer.output_folder)
    out.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(str(out / "checkpoint_final.pth"))
    shutil.copy(pp / "nnUNetPlans.json", out.parent / "plans.json")
    shutil.copy(pp / "dataset.json", out.parent / "dataset.json")
    print(out.parent)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
