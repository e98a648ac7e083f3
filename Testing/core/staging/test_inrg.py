"""INRGSS staging, the INRG pretreatment table (every row), unclassifiable cases and seed 001's label."""

from __future__ import annotations

import itertools
import json

import pytest
from nbrisk.cli import main
from nbrisk.errors import InputError
from nbrisk.staging.idrf import Checklist, idrf_items
from nbrisk.staging.inrg import (
    UNCLASSIFIABLE,
    Metastases,
    inrgss_stage,
    risk_group,
    risk_rows,
    surgical_risk_seed001,
)

# (row id, stage, age months, histology, grade, MYCN, 11q, ploidy) -> letter, risk group. Written by hand
# from Cohn 2009 Table 3 as reprinted (NCI PDQ Table 4), not generated from the packaged JSON.
ROW_CASES = [
    ("A", ("L1", 30, "gn_maturing", None, None, None, None), "A", "very_low"),
    ("A", ("L2", 5, "gnb_intermixed", None, "amplified", "present", None), "A", "very_low"),
    ("B", ("L1", 30, "neuroblastoma", "poorly_differentiated", "not_amplified", None, None), "B", "very_low"),
    ("K", ("L1", 5, "gnb_nodular", None, "amplified", None, None), "K", "high"),
    ("D", ("L2", 10, "neuroblastoma", None, "not_amplified", "absent", None), "D", "low"),
    (
        "G",
        ("L2", 17.9, "neuroblastoma", "undifferentiated", "not_amplified", "present", None),
        "G",
        "intermediate",
    ),
    ("E", ("L2", 24, "neuroblastoma", "differentiating", "not_amplified", "absent", None), "E", "low"),
    (
        "H_differentiating_11q",
        ("L2", 18, "gnb_nodular", "differentiating", "not_amplified", "present", None),
        "H",
        "intermediate",
    ),
    (
        "H_poorly_or_undifferentiated",
        ("L2", 40, "neuroblastoma", "undifferentiated", "not_amplified", "absent", None),
        "H",
        "intermediate",
    ),
    (
        "H_poorly_or_undifferentiated",
        ("L2", 40, "neuroblastoma", "poorly_differentiated", "not_amplified", "present", None),
        "H",
        "intermediate",
    ),
    ("N", ("L2", 24, "neuroblastoma", "poorly_differentiated", "amplified", None, None), "N", "high"),
    ("N", ("L2", 6, "neuroblastoma", None, "amplified", "absent", None), "N", "high"),
    ("F", ("M", 10, None, None, "not_amplified", None, "hyperdiploid"), "F", "low"),
    ("I", ("M", 11.9, "neuroblastoma", None, "not_amplified", None, "diploid"), "I", "intermediate"),
    ("J", ("M", 12, "neuroblastoma", None, "not_amplified", None, "diploid"), "J", "intermediate"),
    ("O", ("M", 17, None, None, "amplified", None, None), "O", "high"),
    (
        "P",
        ("M", 18, "neuroblastoma", "differentiating", "not_amplified", "absent", "hyperdiploid"),
        "P",
        "high",
    ),
    ("C", ("MS", 3, "neuroblastoma", None, "not_amplified", "absent", None), "C", "very_low"),
    ("Q", ("MS", 3, "neuroblastoma", None, "not_amplified", "present", None), "Q", "high"),
    ("R", ("MS", 17.5, None, None, "amplified", None, None), "R", "high"),
]


@pytest.mark.parametrize(("row_id", "inputs", "letter", "risk"), ROW_CASES)
def test_every_table_row(row_id: str, inputs: tuple, letter: str, risk: str) -> None:
    res = risk_group(*inputs)
    assert (res.group, res.risk_group) == (letter, risk)
    assert row_id in res.row_id.split("+")
    assert res.rule.startswith(f"group {letter}:") and res.missing == ()


def test_every_row_of_the_packaged_table_has_a_test_case() -> None:
    assert {r["id"] for r in risk_rows()} == {c[0] for c in ROW_CASES}
    assert len(risk_rows()) == 17


def test_group_n_in_infants_reports_the_ambiguity() -> None:
    young = risk_group("L2", 6, "neuroblastoma", None, "amplified", None, None)
    assert young.notes and "positional reading" in young.notes[0]
    assert risk_group("L2", 24, "neuroblastoma", "undifferentiated", "amplified").notes == ()


def test_fully_specified_patients_are_always_classified() -> None:
    letters = {"very_low": "ABC", "low": "DEF", "intermediate": "GHIJ", "high": "KNOPQR"}
    combos = itertools.product(
        ["L1", "L2", "M", "MS"],
        [6, 15, 30],
        ["gn_maturing", "gnb_intermixed", "gnb_nodular", "neuroblastoma"],
        ["differentiating", "poorly_differentiated", "undifferentiated"],
        ["amplified", "not_amplified"],
        ["present", "absent"],
        ["hyperdiploid", "diploid"],
    )
    n = 0
    for c in combos:
        res = risk_group(*c)
        if c[0] == "MS" and c[1] >= 18:
            assert not res.classified and "18 months" in res.rule
            continue
        assert res.classified, c
        assert res.group in letters[res.risk_group]
        n += 1
    assert n == 4 * 3 * 4 * 3 * 2 * 2 * 2 - 4 * 3 * 2 * 2 * 2


