"""Demo step: bundle the trained demo model (marked synthetic) and predict one held-out synthetic patient."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nbrisk.demo import DemoContext

TITLE = "model bundle and a held-out prediction"
INTENDED_USE = ("DEMONSTRATION ONLY: trained on synthetic phantoms by 'nbrisk demo'. It shows the workflow "
                "and means nothing for any patient. Not for clinical use.")


def run(ctx: DemoContext) -> None:
    trained = ctx.state.get("trained")
    if trained is None:
        ctx.log("skipped: no trained model in ctx.state (the training step did not run)")
        return
    from nbrisk.bundle import save_bundle
    from nbrisk.cohort import _quiet_radiomics
    from nbrisk.predict import predict_to_dir
    from nbrisk.presets import load_preset

    _quiet_radiomics()

    preset = load_preset(ctx.state["preset"])
    table = pd.read_csv(ctx.state["features_csv"]).merge(pd.read_csv(ctx.state["labels"]), on="case_id")
    path = save_bundle(ctx.out_dir / "model" / "demo_synthetic.nbrisk", trained, preset.name, preset.sha256,
                       training_features=table, training_labels=table["label"].tolist(), synthetic=True,
                       intended_use=INTENDED_USE)
    image, mask = _holdout_patient(ctx, preset.phases)
    clinical = {c["name"]: float(np.mean(c["range"])) for c in getattr(trained, "clinical_inputs", None) or []
                if c.get("range")}
    pred, files = predict_to_dir(path, image, mask, ctx.out_dir / "prediction", clinical=clinical,
                                 case_id="holdout001")
    ctx.log(f"bundle {path} ({path.stat().st_size / 1024:.0f} KiB), marked as trained on synthetic data")
    prob = "n/a" if pred.probability is None else f"{pred.probability:.3f}"
    ctx.log(f"held-out synthetic patient (texture class 1): probability {prob}, threshold {pred.threshold:.3f}, "
            f"predicted class {pred.predicted_class} ({pred.risk_category}); {len(pred.warnings)} warning(s)")
    ctx.log(f"report: {files['html']}" + (f" and {files['pdf']}" if files.get("pdf") else " (no PDF: see prediction.json)"))
    ctx.state["bundle"] = path
    ctx.state["report"] = files["html"]
    ctx.state["prediction"] = pred


def _holdout_patient(ctx: DemoContext, phases: tuple[str, ...]) -> tuple[Any, Path]:
    """Write a new class-1 phantom (one image per phase for multi-phase presets); return (image(s), mask)."""
    from dataclasses import replace

    from nbrisk.io import write_image
    from nbrisk.phantom import PHASE_VALUES, PhantomSpec, make_phantom

    seed = 1_000_003 + ctx.seed  # far from the cohort's seeds: a new patient
    rng = np.random.default_rng(seed)
    spec = PhantomSpec(texture_class=1, tumour_radius_mm=tuple(float(v) for v in rng.uniform(12.0, 16.0, 3)),
                       tumour_offset_mm=(20.0, -8.0, 0.0))  # type: ignore[arg-type]
    hold = ctx.out_dir / "holdout"
    ph = make_phantom(spec, seed=seed)
    mask = write_image(ph.tumour, hold / "holdout001_mask.nrrd")
    if not phases:
        return write_image(ph.image, hold / "holdout001_image.nrrd"), mask
    images = {}
    for phase in phases:  # same anatomy and texture, phase-specific enhancement (as make_cohort does)
        pspec = replace(spec, extra={"values": PHASE_VALUES[phase]})
        images[phase] = write_image(make_phantom(pspec, seed=seed).image, hold / f"holdout001_{phase}.nrrd")
    return images, mask
