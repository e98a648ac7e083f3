#!/usr/bin/env python3
"""Train NBRisk's small 3-D U-Net for tumour segmentation on synthetic phantoms; export ONNX + JSON.

Developer tool (needs the ``train`` extra: ``pip install -e '.[train]'``, i.e. PyTorch and onnx); the
package itself only needs ``onnxruntime`` to run the exported model.

Data: CT and MRI phantoms from :mod:`nbrisk.synthetic.phantom` generated on the fly (tumour size, position,
texture class, CT contrast phase, noise, MRI bias field, voxel spacing and field of view drawn at random).
A pool of ``--pool`` cases is made first; every training step then replaces one pool case with a new one,
so the network sees several hundred to a few thousand distinct cases. Validation cases come from seeds that
training never uses; the held-out test (``bench/bench_autoseg.py``) uses yet other seeds.

Each case is resampled to the model grid and normalised by :mod:`nbrisk.segmentation.preprocessing` (the code
the ONNX backend runs at inference). The target is the truth mask resampled linearly (a soft label, so
the network learns sub-voxel borders). Loss: binary cross-entropy + soft Dice. AdamW with a cosine
learning-rate decay over the wall-clock budget (``--minutes``); the weights with the best validation Dice
are exported.

Usage::

    nice -n 5 python Utilities/train_autoseg.py --minutes 35 --out NBRiskModule/nbrisk/segmentation/models
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "NBRiskModule"))

from nbrisk.segmentation.preprocessing import ModelConfig, normalise, to_model_grid
from nbrisk.synthetic.phantom import PHASE_VALUES, PhantomSpec, make_phantom

NAME = "nbrisk-synthetic-unet3d"
SPACING = (2.0, 2.0, 2.0)
PATCH = 48
CHANNELS = (8, 16, 32, 64)
NORMALIZATION = {
    "ct": {"method": "clip_scale", "clip": [-200.0, 500.0], "mean": 50.0, "std": 150.0},
    "mr": {"method": "zscore_foreground", "foreground_fraction": 0.1},
}
VAL_SEED0 = 50_000  # validation seeds; training uses 0..49_999; the bench's test uses 100_000+
SPACINGS = ((1.0, 1.0, 2.0), (0.8, 0.8, 1.6), (1.25, 1.25, 2.5), (1.5, 1.5, 1.5), (0.75, 0.75, 3.0))


def random_spec(rng: np.random.Generator, modality: str) -> PhantomSpec:
    """A training case: the demo cohort's ranges, widened, plus spacing/FOV/noise/phase variety."""
    spacing = SPACINGS[int(rng.integers(len(SPACINGS)))]
    fov = 96.0 * float(rng.uniform(0.9, 1.2))
    size = tuple(max(8, round(fov / s)) for s in spacing)
    extra = {}
    if modality == "ct":
        phase = [None, *PHASE_VALUES][int(rng.integers(len(PHASE_VALUES) + 1))]
        if phase:
            extra = {"values": PHASE_VALUES[phase]}
    return PhantomSpec(
        size=size, spacing=spacing, modality=modality, texture_class=int(rng.integers(2)),
        tumour_radius_mm=tuple(float(v) for v in rng.uniform(9.0, 19.0, 3)),
        tumour_offset_mm=(float(rng.uniform(14, 26)), float(rng.uniform(-14, -2)), float(rng.uniform(-6, 6))),
        noise_hu=float(rng.uniform(8.0, 16.0)), bias_strength=float(rng.uniform(0.15, 0.5)),
        origin=(-fov / 2, -fov / 2, -fov / 2), extra=extra)  # type: ignore[arg-type]


def demo_spec(rng: np.random.Generator, modality: str) -> PhantomSpec:
    """A case drawn like ``make_cohort`` draws the demo's (default grid, noise and values)."""
    radius = tuple(float(v) for v in rng.uniform(11.0, 17.0, 3))
    offset = (float(rng.uniform(16, 24)), float(rng.uniform(-12, -4)), float(rng.uniform(-4, 4)))
    return PhantomSpec(modality=modality, texture_class=int(rng.integers(2)),
                       tumour_radius_mm=radius, tumour_offset_mm=offset)  # type: ignore[arg-type]


