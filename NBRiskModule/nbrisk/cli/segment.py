"""``nbrisk segment``: semiautomatic tumour ROI from seed points, painted seeds or a box (3-D or a slice)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from nbrisk.errors import InputError

COMMAND = "segment"
HELP = ("segment a tumour from seed points (LPS mm or voxel indices), painted seed labelmaps, background "
        "seeds and a box")

# a value such as -10,20,-5 (or -10) is a coordinate, not an option: argparse then takes it as an argument
_NEGATIVE_VALUE = re.compile(r"^-\d*\.?\d+([eE][-+]?\d+)?([,\s]+[-+]?\d*\.?\d+([eE][-+]?\d+)?)*$")


class _Numbers(argparse.Action):
    """Collect one point or box per use: ``x,y,z``, ``x y z`` or a mix, negative numbers without ``=``."""

    def __init__(self, *args: object, count: int = 3, **kwargs: object) -> None:
        self.count = count
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        tokens = values if isinstance(values, list) else [values]
        parts = [t for v in tokens for t in re.split(r"[,\s]+", str(v).strip()) if t]
        try:
            numbers = tuple(float(t) for t in parts)
        except ValueError:
            numbers = ()
        if len(numbers) != self.count:
            names = "x,y,z" if self.count == 3 else "x0,y0,z0,x1,y1,z1"
            parser.error(f"{option_string} {' '.join(map(str, tokens))!r}: give {self.count} numbers {names} "
                         f"(commas or spaces; negative numbers need no '=')")
        if self.count == 3:
            items = list(getattr(namespace, self.dest, None) or [])
            items.append(numbers)
            setattr(namespace, self.dest, items)
        else:
            setattr(namespace, self.dest, numbers)


def _triple(text: str) -> tuple[float, float, float]:
    """argparse type for one ``x,y,z`` string (used by ``nbrisk autoseg``)."""
    parts = text.replace(" ", "").split(",")
    try:
        values = tuple(float(v) for v in parts)
    except ValueError:
        values = ()
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"{text!r}: give three comma-separated numbers x,y,z")
    return (values[0], values[1], values[2])


def _box(text: str) -> tuple[float, ...]:
    """argparse type for one ``x0,y0,z0,x1,y1,z1`` string (used by ``nbrisk autoseg``)."""
    parts = text.replace(" ", "").split(",")
    try:
        values = tuple(float(v) for v in parts)
    except ValueError:
        values = ()
    if len(values) != 6:
        raise argparse.ArgumentTypeError(f"{text!r}: give six comma-separated numbers x0,y0,z0,x1,y1,z1 (LPS mm)")
    return values


def add_arguments(p: argparse.ArgumentParser) -> None:
    p._negative_number_matcher = _NEGATIVE_VALUE
    p.add_argument("--image", type=Path, required=True,
                   help="CT (HU) or MRI volume: NRRD, NIfTI, MHA or DICOM folder")
    point: dict[str, Any] = {"action": _Numbers, "nargs": "+", "default": [], "metavar": "X,Y,Z"}
    p.add_argument("--seed-lps", **point,
                   help="tumour seed in LPS mm: x,y,z or x y z, negative values as they are "
                        "(--seed-lps -10 20 -5); repeat for more seeds")
    p.add_argument("--seed-ijk", **point, help="tumour seed as voxel index (0-based, x,y,z order)")
    p.add_argument("--background-lps", **point, help="background seed (outside the tumour) in LPS mm")
    p.add_argument("--background-ijk", **point, help="background seed as voxel index")
    p.add_argument("--box-lps", action=_Numbers, count=6, nargs="+", default=None,
                   metavar="X0,Y0,Z0,X1,Y1,Z1",
                   help="bounding box in LPS mm; the ROI stays inside it")
    p.add_argument("--seed-labelmap", type=Path, default=None, metavar="FILE",
                   help="painted seeds on the image grid (a Segment Editor labelmap): voxels of "
                        "--tumour-label are tumour seeds, voxels of --background-label background seeds")
    p.add_argument("--tumour-label", type=int, default=1, help="tumour label in --seed-labelmap (default 1)")
    p.add_argument("--background-label", type=int, default=2,
                   help="background label in --seed-labelmap (default 2)")
    p.add_argument("--method", choices=("geodesic", "competition"), default=None,
                   help="geodesic (default): the first click's graph cut (with the box's shape), refined by a geodesic "
                        "competition of all tumour and background seeds (takes painted seeds); competition: "
                        "the region competition of all points (default with --slice-2d)")
    p.add_argument("--slice-2d", action="store_true", help="segment only the axial slice holding the seeds")
    p.add_argument("--modality", choices=("auto", "ct", "mr"), default="auto",
                   help="intensity convention for the seed check (default: auto, CT if air at -1000 HU)")
    p.add_argument("--seed-radius", type=float, default=None, metavar="MM",
                   help="competition: radius of the sphere around each seed that teaches the model (default "
                        "5 mm); for lesions under 1 cm use about half the lesion radius: smaller values also "
                        "shrink the opening and smoothing scales. geodesic: a click seeds a ball of at most "
                        "this radius (default 2 mm)")
    p.add_argument("--smooth-mm", type=float, default=None, metavar="MM",
                   help="geodesic: the mask written is the result smoothed by a Gaussian of this sigma (default 1.5 "
                        "mm, as Slicer's smoothing of a grown segment); 0 writes the unsmoothed result")
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


def _on_image(e: InputError, args: argparse.Namespace) -> InputError:
    """The segmentation's one-line error, naming the image it was about (unless it names the seed labelmap)."""
    msg = str(e)
    if args.seed_labelmap is not None and msg.startswith(str(args.seed_labelmap)):
        return e
    return InputError(f"{args.image}: {msg}")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import SimpleITK as sitk

    from nbrisk.io.images import read_image, write_image
    from nbrisk.segmentation.grow import GrowParams, grow_from_seeds

    image = read_image(args.image)
    source = _dicom_target(args, image)
    seeds = list(args.seed_lps) + _ijk_points(image, args.seed_ijk, "tumour seed")
    background = list(args.background_lps) + _ijk_points(image, args.background_ijk, "background seed")
    if args.method is None:
        args.method = "competition" if args.slice_2d else "geodesic"
    labelmap = None
    if args.seed_labelmap is not None:
        if args.method != "geodesic":
            raise InputError("--seed-labelmap needs --method geodesic (the competition method takes points "
                             "only)")
        labelmap = read_image(args.seed_labelmap)
        if labelmap.GetNumberOfComponentsPerPixel() != 1:
            raise InputError(f"{args.seed_labelmap}: a seed labelmap has one label per voxel; export the "
                                             "seeds as a labelmap")
    if not seeds and labelmap is None:
        raise InputError("no tumour seed given; add --seed-lps x,y,z, --seed-ijk i,j,k or --seed-labelmap")
    if args.seed_radius is not None and args.seed_radius <= 0:
        raise InputError(f"--seed-radius {args.seed_radius}: give a positive radius in mm")
    if args.smooth_mm is not None and not (np.isfinite(args.smooth_mm) and args.smooth_mm >= 0):
        raise InputError(f"--smooth-mm {args.smooth_mm}: give a sigma in mm, 0 or more (0: no smoothing)")
    if args.smooth_mm is not None and args.method != "geodesic":
        raise InputError("--smooth-mm applies to --method geodesic; remove it, or use --method geodesic (the "
                         "competition smooths with its own scale, --seed-radius)")
    if args.method == "geodesic":
        from dataclasses import replace

        from nbrisk.segmentation.interactive import InteractiveParams, Prompts, segment_interactive

        if args.slice_2d:
            raise InputError("--slice-2d needs --method competition (the geodesic method works in 3-D)")
        iparams = InteractiveParams()
        if args.seed_radius is not None:
            # a radius under 5 mm declares a small lesion: the first click's competition keeps its 5 mm sphere then
            iparams = replace(iparams, click_radius_mm=min(args.seed_radius, iparams.click_radius_mm),
                              seed_radius_max_mm=min(max(args.seed_radius, GrowParams().seed_radius_mm),
                                                     iparams.seed_radius_max_mm))
        if args.smooth_mm is not None:
            iparams = replace(iparams, shown_smooth_mm=float(args.smooth_mm))
        prompts = Prompts(seeds, background, args.box_lps, labelmap, args.tumour_label, args.background_label)
        try:
            result = segment_interactive(image, prompts, params=iparams, modality=args.modality,
                                         source=str(args.seed_labelmap or ""))
        except InputError as e:
            raise _on_image(e, args) from None
        mask, n_t, n_b = result.mask, result.n_tumour_seeds, result.n_background_seeds
    else:
        params = GrowParams() if args.seed_radius is None else GrowParams.for_seed_radius(args.seed_radius)
        try:
            mask = grow_from_seeds(image, seeds, background, args.box_lps, slice_2d=args.slice_2d,
                                   modality=args.modality, params=params)
        except InputError as e:
            raise _on_image(e, args) from None
        n_t, n_b = len(seeds), len(background)
    if source is None:
        write_image(mask, args.out)
    else:
        from nbrisk.io.dicom_seg import write_dicom_seg

        name = "NBRisk geodesic competition" if args.method == "geodesic" else "NBRisk seeded region growing"
        write_dicom_seg(mask, source, args.out, algorithm_type="SEMIAUTOMATIC",  # type: ignore[arg-type]
                        algorithm_name=name)
    n = int(np.count_nonzero(sitk.GetArrayViewFromImage(mask)))
    ml = n * float(np.prod(image.GetSpacing())) / 1000.0
    print(f"wrote {args.out}: {n} voxels, {ml:.2f} ml ({n_t} tumour seed(s), {n_b} background, "
          f"method {args.method})")
    return 0
