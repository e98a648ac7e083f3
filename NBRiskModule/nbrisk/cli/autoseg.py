"""``nbrisk autoseg``: automatic tumour segmentation with a deep-learning model (one image or a manifest)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nbrisk.cli.segment import _box, _triple
from nbrisk.errors import InputError

COMMAND = "autoseg"
HELP = ("automatic tumour mask from a 3-D U-Net (ONNX, built-in model trained on synthetic phantoms only) "
        "or a user's nnU-Net v2 model folder")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image", type=Path, help="CT (HU) or MRI volume: NRRD, NIfTI, MHA or DICOM folder")
    p.add_argument("--manifest", type=Path,
                   help="CSV with case_id,image (paths relative to it): segment a cohort into --out (a folder)")
    p.add_argument("--model", default="builtin",
                   help="'builtin' (default; synthetic phantoms only, not for patients), an .onnx file with "
                        "its .json beside it, or an nnU-Net v2 trainer folder (needs nbrisk[nnunet])")
    p.add_argument("--out", type=Path, required=True,
                   help="output mask (.nrrd, .nii.gz, .mha) on the image grid; with --manifest a folder")
    p.add_argument("--modality", choices=("auto", "ct", "mr"), default="auto",
                   help="intensity normalisation to use (default: auto, CT if air at -1000 HU)")
    p.add_argument("--point-lps", type=_triple, action="append", default=[], metavar="X,Y,Z",
                   help="optional point inside the tumour (LPS mm): keep the region holding it")
    p.add_argument("--background-lps", type=_triple, action="append", default=[], metavar="X,Y,Z",
                   help="optional point outside the tumour (LPS mm): drop the region holding it")
    p.add_argument("--box-lps", type=_box, default=None, metavar="X0,Y0,Z0,X1,Y1,Z1",
                   help="optional box in LPS mm; the mask stays inside it")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for ONNX Runtime (default: all)")
    p.add_argument("--no-resume", action="store_true", help="with --manifest: redo cases already in --out")


def run(args: argparse.Namespace) -> int:
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads {args.threads}: give 1 or more")
    if args.manifest is not None:
        if args.image is not None:
            raise InputError("give either --image or --manifest, not both")
        return _run_manifest(args)
    if args.image is None:
        raise InputError("give --image IMG --out mask.nrrd (one case) or --manifest cases.csv --out FOLDER")
    return _run_single(args)


def _stderr_progress(quiet: bool):
    last = [-1]

    def progress(fraction: float, message: str) -> None:
        step = int(fraction * 10)
        if not quiet and (step != last[0] or fraction >= 1.0):
            last[0] = step
            print(f"autoseg: {message} ({100 * fraction:.0f}%)", file=sys.stderr, flush=True)

    return progress


def _run_single(args: argparse.Namespace) -> int:
    from nbrisk.io.images import read_image, write_image
    from nbrisk.segmentation.autoseg import autoseg, model_info
    from nbrisk.segmentation.backend import Prompts

    if not any(str(args.out).lower().endswith(s) for s in (".nrrd", ".nii", ".nii.gz", ".mha", ".mhd")):
        raise InputError(f"{args.out}: --out must be a mask file; give a .nrrd, .nii.gz or .mha path")
    image = read_image(args.image)
    prompts = Prompts.of(args.point_lps, args.background_lps, args.box_lps)
    try:
        res = autoseg(image, args.model, prompts=prompts, progress=_stderr_progress(args.quiet),
                      threads=args.threads, modality=args.modality)
    except InputError as exc:
        if "found no tumour" in str(exc):
            raise InputError(f"{args.image}: {exc}") from None
        raise
    write_image(res.mask, args.out)
    info = model_info(args.model) if str(args.model) == "builtin" else {"synthetic_only": False}
    warn = " [model trained on synthetic phantoms only: not for patients]" if info.get("synthetic_only") else ""
    print(f"wrote {args.out}: {res.voxels} voxels, {res.volume_ml:.2f} ml, model {res.model}, "
          f"{res.seconds:.1f} s{warn}")
    return 0


def _run_manifest(args: argparse.Namespace) -> int:
    from nbrisk.cli._progress import case_bar
    from nbrisk.segmentation.autoseg import autoseg_manifest

    if args.out.suffix.lower() in (".nrrd", ".gz", ".nii", ".mha", ".csv"):
        raise InputError(f"{args.out}: with --manifest, --out is a folder for the masks and their manifest.csv")
    if args.point_lps or args.background_lps or args.box_lps:
        raise InputError("prompts (--point-lps, --background-lps, --box-lps) apply to one image; drop them "
                         "with --manifest")
    with case_bar("autoseg", args.quiet) as progress:
        res = autoseg_manifest(args.manifest, args.out, args.model, resume=not args.no_resume,
                               threads=args.threads, modality=args.modality, progress=progress)
    print(f"{res.n_cases} cases: {res.n_done} segmented, {res.n_skipped} already done, {res.n_failed} failed; "
          f"masks and manifest in {args.out} (then: nbrisk extract --manifest {res.out_manifest} ...)")
    if res.n_failed:
        print(f"failed cases and reasons: {res.errors_csv}", file=sys.stderr)
        return 1
    return 0
