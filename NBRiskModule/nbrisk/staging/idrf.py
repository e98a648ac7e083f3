"""The IDRF checklist: what a radiologist records about image-defined risk factors, saved and reopened.

The 20 INRG image-defined risk factors (Monclair 2009; Brisse 2011) and the findings recorded beside
them are data (``nbrisk/staging/data/idrf.json``, with its sources), not code. A :class:`Checklist` holds one
answer per item (``present`` / ``absent`` / ``not_assessable``, or ``unset`` while unanswered), an
optional note and an evidence location (slice index and/or LPS point in mm), plus the image-derived
:class:`Hint` objects computed by :mod:`nbrisk.staging.hints`. Hints are suggestions: they never change an
answer unless a caller explicitly accepts them (:func:`accept_suggestions`). Checklists round-trip
through JSON and CSV, so a half-filled checklist can be saved and reopened.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nbrisk.errors import InputError
from nbrisk.io.images import atomic_path
from nbrisk.staging import idrf_csv
from nbrisk.staging.evidence import Evidence, Hint  # re-exported: hints and checklist share them
from nbrisk.staging.tables import (  # re-exported: the checklist's vocabulary
    FORMAT,
    FORMAT_VERSION,
    OTHER_FINDINGS,
    all_item_ids,
    data_path,
    definitions_sha256,
    finding_items,
    idrf_items,
    load_table,
    region_labels,
)

__all__ = [
    "OTHER_FINDINGS",
    "Checklist",
    "ChecklistRow",
    "Evidence",
    "Hint",
    "FORMAT",
    "FORMAT_VERSION",
    "ItemState",
    "accept_suggestions",
    "all_item_ids",
    "checklist_view",
    "data_path",
    "definitions_sha256",
    "finding_items",
    "idrf_items",
    "load_table",
    "parse_status",
    "region_labels",
]

logger = logging.getLogger(__name__)

STATUSES = ("unset", "present", "absent", "not_assessable")
_ALIAS_WORDS = {
    "present": ("present", "yes", "y", "+", "1", "true"),
    "absent": ("absent", "no", "n", "-", "0", "false"),
    "not_assessable": ("not_assessable", "na", "n/a", "not-assessable", "unassessable"),
    "unset": ("unset", "clear", "", "?"),
}
STATUS_ALIASES = {word: status for status, words in _ALIAS_WORDS.items() for word in words}


def parse_status(value: str, where: str = "") -> str:
    """Normalise a status word (present/absent/not_assessable/unset, or yes/no/na) or raise InputError."""
    key = str(value).strip().lower().replace(" ", "_")
    if key not in STATUS_ALIASES:
        raise InputError(f"{where}invalid status {value!r}; use one of {', '.join(STATUSES)}")
    return STATUS_ALIASES[key]


# ----------------------------------------------------------------------------------------- dataclasses
@dataclass(slots=True)
class ItemState:
    """The answer for one checklist item."""

    id: str
    status: str = "unset"
    note: str = ""
    evidence: Evidence | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "note": self.note,
            "evidence": self.evidence.to_dict() if self.evidence else None,
        }


@dataclass(frozen=True, slots=True)
class ChecklistRow:
    """One display row (Slicer panel, report): nothing here is recomputed from images."""

    region: str
    id: str
    text: str
    status: str
    hint: str
    is_idrf: bool
    suggestion: str = ""
    note: str = ""
    evidence: str = ""
    hints: tuple[str, ...] = ()


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


# ------------------------------------------------------------------------------------------- checklist
@dataclass
class Checklist:
    """An editable IDRF checklist for one case (IDRF items, recorded findings, hints, provenance)."""

    items: dict[str, ItemState]
    hints: list[Hint] = field(default_factory=list)
    case_id: str = ""
    image: str = ""
    segmentation: str = ""
    reader: str = ""
    created: str = ""
    modified: str = ""
    definitions_sha256: str = ""

    @classmethod
    def new(
        cls,
        case_id: str = "",
        *,
        image: str = "",
        segmentation: str = "",
        reader: str = "",
        hints: list[Hint] | None = None,
    ) -> Checklist:
        """Create an empty checklist (every item ``unset``) for the packaged IDRF definitions."""
        now = _now()
        return cls(
            {i: ItemState(i) for i in all_item_ids()},
            list(hints or []),
            case_id,
            image,
            segmentation,
            reader,
            now,
            now,
            definitions_sha256(),
        )

    # ---- queries
    @property
    def idrf_ids(self) -> list[str]:
        return [i["id"] for i in idrf_items()]

    @property
    def finding_ids(self) -> list[str]:
        return [f["id"] for f in finding_items()]

    def status(self, item_id: str) -> str:
        self._check_id(item_id)
        return self.items[item_id].status

    def present_idrfs(self) -> list[str]:
        return [i for i in self.idrf_ids if self.items[i].status == "present"]

    def open_idrfs(self) -> list[str]:
        """IDRF ids still ``unset`` or ``not_assessable`` (what keeps L1 from being decided)."""
        return [i for i in self.idrf_ids if self.items[i].status in ("unset", "not_assessable")]

    @property
    def positive_count(self) -> int:
        return len(self.present_idrfs())

    @property
    def is_complete(self) -> bool:
        return not any(self.items[i].status == "unset" for i in self.idrf_ids)

    def hints_for(self, item_id: str) -> list[Hint]:
        return [h for h in self.hints if item_id in h.item_ids]

    # ---- edits
    def set(
        self, item_id: str, status: str, note: str | None = None, evidence: Evidence | None = None
    ) -> None:
        """Record an answer (see :func:`parse_status`); a given ``note``/``evidence`` replaces the old one."""
        self._check_id(item_id)
        st = self.items[item_id]
        st.status = parse_status(status, f"item {item_id}: ")
        if note is not None:
            st.note = note
        if evidence is not None:
            st.evidence = evidence
        self.modified = _now()

    def set_region(self, region: str, status: str) -> None:
        """Answer every IDRF of one region at once (e.g. neck items ``absent`` for an abdominal tumour)."""
        ids = [i["id"] for i in idrf_items() if i["region"] == region]
        if not ids:
            raise InputError(f"unknown IDRF region {region!r}; valid: {', '.join(region_labels())}")
        for i in ids:
            self.set(i, status)

    def _check_id(self, item_id: str) -> None:
        if item_id not in self.items:
            raise InputError(f"unknown checklist item {item_id!r}; valid ids: {', '.join(self.items)}")

    # ---- serialisation
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "definitions": {
                "file": "idrf.json",
                "sha256": self.definitions_sha256,
                "source": load_table("idrf.json")["source"]["primary"],
            },
            "case_id": self.case_id,
            "image": self.image,
            "segmentation": self.segmentation,
            "reader": self.reader,
            "created": self.created,
            "modified": self.modified,
            "idrf": [self.items[i].to_dict() for i in self.idrf_ids],
            "findings": [self.items[i].to_dict() for i in self.finding_ids],
            "hints": [h.to_dict() for h in self.hints],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<checklist>") -> Checklist:
        if d.get("format") != FORMAT:
            raise InputError(
                f"{source}: not an NBRisk IDRF checklist (format {d.get('format')!r}); "
                "create one with 'nbrisk idrf --image ... --segmentation ...'"
            )
        if int(d.get("format_version", 0)) > FORMAT_VERSION:
            raise InputError(
                f"{source}: checklist format {d.get('format_version')} is newer than this nbrisk "
                f"({FORMAT_VERSION}); update nbrisk"
            )
        cl = cls.new(
            str(d.get("case_id", "")),
            image=str(d.get("image", "")),
            segmentation=str(d.get("segmentation", "")),
            reader=str(d.get("reader", "")),
        )
        for e in list(d.get("idrf", [])) + list(d.get("findings", [])):
            item_id = str(e.get("id", ""))
            if item_id not in cl.items:
                raise InputError(f"{source}: unknown checklist item {item_id!r}; remove it or fix the id")
            cl.items[item_id] = ItemState(
                item_id,
                parse_status(e.get("status", "unset"), f"{source}: {item_id}: "),
                str(e.get("note") or ""),
                Evidence.from_dict(e.get("evidence")),
            )
        cl.hints = [Hint.from_dict(h) for h in d.get("hints", [])]
        cl.created = str(d.get("created") or cl.created)
        cl.modified = str(d.get("modified") or cl.modified)
        sha = ((d.get("definitions") or {}).get("sha256")) or ""
        if sha and sha != cl.definitions_sha256:
            logger.warning("%s was made with other IDRF definitions (sha256 %s...)", source, sha[:12])
        return cl

    def save(self, path: str | Path) -> Path:
        """Write the checklist atomically: ``.csv`` as a flat table, anything else as JSON."""
        path = Path(path)
        with atomic_path(path) as tmp:
            if path.suffix.lower() == ".csv":
                idrf_csv.write_csv(self, tmp)
            else:
                tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Checklist:
        """Read a checklist written by :meth:`save` (JSON or CSV); unanswered items stay ``unset``."""
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: checklist not found; check the path")
        try:
            if path.suffix.lower() == ".csv":
                return cls.from_dict(idrf_csv.read_dict(path), str(path))
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")), str(path))
        except (json.JSONDecodeError, UnicodeDecodeError, csv.Error, KeyError, ValueError, TypeError) as exc:
            raise InputError(
                f"{path}: damaged checklist ({type(exc).__name__}: {str(exc)[:80]}); "
                "restore it or create a new one"
            ) from None


# ------------------------------------------------------------------------------------------ view, hints
def checklist_view(checklist: Checklist) -> list[ChecklistRow]:
    """Rows to display (region, id, text, status, hint text...), IDRFs first, then recorded findings."""
    regions = region_labels()
    rows = []
    for it in idrf_items():
        rows.append(_row(checklist, it["id"], regions[it["region"]], it["label"], True))
    for f in finding_items():
        region = "Recorded, not IDRF" if f["kind"] == "recorded_not_idrf" else "Other findings (not IDRF)"
        rows.append(_row(checklist, f["id"], region, f["label"], False))
    return rows


def _row(cl: Checklist, item_id: str, region: str, text: str, is_idrf: bool) -> ChecklistRow:
    st = cl.items[item_id]
    hints = cl.hints_for(item_id)
    sugg = _combined_suggestion(hints)
    texts = tuple(h.text for h in hints)
    return ChecklistRow(
        region,
        item_id,
        text,
        st.status,
        " | ".join(texts),
        is_idrf,
        sugg,
        st.note,
        st.evidence.text() if st.evidence else "",
        texts,
    )


def _combined_suggestion(hints: list[Hint]) -> str:
    s = {h.suggestion for h in hints}
    for word in ("present", "review", "absent"):
        if word in s:
            return word
    return ""


def accept_suggestions(checklist: Checklist, *, reader: str = "", include_absent: bool = False) -> list[str]:
    """Copy hint suggestions into still-``unset`` items, on explicit request; return the ids changed.

    Only "present" suggestions are accepted unless ``include_absent``; "review" is never accepted.
    Each accepted item gets a note saying it came from an image hint, so the provenance stays visible.
    """
    changed = []
    for item_id, st in checklist.items.items():
        if st.status != "unset":
            continue
        hints = checklist.hints_for(item_id)
        sugg = _combined_suggestion(hints)
        if sugg == "present" or (include_absent and sugg == "absent"):
            best = next(h for h in hints if h.suggestion == sugg)
            by = f" by {reader}" if reader else ""
            checklist.set(item_id, sugg, note=f"accepted image hint{by}: {best.text}", evidence=best.evidence)
            changed.append(item_id)
    return changed
