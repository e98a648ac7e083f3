"""``nbrisk idrf``: pre-fill an IDRF checklist with image hints, or edit / show a saved checklist.

nbrisk idrf --image IMG --segmentation SEG [--names 1=tumour,2=aorta] [--out checklist.json]
nbrisk idrf --checklist checklist.json --set idrf_id=present [--note id=text] [--slice id=K]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbrisk.staging.idrf import Checklist

COMMAND = "idrf"
HELP = "IDRF checklist: pre-fill with image-derived hints from a structure segmentation, edit, show"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image", type=Path, help="image volume (NRRD, NIfTI, MHA, DICOM folder)")
    p.add_argument(
        "--segmentation",
        type=Path,
        help="structure segmentation: Slicer .seg.nrrd (segment names) or a label map (with --names)",
    )
    p.add_argument(
        "--names",
        help="label names for a label map: 1=tumour,2=aorta,... | JSON file | Slicer "
        "colour table | 'phantom' (nbrisk.synthetic.phantom.STRUCTURES)",
    )
    p.add_argument("--tumour", help="name of the tumour segment (default: the one named tumour/tumor/mass)")
    p.add_argument("--case-id", default="", help="pseudonymous case id stored in the checklist")
    p.add_argument("--reader", default="", help="reader id stored in the checklist")
    p.add_argument(
        "--resample-mask",
        action="store_true",
        help="resample a segmentation on another grid onto the image (nearest neighbour)",
    )
    p.add_argument(
        "--contacts", type=Path, help="also write the per-cross-section vessel contact table (CSV) here"
    )
    p.add_argument("--checklist", type=Path, help="existing checklist (.json or .csv) to edit or show")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="ID=STATUS",
        help="answer an item: present | absent | not_assessable | unset (repeatable)",
    )
    p.add_argument(
        "--region",
        action="append",
        default=[],
        metavar="REGION=STATUS",
        help="answer every IDRF of a region, e.g. neck=absent (repeatable)",
    )
    p.add_argument("--note", action="append", default=[], metavar="ID=TEXT", help="note for an item")
    p.add_argument(
        "--slice", action="append", default=[], metavar="ID=K", help="evidence slice index for an item"
    )
    p.add_argument("--point", action="append", default=[], metavar="ID=X,Y,Z", help="evidence point (LPS mm)")
    p.add_argument(
        "--out", type=Path, help="write the checklist here (.json or .csv); default: edit in place"
    )
    p.add_argument("--json", action="store_true", help="print the checklist as JSON instead of a table")


def _pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    from nbrisk.errors import InputError

    out = []
    for v in values:
        if "=" not in v:
            raise InputError(
                f"--{what} {v!r}: expected ID=VALUE, e.g. --{what} intraspinal_extension=present"
            )
        k, val = v.split("=", 1)
        out.append((k.strip(), val.strip()))
    return out


def run(args: argparse.Namespace) -> int:
    from nbrisk.errors import InputError
    from nbrisk.staging.idrf import Checklist

    if args.checklist and (args.image or args.segmentation):
        raise InputError("give either --checklist (edit/show) or --image with --segmentation (new), not both")
    if args.checklist:
        cl = Checklist.load(args.checklist)
        target = args.out or (args.checklist if _has_edits(args) else None)
    elif args.image and args.segmentation:
        cl = _new_checklist(args)
        target = args.out
    else:
        raise InputError("nothing to do: give --image IMG --segmentation SEG, or --checklist FILE")
    _apply_edits(cl, args)
    if target:
        cl.save(target)
    if getattr(args, "contacts", None) and getattr(args, "_masks", None):
        from nbrisk.staging.prefill import write_contact_table

        write_contact_table(args._masks, args.tumour, args.contacts)
    _print(cl, args.json, target)
    return 0


def _has_edits(args: argparse.Namespace) -> bool:
    return bool(args.sets or args.region or args.note or args.slice or args.point)


def _new_checklist(args: argparse.Namespace) -> Checklist:
    from nbrisk.staging.prefill import checklist_from_segmentation

    checklist, args._masks = checklist_from_segmentation(  # masks kept for --contacts
        args.image, args.segmentation, names=args.names, tumour=args.tumour, case_id=args.case_id,
        reader=args.reader, resample=args.resample_mask)
    return checklist


def _apply_edits(cl: Checklist, args: argparse.Namespace) -> None:
    from nbrisk.errors import InputError
    from nbrisk.staging.idrf import Evidence

    for region, status in _pairs(args.region, "region"):
        cl.set_region(region, status)
    for item, status in _pairs(args.sets, "set"):
        cl.set(item, status)
    for item, text in _pairs(args.note, "note"):
        cl.set(item, cl.status(item), note=text)
    for item, k in _pairs(args.slice, "slice"):
        old = cl.items[item].evidence if item in cl.items else None
        try:
            ev = Evidence(int(k), old.point_lps if old else None)
        except ValueError:
            raise InputError(f"--slice {item}={k}: the slice must be an integer index") from None
        cl.set(item, cl.status(item), evidence=ev)
    for item, xyz in _pairs(args.point, "point"):
        try:
            pt = tuple(float(v) for v in xyz.split(","))
        except ValueError:
            pt = ()
        if len(pt) != 3:
            raise InputError(f"--point {item}={xyz}: expected three LPS coordinates in mm, e.g. 12.5,-30,4")
        old = cl.items[item].evidence if item in cl.items else None
        cl.set(item, cl.status(item), evidence=Evidence(old.slice if old else None, pt))


def _print(cl: Checklist, as_json: bool, target: Path | None) -> None:
    from nbrisk.staging.idrf import checklist_view
    from nbrisk.staging.inrg import primary_stage, surgical_risk_seed001

    if as_json:
        print(json.dumps(cl.to_dict(), indent=2))
        return
    rows = checklist_view(cl)
    region = None
    for r in rows:
        if r.region != region:
            region = r.region
            print(f"[{region}]")
        sugg = f"  suggested: {r.suggestion}" if r.suggestion else ""
        print(f"  {r.status:<14} {r.id}{sugg}")
        for h in r.hints:
            print(f"      hint: {h}")
        if r.note:
            print(f"      note: {r.note}")
    prim, missing = primary_stage(cl)
    sr = surgical_risk_seed001(cl)
    print(
        f"IDRFs present: {cl.positive_count}; "
        f"locoregional stage: {prim or f'undecided ({len(missing)} IDRFs open)'}"
    )
    label = {True: "yes", False: "no", None: "undetermined"}[sr.label]
    print(f"seed-001 surgical risk: {label} ({sr.rule})")
    if target:
        print(f"checklist written to {target}")
