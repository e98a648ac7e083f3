"""Detect missing Python packages on first use, ask the user, then install them (never at import).

Slicer >= 5.12 has ``slicer.packaging.pip_ensure`` (check without subprocess, confirmation dialog, restart
prompt, skipped in testing mode); older Slicer gets the same behaviour here with ``importlib.metadata`` +
``packaging``, ``slicer.util.confirmOkCancelDisplay`` and ``slicer.util.pip_install``.
"""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path

from nbrisk.errors import MissingDependencyError

logger = logging.getLogger(__name__)

REQUESTER = "NBRisk"


class DependencyDeclinedError(MissingDependencyError):
    """The user declined installing the Python packages NBRisk needs."""


def read_requirements(path: str | Path) -> list[str]:
    """Return the requirement strings of a requirements.txt (comments, blanks and pip options dropped)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [ln.split("#", 1)[0].strip() for ln in lines if ln.strip() and not ln.strip().startswith(("#", "-"))]


def missing_requirements(requirements: list[str]) -> list[str]:
    """Return the requirements not satisfied by the installed distributions (name and version checked)."""
    from packaging.requirements import Requirement

    missing = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(text)
            continue
        if req.specifier and not req.specifier.contains(installed, prereleases=True):
            missing.append(text)
    return missing


def foreign_radiomics_note() -> str:
    """Return a warning when a ``radiomics`` package from another distribution (e.g. SlicerRadiomics) exists."""
    dists = importlib.metadata.packages_distributions().get("radiomics", [])
    others = [d for d in dists if d.lower() != "pyradiomics-bhklab"]
    if not others:
        return ""
    return (f"Note: 'radiomics' is already provided by {', '.join(others)}; NBRisk records the pyradiomics "
            "version with every result and model bundles flag a version mismatch.")


def ensure(requirements_path: str | Path, slicer_module=None) -> None:
    """Make sure every requirement is installed, asking the user first.

    Raises:
        DependencyDeclinedError: the user said no (the message says what is missing and how to proceed).
    """
    if slicer_module is None:
        import slicer as slicer_module
    requirements = read_requirements(requirements_path)
    packaging_api = getattr(slicer_module, "packaging", None)
    if packaging_api is None:
        try:
            import slicer.packaging as packaging_api
        except ImportError:
            packaging_api = None
    if packaging_api is not None and hasattr(packaging_api, "pip_ensure"):
        try:
            packaging_api.pip_ensure(packaging_api.load_requirements(str(requirements_path)), requester=REQUESTER)
        except RuntimeError as exc:
            raise DependencyDeclinedError(_declined_message(requirements)) from exc
        return
    missing = missing_requirements(requirements)
    if not missing:
        return
    details = "\n".join(f"- {r}" for r in missing)
    note = foreign_radiomics_note()
    text = (f"NBRisk needs {len(missing)} Python package(s) that are not installed yet.\n\n"
            "Install them now into Slicer's Python environment?" + (f"\n\n{note}" if note else ""))
    if not slicer_module.util.confirmOkCancelDisplay(text, f"{REQUESTER} - Install Python Packages",
                                                     detailedText=details):
        raise DependencyDeclinedError(_declined_message(missing))
    logger.info("Installing %s", ", ".join(missing))
    slicer_module.util.pip_install(missing)


def _declined_message(missing: list[str]) -> str:
    return ("NBRisk cannot run without these Python packages: " + ", ".join(missing)
            + ". Press 'Install Python packages' in the Input section, or install them from the Python console"
            " with slicer.util.pip_install(...), then try again.")
