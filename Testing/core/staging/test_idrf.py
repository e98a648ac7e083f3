"""The IDRF checklist model: definitions, edits, JSON/CSV round trips, display rows, and the idrf CLI."""

from __future__ import annotations

import json
from pathlib import Path

import nrrd
import numpy as np
import pytest
import SimpleITK as sitk
from nbrisk.cli import main
from nbrisk.errors import InputError
from nbrisk.staging.idrf import (
    Checklist,
    Evidence,
    Hint,
    accept_suggestions,
    checklist_view,
    finding_items,
    idrf_items,
    load_table,
    parse_status,
)

HINT = Hint(
    "vessel_encasement",
    "aorta",
    0.75,
    "fraction of circumference",
    "present",
    "aorta: contact 75%",
    ("abdomen_aorta_vena_cava_encasement",),
    (),
    Evidence(12, (1.0, 2.0, 3.0)),
    {"max_contact_fraction": 0.75},
)
MIDLINE = Hint("midline", "vertebra", 0.0, "mm", "absent", "no midline crossing", (), ("midline_crossing",))


def test_definitions_are_the_20_inrg_idrfs_with_sources() -> None:
    items = idrf_items()
    assert len(items) == 20 and len({i["id"] for i in items}) == 20
    assert {i["region"] for i in items} == {r["id"] for r in load_table("idrf.json")["regions"]}
    assert all(i["sources"] for i in items)
    for name in ("idrf.json", "inrgss.json", "inrg_pretreatment_risk.json", "surgical_risk_seed001.json"):
        assert load_table(name)["source"], name
    ids = [f["id"] for f in finding_items()]
    assert ids[:3] == ["multifocal_primary_tumours", "pleural_effusion", "ascites"]
    assert "midline_crossing" in ids


def test_new_checklist_is_unset_and_edits_validate() -> None:
    cl = Checklist.new("case7")
    assert len(cl.items) == 26 and all(s.status == "unset" for s in cl.items.values())
    assert not cl.is_complete and cl.positive_count == 0
    cl.set("intraspinal_extension", "yes", note="dumbbell", evidence=Evidence(20))
    assert cl.status("intraspinal_extension") == "present" and cl.present_idrfs() == ["intraspinal_extension"]
    cl.set_region("neck", "absent")
    assert all(cl.status(i) == "absent" for i in ("neck_vessel_encasement", "neck_tracheal_compression"))
    with pytest.raises(InputError, match="valid ids"):
        cl.set("spleen_encasement", "present")
    with pytest.raises(InputError, match="present, absent, not_assessable"):
        cl.set("ascites", "probably")
    with pytest.raises(InputError, match="region"):
        cl.set_region("brain", "absent")
    assert parse_status("N/A") == "not_assessable" and parse_status("clear") == "unset"


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_half_filled_checklist_round_trips(tmp_path: Path, suffix: str) -> None:
    cl = Checklist.new(
        "case3", image="img.nrrd", segmentation="seg.seg.nrrd", reader="R1", hints=[HINT, MIDLINE]
    )
    cl.set(
        "abdomen_aorta_vena_cava_encasement",
        "present",
        note="encased, 270°, level L1",
        evidence=Evidence(14, (10.5, -3.25, 42.0)),
    )
    cl.set("neck_vessel_encasement", "absent")
    cl.set("thorax_airway_compression", "not_assessable", note="thorax not imaged")
    cl.set("ascites", "present", evidence=Evidence(None, (0.0, 1.0, 2.0)))
    p = cl.save(tmp_path / f"c{suffix}")
    back = Checklist.load(p)
    assert back.to_dict()["idrf"] == cl.to_dict()["idrf"]
    assert back.to_dict()["findings"] == cl.to_dict()["findings"]
    assert back.hints == cl.hints
    assert (back.case_id, back.reader, back.image, back.created) == ("case3", "R1", "img.nrrd", cl.created)
    assert back.status("abdomen_porta_hepatis_hepatoduodenal_ligament") == "unset"
    back.set("ascites", "absent")  # reopened checklists stay editable
    assert Checklist.load(back.save(p)).status("ascites") == "absent"


