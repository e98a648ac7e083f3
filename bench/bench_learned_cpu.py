"""Benchmark: what a learned 3-D interactive model would cost on the reader's CPU (issue 23's 2 s per interaction).

Random weights, so no Dice: only the arithmetic of one forward pass and one training step, which does not depend on
the weights. Two networks of the class ``dynamic_network_architectures.ResidualEncoderUNet`` (the class nnU-Net's
residual-encoder plans and nnInteractive's checkpoint build):

- ``resenc-l``: nnU-Net's ResEnc-L layout (6 stages, 32-320 features, 1/3/4/6/6/6 residual blocks; about 102 million
  parameters) with 8 input channels (the image and 7 interaction channels), the size of nnInteractive's published
  checkpoint (about 400 MB, trained on 192^3 patches). nnInteractive's readme asks for an NVIDIA GPU with 10 GB.
- ``small``: 5 stages, 16-256 features, 1/2/2/2/2 blocks (about 10 million parameters), 4 input channels (image,
  tumour clicks, background clicks, previous mask): a network one might train here; also times a training step
  (batch 2, SGD), the unit of any training budget.

Not part of NBRisk's dependencies; in a scratch environment::

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch dynamic-network-architectures
    /tmp/tv/bin/python bench/bench_learned_cpu.py --threads 2 --patch 96 128 192

Measured on this project's 2-core machine on 2026-12-07 (torch 2.13.0+cpu, 2 threads, float32, second run of each):
ResEnc-L forward 4.1 s at 96^3, 10.2 s at 128^3, 39.7 s at 192^3; the small network's forward 1.2 s, 3.1 s and 11.3 s,
a training step (batch 2) 7.6 s, 22.3 s and 88.6 s. In one shell run beside NBRisk's own first click on the padded
512x512x200 STS_012 CT (1.36-1.56 s): ResEnc-L at 192^3 38.9-39.2 s, about 28 times as long.
"""

from __future__ import annotations

import argparse
import time


def build(kind: str):
    from dynamic_network_architectures.architectures.unet import ResidualEncoderUNet
    from torch import nn

    if kind == "resenc-l":
        stages, feats, blocks, cin = 6, [32, 64, 128, 256, 320, 320], [1, 3, 4, 6, 6, 6], 8
    else:
        stages, feats, blocks, cin = 5, [16, 32, 64, 128, 256], [1, 2, 2, 2, 2], 4
    net = ResidualEncoderUNet(
        input_channels=cin, n_stages=stages, features_per_stage=feats, conv_op=nn.Conv3d,
        kernel_sizes=[[3, 3, 3]] * stages, strides=[[1, 1, 1]] + [[2, 2, 2]] * (stages - 1),
        n_blocks_per_stage=blocks, num_classes=2, n_conv_per_stage_decoder=[1] * (stages - 1), conv_bias=True,
        norm_op=nn.InstanceNorm3d, norm_op_kwargs={"eps": 1e-5, "affine": True}, nonlin=nn.LeakyReLU,
        nonlin_kwargs={"inplace": True}, deep_supervision=False)
    return net, cin


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (the reader's cores)")
    ap.add_argument("--patch", type=int, nargs="+", default=[96, 128], help="cubic patch sizes (voxels per side)")
    ap.add_argument("--nets", nargs="+", choices=("resenc-l", "small"), default=["resenc-l", "small"])
    ap.add_argument("--repeats", type=int, default=2, help="timed runs of each (the first includes warm-up)")
    ap.add_argument("--train", action="store_true", help="also time one training step of the small network")
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        raise SystemExit("bench_learned_cpu: needs torch and dynamic-network-architectures "
                         "(pip install torch dynamic-network-architectures in a scratch venv)") from None
    torch.set_num_threads(args.threads)
    for kind in args.nets:
        net, cin = build(kind)
        print(f"{kind}: {sum(p.numel() for p in net.parameters()) / 1e6:.1f} million parameters", flush=True)
        for ps in args.patch:
            x = torch.randn(1, cin, ps, ps, ps)
            net.eval()
            with torch.inference_mode():
                for rep in range(args.repeats):
                    t = time.perf_counter()
                    net(x)
                    print(f"  {ps}^3 forward {time.perf_counter() - t:.2f} s (run {rep})", flush=True)
            if args.train and kind == "small":
                net.train()
                opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.99)
                xb, tgt = torch.randn(2, cin, ps, ps, ps), torch.randint(0, 2, (2, ps, ps, ps))
                for rep in range(args.repeats):
                    t = time.perf_counter()
                    opt.zero_grad()
                    torch.nn.functional.cross_entropy(net(xb), tgt).backward()
                    opt.step()
                    print(f"  {ps}^3 training step (batch 2) {time.perf_counter() - t:.2f} s (run {rep})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
