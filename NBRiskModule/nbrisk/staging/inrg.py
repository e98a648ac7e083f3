"""INRG staging (INRGSS), the INRG pretreatment risk group, and seed 001's surgical-risk label.

All rules come from the packaged tables (``nbrisk/staging/data/inrgss.json``, ``inrg_pretreatment_risk.json``,
``surgical_risk_seed001.json``, each with its sources). Unknown inputs are ``None``. The functions never
guess: when the known inputs leave more than one outcome possible, the result is "unclassifiable" and
lists the inputs that are missing. Not for clinical decisions without expert review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbrisk.errors import InputError
from nbrisk.staging.tables import load_table
from nbrisk.staging.surgical_risk import SurgicalRiskResult, seed001_criteria, surgical_risk_seed001

if TYPE_CHECKING:
    from nbrisk.staging.idrf import Checklist

__all__ = [  # SurgicalRiskResult, seed001_criteria, surgical_risk_seed001 are re-exported from surgical_risk
    "UNCLASSIFIABLE",
    "Metastases",
    "RiskResult",
    "StageResult",
    "SurgicalRiskResult",
    "inrgss_stage",
    "primary_stage",
    "risk_group",
    "risk_rows",
    "seed001_criteria",
    "surgical_risk_seed001",
]

UNCLASSIFIABLE = "unclassifiable"
STAGES = ("L1", "L2", "M", "MS")
HISTOLOGY = ("gn_maturing", "gnb_intermixed", "gnb_nodular", "neuroblastoma")
GRADES = ("differentiating", "poorly_differentiated", "undifferentiated")
MYCN = ("amplified", "not_amplified")
PLOIDY = ("hyperdiploid", "diploid", "hypodiploid")  # hypodiploid is accepted but not covered by the table
ABERRATION_11Q = ("present", "absent")
MS_SITES = ("skin", "liver", "bone_marrow")
METASTATIC_SITES = (*MS_SITES, "cortical_bone", "distant_lymph_nodes", "lung", "cns", "pleura", "other")
UNKNOWN_WORDS = ("", "unknown", "na", "n/a", "none", "?", "missing", "not_done")
_ALIASES: dict[str, dict[str, str]] = {
    "histology": {
        "gn": "gn_maturing",
        "ganglioneuroma": "gn_maturing",
        "ganglioneuroma_maturing": "gn_maturing",
        "gn_maturing": "gn_maturing",
        "gnb_intermixed": "gnb_intermixed",
        "ganglioneuroblastoma_intermixed": "gnb_intermixed",
        "gnb_nodular": "gnb_nodular",
        "ganglioneuroblastoma_nodular": "gnb_nodular",
        "nb": "neuroblastoma",
        "neuroblastoma": "neuroblastoma",
    },
    "grade": {
        "differentiating": "differentiating",
        "poorly_differentiated": "poorly_differentiated",
        "poorly": "poorly_differentiated",
        "undifferentiated": "undifferentiated",
    },
    "mycn": {
        "amplified": "amplified",
        "amp": "amplified",
        "yes": "amplified",
        "not_amplified": "not_amplified",
        "non_amplified": "not_amplified",
        "nonamplified": "not_amplified",
        "non_amp": "not_amplified",
        "no": "not_amplified",
    },
    "ploidy": {"hyperdiploid": "hyperdiploid", "diploid": "diploid", "hypodiploid": "hypodiploid"},
    "11q": {
        "present": "present",
        "yes": "present",
        "aberrant": "present",
        "true": "present",
        "1": "present",
        "absent": "absent",
        "no": "absent",
        "normal": "absent",
        "false": "absent",
        "0": "absent",
    },
    "stage": {s.lower(): s for s in STAGES},
}
_VALID = {
    "histology": HISTOLOGY,
    "grade": GRADES,
    "mycn": MYCN,
    "ploidy": PLOIDY,
    "11q": ABERRATION_11Q,
    "stage": STAGES,
}


def parse_value(kind: str, value: str | bool | None) -> str | None:
    """Normalise one categorical input (aliases allowed); ``None``/"unknown" -> None; else InputError."""
    if value is None:
        return None
    if isinstance(value, bool):
        if kind != "11q":
            raise InputError(f"{kind}: expected one of {', '.join(_VALID[kind])}, got {value!r}")
        return "present" if value else "absent"
    key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if key in UNKNOWN_WORDS:
        return None
    if key not in _ALIASES[kind]:
        flag = {"aberration_11q": "11q"}.get(kind, kind.replace("_", "-"))
        raise InputError(f"--{flag} {value!r} is not valid; valid values: {', '.join(_VALID[kind])} "
                         "(or 'unknown'); give one of those")
    return _ALIASES[kind][key]


# --------------------------------------------------------------------------------------------- staging
@dataclass(frozen=True, slots=True)
class Metastases:
    """Metastatic work-up: ``present`` None = not known; sites from METASTATIC_SITES."""

    present: bool | None
    sites: tuple[str, ...] = ()
    marrow_tumour_percent: float | None = None
    mibg_bone_marrow_positive: bool | None = None

    def __post_init__(self) -> None:
        if self.present is False and self.sites:
            raise InputError(f"metastatic sites {list(self.sites)} given but metastases marked absent")
        bad = [s for s in self.sites if s not in METASTATIC_SITES]
        if bad:
            raise InputError(f"--metastases: unknown site(s) {bad}; give sites from {', '.join(METASTATIC_SITES)}")


@dataclass(frozen=True, slots=True)
class StageResult:
    """INRGSS stage (or "unclassifiable"), the rule that decided it and any missing inputs."""

    stage: str
    rule: str
    missing: tuple[str, ...] = ()
    primary: str | None = None  # L1/L2 from the checklist when known

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "rule": self.rule,
            "missing": list(self.missing),
            "primary": self.primary,
        }


def primary_stage(checklist: Checklist | None) -> tuple[str | None, tuple[str, ...]]:
    """L2 if any IDRF is present, L1 if all 20 are answered absent, else (None, open IDRF ids)."""
    if checklist is None:
        return None, ("IDRF checklist",)
    if checklist.present_idrfs():
        return "L2", ()
    open_ids = checklist.open_idrfs()
    return (None, tuple(f"IDRF {i}" for i in open_ids)) if open_ids else ("L1", ())


def inrgss_stage(
    checklist: Checklist | None, metastases: Metastases | None, age_months: float | None
) -> StageResult:
    """Assign the INRGSS stage (Monclair 2009) from the IDRF checklist, metastatic findings and age.

    MS: metastases only in skin, liver and/or bone marrow (<10 % tumour cells, no cortical bone) in a
    child younger than 18 months; the primary may be L1 or L2. A positive MIBG scan of bone/marrow is
    treated as M (carried over from INSS 4S; see inrgss.json).
    """
    prim, prim_missing = primary_stage(checklist)
    if metastases is None or metastases.present is None:
        return StageResult(UNCLASSIFIABLE, "metastatic status unknown", ("metastases",), prim)
    if not metastases.present:
        if prim is None:
            return StageResult(
                UNCLASSIFIABLE,
                "no distant metastasis, but the IDRF checklist is not complete "
                "(L1 needs every IDRF answered absent)",
                prim_missing,
                None,
            )
        rule = (
            "no distant metastasis and at least one IDRF present"
            if prim == "L2"
            else "no distant metastasis and all 20 IDRFs absent"
        )
        return StageResult(prim, rule, (), prim)
    if not metastases.sites:
        return StageResult(
            UNCLASSIFIABLE, "metastases present but sites not given", ("metastatic sites",), prim
        )
    other = [s for s in metastases.sites if s not in MS_SITES]
    if other:
        return StageResult("M", f"distant metastasis outside the MS pattern ({', '.join(other)})", (), prim)
    if age_months is None:
        return StageResult(
            UNCLASSIFIABLE,
            "metastases limited to skin/liver/marrow: MS or M depends on age",
            ("age_months",),
            prim,
        )
    if age_months >= 18:
        return StageResult(
            "M", f"metastases at age {age_months:g} months (MS requires < 18 months)", (), prim
        )
    if metastases.mibg_bone_marrow_positive:
        return StageResult(
            "M",
            "MIBG-positive bone/marrow (MS requires MIBG-negative marrow; INSS 4S rule, verify)",
            (),
            prim,
        )
    if "bone_marrow" in metastases.sites:
        pct = metastases.marrow_tumour_percent
        if pct is None:
            return StageResult(
                UNCLASSIFIABLE,
                "marrow metastasis: MS requires < 10 % tumour cells",
                ("marrow_tumour_percent",),
                prim,
            )
        if pct >= 10:
            return StageResult("M", f"marrow involvement {pct:g} % (MS requires < 10 %)", (), prim)
    sites = ", ".join(metastases.sites)
    return StageResult(
        "MS",
        f"age {age_months:g} months (< 18) with metastases limited to {sites}; primary {prim or 'L1 or L2'}",
        (),
        prim,
    )


# ------------------------------------------------------------------------------------ pretreatment risk
@dataclass(frozen=True, slots=True)
class RiskResult:
    """INRG pretreatment group letter, risk group, the row that fired and what is missing."""

    group: str | None
    risk_group: str
    rule: str
    row_id: str | None = None
    missing: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def classified(self) -> bool:
        return self.group is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "risk_group": self.risk_group,
            "rule": self.rule,
            "row_id": self.row_id,
            "missing": list(self.missing),
            "candidates": list(self.candidates),
            "notes": list(self.notes),
            "inputs": dict(self.inputs),
        }


def risk_rows() -> list[dict[str, Any]]:
    return list(load_table("inrg_pretreatment_risk.json")["items"])


def _match(field_name: str, crit: Any, inputs: dict[str, Any]) -> bool | None:
    """True/False when the known input matches the row's criterion; None when it is needed but unknown."""
    if crit is None:
        return True
    if field_name == "age_months":
        age = inputs["age_months"]
        if age is None:
            return None
        lo, hi = crit.get("min_inclusive"), crit.get("max_exclusive")
        return (lo is None or age >= lo) and (hi is None or age < hi)
    if field_name == "grade_of_differentiation" and inputs["histology"] in ("gn_maturing", "gnb_intermixed"):
        return False  # grades apply to neuroblastoma / nodular GNB only
    value = inputs[
        {
            "inrg_stage": "stage",
            "histologic_category": "histology",
            "grade_of_differentiation": "grade",
            "aberration_11q": "11q",
        }.get(field_name, field_name)
    ]
    if value is None:
        return None
    if field_name == "aberration_11q":
        return (value == "present") == bool(crit)
    if crit == "any_except_gn_maturing_or_gnb_intermixed":
        crit = ["gnb_nodular", "neuroblastoma"]
    return value in crit if isinstance(crit, list) else value == crit