def prepare(spec: PhantomSpec, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(normalised image, soft target) on the model grid, numpy z-y-x, float32."""
    ph = make_phantom(spec, seed=seed)
    img = to_model_grid(ph.image, SPACING)
    x = normalise(sitk.GetArrayViewFromImage(img), NORMALIZATION[spec.modality])
    tgt = sitk.GetArrayFromImage(to_model_grid(sitk.Cast(ph.tumour, sitk.sitkFloat32), SPACING, sitk.sitkLinear))
    tgt = np.clip(tgt, 0.0, 1.0).astype(np.float32)
    return x, tgt


def crop(x: np.ndarray, y: np.ndarray, rng: np.random.Generator | None, patch: int = PATCH,
         foreground: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Pad to at least PATCH+12 per axis (image minimum / 0) and take a random (or the central) window.

    With probability ``foreground`` the window is placed to hold a random tumour voxel (oversampling).
    """
    size = max(patch, PATCH) + 12
    pads = [(max(0, (size - n) // 2), max(0, size - n - (size - n) // 2)) for n in x.shape]
    x = np.pad(x, pads, constant_values=float(x.min()))
    y = np.pad(y, pads, constant_values=0.0)
    if rng is None:
        lo = [(n - patch) // 2 for n in x.shape]
    elif rng.random() < foreground and (y > 0.5).any():
        fg = np.argwhere(y > 0.5)
        c = fg[int(rng.integers(len(fg)))]
        lo = [int(np.clip(ci - rng.integers(4, patch - 4), 0, n - patch)) for ci, n in zip(c, x.shape, strict=True)]
    else:
        lo = [int(rng.integers(0, n - patch + 1)) for n in x.shape]
    sl = tuple(slice(s, s + patch) for s in lo)
    return x[sl], y[sl]


def build_model(channels=CHANNELS):
    import torch
    from torch import nn

    def block(i: int, o: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv3d(i, o, 3, padding=1, bias=False), nn.BatchNorm3d(o), nn.LeakyReLU(0.01, inplace=True),
            nn.Conv3d(o, o, 3, padding=1, bias=False), nn.BatchNorm3d(o), nn.LeakyReLU(0.01, inplace=True))

    class UNet3D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            ch = channels
            self.enc = nn.ModuleList([block(1 if i == 0 else ch[i - 1], c) for i, c in enumerate(ch)])
            self.up = nn.ModuleList([nn.ConvTranspose3d(ch[i + 1], ch[i], 2, 2) for i in range(len(ch) - 1)])
            self.dec = nn.ModuleList([block(2 * ch[i], ch[i]) for i in range(len(ch) - 1)])
            self.head = nn.Conv3d(ch[0], 1, 1)
            self.pool = nn.MaxPool3d(2)

        def forward(self, x):
            skips = []
            for i, enc in enumerate(self.enc):
                x = enc(x if i == 0 else self.pool(x))
                skips.append(x)
            x = skips.pop()
            for i in reversed(range(len(self.dec))):
                x = self.dec[i](torch.cat([self.up[i](x), skips[i]], 1))
            return self.head(x)

    return UNet3D()


def dice_np(p: np.ndarray, t: np.ndarray) -> float:
    a, b = p > 0.5, t > 0.5
    return 2.0 * float((a & b).sum()) / max(1.0, float(a.sum() + b.sum()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="folder for <name>.onnx, <name>.json, training log")
    ap.add_argument("--minutes", type=float, default=35.0, help="wall-clock training budget")
    ap.add_argument("--pool", type=int, default=256, help="cases kept in memory (one replaced per step)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--val", type=int, default=24, help="validation cases (half CT, half MRI)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 is fastest on a shared 2-core machine: no spin-waiting)")
    ap.add_argument("--train-patch", type=int, default=32,
                    help="training crop size (voxels; the network is fully convolutional, inference uses 48)")
    ap.add_argument("--foreground", type=float, default=0.67, help="fraction of crops holding tumour")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    try:
        import torch
    except ImportError:
        print("train_autoseg: PyTorch is missing; install the train extra: pip install -e '.[train]'",
              file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    log_path = args.out / f"{NAME}.train.log"
    with open(log_path, "w", encoding="utf-8") as log_fh:
        return train(args, torch, rng, log_fh)


def train(args: argparse.Namespace, torch: Any, rng: np.random.Generator, log_fh: TextIO) -> int:
    """Train within ``args.minutes``, writing <name>.onnx and <name>.json; progress to stderr and ``log_fh``."""
    t0 = time.time()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)
        log_fh.write(msg + "\n")
        log_fh.flush()

    next_seed = [0]

    def new_case() -> tuple[np.ndarray, np.ndarray]:
        s = next_seed[0]
        next_seed[0] += 1
        modality = "ct" if s % 2 == 0 else "mr"
        return prepare(random_spec(np.random.default_rng(s + 7919 * args.seed), modality), s)

    pool = []
    for i in range(args.pool):
        pool.append(new_case())
        if (i + 1) % 32 == 0:
            log(f"pool {i + 1}/{args.pool} cases ({time.time() - t0:.0f} s)")
    val = []
    for j in range(args.val):
        modality = "ct" if j % 2 == 0 else "mr"
        val.append(prepare(demo_spec(np.random.default_rng(VAL_SEED0 + j), modality), VAL_SEED0 + j))
    val_x = torch.from_numpy(np.stack([crop(x, y, None)[0] for x, y in val]))[:, None]
    val_y = [crop(x, y, None)[1] for x, y in val]

    model = build_model()
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    bce = torch.nn.BCEWithLogitsLoss()
    budget = args.minutes * 60.0
    t_train = time.time()
    step, best, best_state, history = 0, -1.0, None, []
    losses: list[float] = []

    def validate() -> tuple[float, float, float]:
        model.eval()
        with torch.no_grad():
            probs = torch.sigmoid(torch.cat([model(val_x[i:i + 4]) for i in range(0, len(val_x), 4)]))
        model.train()
        d = [dice_np(p[0].numpy(), t) for p, t in zip(probs, val_y, strict=True)]
        return float(np.mean(d)), float(np.mean(d[0::2])), float(np.mean(d[1::2]))

    while True:
        frac = (time.time() - t_train) / budget
        if frac >= 1.0:
            break
        lr = 1e-5 + 0.5 * (args.lr - 1e-5) * (1 + math.cos(math.pi * min(frac, 1.0)))
        if frac < 0.03:
            lr *= frac / 0.03 + 0.05  # short warm-up
        for g in opt.param_groups:
            g["lr"] = lr
        idx = rng.integers(0, len(pool), args.batch)
        xs, ys = zip(*(crop(*pool[i], rng, args.train_patch, args.foreground) for i in idx), strict=True)
        x = torch.from_numpy(np.stack(xs))[:, None]
        y = torch.from_numpy(np.stack(ys))[:, None]
        logits = model(x)
        p = torch.sigmoid(logits)
        inter = (p * y).sum(dim=(1, 2, 3, 4))
        soft_dice = (2 * inter + 1.0) / (p.sum(dim=(1, 2, 3, 4)) + y.sum(dim=(1, 2, 3, 4)) + 1.0)
        loss = bce(logits, y) + (1 - soft_dice).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        pool[int(rng.integers(len(pool)))] = new_case()  # on the fly: one new case per step
        step += 1
        if step % 50 == 0:
            vd, vct, vmr = validate()
            history.append({"step": step, "minutes": round((time.time() - t_train) / 60, 2),
                            "loss": round(float(np.mean(losses[-50:])), 4), "val_dice": round(vd, 4),
                            "val_dice_ct": round(vct, 4), "val_dice_mr": round(vmr, 4), "lr": lr})
            log(f"step {step} ({(time.time() - t_train) / 60:.1f} min): loss {np.mean(losses[-50:]):.4f}, "
                f"val Dice {vd:.3f} (CT {vct:.3f}, MR {vmr:.3f}), lr {lr:.2e}, cases seen {next_seed[0]}")
            if vd > best:
                best = vd
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    vd, vct, vmr = validate()
    log(f"final: val Dice {vd:.3f} (CT {vct:.3f}, MR {vmr:.3f}) after {step} steps")
    if best_state is not None and best > vd:
        model.load_state_dict(best_state)
        vd, vct, vmr = validate()
        log(f"kept the best validation weights: val Dice {vd:.3f}")
    model.eval()

    onnx_path = args.out / f"{NAME}.onnx"
    dummy = torch.zeros(1, 1, PATCH, PATCH, PATCH)
    torch.onnx.export(model, (dummy,), str(onnx_path), input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17,
                      do_constant_folding=True, dynamo=False)
    cfg = ModelConfig(
        spacing_mm=SPACING, patch_size=(PATCH, PATCH, PATCH), normalization=NORMALIZATION,
        name=NAME, note="Trained on synthetic phantoms only (nbrisk.synthetic.phantom). NOT FOR PATIENTS.",
        extra={"training": {
            "script": "Utilities/train_autoseg.py", "minutes": args.minutes, "steps": step, "batch": args.batch,
            "cases_seen": next_seed[0], "pool": args.pool,
            "train_patch": args.train_patch, "foreground_fraction": args.foreground, "lr": args.lr,
            "channels": list(CHANNELS),
            "parameters": n_params, "torch": torch.__version__, "seed": args.seed,
            "validation": {"cases": args.val, "dice": round(vd, 4), "dice_ct": round(vct, 4),
                           "dice_mr": round(vmr, 4), "grid": "model grid (2 mm), central 48^3 window"},
            "history": history}},
    )
    (args.out / f"{NAME}.json").write_text(json.dumps(cfg.to_json(), indent=2) + "\n", encoding="utf-8")
    log(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.2f} MB) and {NAME}.json; "
        f"{n_params} parameters, {(time.time() - t0) / 60:.1f} min in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
