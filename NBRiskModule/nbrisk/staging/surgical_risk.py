"""Seed 001's surgical-risk label (Jia et al. 2023, World J Pediatr Surg 6:e000531) from an IDRF checklist.

The six criteria and their mapping to checklist items are data (``nbrisk/staging/data/surgical_risk_seed001.json``).
Two criteria are not IDRFs (midline crossing, lymph-node metastasis) and one is broader than the IDRF
(any spinal-canal extension), so the checklist records them as separate findings. The paper does not
state how criteria combine; "any one positive" is assumed, as flagged in the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nbrisk.staging.tables import load_table

if TYPE_CHECKING:
    from nbrisk.staging.idrf import Checklist

# Non-IDRF checklist findings each seed-001 criterion also accepts (see idrf.OTHER_FINDINGS).
_SEED001_EXTRA = {
    "midline_crossing": ["midline_crossing"],
    "spinal_canal_extension": ["intraspinal_extension_any"],
    "lymph_node_metastasis": ["lymph_node_metastasis"],
}


@dataclass(frozen=True, slots=True)
class SurgicalRiskResult:
    """Seed 001's surgical-risk label (True/False, None if undetermined) and each criterion's value."""

    label: bool | None
    criteria: dict[str, bool | None]
    rule: str
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "criteria": dict(self.criteria),
            "rule": self.rule,
            "missing": list(self.missing),
        }


def seed001_criteria() -> list[tuple[str, str, list[str]]]:
    """(criterion id, label, checklist item ids) for Jia et al. 2023 (seed 001), in source order."""
    out = []
    for it in load_table("surgical_risk_seed001.json")["items"]:
        out.append((it["id"], it["label"], list(it["maps_to_idrf"]) + _SEED001_EXTRA.get(it["id"], [])))
    return out


def surgical_risk_seed001(checklist: Checklist) -> SurgicalRiskResult:
    """Label surgical risk with Jia et al. 2023's six criteria ("any one positive", as assumed in the table).

    A criterion is positive when any checklist item it maps to is present, negative when all are
    absent, otherwise unknown. The label is True if any criterion is positive, False if all six are
    negative, else None (with the open items listed).
    """
    crit: dict[str, bool | None] = {}
    missing: list[str] = []
    for cid, _label, ids in seed001_criteria():
        states = [checklist.status(i) for i in ids]
        if "present" in states:
            crit[cid] = True
        elif states and all(s == "absent" for s in states):
            crit[cid] = False
        else:
            crit[cid] = None
            missing += [i for i, s in zip(ids, states, strict=True) if s != "absent"]
    if any(crit.values()):
        pos = [k for k, v in crit.items() if v]
        return SurgicalRiskResult(
            True, crit, f"surgical risk: criterion {', '.join(pos)} positive (seed 001)"
        )
    if all(v is False for v in crit.values()):
        return SurgicalRiskResult(False, crit, "no surgical risk: all six seed-001 criteria negative")
    return SurgicalRiskResult(
        None, crit, "undetermined: no criterion positive and some not answered", tuple(dict.fromkeys(missing))
    )
