"""Demo step: write the synthetic two-class CT cohort with ground truth."""

from __future__ import annotations

from nbrisk.synthetic.demo import DemoContext
from nbrisk.synthetic.phantom import make_cohort

TITLE = "synthetic cohort"


def run(ctx: DemoContext) -> None:
    cohort = ctx.out_dir / "cohort"
    manifest = make_cohort(cohort, ctx.n_cases, seed=ctx.seed, modality="ct", phases=("arterial", "venous"))
    ctx.state["cohort_dir"] = cohort
    ctx.state["manifest"] = manifest
    ctx.state["labels"] = cohort / "labels.csv"
    ctx.state["seeds"] = cohort / "seeds.csv"
    ctx.log(f"wrote {ctx.n_cases} synthetic arterial+venous CT cases (two tumour texture classes) to {cohort}")