_INPUT_NAMES = {
    "inrg_stage": "stage",
    "age_months": "age_months",
    "histologic_category": "histology",
    "grade_of_differentiation": "grade",
    "mycn": "mycn",
    "aberration_11q": "11q",
    "ploidy": "ploidy",
}


def risk_group(
    stage: str | None,
    age_months: float | None,
    histology: str | None = None,
    grade: str | None = None,
    mycn: str | None = None,
    aberration_11q: str | bool | None = None,
    ploidy: str | None = None,
) -> RiskResult:
    """Classify with the INRG pretreatment schema (Cohn 2009); unknown inputs are None.

    A group is returned only when every table row consistent with the known inputs gives the same
    letter; otherwise the result is "unclassifiable" with the inputs that would decide it.
    """
    inputs: dict[str, Any] = {
        "stage": parse_value("stage", stage),
        "age_months": None if age_months is None else float(age_months),
        "histology": parse_value("histology", histology),
        "grade": parse_value("grade", grade),
        "mycn": parse_value("mycn", mycn),
        "11q": parse_value("11q", aberration_11q),
        "ploidy": parse_value("ploidy", ploidy),
    }
    if inputs["age_months"] is not None and inputs["age_months"] < 0:
        raise InputError(f"--age-months {age_months}: age must be >= 0; give the age at diagnosis in months")
    candidates, needed = [], []
    for row in risk_rows():
        res = {k: _match(k, v, inputs) for k, v in row["criteria"].items()}
        if all(r is not False for r in res.values()):
            candidates.append(row)
            needed.append({_INPUT_NAMES[k] for k, r in res.items() if r is None})
    if not candidates:
        return RiskResult(None, UNCLASSIFIABLE, _no_row_reason(inputs), inputs=inputs)
    letters = sorted({r["pretreatment_group"] for r in candidates})
    if len(letters) == 1:
        full = [r for r, n in zip(candidates, needed, strict=True) if not n]
        rows = full[:1] or candidates  # several rows of one letter: the letter holds whatever is unknown
        notes = [
            r["ambiguity"]["reason"]
            for r in rows
            if "ambiguity" in r and (inputs["age_months"] is None or inputs["age_months"] < 18)
        ]
        rule = " | ".join(_rule_text(r) for r in rows)
        return RiskResult(
            letters[0],
            rows[0]["risk_group"],
            rule,
            "+".join(r["id"] for r in rows),
            (),
            (),
            tuple(notes),
            inputs,
        )
    missing = tuple(sorted(set().union(*needed)))
    cands = tuple(f"{r['pretreatment_group']} ({r['risk_group']})" for r in candidates)
    rule = (
        f"the table cannot decide between groups {', '.join(dict.fromkeys(cands))} without "
        f"{', '.join(missing)}"
    )
    return RiskResult(None, UNCLASSIFIABLE, rule, None, missing, tuple(dict.fromkeys(cands)), (), inputs)


