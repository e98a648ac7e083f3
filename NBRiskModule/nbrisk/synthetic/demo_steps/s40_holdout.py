"""Demo step: write one new (held-out) synthetic patient: phase images, tumour mask, structure label map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nbrisk.synthetic.demo import DemoContext

TITLE = "a held-out synthetic patient"
PHASES = ("arterial", "venous")


def run(ctx: DemoContext) -> None:
    images, mask, structures = write_holdout_patient(ctx, PHASES)
    ctx.state["holdout"] = {"case_id": "holdout001", "images": images, "mask": mask, "structures": structures}
    ctx.log(f"holdout001 (texture class 1, not in the training cohort) -> {Path(mask).parent}")


def write_holdout_patient(ctx: DemoContext, phases: tuple[str, ...]) -> tuple[Any, Path, Path]:
    """Write a new class-1 phantom (one image per phase when ``phases``); return (image(s), mask, structures)."""
    from dataclasses import replace

    from nbrisk.io.images import write_image
    from nbrisk.synthetic.phantom import PHASE_VALUES, PhantomSpec, make_phantom

    seed = 1_000_003 + ctx.seed  # far from the cohort's seeds: a new patient
    rng = np.random.default_rng(seed)
    spec = PhantomSpec(texture_class=1, tumour_radius_mm=tuple(float(v) for v in rng.uniform(12.0, 16.0, 3)),  # type: ignore[arg-type]
                       tumour_offset_mm=(14.0, -8.0, 0.0))  # type: ignore[arg-type]
    hold = ctx.out_dir / "holdout"
    ph = make_phantom(spec, seed=seed)
    mask = write_image(ph.tumour, hold / "holdout001_mask.nrrd")
    structures = write_image(ph.structures, hold / "holdout001_structures.nrrd")
    if not phases:
        return write_image(ph.image, hold / "holdout001_image.nrrd"), mask, structures
    images = {}
    for phase in phases:  # same anatomy and texture, phase-specific enhancement (as make_cohort does)
        pspec = replace(spec, extra={"values": PHASE_VALUES[phase]})
        images[phase] = write_image(make_phantom(pspec, seed=seed).image, hold / f"holdout001_{phase}.nrrd")
    return images, mask, structures
