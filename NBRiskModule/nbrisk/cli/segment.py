"""``nbrisk segment``: semiautomatic tumour ROI from seed points (3-D or one axial slice)."""

from __future__ import annotations

import argparse
from pathlib import Path

from nbrisk.errors import InputError

COMMAND = "segment"
HELP = "grow a tumour mask from seed points (LPS mm or voxel indices), optional background seeds and box"


def _triple(text: str) -> tuple[float, float, float]:
    parts = text.replace(" ", "").split(",")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"{text!r}: give three comma-separated numbers x,y,z")
    try:
        return (float(parts[0]), float(parts[1]), float(parts[2]))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give three comma-separated numbers x,y,z") from None


def _box(text: str) -> tuple[float, ...]:
    parts = text.replace(" ", "").split(",")
    try:
        values = tuple(float(v) for v in parts)
    except ValueError:
        values = ()
    if len(values) != 6:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give six comma-separated numbers x0,y0,z0,x1,y1,z1 (LPS mm)"
        )
    return values


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image", type=Path, required=True,
                   help="CT (HU) or MRI volume: NRRD, NIfTI, MHA or DICOM folder")
    p.add_argument("--seed-lps", type=_triple, action="append", default=[], metavar="X,Y,Z",
                   help="tumour seed in LPS mm (repeat for more seeds); write --seed-lps=-20,5,3 "
                        "when the first number is negative")
    p.add_argument("--seed-ijk", type=_triple, action="append", default=[], metavar="I,J,K",
                   help="tumour seed as voxel index (0-based, x,y,z order)")
    p.add_argument("--background-lps", type=_triple, action="append", default=[], metavar="X,Y,Z",
                   help="background seed (outside the tumour) in LPS mm")
    p.add_argument("--background-ijk", type=_triple, action="append", default=[], metavar="I,J,K",
                   help="background seed as voxel index")
    p.add_argument("--box-lps", type=_box, default=None, metavar="X0,Y0,Z0,X1,Y1,Z1",
                   help="bounding box in LPS mm; the ROI stays inside it")
    p.add_argument("--slice-2d", action="store_true", help="segment only the axial slice holding the seeds")
    p.add_argument("--modality", choices=("auto", "ct", "mr"), default="auto",
                   help="intensity convention for the seed check (default: auto, CT if air at -1000 HU)")
    p.add_argument("--seed-radius", type=float, default=None, metavar="MM",
                   help="radius of the sphere around each seed that teaches the model (default 5 mm); "
                        "for lesions under 1 cm use about half the lesion radius: smaller values also "
                        "shrink the opening and smoothing scales")
    p.add_argument("--out", type=Path, required=True,
                   help="output mask (.nrrd, .nii.gz, .mha), on the image grid; .dcm writes a DICOM SEG that "
                        "references the image's DICOM series (--image must be a DICOM series folder)")
    p.add_argument("--new-dicom-references", action="store_true",
                   help="with --out .dcm and a non-DICOM image: write the SEG in a new study with new UIDs "
                        "(it then references no image on any PACS)")


Triple = tuple[float, float, float]


def _ijk_points(image: object, triples: list[Triple], what: str) -> list[Triple]:
    from nbrisk.segmentation.grow import index_to_lps

    out = []
    for t in triples:
        if any(abs(v - round(v)) > 1e-6 for v in t):
            raise InputError(f"{what} index {t} must be whole numbers i,j,k")
        out.append(index_to_lps(image, [round(v) for v in t], what))  # type: ignore[arg-type]
    return out


def _dicom_target(args: argparse.Namespace, image: object) -> object | None:
    """The DicomSource a ``.dcm`` output references (None for other outputs); refuse a non-DICOM image."""
    if args.out.suffix.lower() != ".dcm":
        if args.new_dicom_references:
            raise InputError(f"{args.out}: --new-dicom-references needs a .dcm output (a DICOM SEG)")
        return None
    from nbrisk.io.dicom_source import dicom_source, new_dicom_source

    source = dicom_source(args.image, image)  # type: ignore[arg-type]
    if source is not None:
        return source
    if not args.new_dicom_references:
        raise InputError(f"{args.image}: not a DICOM series, so {args.out} cannot be a DICOM SEG referencing "
                         "it; give the DICOM series folder as --image, write .nrrd/.nii.gz instead, or pass "
                         "--new-dicom-references")
    return new_dicom_source(image)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import SimpleITK as sitk

    from nbrisk.io.images import read_image, write_image
    from nbrisk.segmentation.grow import GrowParams, grow_from_seeds

    image = read_image(args.image)
    source = _dicom_target(args, image)
    seeds = list(args.seed_lps) + _ijk_points(image, args.seed_ijk, "tumour seed")
    background = list(args.background_lps) + _ijk_points(image, args.background_ijk, "background seed")
    if not seeds:
        raise InputError("no tumour seed given; add --seed-lps x,y,z or --seed-ijk i,j,k inside the tumour")
    params = GrowParams()
    if args.seed_radius is not None:
        if args.seed_radius <= 0:
            raise InputError(f"--seed-radius {args.seed_radius}: give a positive radius in mm")
        params = GrowParams.for_seed_radius(args.seed_radius)
    mask = grow_from_seeds(image, seeds, background, args.box_lps, slice_2d=args.slice_2d,
                           modality=args.modality, params=params)
    if source is None:
        write_image(mask, args.out)
    else:
        from nbrisk.io.dicom_seg import write_dicom_seg

        write_dicom_seg(mask, source, args.out, algorithm_type="SEMIAUTOMATIC",  # type: ignore[arg-type]
                        algorithm_name="NBRisk seeded region growing")
    n = int(np.count_nonzero(sitk.GetArrayViewFromImage(mask)))
    ml = n * float(np.prod(image.GetSpacing())) / 1000.0
    print(f"wrote {args.out}: {n} voxels, {ml:.2f} ml "
          f"({len(seeds)} tumour seed(s), {len(background)} background)")
    return 0
