"""Demo step: bundle the trained demo model (marked synthetic) and predict one held-out synthetic patient."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from nbrisk.synthetic.demo import DemoContext

TITLE = "model bundle and a held-out prediction"
INTENDED_USE = ("DEMONSTRATION ONLY: trained on synthetic phantoms by 'nbrisk demo'. It shows the workflow "
                "and means nothing for any patient. Not for clinical use.")


def run(ctx: DemoContext) -> None:
    trained = ctx.state.get("trained")
    if trained is None:
        ctx.log("skipped: no trained model in ctx.state (the training step did not run)")
        return
    from nbrisk.bundle.format import save_bundle
    from nbrisk.features.cohort import _quiet_radiomics
    from nbrisk.features.presets import load_preset
    from nbrisk.prediction.predict import predict_to_dir

    _quiet_radiomics()

    preset = load_preset(ctx.state["preset"])
    table = pd.read_csv(ctx.state["features_csv"]).merge(pd.read_csv(ctx.state["labels"]), on="case_id")
    path = save_bundle(ctx.out_dir / "model" / "demo_synthetic.nbrisk", trained, preset.name, preset.sha256,
                       training_features=table, training_labels=table["label"].tolist(), synthetic=True,
                       intended_use=INTENDED_USE)
    hold = ctx.state.get("holdout")
    if hold is None or set(preset.phases) != set(hold["images"] if isinstance(hold["images"], dict) else ()):
        from nbrisk.synthetic.demo_steps.s40_holdout import write_holdout_patient

        image, mask, _ = write_holdout_patient(ctx, preset.phases)
    else:
        image, mask = hold["images"], hold["mask"]
    idrf = json.loads(Path(ctx.state["checklist"]).read_text(encoding="utf-8")) if "checklist" in ctx.state else None
    inrg = ({"stage": ctx.state["inrg_stage"], "risk": ctx.state["inrg_risk"]}
            if "inrg_stage" in ctx.state and "inrg_risk" in ctx.state else None)
    clinical = {c["name"]: float(np.mean(c["range"])) for c in getattr(trained, "clinical_inputs", None) or []
                if c.get("range")}
    pred, files = predict_to_dir(path, image, mask, ctx.out_dir / "prediction", clinical=clinical,
                                 case_id="holdout001", idrf=idrf, inrg=inrg)
    ctx.log(f"bundle {path} ({path.stat().st_size / 1024:.0f} KiB), marked as trained on synthetic data")
    prob = "n/a" if pred.probability is None else f"{pred.probability:.3f}"
    ctx.log(f"held-out synthetic patient (texture class 1): probability {prob}, threshold {pred.threshold:.3f}, "
            f"predicted class {pred.predicted_class} ({pred.risk_category}); {len(pred.warnings)} warning(s)")
    pdf_note = f" and {files['pdf']}" if files.get("pdf") else " (no PDF: see prediction.json)"
    ctx.log(f"report: {files['html']}" + pdf_note)
    ctx.state["bundle"] = path
    ctx.state["report"] = files["html"]
    ctx.state["prediction"] = pred
