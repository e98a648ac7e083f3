"""Allow ``python -m nbrisk ...`` (used by the Slicer layer's subprocess runner)."""

from nbrisk.cli import entry

entry()
