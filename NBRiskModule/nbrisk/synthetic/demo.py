"""``nbrisk demo``: the main job end to end on built-in synthetic data.

The demo is a sequence of steps, one module each in :mod:`nbrisk.synthetic.demo_steps` (``sNN_name.py``, run in
name order). Each step exposes ``TITLE`` and ``run(ctx: DemoContext) -> None``, reads what earlier
steps left in ``ctx.state`` and adds its own results there.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
import nbrisk.synthetic.demo_steps as pkg


@dataclass
class DemoContext:
    out_dir: Path
    n_cases: int = 16
    seed: int = 0
    jobs: int = 1
    log: Callable[[str], None] = print  # the CLI passes its own writer
    state: dict[str, Any] = field(default_factory=dict)


def demo_steps() -> list:
    names = sorted(i.name for i in pkgutil.iter_modules(pkg.__path__) if i.name.startswith("s"))
    return [importlib.import_module(f"{pkg.__name__}.{n}") for n in names]


MARKER = ".nbrisk-demo"


def run_demo_atomic(ctx: DemoContext) -> DemoContext:
    """Run the demo into a hidden folder beside ``ctx.out_dir`` and move it into place only when every step
    succeeded: a failed or interrupted demo leaves the earlier folder (or none) as it was.

    ``out_dir`` must be new, an empty folder or an earlier demo's folder (it holds the ``.nbrisk-demo``
    marker); anything else is refused before any work, so the demo never overwrites a user's files.
    """
    import shutil

    from nbrisk.errors import InputError

    out = Path(ctx.out_dir)
    if out.exists():
        if not out.is_dir():
            raise InputError(f"{out}: is a file; choose a new folder for --out")
        if any(out.iterdir()) and not (out / MARKER).is_file():
            raise InputError(f"{out}: exists and is not an nbrisk demo folder; choose a new or empty folder "
                             "for --out (the demo replaces only an earlier demo's folder)")
    from nbrisk.io.outputs import staging_dir

    stage = staging_dir(out)
    old = None
    try:
        def log(text: str) -> None:  # the user sees the final folder, never the staging one
            ctx.log(text.replace(str(stage), str(out)))

        run_demo(DemoContext(out_dir=stage, n_cases=ctx.n_cases, seed=ctx.seed, jobs=ctx.jobs, log=log,
                             state=ctx.state))
        (stage / MARKER).write_text("written by nbrisk demo; `nbrisk demo --out` may replace this folder\n")
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return ctx


def run_demo(ctx: DemoContext) -> DemoContext:
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    for step in demo_steps():
        ctx.log(f"== {step.TITLE}")
        step.run(ctx)
    return ctx
