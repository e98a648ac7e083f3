"""Read YAML text with PyYAML, imported only here and only when YAML is actually read.

3D Slicer 5.10 bundles no PyYAML, and the panel imports preset and recipe modules while it sets up; a
module-level ``import yaml`` there failed before the user was offered the dependency install. Every YAML read
in the core goes through :func:`safe_load`, which raises :class:`MissingDependencyError` with the fix.
"""

from __future__ import annotations

from typing import Any

from nbrisk.errors import InputError, MissingDependencyError


def safe_load(text: str, source: str) -> Any:
    """Parse ``text`` (from ``source``, named in errors) with ``yaml.safe_load``.

    Raises:
        MissingDependencyError: PyYAML is not installed (in Slicer: press 'Install Python packages').
        InputError: the text is not valid YAML.
    """
    try:
        import yaml
    except ImportError:
        raise MissingDependencyError(
            f"{source}: reading YAML needs PyYAML, which is not installed; run 'pip install PyYAML' "
            "(in 3D Slicer: press 'Install Python packages' in the NBRisk panel)") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML ({str(exc).splitlines()[0]}); fix the file") from None
