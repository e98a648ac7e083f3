"""``nbrisk extract``: a preset's features for one case or a whole cohort manifest."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nbrisk.cli._args import parse_phase_images
from nbrisk.errors import InputError

COMMAND = "extract"
HELP = "extract a preset's radiomics features for one image+mask or a manifest of cases"


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("one case")
    src.add_argument("--image", action="append", metavar="[PHASE=]PATH",
                     help="image file or DICOM folder; multi-phase presets: "
                          "--image arterial=a.nrrd --image venous=v.nrrd")
    src.add_argument("--mask", type=Path, help="label map, Slicer .seg.nrrd or DICOM SEG")
    src.add_argument("--label", type=int, help="label value (or segment label value) to use")
    src.add_argument("--segment", help="segment name in a .seg.nrrd / DICOM SEG")
    src.add_argument("--case-id", help="case id written in the output (default: image file stem)")
    coh = p.add_argument_group("cohort")
    coh.add_argument("--manifest", type=Path, help="CSV with case_id,image,mask [,label,segment,reader]")
    coh.add_argument("-j", "--jobs", type=int, default=1,
                     help="worker processes: cases in parallel (--manifest) or image types of one case (default 1)")
    coh.add_argument("--no-resume", action="store_true", help="recompute cases already in --out")
    coh.add_argument("--executor", choices=("local", "dask"), default="local")
    coh.add_argument("--scheduler", help="dask scheduler address (default: a local cluster of -j workers)")
    p.add_argument("--preset", required=True,
                   help="preset name (see `nbrisk presets`; ibsi1-*/ibsi2-* presets select --mode ibsi) "
                        "or YAML file")
    p.add_argument("--mode", choices=("pyradiomics", "ibsi"), default=None,
                   help="pyradiomics (default: pyradiomics-equal features) or ibsi (IBSI-1 processing and "
                        "features, tagged with IBSI codes; docs/ibsi.md)")
    p.add_argument("--out", type=Path, required=True, help="output features CSV")
    p.add_argument("--resample-mask", action="store_true",
                   help="resample a mask on another grid onto the image grid (nearest neighbour)")
    p.add_argument("--engine", choices=("nbrisk", "pyradiomics"), default="nbrisk",
                   help="nbrisk (cropped, same features, faster) or plain pyradiomics")


def run(args: argparse.Namespace) -> int:
    from nbrisk.cli.extract_ibsi import is_ibsi_preset
    from nbrisk.features.cohort import _quiet_radiomics
    from nbrisk.features.presets import load_preset

    if args.mode == "ibsi" or (args.mode is None and is_ibsi_preset(str(args.preset))):
        from nbrisk.cli import extract_ibsi as ibsi_run

        return ibsi_run.run(args)
    _quiet_radiomics()
    if args.jobs < 1:
        raise InputError(f"--jobs {args.jobs}: give 1 or more worker processes")
    preset = load_preset(args.preset)
    if args.out.suffix.lower() != ".csv":
        raise InputError(f"{args.out}: --out must be a .csv file; give a path ending in .csv")
    if args.manifest:
        if args.image or args.mask:
            raise InputError("give either --manifest or --image/--mask, not both")
        return _run_manifest(args, preset)
    if not args.image or not args.mask:
        raise InputError("give --image and --mask (one case) or --manifest (cohort)")
    return _run_single(args, preset)


def _run_single(args: argparse.Namespace, preset) -> int:
    import warnings

    from nbrisk.cli._progress import Steps
    from nbrisk.errors import naming_mask
    from nbrisk.features.case import load_inputs
    from nbrisk.features.cohort import provenance, sidecar_paths, write_features_csv
    from nbrisk.features.extract import extract_features
    from nbrisk.io.images import atomic_path

    steps = Steps("extract", 3, quiet=args.quiet)
    steps("reading the image(s) and the mask")
    images = parse_phase_images(args.image)
    image, mask = load_inputs(images, args.mask, preset, label=args.label, segment=args.segment,
                              resample_mask=args.resample_mask, roi_only=args.engine == "nbrisk")
    steps(f"extracting {preset.feature_count} {preset.name} features")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nbrisk.features import engine as fastextract

        try:
            with naming_mask(args.mask):
                fv = extract_features(image, mask.image, preset, engine=args.engine, jobs=args.jobs, whole=mask.whole)
        finally:
            fastextract.shutdown_pool()
    first = images if isinstance(images, str) else next(iter(images.values()))
    case_id = args.case_id or Path(first).name.split(".")[0]
    key = (case_id, "")
    steps(f"writing {args.out}")
    write_features_csv(args.out, {key: fv.values}, [key], with_reader=False)
    _, prov, _ = sidecar_paths(args.out)
    images = {"image": images} if isinstance(images, str) else {f"image_{p}": v for p, v in images.items()}
    with atomic_path(prov) as tmp:
        tmp.write_text(json.dumps(provenance(preset, {"image": images, "mask": str(args.mask),
                                                      "label": mask.label, "engine": args.engine,
                                                      "diagnostics": fv.diagnostics}), indent=2))
    steps.done()
    print(f"{case_id}: {len(fv.values)} features ({preset.name}) -> {args.out}")
    return 0


def _run_manifest(args: argparse.Namespace, preset) -> int:
    from nbrisk.cli._progress import case_bar
    from nbrisk.features.cohort import extract_manifest

    with case_bar("extract", args.quiet) as progress:
        res = extract_manifest(args.manifest, preset, args.out, jobs=args.jobs, resume=not args.no_resume,
                               resample_mask=args.resample_mask, engine=args.engine, progress=progress,
                               executor=args.executor, scheduler=args.scheduler,
                               notice=lambda m: print(f"nbrisk extract: {m}", file=sys.stderr, flush=True))
    print(f"{res.n_cases} cases: {res.n_extracted} extracted, {res.n_skipped} already done, "
          f"{res.n_failed} failed; {preset.feature_count} features ({preset.name}) -> {res.out_csv}")
    if res.n_failed:
        print(f"failed cases and reasons: {res.errors_csv}", file=sys.stderr)
        return 1
    return 0
