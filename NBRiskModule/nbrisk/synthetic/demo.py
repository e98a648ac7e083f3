"""``nbrisk demo``: the main job end to end on built-in synthetic data.

The demo is a sequence of steps, one module each in :mod:`nbrisk.synthetic.demo_steps` (``sNN_name.py``, run in
name order). Each step exposes ``TITLE`` and ``run(ctx: DemoContext) -> None``, reads what earlier
steps left in ``ctx.state`` and adds its own results there.
"""

from __future__ import annotations

import importlib
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


def run_demo(ctx: DemoContext) -> DemoContext:
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    for step in demo_steps():
        ctx.log(f"== {step.TITLE}")
        step.run(ctx)
    return ctx
