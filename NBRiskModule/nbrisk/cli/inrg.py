"""``nbrisk inrg``: INRGSS stage and INRG pretreatment risk group from the command line.

    nbrisk inrg --stage L2 --age-months 20 --histology neuroblastoma --grade differentiating \
        --mycn not_amplified --11q absent [--ploidy hyperdiploid] [--json]
    nbrisk inrg --checklist checklist.json --metastases none --age-months 20 ...   (stage from checklist)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbrisk.staging.idrf import Checklist
    from nbrisk.staging.inrg import Metastases

COMMAND = "inrg"
HELP = "INRG stage (INRGSS) and pretreatment risk group (group letter, risk group, rule that fired)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stage", help="INRGSS stage: L1, L2, M, MS (or derive it with --checklist/--metastases)")
    p.add_argument("--checklist", type=Path, help="IDRF checklist (.json/.csv) to derive L1/L2 from")
    p.add_argument(
        "--metastases",
        help="'none', 'unknown' or comma-separated sites: skin, liver, bone_marrow, "
        "cortical_bone, distant_lymph_nodes, lung, cns, pleura, other",
    )
    p.add_argument("--marrow-percent", type=float, help="bone-marrow tumour cells in %% (MS requires < 10)")
    p.add_argument("--mibg-marrow-positive", choices=("yes", "no"), help="MIBG uptake in bone/marrow")
    p.add_argument("--age-months", type=float, help="age at diagnosis in completed months")
    p.add_argument("--histology", help="gn_maturing, gnb_intermixed, gnb_nodular, neuroblastoma")
    p.add_argument("--grade", help="differentiating, poorly_differentiated, undifferentiated")
    p.add_argument("--mycn", help="amplified, not_amplified")
    p.add_argument("--11q", dest="aberration_11q", help="11q aberration: present, absent")
    p.add_argument("--ploidy", help="hyperdiploid, diploid (hypodiploid is not covered by the table)")
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from nbrisk.staging.inrg import assess

    _check_number(args.age_months, "--age-months", 0.0, 600.0, "the age at diagnosis in completed months")
    _check_number(args.marrow_percent, "--marrow-percent", 0.0, 100.0, "the percentage of tumour cells in the "
                  "marrow (0 to 100)")
    checklist = _checklist(args.checklist)
    metastases = _metastases(args) if args.metastases else None
    result = assess(checklist, metastases, args.age_months, stage=args.stage, histology=args.histology,
                    grade=args.grade, mycn=args.mycn, aberration_11q=args.aberration_11q, ploidy=args.ploidy)
    stage, res = result.stage, result.risk
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"INRGSS stage: {stage.stage} ({stage.rule})")
    if res.classified:
        print(f"INRG pretreatment group: {res.group} ({res.risk_group.replace('_', ' ')} risk)")
    else:
        print(f"INRG pretreatment group: unclassifiable; missing: {', '.join(res.missing) or '-'}")
    print(f"rule: {res.rule}")
    for n in res.notes:
        print(f"note: {n}")
    return 0


def _check_number(value: float | None, flag: str, low: float, high: float, what: str) -> None:
    """Refuse NaN, infinite and out-of-range clinical numbers (argparse's float() accepts 'nan' and 'inf')."""
    import math

    from nbrisk.errors import InputError

    if value is None:
        return
    if not math.isfinite(value) or not low <= value <= high:
        raise InputError(f"{flag} {value:g} is not plausible; give {what}, between {low:g} and {high:g}")


def _checklist(path: Path | None) -> Checklist | None:
    if path is None:
        return None
    from nbrisk.staging.idrf import Checklist

    return Checklist.load(path)


def _metastases(args: argparse.Namespace) -> Metastases:
    from nbrisk.staging.inrg import Metastases

    spec = (args.metastases or "unknown").strip().lower()
    mibg = None if args.mibg_marrow_positive is None else args.mibg_marrow_positive == "yes"
    if spec in ("unknown", "?", ""):
        return Metastases(None)
    if spec in ("none", "no", "absent"):
        return Metastases(False)
    sites = tuple(s.strip().replace("-", "_").replace(" ", "_") for s in spec.split(",") if s.strip())
    return Metastases(True, sites, args.marrow_percent, mibg)