def test_damaged_or_foreign_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="damaged checklist"):
        Checklist.load(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something-else"}), encoding="utf-8")
    with pytest.raises(InputError, match="not an NBRisk IDRF checklist"):
        Checklist.load(other)
    d = Checklist.new().to_dict()
    d["idrf"][0]["status"] = "maybe"
    other.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(InputError, match="maybe"):
        Checklist.load(other)
    with pytest.raises(InputError, match="not found"):
        Checklist.load(tmp_path / "missing.json")


def test_checklist_view_rows_show_answers_and_hints_without_recomputing() -> None:
    cl = Checklist.new(hints=[HINT, MIDLINE])
    cl.set("abdomen_aorta_vena_cava_encasement", "present", note="n1", evidence=Evidence(12))
    rows = checklist_view(cl)
    assert len(rows) == 26 and sum(r.is_idrf for r in rows) == 20
    row = next(r for r in rows if r.id == "abdomen_aorta_vena_cava_encasement")
    assert (row.region, row.status, row.suggestion, row.note) == (
        "Abdomen / pelvis",
        "present",
        "present",
        "n1",
    )
    assert row.hint == "aorta: contact 75%" and row.evidence == "slice 12"
    assert row.text.startswith("Abdomen: tumour encasing the aorta")
    mid = next(r for r in rows if r.id == "midline_crossing")
    assert not mid.is_idrf and mid.region == "Other findings (not IDRF)" and mid.suggestion == "absent"
    assert next(r for r in rows if r.id == "ascites").region == "Recorded, not IDRF"


def test_hints_are_only_suggestions_until_accepted() -> None:
    cl = Checklist.new(hints=[HINT, MIDLINE])
    assert cl.status("abdomen_aorta_vena_cava_encasement") == "unset"  # never silently decided
    cl.set("midline_crossing", "present")  # a reader's answer is never overwritten
    assert accept_suggestions(cl, reader="R2") == ["abdomen_aorta_vena_cava_encasement"]
    st = cl.items["abdomen_aorta_vena_cava_encasement"]
    assert st.status == "present" and "accepted image hint by R2" in st.note and st.evidence.slice == 12
    assert accept_suggestions(cl, include_absent=True) == []
    assert cl.status("midline_crossing") == "present"


# ------------------------------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def phantom_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, sitk.Image]:
    from nbrisk.synthetic.phantom import PhantomSpec, make_phantom

    d = tmp_path_factory.mktemp("idrfcase")
    ph = make_phantom(
        PhantomSpec(tumour_offset_mm=(14.0, -4.0, 0.0), tumour_radius_mm=(17.0, 15.0, 14.0)), seed=3
    )
    sitk.WriteImage(ph.image, str(d / "img.nrrd"))
    sitk.WriteImage(ph.structures, str(d / "structures.nrrd"))
    return d / "img.nrrd", d / "structures.nrrd", ph.structures


def test_cli_prefills_then_edits(tmp_path: Path, phantom_case, capsys: pytest.CaptureFixture[str]) -> None:
    img, seg, _ = phantom_case
    out = tmp_path / "cl.json"
    rc = main(
        [
            "idrf",
            "--image",
            str(img),
            "--segmentation",
            str(seg),
            "--names",
            "phantom",
            "--case-id",
            "p1",
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert (
        rc == 0
        and out.exists()
        and "hint: aorta (artery)" in text
        and "locoregional stage: undecided" in text
    )
    cl = Checklist.load(out)
    assert {h.structure for h in cl.hints} >= {"aorta", "ivc", "vertebra", "spinal_canal", "liver"}
    assert all(s.status == "unset" for s in cl.items.values())
    rc = main(
        [
            "idrf",
            "--checklist",
            str(out),
            "--set",
            "intraspinal_extension=present",
            "--set",
            "ascites=no",
            "--note",
            "intraspinal_extension=dumbbell at L2",
            "--slice",
            "intraspinal_extension=22",
            "--point",
            "intraspinal_extension=1.5,2,-3",
        ]
    )
    assert rc == 0 and "locoregional stage: L2" in capsys.readouterr().out
    st = Checklist.load(out).items["intraspinal_extension"]
    assert (st.status, st.note, st.evidence) == ("present", "dumbbell at L2", Evidence(22, (1.5, 2.0, -3.0)))
    csv_out = tmp_path / "cl.csv"
    assert main(["idrf", "--checklist", str(out), "--out", str(csv_out)]) == 0
    assert Checklist.load(csv_out).status("ascites") == "absent"


def test_cli_errors_are_one_line(tmp_path: Path, phantom_case, capsys: pytest.CaptureFixture[str]) -> None:
    img, seg, _ = phantom_case
    assert main(["idrf", "--image", str(img), "--segmentation", str(seg)]) == 2
    err = capsys.readouterr().err
    assert "nbrisk idrf: error:" in err and "--names" in err and err.count("\n") == 1
    p = Checklist.new().save(tmp_path / "c.json")
    before = p.read_text(encoding="utf-8")
    assert main(["idrf", "--checklist", str(p), "--set", "ascites=present", "--set", "nonsense=present"]) == 2
    assert "valid ids" in capsys.readouterr().err
    assert p.read_text(encoding="utf-8") == before  # nothing half-written
    assert main(["idrf", "--checklist", str(p), "--set", "ascites"]) == 2


def test_cli_reads_slicer_seg_nrrd_with_segment_names(
    tmp_path: Path, phantom_case, capsys: pytest.CaptureFixture[str]
) -> None:
    img, _, structures = phantom_case
    arr = sitk.GetArrayFromImage(structures)
    keep = {1: "Tumor", 2: "Aorta", 4: "Vertebrae", 7: "Spinal canal"}
    lab = np.where(np.isin(arr, list(keep)), arr, 0).astype(np.uint8)
    hdr = {
        "space": "left-posterior-superior",
        "space origin": list(structures.GetOrigin()),
        "space directions": np.diag(structures.GetSpacing()).tolist(),
        "kinds": ["domain"] * 3,
    }
    for i, (v, name) in enumerate(keep.items()):
        hdr.update(
            {
                f"Segment{i}_ID": f"S{i}",
                f"Segment{i}_Name": name,
                f"Segment{i}_LabelValue": str(v),
                f"Segment{i}_Layer": "0",
            }
        )
    seg = tmp_path / "s.seg.nrrd"
    nrrd.write(str(seg), np.transpose(lab, (2, 1, 0)), hdr)  # pynrrd's default Fortran order: x, y, z
    out = tmp_path / "c.json"
    assert main(["idrf", "--image", str(img), "--segmentation", str(seg), "--out", str(out)]) == 0
    cl = Checklist.load(out)
    assert {h.structure for h in cl.hints} == {"Aorta", "Vertebrae", "Spinal canal"}
    direct = next(h for h in cl.hints if h.structure == "Aorta")
    from nbrisk.staging.hints import hints_from_segmentation
    from nbrisk.synthetic.phantom import STRUCTURES

    ref = next(
        h
        for h in hints_from_segmentation(structures, {v: k for k, v in STRUCTURES.items()})
        if h.structure == "aorta" and h.kind == "vessel_encasement"
    )
    assert direct.value == pytest.approx(ref.value)


def test_demo_step_writes_a_checklist_with_hints(tmp_path: Path) -> None:
    from nbrisk.synthetic.demo import DemoContext
    from nbrisk.synthetic.demo_steps import s10_cohort, s45_idrf

    logs: list[str] = []
    ctx = DemoContext(out_dir=tmp_path, n_cases=1, log=logs.append)
    s10_cohort.run(ctx)
    s45_idrf.run(ctx)
    cl = Checklist.load(ctx.state["checklist"])
    assert cl.is_complete and {h.structure for h in cl.hints} >= {"aorta", "ivc", "vertebra"}
    assert ctx.state["inrg_stage"]["stage"] in ("L1", "L2")
    assert ctx.state["inrg_risk"]["group"] is not None
    assert any("INRGSS" in line for line in logs)


def test_cli_contact_table_and_grid_checks(
    tmp_path: Path, phantom_case, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv

    img, seg, structures = phantom_case
    contacts = tmp_path / "contacts.csv"
    out = tmp_path / "c.json"
    assert (
        main(
            [
                "idrf",
                "--image",
                str(img),
                "--segmentation",
                str(seg),
                "--names",
                "phantom",
                "--out",
                str(out),
                "--contacts",
                str(contacts),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(contacts.open()))
    aorta = [r for r in rows if r["structure"] == "aorta"]
    assert len(aorta) == 48 and {r["axis"] for r in aorta} == {"z"}
    hint = next(h for h in Checklist.load(out).hints if h.structure == "aorta")
    assert max(float(r["contact_fraction"]) for r in aorta) == pytest.approx(hint.value, abs=1e-3)
    shifted = sitk.Image(structures)
    shifted.SetOrigin((0.0, 0.0, 0.0))
    bad = tmp_path / "shifted.nrrd"
    sitk.WriteImage(shifted, str(bad))
    capsys.readouterr()
    assert main(["idrf", "--image", str(img), "--segmentation", str(bad), "--names", "phantom"]) == 2
    assert "origin differs" in capsys.readouterr().err
    assert (
        main(
            ["idrf", "--image", str(img), "--segmentation", str(bad), "--names", "phantom", "--resample-mask"]
        )
        == 0
    )
