"""Detect missing Python packages on first use, ask the user, then install them (never at import).

Slicer >= 5.12 has ``slicer.packaging.pip_ensure`` (check without subprocess, confirmation dialog, restart
prompt, skipped in testing mode); older Slicer gets the same behaviour here with ``importlib.metadata`` +
``packaging``, ``slicer.util.confirmOkCancelDisplay`` and ``slicer.util.pip_install``.

Packages Slicer bundles (``Resources/slicer_bundled_packages.txt``, read from Slicer's SuperBuild files) are
never replaced: each one installed is pinned to its installed version in a pip constraints file passed to every
install, and a requirement that directly contradicts an installed bundled version is refused before asking.
"""

from __future__ import annotations

import importlib.metadata
import logging
import tempfile
from pathlib import Path

from nbrisk.errors import MissingDependencyError

logger = logging.getLogger(__name__)

REQUESTER = "NBRisk"


BUNDLED_FILE = "slicer_bundled_packages.txt"  # next to requirements.txt


class DependencyDeclinedError(MissingDependencyError):
    """The user declined installing the Python packages NBRisk needs."""


class BundledPackageConflictError(MissingDependencyError):
    """A requirement would replace a package that Slicer bundles."""


def bundled_names(path: str | Path) -> list[str]:
    """Distribution names listed in a bundled-packages file (``name==version  # source`` lines)."""
    from packaging.requirements import Requirement

    return [Requirement(text).name for text in read_requirements(path)]


def bundled_constraints(names: list[str]) -> list[str]:
    """``name==installed`` for every bundled package installed here (pip constraints: never replace them)."""
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return pins


def conflicts(requirements: list[str], constraints: list[str]) -> list[str]:
    """Requirements whose version range excludes the installed version of a bundled package."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pinned = {canonicalize_name(Requirement(c).name): next(iter(Requirement(c).specifier)).version
              for c in constraints}
    found = []
    for text in requirements:
        req = Requirement(text)
        version = pinned.get(canonicalize_name(req.name))
        if version is not None and req.specifier and not req.specifier.contains(version, prereleases=True):
            found.append(f"{text} (Slicer bundles {req.name} {version})")
    return found


def write_constraints(constraints: list[str], folder: str | Path) -> Path:
    path = Path(folder) / "NBRisk-slicer-constraints.txt"
    path.write_text("".join(f"{c}\n" for c in constraints), encoding="utf-8")
    return path


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
    bundled_file = Path(requirements_path).with_name(BUNDLED_FILE)
    constraints = bundled_constraints(bundled_names(bundled_file)) if bundled_file.is_file() else []
    clashes = conflicts(requirements, constraints)
    if clashes:
        raise BundledPackageConflictError(
            "NBRisk's requirements would replace packages that Slicer bundles: " + "; ".join(clashes)
            + ". Report this to the NBRisk developers; do not install them by hand.")
    folder = getattr(getattr(slicer_module, "app", None), "temporaryPath", None) or tempfile.gettempdir()
    constraints_path = write_constraints(constraints, folder)
    packaging_api = getattr(slicer_module, "packaging", None)
    if packaging_api is None:
        try:
            import slicer.packaging as packaging_api
        except ImportError:
            packaging_api = None
    if packaging_api is not None and hasattr(packaging_api, "pip_ensure"):
        try:
            packaging_api.pip_ensure(packaging_api.load_requirements(str(requirements_path)),
                                     constraints=str(constraints_path), requester=REQUESTER)
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
    logger.info("Installing %s (constraints: %s)", ", ".join(missing), constraints_path)
    slicer_module.util.pip_install([*missing, "-c", str(constraints_path)])


def _declined_message(missing: list[str]) -> str:
    return ("NBRisk cannot run without these Python packages: " + ", ".join(missing)
            + ". Press 'Install Python packages' in the Input section, or install them from the Python console"
            " with slicer.util.pip_install(...), then try again.")