@pytest.mark.parametrize(
    ("inputs", "missing", "cands"),
    [
        (("M", 10, None, None, "not_amplified", None, None), ("ploidy",), {"F", "I"}),
        (("M", 10, None, None, None, None, "diploid"), ("mycn",), {"I", "O"}),
        (
            ("L2", None, "neuroblastoma", "differentiating", "not_amplified", "absent", None),
            ("age_months",),
            {"D", "E"},
        ),
        ((None, 30, "neuroblastoma", None, "amplified", None, None), ("stage",), {"K", "N", "P"}),
        (("L2", 30, "neuroblastoma", None, "not_amplified", "absent", None), ("grade",), {"E", "H"}),
        (("L1", 30, None, None, "not_amplified", None, None), ("histology",), {"A", "B"}),
    ],
)
def test_unclassifiable_lists_missing_inputs(inputs: tuple, missing: tuple, cands: set) -> None:
    res = risk_group(*inputs)
    assert res.group is None and res.risk_group == UNCLASSIFIABLE
    assert res.missing == missing
    assert {c[0] for c in res.candidates} == cands


def test_unknown_inputs_that_do_not_matter_are_not_needed() -> None:
    assert risk_group("L1", None, "gn_maturing").group == "A"  # MYCN, age etc. irrelevant for group A
    assert risk_group("M", 30).group == "P"
    res = risk_group("L2", 30, "neuroblastoma", None, "not_amplified", "present")  # both H rows
    assert res.group == "H" and "+" in res.row_id


def test_values_outside_the_table_are_not_guessed() -> None:
    hypo = risk_group("M", 10, None, None, "not_amplified", None, "hypodiploid")
    assert not hypo.classified and "hypodiploid" in hypo.rule
    assert risk_group("M", 30, None, None, None, None, "hypodiploid").group == "P"


@pytest.mark.parametrize(("kind", "value"), [("mycn", "maybe"), ("histology", "wilms"), ("grade", "good")])
def test_invalid_values_list_the_valid_ones(kind: str, value: str) -> None:
    kwargs = {"mycn": None, "histology": None, "grade": None, kind: value}
    with pytest.raises(InputError, match="valid values"):
        risk_group("L2", 10, **kwargs)
    with pytest.raises(InputError):
        risk_group("L2", -1)
    with pytest.raises(InputError, match="L1, L2, M, MS"):
        risk_group("L3", 10)


def test_aliases() -> None:
    a = risk_group("l2", 10, "NB", None, "non-amplified", "no")
    b = risk_group("L2", 10, "neuroblastoma", None, "not_amplified", False)
    assert a.group == b.group == "D"


# ------------------------------------------------------------------------------------------------ staging
def _complete(present: tuple[str, ...] = ()) -> Checklist:
    cl = Checklist.new("c1")
    for it in idrf_items():
        cl.set(it["id"], "present" if it["id"] in present else "absent")
    return cl


def test_l1_needs_every_idrf_answered_absent() -> None:
    assert inrgss_stage(_complete(), Metastases(False), 30).stage == "L1"
    half = Checklist.new()
    half.set("abdomen_aorta_vena_cava_encasement", "absent")
    half.set("neck_vessel_encasement", "not_assessable")
    res = inrgss_stage(half, Metastases(False), 30)
    assert res.stage == UNCLASSIFIABLE and len(res.missing) == 19
    assert "IDRF neck_vessel_encasement" in res.missing


def test_one_present_idrf_is_l2_even_if_others_open() -> None:
    cl = Checklist.new()
    cl.set("intraspinal_extension", "present")
    assert inrgss_stage(cl, Metastases(False), 30).stage == "L2"


@pytest.mark.parametrize(
    ("mets", "age", "stage"),
    [
        (Metastases(True, ("skin", "liver")), 10, "MS"),
        (Metastases(True, ("liver",)), 17.9, "MS"),
        (Metastases(True, ("liver",)), 18, "M"),
        (Metastases(True, ("bone_marrow",), marrow_tumour_percent=5), 10, "MS"),
        (Metastases(True, ("bone_marrow",), marrow_tumour_percent=10), 10, "M"),
        (Metastases(True, ("skin", "cortical_bone")), 5, "M"),
        (Metastases(True, ("distant_lymph_nodes",)), 30, "M"),
        (Metastases(True, ("liver",), mibg_bone_marrow_positive=True), 10, "M"),
    ],
)
def test_metastatic_stages_and_the_18_month_limit(mets: Metastases, age: float, stage: str) -> None:
    res = inrgss_stage(_complete(("abdomen_aorta_vena_cava_encasement",)), mets, age)
    assert res.stage == stage
    assert res.primary == "L2"  # an L2 primary is allowed in MS


