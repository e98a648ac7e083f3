"""Demo step: extract the zhang2026-ct preset (arterial + venous CT) from the semiautomatic ROIs."""

from __future__ import annotations

import pandas as pd

from nbrisk.errors import NBRiskError
from nbrisk.features.cohort import extract_manifest
from nbrisk.features.presets import load_preset
from nbrisk.synthetic.demo import DemoContext

TITLE = "feature extraction (zhang2026-ct preset)"
PRESET = "zhang2026-ct"


def run(ctx: DemoContext) -> None:
    preset = load_preset(PRESET)
    manifest = ctx.state.get("semiauto_manifest") or ctx.state["manifest"]
    out = ctx.out_dir / "features" / "features.csv"
    res = extract_manifest(manifest, preset, out, jobs=ctx.jobs)
    if res.n_failed:
        raise NBRiskError(f"demo extraction failed for {res.n_failed} case(s); see {res.errors_csv}")
    df = pd.read_csv(out)
    labels = pd.read_csv(ctx.state["labels"], dtype={"case_id": str})
    merged = df.merge(labels, on="case_id")
    ctx.state["features_csv"] = out
    ctx.state["preset"] = PRESET
    ctx.log(f"{len(df)} cases x {df.shape[1] - 1} features ({preset.name}; expected {preset.feature_count}) -> {out}")
    for name in ("original_shape_MeshVolume", "venous_original_firstorder_Mean", "venous_original_glcm_Contrast"):
        by = merged.groupby("label")[name].mean()
        ctx.log(f"  mean {name}: class 0 = {by.get(0, float('nan')):.4g}, class 1 = {by.get(1, float('nan')):.4g}")
