"""Spot a table saved with another separator before it is misread as one column (``missing columns``)."""

from __future__ import annotations

from pathlib import Path

from nbrisk.errors import InputError

_NAMES = {";": "semicolons (';')", "\t": "tabs", "|": "'|'"}


def check_delimiter(path: str | Path, what: str = "table") -> None:
    """Raise InputError when ``path``'s header line is separated by ';', tabs or '|' instead of commas."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            header = fh.readline()
    except OSError:
        return  # the caller reports a missing/unreadable file in its own words
    if "," in header:
        return
    for sep, name in _NAMES.items():
        if sep in header:
            raise InputError(
                f"{path}: the {what}'s columns are separated by {name}, not commas; save it as comma-separated "
                f"CSV (e.g. replace {sep!r} by ',' or choose 'CSV (comma delimited)' when exporting)"
            )
