"""Read images and masks, and check that they share one voxel grid.

Images: NRRD, NIfTI (.nii/.nii.gz), MHA/MHD, or a folder holding one DICOM series (sorted by slice
position; missing slices and uneven spacing are refused). Masks: label maps in the same formats, Slicer
``.seg.nrrd`` segmentations (segment chosen by name or label value) and DICOM SEG objects (read with pydicom alone).
All geometry is SimpleITK's: physical points in LPS millimetres.

Every problem a user can cause is an :class:`~nbrisk.errors.InputError` with a one-line message that
names the file and the fix.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError, InputGeometryError
from nbrisk.io import nrrd_block
from nbrisk.io.dicom_source import remember, source_from_headers
from nbrisk.io.grid import Grid  # re-exported: grids are part of this module's API
from nbrisk.io.segfiles import is_dicom_seg, read_dicom_seg, read_slicer_seg

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".nrrd", ".nii", ".nii.gz", ".mha", ".mhd", ".dcm")
GEOMETRY_TOLERANCE = 1e-3  # relative (spacing) and mm (origin); direction cosines absolute


@dataclass(frozen=True, slots=True)
class Mask:
    """A binary ROI on a known grid, with where it came from."""

    image: sitk.Image  # uint8, 1 inside the ROI, 0 outside
    label: int  # label value (or segment label value) selected in the source file
    source: Path
    segment_name: str | None = None
    whole: Grid | None = None  # the whole image's grid, when ``image`` is only the block around the ROI

    @property
    def voxel_count(self) -> int:
        return int(np.count_nonzero(sitk.GetArrayViewFromImage(self.image)))


# --------------------------------------------------------------------------------------------- images
def read_grid(path: str | Path) -> Grid | None:
    """The grid of a 3-D scalar image file from its header alone; None for DICOM folders, 2-D/4-D or vector
    images and unreadable headers (read those with :func:`read_image`, which explains what is wrong)."""
    p = Path(path)
    if not p.is_file():
        return None
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(p))
    try:
        with keep_locale():
            reader.ReadImageInformation()
    except RuntimeError:
        return None
    if reader.GetDimension() != 3 or reader.GetNumberOfComponents() != 1:
        return None
    return Grid(reader.GetSize(), reader.GetSpacing(), reader.GetOrigin(), reader.GetDirection())


def read_image_region(path: str | Path, index: tuple[int, int, int], size: tuple[int, int, int],
                      grid: Grid | None = None) -> sitk.Image:
    """Read only the block ``[index, index + size)`` (x, y, z voxels) of a 3-D image file, on the file's grid.

    MHA/MHD and NIfTI (``.nii``, ``.nii.gz``) files are streamed by ITK, NRRD files (raw or gzip) by
    :mod:`nbrisk.io.nrrd_block`: only the block's slices are read. ITK reads unusual NRRD whole and cuts the block
    at once, so only the block stays in memory afterwards. ``grid``: the file's :func:`read_grid`, when the
    caller has it already.
    Checks as :func:`read_image`.
    """
    p = Path(path)
    name = p.name.lower()
    if name.endswith(".nrrd") and not name.endswith(".seg.nrrd"):
        grid = grid or read_grid(p)
        block = nrrd_block.read_block(p, list(index), list(size)) if grid is not None else None
        if block is not None and grid is not None:  # on the file's grid, as ITK would place the block
            img = grid.apply(sitk.GetImageFromArray(block))
            img.SetOrigin(grid.TransformContinuousIndexToPhysicalPoint(tuple(float(v) for v in index)))
            return _check_finite(img, p)
    return _check_finite(read_sitk(p, "image", (index, size)), p)


def read_image(path: str | Path) -> sitk.Image:
    """Read a 3-D scalar image (NRRD, NIfTI, MHA or a DICOM series folder) as float-capable SimpleITK image.

    Raises:
        InputError: missing, corrupt or truncated file; 4-D or vector image; NaN or infinite voxels.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: file not found; check the path")
    img = read_dicom_series(p) if p.is_dir() else read_sitk(p, "image")
    return _check_finite(as_3d_scalar(img, p), p)


def _check_finite(img: sitk.Image, p: Path) -> sitk.Image:
    arr = sitk.GetArrayViewFromImage(img)
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        n = int(np.count_nonzero(~np.isfinite(arr)))
        raise InputError(f"{p}: image has {n} NaN/infinite voxels; fix or re-export the image")
    return img


