#!/usr/bin/env python3
"""Make a tiny nnInteractive model folder (random weights) to exercise the benchmark's ``nninteractive`` method.

nnInteractive's weights come from Hugging Face (CC BY-NC-SA 4.0), which this project's machines cannot reach. This
folder has the layout nnInteractive's own loader reads (``plans.json``, ``dataset.json``,
``inference_session_class.json``, ``fold_0/checkpoint_final.pth`` saved from nnU-Net's ``nnUNetTrainer`` network
builder): a 4-stage residual U-Net with 8-32 features and 64^3 patches instead of the published ResEnc-L and 192^3.
Its masks are meaningless: it tests the plumbing (axis order, LPS to voxel, the box on the click's slice, positive and
negative points), not accuracy. Needs ``pip install nninteractive`` (PyTorch and nnU-Net v2 come with it).

    python Utilities/make_tiny_nninteractive_model.py /tmp/nni
    NBRISK_NNINTERACTIVE_MODEL=/tmp/nni python -m pytest Testing/core/segmentation/test_bench_reader.py -k nninteractive
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PATCH = [64, 64, 64]


def plans() -> dict:
    arch = {
        "network_class_name": "dynamic_network_architectures.architectures.unet.ResidualEncoderUNet",
        "arch_kwargs": {
            "n_stages": 4, "features_per_stage": [8, 16, 32, 32], "conv_op": "torch.nn.modules.conv.Conv3d",
            "kernel_sizes": [[3, 3, 3]] * 4, "strides": [[1, 1, 1]] + [[2, 2, 2]] * 3, "n_blocks_per_stage": [1] * 4,
            "n_conv_per_stage_decoder": [1] * 3, "conv_bias": True,
            "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d", "norm_op_kwargs": {"eps": 1e-5, "affine": True},
            "dropout_op": None, "dropout_op_kwargs": None, "nonlin": "torch.nn.LeakyReLU",
            "nonlin_kwargs": {"inplace": True},
        },
        "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"],
    }
    resample = "resample_data_or_seg_to_shape"
    cfg = {
        "data_identifier": "tiny", "preprocessor_name": "DefaultPreprocessor", "batch_size": 2, "patch_size": PATCH,
        "median_image_size_in_voxels": PATCH, "spacing": [1.0, 1.0, 1.0],
        "normalization_schemes": ["ZScoreNormalization"], "use_mask_for_norm": [False],
        "resampling_fn_data": resample,
        "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
        "resampling_fn_seg": resample,
        "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
        "resampling_fn_probabilities": resample,
        "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None},
        "batch_dice": False, "architecture": arch,
    }
    return {
        "dataset_name": "Dataset999_Tiny", "plans_name": "tinyPlans", "original_median_spacing_after_transp": [1, 1, 1],
        "original_median_shape_after_transp": PATCH, "image_reader_writer": "SimpleITKIO",
        "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2], "configurations": {"3d_fullres": cfg},
        "experiment_planner_used": "none", "label_manager": "LabelManager",
        "foreground_intensity_properties_per_channel": {},
    }


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import torch
        from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
        from nnunetv2.utilities.plans_handling.plans_handler import PlansManager
    except ImportError:
        print("make_tiny_nninteractive_model: pip install nninteractive first (it brings PyTorch and nnU-Net v2)",
              file=sys.stderr)
        return 2
    out = Path(sys.argv[1]).resolve()
    (out / "fold_0").mkdir(parents=True, exist_ok=True)
    p = plans()
    (out / "plans.json").write_text(json.dumps(p, indent=1))
    dataset = {"channel_names": {"0": "CT"}, "labels": {"background": 0, "object": 1}, "numTraining": 1,
               "file_ending": ".nii.gz"}
    (out / "dataset.json").write_text(json.dumps(dataset, indent=1))
    # nnInteractive's legacy metadata: 7 interaction channels (previous mask, box +/-, points +/-, scribbles +/-)
    (out / "inference_session_class.json").write_text(json.dumps({"point_radius": 4, "interaction_decay": 0.9}))
    (out / "LICENSE").write_text("Random weights from NBRisk's Utilities/make_tiny_nninteractive_model.py.\n")
    pm = PlansManager(p)
    torch.manual_seed(0)
    net = nnUNetTrainer.build_network_architecture(pm, pm.get_configuration("3d_fullres"), 1 + 7, 2,
                                                   enable_deep_supervision=False)
    torch.save({"trainer_name": "nnUNetTrainer", "init_args": {"configuration": "3d_fullres"},
                "network_weights": net.state_dict()}, out / "fold_0" / "checkpoint_final.pth")
    print(f"tiny nnInteractive model folder: {out} ({sum(x.numel() for x in net.parameters())} random weights)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