def _no_row_reason(inputs: dict[str, Any]) -> str:
    if inputs["stage"] == "MS" and inputs["age_months"] is not None and inputs["age_months"] >= 18:
        return "stage MS requires age < 18 months; re-stage (M) or check the age"
    if inputs["ploidy"] == "hypodiploid":
        return "hypodiploid ploidy is not defined by the INRG table (only hyperdiploid/diploid)"
    return "no row of the INRG table covers this combination"


def _rule_text(row: dict[str, Any]) -> str:
    c = row["criteria"]
    parts = ["/".join(c["inrg_stage"])]
    age = c["age_months"]
    if age:
        lo, hi = age.get("min_inclusive"), age.get("max_exclusive")
        parts.append(
            f"age {'>= ' + str(lo) if lo is not None else ''}{' and ' if lo and hi else ''}"
            f"{'< ' + str(hi) if hi is not None else ''} months"
        )
    h = c["histologic_category"]
    if h:
        parts.append(
            "histology " + ("not GN maturing/GNB intermixed" if isinstance(h, str) else " or ".join(h))
        )
    g = c["grade_of_differentiation"]
    if g:
        parts.append("grade " + (g if isinstance(g, str) else " or ".join(g)))
    if c["mycn"]:
        parts.append(f"MYCN {c['mycn'].replace('_', ' ')}")
    if c["aberration_11q"] is not None:
        parts.append("11q aberration " + ("present" if c["aberration_11q"] else "absent"))
    if c["ploidy"]:
        parts.append(c["ploidy"])
    return f"group {row['pretreatment_group']}: " + ", ".join(parts) + f" -> {row['risk_group']} (Cohn 2009)"