def read_sitk(p: Path, what: str, region: tuple[tuple[int, ...], tuple[int, ...]] | None = None) -> sitk.Image:
    """Read a file with SimpleITK (only the block ``region = (index, size)`` when given)."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(p))
    if region is not None:
        reader.SetExtractIndex([int(v) for v in region[0]])
        reader.SetExtractSize([int(v) for v in region[1]])
    try:
        with keep_locale():
            return reader.Execute()
    except RuntimeError as exc:
        hint = _itk_reason(str(exc).replace(str(p), p.name))
        raise InputError(
            f"{p}: cannot read {what} (corrupt, truncated or unsupported format: {hint}); "
            "re-export it as NRRD, NIfTI or MHA"
        ) from None


def as_3d_scalar(img: sitk.Image, p: Path) -> sitk.Image:
    if img.GetNumberOfComponentsPerPixel() > 1:
        raise InputError(
            f"{p}: image has {img.GetNumberOfComponentsPerPixel()} components per voxel (vector/RGB or 4-D); "
            "give a single 3-D scalar volume (e.g. one phase or one echo)"
        )
    if img.GetDimension() == 4:
        if img.GetSize()[3] == 1:
            return img[:, :, :, 0]
        raise InputError(
            f"{p}: image is 4-D ({img.GetSize()[3]} volumes); give a single 3-D volume (one phase/time point)"
        )
    if img.GetDimension() == 2:
        raise InputError(
            f"{p}: image is 2-D (one slice without a slice thickness); 3-D shape and texture need the volume: "
            "export the 3-D series (a one-slice 3-D file with its slice spacing works too)"
        )
    if img.GetDimension() != 3:
        raise InputError(f"{p}: image has {img.GetDimension()} dimensions; give a 3-D volume")
    return img


@contextmanager
def keep_locale() -> Iterator[None]:
    """Restore the C library locale after GDCM, which switches LC_CTYPE to "C" (ASCII text I/O afterwards)."""
    import locale

    saved = locale.setlocale(locale.LC_ALL)
    try:
        yield
    finally:
        locale.setlocale(locale.LC_ALL, saved)


def read_dicom_series(folder: Path) -> sitk.Image:
    """Read one DICOM series from a folder, sorted by position; refuse gaps and uneven spacing."""
    with keep_locale():
        return _read_dicom_series(folder)


def _read_dicom_series(folder: Path) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    ids = reader.GetGDCMSeriesIDs(str(folder))
    if not ids:
        raise InputError(f"{folder}: no DICOM series found in this folder; give the folder of one DICOM series "
                         "(or an image file)")
    if len(ids) > 1:
        raise InputError(
            f"{folder}: holds {len(ids)} DICOM series ({', '.join(ids[:3])}...); put each series in its own folder"
        )
    files = list(reader.GetGDCMSeriesFileNames(str(folder), ids[0]))
    headers = _check_slice_positions(folder, files)
    reader.SetFileNames(files)
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise InputError(f"{folder}: cannot read DICOM series ({str(exc).strip()[:120]})") from None
    _remember_source(folder, files, headers, image)
    return image


def _remember_source(folder: Path, files: list[str], headers: list, image: sitk.Image) -> None:
    """Keep the series' UIDs (see :mod:`nbrisk.io.dicom_source`); a series lacking them still reads as an
    image, and only a DICOM SEG/SR export of it is refused (with the reason) later."""
    if len(headers) != len(files):
        return
    try:
        remember(source_from_headers(folder, files, headers, image))
    except InputError as exc:
        logger.debug("no DICOM source references for %s: %s", folder, exc)


def _check_slice_positions(folder: Path, files: list[str]) -> list:
    """Refuse duplicate, missing or unevenly spaced slices; return the files' headers (pydicom datasets)."""
    import pydicom

    if len(files) < 2:  # one slice: nothing to check; its header only serves the source references
        try:
            return [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
        except Exception:  # the image reader reports a broken file itself
            return []
    headers = []
    positions, normal, points, tilt_tag = [], None, [], 0.0
    for f in files:
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
            headers.append(ds)
            ipp = np.array([float(v) for v in ds.ImagePositionPatient])
            if normal is None:
                iop = np.array([float(v) for v in ds.ImageOrientationPatient])
                normal = np.cross(iop[:3], iop[3:])
                tilt_tag = float(getattr(ds, "GantryDetectorTilt", 0.0) or 0.0)
        except Exception as exc:  # pydicom raises many types for broken headers
            raise InputError(f"{f}: unreadable DICOM header ({type(exc).__name__}); re-export the series") from None
        positions.append(float(ipp @ normal))
        points.append(ipp)
    assert normal is not None  # set by the first header (two or more files here) or an InputError was raised
    _check_tilt(folder, np.array(points), np.array(positions), normal, tilt_tag)
    pos = np.sort(np.array(positions))
    gaps = np.diff(pos)
    if np.any(gaps < 1e-3):
        raise InputError(f"{folder}: two DICOM slices share a position; remove duplicate slices")
    med = float(np.median(gaps))
    worst = int(np.argmax(np.abs(gaps - med)))
    if abs(gaps[worst] - med) > max(0.01 * med, 1e-3):
        if gaps[worst] > 1.5 * med:
            what = f"missing slice(s) between positions {pos[worst]:.2f} and {pos[worst + 1]:.2f} mm"
        else:
            what = f"uneven slice spacing ({gaps[worst]:.3f} mm vs median {med:.3f} mm)"
        raise InputError(f"{folder}: {what}; export the complete series with regular spacing")
    return headers


def _check_tilt(folder: Path, points: np.ndarray, along: np.ndarray, normal: np.ndarray, tilt_tag: float) -> None:
    """Refuse a series acquired with gantry tilt: its slices are sheared, which no direction matrix describes.

    ITK would read it with an orthogonal grid and a stretched slice spacing, so every 3-D feature would be
    wrong. The tilt is measured from the slice positions (their drift across the slice plane) and the
    GantryDetectorTilt tag.
    """
    first, last = int(np.argmin(along)), int(np.argmax(along))
    step = points[last] - points[first]
    depth = float(step @ normal)
    drift = float(np.linalg.norm(step - depth * normal))
    angle = float(np.degrees(np.arctan2(drift, abs(depth)))) if depth else 0.0
    if angle > 0.05 or (abs(tilt_tag) > 0.05 and drift > 1e-3):
        angle = angle if angle > 0.05 else abs(tilt_tag)
        raise InputError(
            f"{folder}: DICOM series acquired with gantry tilt ({angle:.2f} degrees; slices are sheared); nbrisk "
            "refuses it rather than read it with a stretched slice spacing: resample it onto an untilted grid "
            "first (e.g. dcm2niix, or Slicer's DICOM import with the tilt correction) and give that file"
        )


# ---------------------------------------------------------------------------------------------- masks
def read_mask(
    path: str | Path | sitk.Image,
    reference: sitk.Image | Grid | None = None,
    *,
    label: int | None = None,
    segment: str | None = None,
    reference_path: str | Path | None = None,
    resample: bool = False,
) -> Mask:
    """Read a mask and return the selected ROI as a binary uint8 image on the reference grid.

    ``reference`` may be a :class:`Grid` (the image's header) instead of the image.
    ``label`` picks a label value (label maps) or a segment's label value (``.seg.nrrd``); ``segment``
    picks a Slicer segment or DICOM SEG segment by name. With one label present, it is used by default.
    When ``reference`` is given the grid is checked (see :func:`check_geometry`); a mask stored on a
    sub-extent of the same grid (Slicer's default) is padded losslessly; any other mismatch is an error
    unless ``resample=True`` (nearest neighbour onto the reference grid).
    ``path`` may also be a SimpleITK label image already in memory (named ``<mask>`` in messages).
    """
    if isinstance(path, sitk.Image):
        p = Path("<mask>")
        labelmap = as_3d_scalar(path, p)
        sel = _pick_label(p, labelmap, label)
        return _finish_mask(labelmap, sel, p, None, reference, reference_path, resample)
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: mask file not found; check the path")
    name = p.name.lower()
    seg_name = None
    if name.endswith(".seg.nrrd"):
        labelmap, sel, seg_name = read_slicer_seg(p, label, segment)
    elif p.is_dir() or (name.endswith(".dcm") and is_dicom_seg(p)):
        labelmap, sel, seg_name = read_dicom_seg(p, label, segment, reference)
    else:
        if segment is not None:
            raise InputError(f"{p}: --segment works for .seg.nrrd and DICOM SEG only; use --label for label maps")
        labelmap = as_3d_scalar(read_sitk(p, "mask"), p)
        sel = _pick_label(p, labelmap, label)
    return _finish_mask(labelmap, sel, p, seg_name, reference, reference_path, resample)


def _finish_mask(labelmap: sitk.Image, sel: int, p: Path, seg_name: str | None, reference: sitk.Image | Grid | None,
                 reference_path: str | Path | None, resample: bool) -> Mask:
    binary = sitk.BinaryThreshold(labelmap, sel, sel, 1, 0)  # uint8
    del labelmap  # a CT-sized label map is 50+ MB: free it before the grid step copies the binary mask
    if reference is not None:
        binary = conform_to_reference(binary, reference, p, reference_path, resample=resample)
    n = int(np.count_nonzero(sitk.GetArrayViewFromImage(binary)))
    if n == 0:
        raise InputError(f"{p}: ROI (label {sel}) lies outside the image; draw the ROI on this image")
    if n == 1:
        raise InputError(f"{p}: ROI (label {sel}) has a single voxel; draw the whole tumour (texture needs a real ROI)")
    return Mask(binary, sel, p, seg_name)


def _pick_label(p: Path, labelmap: sitk.Image, label: int | None) -> int:
    arr = sitk.GetArrayViewFromImage(labelmap)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise InputError(f"{p}: mask has NaN voxels; re-export the mask with integer labels")
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise InputError(
                f"{p}: mask holds non-integer values (a probability map?); threshold it to integer labels first"
            )
    present = [int(v) for v in _distinct(arr) if v != 0]
    if not present:
        raise InputError(f"{p}: mask is empty (no non-zero voxel); draw or export the ROI again")
    if label is None:
        if len(present) == 1:
            return present[0]
        raise InputError(f"{p}: mask holds labels {present[:10]}; choose the tumour's with --label "
                         "(or a 'label' column in a manifest)")
    if label not in present:
        raise InputError(f"{p}: label {label} is absent (present: {present[:10]}); pass one of those with --label")
    return int(label)


def _distinct(arr: np.ndarray, slab_voxels: int = 1 << 20) -> list:
    """Sorted distinct values, slab by slab: ``np.unique`` of a whole CT label map sorts a 50+ MB copy."""
    step = max(1, slab_voxels // max(1, arr[0].size))
    found: set = set()
    for k in range(0, arr.shape[0], step):
        found.update(np.unique(arr[k : k + step]).tolist())
    return sorted(found)


# ------------------------------------------------------------------------------------------- geometry
def geometry_difference(a: sitk.Image | Grid, b: sitk.Image | Grid, tol: float = GEOMETRY_TOLERANCE) -> str | None:
    """Return a description of the first differing grid field (size, spacing, origin, direction) or None."""
    if a.GetSize() != b.GetSize():
        return f"size differs ({a.GetSize()} vs {b.GetSize()})"
    sa, sb = np.array(a.GetSpacing()), np.array(b.GetSpacing())
    if np.any(np.abs(sa - sb) > tol * np.maximum(sa, sb)):
        return f"spacing differs ({_fmt(sa)} vs {_fmt(sb)} mm)"
    oa, ob = np.array(a.GetOrigin()), np.array(b.GetOrigin())
    if np.any(np.abs(oa - ob) > max(tol, tol * float(sa.min()) * 10)):
        return f"origin differs ({_fmt(oa)} vs {_fmt(ob)} mm)"
    da, db = np.array(a.GetDirection()), np.array(b.GetDirection())
    if np.any(np.abs(da - db) > tol):
        return f"direction differs ({_fmt(da)} vs {_fmt(db)})"
    return None


def _fmt(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{x:.4g}" for x in v) + ")"


def check_geometry(
    image: sitk.Image | Grid, mask: sitk.Image | Grid, image_path: str | Path | None, mask_path: str | Path | None,
    *, phase: bool = False,
) -> None:
    """Raise InputGeometryError naming both files and the differing field when the grids differ.

    ``phase=True``: ``mask`` is another phase image of the same case (which must share the first one's grid).
    """
    diff = geometry_difference(mask, image)
    if diff and phase:
        raise InputGeometryError(
            f"phase image {mask_path} does not match phase image {image_path}: {diff}; "
            "register or resample the phases onto one grid before extraction"
        )
    if diff:
        raise InputGeometryError(
            f"mask {mask_path or '<mask>'} does not match image {image_path or '<image>'}: {diff} "
            "(mask vs image); re-export the mask on the image grid or pass --resample-mask"
        )


def conform_to_reference(
    mask: sitk.Image,
    reference: sitk.Image | Grid,
    mask_path: str | Path | None,
    reference_path: str | Path | None,
    *,
    resample: bool = False,
) -> sitk.Image:
    """Put a binary mask on the reference grid: as is, by lossless padding of a sub-extent, or by resampling."""
    grid = Grid.of(reference)
    if geometry_difference(mask, grid) is None:
        return grid.apply(sitk.Image(mask))
    padded = _paste_subextent(mask, reference)
    if padded is not None:
        return padded
    if not resample:
        check_geometry(reference, mask, reference_path, mask_path)
    logger.warning("resampling mask %s onto the grid of %s (nearest neighbour)", mask_path, reference_path)
    return sitk.Resample(mask, grid.size, sitk.Transform(), sitk.sitkNearestNeighbor, grid.origin, grid.spacing,
                         grid.direction, 0, sitk.sitkUInt8)


def _paste_subextent(mask: sitk.Image, reference: sitk.Image | Grid) -> sitk.Image | None:
    """If ``mask`` is an integer-offset sub-block of the reference grid, return it padded to that grid.

    A mask whose axes are only permuted or flipped relative to the reference (e.g. a DICOM SEG whose frames
    are stored in descending slice order) is first re-oriented losslessly.
    """
    tol = GEOMETRY_TOLERANCE
    if np.any(np.abs(np.array(mask.GetDirection()) - reference.GetDirection()) > tol):
        orient = sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(reference.GetDirection())
        mask = sitk.DICOMOrient(mask, orient)
    sm, sr = np.array(mask.GetSpacing()), np.array(reference.GetSpacing())
    direction_diff = np.abs(np.array(mask.GetDirection()) - reference.GetDirection())
    if np.any(np.abs(sm - sr) > tol * sr) or np.any(direction_diff > tol):
        return None
    idx = np.array(reference.TransformPhysicalPointToContinuousIndex(mask.GetOrigin()))
    if np.any(np.abs(idx - np.round(idx)) > 0.01):
        return None
    start = np.round(idx).astype(int)
    size = np.array(mask.GetSize())
    ref_size = np.array(reference.GetSize())
    marr = sitk.GetArrayFromImage(mask)
    out = np.zeros(ref_size[::-1], dtype=np.uint8)
    lo = np.maximum(start, 0)
    hi = np.minimum(start + size, ref_size)
    if np.any(hi <= lo):
        inside = 0
    else:
        src = marr[
            lo[2] - start[2] : hi[2] - start[2],
            lo[1] - start[1] : hi[1] - start[1],
            lo[0] - start[0] : hi[0] - start[0],
        ]
        out[lo[2] : hi[2], lo[1] : hi[1], lo[0] : hi[0]] = src
        inside = int(np.count_nonzero(src))
    if inside != int(np.count_nonzero(marr)) or np.any(start < 0) or np.any(start + size > ref_size):
        return None  # a larger grid (even with empty voxels outside) is another grid: the caller reports it
    return Grid.of(reference).apply(sitk.GetImageFromArray(out))


# --------------------------------------------------------------------------------------------- output
@contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sfx = suffix if suffix is not None else "".join(target.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=sfx, dir=target.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_image(image: sitk.Image, path: str | Path, compress: bool = True) -> Path:
    """Write an image atomically (NRRD/NIfTI/MHA by suffix); ``.dcm`` is refused (see nbrisk.io.dicom_seg)."""
    path = Path(path)
    if path.suffix.lower() == ".dcm":  # ITK would write a Secondary Capture image, which no viewer takes as a mask
        raise InputError(f"{path}: NBRisk writes masks as DICOM only as a DICOM SEG of a DICOM series; write "
                         ".nrrd/.nii.gz, or a SEG with nbrisk.io.dicom_seg.write_dicom_seg")
    with atomic_path(path) as tmp, keep_locale():
        try:
            sitk.WriteImage(image, str(tmp), compress)
        except RuntimeError as exc:  # ITK reports a full disk or a vanished folder as a RuntimeError
            import errno
            import shutil

            free = shutil.disk_usage(tmp.parent).free if tmp.parent.exists() else 0
            if free < max(1 << 20, image.GetNumberOfPixels() * image.GetSizeOfPixelComponent()):
                raise OSError(errno.ENOSPC, "No space left on device", str(path)) from None
            raise OSError(errno.EIO, f"cannot write image ({_itk_reason(str(exc))})", str(path)) from None
    return path


def _itk_reason(text: str) -> str:
    """The useful part of an ITK exception text: its first error line without the class/address prefix."""
    import re

    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    line = next((ln for ln in lines if "ERROR" in ln or "rror" in ln), lines[0] if lines else "unreadable")
    line = re.sub(r"^.*?(?:s?itk::ERROR|ITK ERROR):\s*", "", line)
    line = re.sub(r"\w+\(0x[0-9a-fA-F]+\):\s*", "", line)  # the object's address differs run to run
    return line[:120]


def load_case(
    image_path: str | Path,
    mask_path: str | Path,
    *,
    label: int | None = None,
    segment: str | None = None,
    resample_mask: bool = False,
) -> tuple[sitk.Image, Mask]:
    """Read an image and its mask, check the grids, and return both (the usual entry point)."""
    image = read_image(image_path)
    mask = read_mask(
        mask_path, image, label=label, segment=segment, reference_path=image_path, resample=resample_mask
    )
    return image, mask
