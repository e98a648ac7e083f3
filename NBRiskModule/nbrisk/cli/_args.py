"""Command-line syntax shared by several verbs (parsed here, then handed to one public call)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nbrisk.errors import InputError


def parse_phase_images(items: Sequence[str]) -> str | dict[str, str]:
    """Parse image arguments: one ``PATH``, or ``PHASE=PATH`` items (each phase once).

    One item naming an existing file is a path even if its name holds ``=``.
    """
    if len(items) == 1 and ("=" not in items[0] or Path(items[0]).exists()):
        return items[0]
    out: dict[str, str] = {}
    for item in items:
        phase, sep, path = item.partition("=")
        if not sep or not phase.strip() or not path.strip():
            raise InputError(f"--image {item!r}: give one PATH, or PHASE=PATH for each phase (e.g. venous=v.nrrd)")
        if phase.strip() in out:
            raise InputError(f"--image {phase.strip()} given twice; give each phase once")
        out[phase.strip()] = path.strip()
    return out
