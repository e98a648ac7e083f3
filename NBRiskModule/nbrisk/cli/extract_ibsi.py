"""Helper of ``nbrisk extract`` (no verb of its own): ``--mode ibsi`` / ``--preset ibsi1-config-*``.

IBSI features for one case or a manifest.

Writes the features CSV (IBSI feature tags as columns) and ``<out>.provenance.json`` with the settings and
each column's IBSI code, so a CSV can be compared with IBSI's reference table by code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from nbrisk.errors import InputError


def is_ibsi_preset(name: str) -> bool:
    from nbrisk.features.ibsi.extract import available_ibsi_presets

    return name in available_ibsi_presets()


def _progress(case: str):
    def say(msg: str) -> None:
        print(f"[ibsi] {case}: {msg}", file=sys.stderr, flush=True)
    return say


def _case_features(image_path: str, mask_path: str, label, segment, settings, resample: bool, case: str):
    from nbrisk.features.ibsi.extract import compute_sitk
    from nbrisk.io.images import read_image, read_mask

    _progress(case)("reading")
    image = read_image(image_path)
    mask = read_mask(mask_path, image, label=label, segment=segment, reference_path=image_path,
                     resample=resample)
    try:
        return compute_sitk(image, mask.image, settings, progress=_progress(case)), mask.label
    except ValueError as exc:
        raise InputError(f"{mask_path}: {exc}; check the mask and the preset's re-segmentation range") \
            from None


def run(args: argparse.Namespace) -> int:
    from nbrisk import __version__
    from nbrisk.features.cohort import sidecar_paths, write_features_csv
    from nbrisk.features.ibsi.extract import ibsi_code, load_ibsi_preset
    from nbrisk.io.images import atomic_path

    settings = load_ibsi_preset(args.preset)
    if args.out.suffix.lower() != ".csv":
        raise InputError(f"{args.out}: --out must be a .csv file")
    if args.engine != "nbrisk":
        raise InputError("--engine applies to the pyradiomics-equal mode only; drop it with --mode ibsi")
    results: dict[tuple[str, str], dict[str, float]] = {}
    order: list[tuple[str, str]] = []
    inputs: list[dict] = []
    if args.manifest:
        if args.image or args.mask:
            raise InputError("give either --manifest or --image/--mask, not both")
        from nbrisk.features.cohort import read_manifest

        df = read_manifest(args.manifest)
        if "image" not in df.columns:
            raise InputError(f"{args.manifest}: IBSI mode needs an 'image' column (single-phase)")
        rows = df.to_dict("records")
    else:
        if not args.image or not args.mask:
            raise InputError("give --image and --mask (one case) or --manifest (cohort)")
        if len(args.image) > 1 or "=" in args.image[0]:
            raise InputError("IBSI mode is single-phase; give one --image PATH")
        rows = [{"case_id": args.case_id or Path(args.image[0]).name.split(".")[0], "image": args.image[0],
                 "mask": str(args.mask), "label": args.label, "segment": args.segment}]
    for i, row in enumerate(rows, 1):
        case = str(row["case_id"])
        lab = row.get("label")
        lab = int(lab) if lab not in (None, "") and str(lab) != "nan" else None
        seg = row.get("segment") or None
        seg = None if str(seg) == "nan" else seg
        if len(rows) > 1:
            print(f"[ibsi] case {i}/{len(rows)}: {case}", file=sys.stderr, flush=True)
        values, label = _case_features(str(row["image"]), str(row["mask"]), lab, seg, settings,
                                       args.resample_mask, case)
        key = (case, "")
        results[key] = values
        order.append(key)
        inputs.append({"case_id": case, "image": str(row["image"]), "mask": str(row["mask"]), "label": label})
    columns = list(results[order[0]])
    for key in order[1:]:
        if list(results[key]) != columns:
            raise InputError(f"case {key[0]}: produced a different feature set; check its mask")
    write_features_csv(args.out, results, order, with_reader=False)
    _, prov, _ = sidecar_paths(args.out)
    info = {"nbrisk_version": __version__, "mode": "ibsi", "preset": settings.name,
            "settings": dataclasses.asdict(settings), "command": " ".join(sys.argv), "inputs": inputs,
            "ibsi_codes": {c: ibsi_code(c) for c in columns}}
    with atomic_path(prov) as tmp:
        tmp.write_text(json.dumps(info, indent=2))
    print(f"{len(order)} case(s): {len(columns)} IBSI features ({settings.name}) -> {args.out}")
    return 0
