"""Demo step: IDRF checklist with image hints for the held-out patient, then INRG stage and risk group.

The checklist is pre-filled with hints from the case's structure label map (``<case>_structures.nrrd``,
labels in :data:`nbrisk.synthetic.phantom.STRUCTURES`). A simulated reader then accepts the hints and answers
the regions an abdominal phantom cannot involve; the biology used for the risk-group example is
invented and labelled as such.
"""

from __future__ import annotations

import SimpleITK as sitk

from nbrisk.synthetic.demo import DemoContext

TITLE = "IDRF checklist, INRG stage and risk group (held-out patient)"
NON_ABDOMINAL_REGIONS = ("neck", "cervicothoracic_junction", "thorax", "thoracoabdominal")
EXAMPLE_BIOLOGY = {
    "age_months": 20.0,
    "histology": "neuroblastoma",
    "grade": "poorly_differentiated",
    "mycn": "not_amplified",
    "aberration_11q": "absent",
    "ploidy": "hyperdiploid",
}


def run(ctx: DemoContext) -> None:
    from nbrisk.staging.hints import hints_from_segmentation
    from nbrisk.staging.idrf import Checklist, accept_suggestions
    from nbrisk.staging.inrg import Metastases, inrgss_stage, risk_group, surgical_risk_seed001
    from nbrisk.synthetic.phantom import STRUCTURES

    names = {v: k for k, v in STRUCTURES.items()}
    if "holdout" in ctx.state:  # the patient the prediction report is about
        seg = ctx.state["holdout"]["structures"]
        hints = hints_from_segmentation(sitk.ReadImage(str(seg)), names)
    else:  # run on its own: the cohort case (of the first four) with the most vessel contact
        best = None
        for f in sorted(ctx.state["cohort_dir"].glob("*_structures.nrrd"))[:4]:
            hints = hints_from_segmentation(sitk.ReadImage(str(f)), names)
            score = max((h.value for h in hints if h.kind == "vessel_encasement"), default=0.0)
            if best is None or score > best[0]:
                best = (score, f, hints)
        assert best is not None, "s10_cohort wrote no structure label maps"
        _, seg, hints = best
    case = seg.name.removesuffix("_structures.nrrd")
    cl = Checklist.new(case, image=f"{case}_image.nrrd", segmentation=seg.name, reader="demo", hints=hints)
    out = ctx.out_dir / "idrf"
    ctx.state["checklist_prefilled"] = cl.save(out / f"{case}_checklist_prefilled.json")
    for h in hints:
        ctx.log(f"  hint [{h.suggestion}] {h.text}")
    for region in NON_ABDOMINAL_REGIONS:
        cl.set_region(region, "absent")
    accepted = accept_suggestions(cl, reader="demo reader (simulated)", include_absent=True)
    for item_id in cl.open_idrfs():  # what the masks cannot show: the simulated reader answers absent
        cl.set(item_id, "absent", note="demo reader (simulated): not seen")
    for item_id in ("pleural_effusion", "ascites", "multifocal_primary_tumours", "lymph_node_metastasis"):
        cl.set(item_id, "absent", note="demo reader (simulated)")
    path = cl.save(out / f"{case}_checklist.json")
    stage = inrgss_stage(cl, Metastases(False), EXAMPLE_BIOLOGY["age_months"])  # type: ignore[arg-type]
    risk = risk_group(stage.stage, **EXAMPLE_BIOLOGY)  # type: ignore[arg-type]
    surg = surgical_risk_seed001(cl)
    ctx.state["checklist"] = path
    ctx.state["inrg_stage"] = stage.to_dict()
    ctx.state["inrg_risk"] = risk.to_dict()
    ctx.log(
        f"{case}: {len(hints)} hints, {len(accepted)} accepted by the simulated reader; "
        f"IDRFs present {cl.positive_count} -> INRGSS {stage.stage} ({stage.rule})"
    )
    ctx.log(
        f"example biology (invented) {EXAMPLE_BIOLOGY} -> group {risk.group} ({risk.risk_group}); {risk.rule}"
    )
    ctx.log(f"seed-001 surgical risk: {surg.label} ({surg.rule}); checklist: {path}")
