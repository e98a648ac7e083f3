"""Pseudo-readers by ROI perturbation, for a reproducibility ICC when only one reader exists.

Following the image-perturbation approach of Zwanenburg et al. (Sci Rep 2019; 9:614), each pseudo-reader
is the reader's own mask changed in a controlled way: grown or shrunk by a distance in mm
(``dilate:1.5``, ``erode:1.5``), grown or shrunk to a relative volume change (``volume:+10``,
``volume:-10``, percent) or translated by a vector in mm (``shift:1,1,0``, LPS axes, rounded to whole
voxels). Distances are physical (mm, voxel centre to centre), so anisotropic voxels are handled. The
unchanged mask counts as one reader (``original``). :func:`write_pseudo_readers` writes the masks and a
manifest with a ``reader`` column, so the cohort extractor and the ICC treat them like real readers.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from nbrisk.errors import InputError
from nbrisk.io.csvcheck import check_delimiter
from nbrisk.io.images import read_mask, write_image

logger = logging.getLogger(__name__)

KINDS = ("original", "erode", "dilate", "volume", "shift")
DEFAULT_PERTURBATIONS: tuple[str, ...] = ("volume:-10", "volume:+10", "shift:1,1,0")


@dataclass(frozen=True, slots=True)
class Perturbation:
    """One ROI change: ``kind`` in KINDS and its amount (mm, percent, or an LPS vector in mm)."""

    kind: str
    amount: tuple[float, ...] = ()

    @classmethod
    def parse(cls, spec: str) -> Perturbation:
        """Parse ``original``, ``erode:MM``, ``dilate:MM``, ``volume:+PCT`` or ``shift:X,Y,Z``."""
        kind, _, rest = spec.strip().partition(":")
        kind = kind.lower()
        if kind not in KINDS:
            raise InputError(
                f"unknown perturbation {spec!r}; use erode:MM, dilate:MM, volume:+PCT or shift:X,Y,Z"
            )
        try:
            amount = tuple(float(v) for v in rest.split(",")) if rest else ()
        except ValueError:
            raise InputError(f"perturbation {spec!r}: amounts must be numbers (e.g. dilate:1.5)") from None
        expected = {"original": 0, "erode": 1, "dilate": 1, "volume": 1, "shift": 3}[kind]
        if len(amount) != expected:
            raise InputError(f"perturbation {spec!r} needs {expected} number(s) after the colon")
        if kind in ("erode", "dilate") and amount[0] <= 0:
            raise InputError(f"perturbation {spec!r}: the distance must be positive (mm)")
        return cls(kind, amount)

    @property
    def name(self) -> str:
        """A file- and column-safe name such as ``dilate_1.5mm``, ``volume_+10pct`` or ``shift_1_1_0mm``."""
        if self.kind == "original":
            return "original"
        if self.kind == "volume":
            return f"volume_{self.amount[0]:+g}pct"
        return f"{self.kind}_{'_'.join(f'{a:g}' for a in self.amount)}mm"


def _distance(mask: sitk.Image) -> np.ndarray:
    """Distance (mm, voxel centres) from every voxel outside ``mask`` to the nearest voxel inside it."""
    d = sitk.SignedMaurerDistanceMap(
        mask, insideIsPositive=False, squaredDistance=False, useImageSpacing=True
    )
    return sitk.GetArrayFromImage(d)


def _like(arr: np.ndarray, ref: sitk.Image) -> sitk.Image:
    img = sitk.GetImageFromArray(arr.astype(np.uint8))
    img.CopyInformation(ref)
    return img


def perturb_mask(mask: sitk.Image, perturbation: Perturbation | str) -> sitk.Image:
    """Return the perturbed binary uint8 mask on the same grid as ``mask``.

    Raises:
        InputError: the mask is empty, or the perturbation removes the whole ROI.
    """
    p = Perturbation.parse(perturbation) if isinstance(perturbation, str) else perturbation
    binary = sitk.Cast(mask > 0, sitk.sitkUInt8)
    inside = sitk.GetArrayFromImage(binary).astype(bool)
    volume = int(inside.sum())
    if volume == 0:
        raise InputError("cannot perturb an empty mask; check the reader's segmentation")
    if p.kind == "original":
        out = inside
    elif p.kind == "dilate":
        out = inside | (_distance(binary) <= p.amount[0] + 1e-6)
    elif p.kind == "erode":
        out = inside & (_distance(sitk.Cast(binary == 0, sitk.sitkUInt8)) > p.amount[0] + 1e-6)
    elif p.kind == "volume":
        out = _change_volume(binary, inside, p.amount[0] / 100.0)
    else:
        out = _shift(
            inside, np.array(p.amount), np.array(binary.GetSpacing()), np.array(binary.GetDirection())
        )
    if not out.any():
        raise InputError(
            f"perturbation {p.name} removes the whole ROI ({volume} voxels); use a smaller amount"
        )
    return _like(out, binary)


def _change_volume(binary: sitk.Image, inside: np.ndarray, fraction: float) -> np.ndarray:
    """Grow (fraction > 0) or shrink the ROI by ``fraction`` of its volume, boundary-nearest voxels first.

    Exactly ``round(|fraction| * volume)`` voxels change; ties in distance to the boundary are broken by
    the distance (mm) to the ROI centroid, nearest first when growing and farthest first when shrinking.
    """
    m = round(abs(fraction) * int(inside.sum()))
    if m == 0:
        return inside.copy()
    grow = fraction > 0
    dist = _distance(binary if grow else sitk.Cast(binary == 0, sitk.sitkUInt8))
    pool = np.flatnonzero(~inside if grow else inside)
    zyx = np.array(np.unravel_index(pool, inside.shape)).T * np.array(binary.GetSpacing())[::-1]
    centre = np.array(np.nonzero(inside)).T.mean(axis=0) * np.array(binary.GetSpacing())[::-1]
    radial = np.linalg.norm(zyx - centre, axis=1)
    order = np.lexsort((radial if grow else -radial, dist.ravel()[pool]))
    out = inside.copy().ravel()
    out[pool[order[:m]]] = grow
    return out.reshape(inside.shape)


def _shift(
    inside: np.ndarray, vector_mm: np.ndarray, spacing: np.ndarray, direction: np.ndarray
) -> np.ndarray:
    """Translate a (z, y, x) boolean array by an LPS vector in mm (whole voxels, zero fill)."""
    index_shift = np.linalg.solve(direction.reshape(3, 3) * spacing, vector_mm)  # physical -> index (x, y, z)
    steps = np.round(index_shift).astype(int)[::-1]  # z, y, x
    out = np.zeros_like(inside)
    src = tuple(slice(max(0, -s), inside.shape[i] - max(0, s)) for i, s in enumerate(steps))
    dst = tuple(slice(max(0, s), inside.shape[i] - max(0, -s)) for i, s in enumerate(steps))
    out[dst] = inside[src]
    return out


def pseudo_reader_masks(
    mask: sitk.Image,
    perturbations: Sequence[str | Perturbation] = DEFAULT_PERTURBATIONS,
    include_original: bool = True,
) -> dict[str, sitk.Image]:
    """Return ``{pseudo-reader name: mask}``, starting with ``original`` when ``include_original``."""
    parsed = [Perturbation.parse(p) if isinstance(p, str) else p for p in perturbations]
    if include_original and all(p.kind != "original" for p in parsed):
        parsed.insert(0, Perturbation("original"))
    names = [p.name for p in parsed]
    if len(set(names)) != len(names):
        raise InputError(f"perturbations repeat ({names}); give each one once")
    return {p.name: perturb_mask(mask, p) for p in parsed}


def write_pseudo_readers(
    cases: Iterable[tuple[str, str | Path, str | Path]],
    out_dir: str | Path,
    perturbations: Sequence[str | Perturbation] = DEFAULT_PERTURBATIONS,
    progress: Callable[[int, int, str], None] | None = None,
) -> Path:
    """Write every case's pseudo-reader masks and a manifest ``case_id,reader,image,mask``; return its path.

    ``cases`` yields ``(case_id, image path, mask path)`` (the mask on the image grid). The manifest feeds
    :func:`nbrisk.features.cohort.extract_manifest` (or ``nbrisk extract``), whose ``case_id, reader`` feature table
    feeds :func:`nbrisk.reproducibility.icc.compute_icc` (or ``nbrisk icc``) like the tables of real readers.
    """
    out_dir = Path(out_dir)
    rows = []
    cases = list(cases)
    for i, (case_id, image, mask_path) in enumerate(cases):
        if progress:
            progress(i + 1, len(cases), str(case_id))
        for name, pmask in pseudo_reader_masks(read_mask(mask_path).image, perturbations).items():
            target = write_image(pmask, out_dir / f"case{i:04d}_{name}.nrrd")
            rows.append(
                {
                    "case_id": case_id,
                    "reader": name,
                    "image": str(Path(image).resolve()),
                    "mask": str(target.resolve()),
                }
            )
    if not rows:
        raise InputError("no case to perturb; the reader has no imported segmentation")
    manifest = out_dir / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def perturb_manifest(
    manifest: str | Path,
    out_dir: str | Path,
    perturbations: Sequence[str | Perturbation] = DEFAULT_PERTURBATIONS,
    progress: Callable[[int, int, str], None] | None = None,
) -> Path:
    """Pseudo-reader masks for every case of a ``case_id,image,mask`` manifest (paths relative to it).

    ``out_dir`` must not exist yet; if the run fails it is removed again, so nothing half-written is left.
    Returns the path of the pseudo-readers' manifest.
    """
    manifest, out_dir = Path(manifest), Path(out_dir)
    if out_dir.exists():
        raise InputError(f"{out_dir}: already exists; choose a new folder")
    if not manifest.is_file():
        raise InputError(f"{manifest}: manifest not found; give a CSV with case_id,image,mask")
    check_delimiter(manifest, "manifest")
    rows = pd.read_csv(manifest, dtype=str)
    if not {"case_id", "image", "mask"} <= set(rows.columns):
        raise InputError(f"{manifest}: needs columns case_id,image,mask; add the missing ones")
    base = manifest.parent
    cases = [(r.case_id, base / r.image, base / r.mask) for r in rows.itertuples()]
    try:
        return write_pseudo_readers(cases, out_dir, perturbations, progress=progress)
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)  # it did not exist before: leave nothing half-written
        raise
