"""Evidence and image hints: what the checklist and the hint computations share.

Kept apart from :mod:`nbrisk.staging.idrf` so that the hint computations (``hints*``) and the checklist can
both use these types without importing each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where the finding is seen: slice index (k of the image grid) and/or a point in LPS mm."""

    slice: int | None = None
    point_lps: tuple[float, float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"slice": self.slice, "point_lps": list(self.point_lps) if self.point_lps else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Evidence | None:
        if not d or (d.get("slice") is None and not d.get("point_lps")):
            return None
        pt = d.get("point_lps")
        point = (float(pt[0]), float(pt[1]), float(pt[2])) if pt else None
        return cls(None if d.get("slice") is None else int(d["slice"]), point)

    def text(self) -> str:
        parts = []
        if self.slice is not None:
            parts.append(f"slice {self.slice}")
        if self.point_lps is not None:
            parts.append("LPS (" + ", ".join(f"{v:.1f}" for v in self.point_lps) + ") mm")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Hint:
    """One image-derived measurement and what it suggests for checklist items (never a decision).

    ``suggestion`` is "present", "absent" or "review"; ``value`` is the measured number in ``unit``
    (e.g. contact fraction of a vessel's circumference, mm across the midline, canal occupancy).
    """

    kind: str
    structure: str
    value: float
    unit: str
    suggestion: str
    text: str
    idrf_ids: tuple[str, ...] = ()
    finding_ids: tuple[str, ...] = ()
    evidence: Evidence | None = None
    measurements: dict[str, float] = field(default_factory=dict)

    @property
    def item_ids(self) -> tuple[str, ...]:
        return self.idrf_ids + self.finding_ids

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["idrf_ids"], d["finding_ids"] = list(self.idrf_ids), list(self.finding_ids)
        d["evidence"] = self.evidence.to_dict() if self.evidence else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hint:
        return cls(
            kind=str(d["kind"]),
            structure=str(d["structure"]),
            value=float(d["value"]),
            unit=str(d.get("unit", "")),
            suggestion=str(d.get("suggestion", "review")),
            text=str(d.get("text", "")),
            idrf_ids=tuple(d.get("idrf_ids", ())),
            finding_ids=tuple(d.get("finding_ids", ())),
            evidence=Evidence.from_dict(d.get("evidence")),
            measurements={str(k): float(v) for k, v in (d.get("measurements") or {}).items()},
        )