@pytest.mark.parametrize(
    ("mets", "age", "missing"),
    [
        (None, 10, ("metastases",)),
        (Metastases(None), 10, ("metastases",)),
        (Metastases(True, ("liver",)), None, ("age_months",)),
        (Metastases(True, ("bone_marrow",)), 10, ("marrow_tumour_percent",)),
        (Metastases(True), 10, ("metastatic sites",)),
    ],
)
def test_staging_unknowns(mets: Metastases | None, age: float | None, missing: tuple) -> None:
    res = inrgss_stage(Checklist.new(), mets, age)
    assert res.stage == UNCLASSIFIABLE and res.missing == missing


def test_unknown_metastatic_site_is_an_error() -> None:
    with pytest.raises(InputError, match="cortical_bone"):
        Metastases(True, ("brain_ish",))


# -------------------------------------------------------------------------------------- seed 001 label
def _all_answered() -> Checklist:
    cl = _complete()
    for f in (
        "multifocal_primary_tumours",
        "pleural_effusion",
        "ascites",
        "midline_crossing",
        "intraspinal_extension_any",
        "lymph_node_metastasis",
    ):
        cl.set(f, "absent")
    return cl


@pytest.mark.parametrize(
    ("item", "criterion"),
    [
        ("abdomen_celiac_sma_origin_encasement", "large_vessel_surrounding"),
        ("abdomen_iliac_vessel_encasement", "large_vessel_surrounding"),
        ("midline_crossing", "midline_crossing"),
        ("intraspinal_extension_any", "spinal_canal_extension"),
        ("intraspinal_extension", "spinal_canal_extension"),
        ("lymph_node_metastasis", "lymph_node_metastasis"),
        ("abdomen_renal_pedicle_invasion", "renal_pedicle_invasion"),
        ("adjacent_organ_infiltration", "adjacent_organ_invasion"),
    ],
)
def test_seed001_each_criterion_makes_surgical_risk(item: str, criterion: str) -> None:
    cl = _all_answered()
    assert surgical_risk_seed001(cl).label is False
    cl.set(item, "present")
    res = surgical_risk_seed001(cl)
    assert res.label is True and res.criteria[criterion] is True
    assert sum(bool(v) for v in res.criteria.values()) == 1


def test_seed001_differs_from_idrf_count() -> None:
    cl = _all_answered()
    cl.set("neck_vessel_encasement", "present")  # an IDRF (-> L2) that is not one of seed 001's criteria
    assert surgical_risk_seed001(cl).label is False
    assert inrgss_stage(cl, Metastases(False), 20).stage == "L2"
    cl2 = _all_answered()
    cl2.set("midline_crossing", "present")  # not an IDRF (-> L1) but a seed-001 criterion
    assert surgical_risk_seed001(cl2).label is True
    assert inrgss_stage(cl2, Metastases(False), 20).stage == "L1"


def test_seed001_undetermined_lists_open_items() -> None:
    res = surgical_risk_seed001(Checklist.new())
    assert res.label is None and "midline_crossing" in res.missing


# ------------------------------------------------------------------------------------------------- CLI
def test_cli_inrg_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "inrg",
            "--stage",
            "L2",
            "--age-months",
            "20",
            "--histology",
            "neuroblastoma",
            "--grade",
            "differentiating",
            "--mycn",
            "not_amplified",
            "--11q",
            "absent",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "group: E (low risk)" in out and "rule: group E" in out
    rc = main(["inrg", "--stage", "M", "--age-months", "10", "--mycn", "not_amplified", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["risk"]["risk_group"] == "unclassifiable" and d["risk"]["missing"] == ["ploidy"]


def test_cli_inrg_invalid_value(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["inrg", "--stage", "L2", "--age-months", "20", "--mycn", "maybe"])
    err = capsys.readouterr().err
    assert rc == 2 and "nbrisk inrg: error:" in err and "amplified, not_amplified" in err
    assert main(["inrg", "--stage", "L5"]) == 2
    assert "L1, L2, M, MS" in capsys.readouterr().err


def test_cli_inrg_stage_from_checklist(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _complete(("abdomen_renal_pedicle_invasion",)).save(tmp_path / "c.json")
    rc = main(
        [
            "inrg",
            "--checklist",
            str(p),
            "--metastases",
            "none",
            "--age-months",
            "10",
            "--histology",
            "nb",
            "--mycn",
            "not_amplified",
            "--11q",
            "present",
            "--json",
        ]
    )
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["stage"]["stage"] == "L2" and d["risk"]["group"] == "G"
    rc = main(
        [
            "inrg",
            "--checklist",
            str(p),
            "--metastases",
            "liver,bone_marrow",
            "--marrow-percent",
            "3",
            "--age-months",
            "8",
            "--mycn",
            "amplified",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "INRGSS stage: MS" in out and "group: R (high risk)" in out