@dataclass(frozen=True, slots=True)
class Staging:
    """INRGSS stage and INRG pretreatment risk group of one patient (what ``nbrisk inrg`` prints)."""

    stage: StageResult
    risk: RiskResult

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage.to_dict(), "risk": self.risk.to_dict()}


def assess(
    checklist: Checklist | None = None,
    metastases: Metastases | None = None,
    age_months: float | None = None,
    *,
    stage: str | None = None,
    histology: str | None = None,
    grade: str | None = None,
    mycn: str | None = None,
    aberration_11q: str | bool | None = None,
    ploidy: str | None = None,
) -> Staging:
    """Stage (given as ``stage``, or derived from the IDRF checklist and the metastatic work-up) and risk group.

    When the stage stays unclassifiable and the risk table cannot decide without it, the risk result lists
    the stage's missing inputs too.
    """
    if stage is not None and (checklist is not None or metastases is not None):
        raise InputError("give either a stage or a checklist/metastases to derive it, not both")
    if stage is not None:
        parsed = parse_value("stage", stage)
        st_res = StageResult(str(parsed or UNCLASSIFIABLE), "given", () if parsed else ("stage",))
    elif checklist is not None or metastases is not None:
        st_res = inrgss_stage(checklist, metastases, age_months)
    else:
        raise InputError("give a stage (L1, L2, M, MS), or a checklist with the metastatic work-up to derive it")
    st = None if st_res.stage == UNCLASSIFIABLE else st_res.stage
    res = risk_group(st, age_months, histology, grade, mycn, aberration_11q, ploidy)
    if st is None and not res.classified:
        res = RiskResult(None, UNCLASSIFIABLE, res.rule, None, tuple(dict.fromkeys((*st_res.missing, *res.missing))),
                         res.candidates, res.notes, res.inputs)
    return Staging(st_res, res)
