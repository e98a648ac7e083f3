"""Typed exceptions of the core.

Every error a user can cause (bad file, wrong geometry, wrong bundle...) is an ``NBRiskError`` whose
message is one line naming the file and the fix. The CLI prints it without a traceback and exits 2;
the Slicer layer shows it in a message box.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class NBRiskError(Exception):
    """Base class of all user-facing NBRisk errors (one-line message, names the file and the fix)."""


class InputError(NBRiskError):
    """A file cannot be read or its content is unusable (corrupt, empty mask, NaNs, 4-D...)."""


class InputGeometryError(InputError):
    """Image and mask (or two masks) do not share a voxel grid."""


class ModelCompatibilityError(NBRiskError):
    """A model bundle does not fit the features, preset or library versions at hand."""


class MissingDependencyError(NBRiskError):
    """An optional dependency is not installed."""


@contextmanager
def naming_mask(path: str | Path | None) -> Iterator[None]:
    """Prefix an extraction error that does not name a file with the mask's path (the ROI is at fault)."""
    try:
        yield
    except InputError as exc:
        text = str(exc)
        if path is None or str(path) in text or Path(path).name in text:
            raise
        raise type(exc)(f"{path}: {text}") from None
