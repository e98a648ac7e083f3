"""IBSI-1 image processing: centred resampling grid, intensity rounding, mask partial-volume threshold,
re-segmentation (range, outliers) and discretisation (FBN, FBS from the re-segmentation lower bound).

Arrays are numpy ``[z, y, x]``; spacings are given in the same order. Nothing here is shared with the
pyradiomics-equal mode, which keeps its own grid and binning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

CROP_MARGIN_MM = 7.0  # > radius of the 1 cm^3 sphere of the local intensity peak (6.2 mm)


@dataclass(frozen=True)
class Settings:
    """One IBSI processing configuration (see the IBSI-1 reference manual, configurations A-E)."""

    name: str = "custom"
    dims: str = "3D"  # "2D" (slice-wise, A/B) or "3D" (C-E); 2.5D aggregates come with "2D"
    spacing: tuple[float, ...] | None = None  # new spacing (x, y[, z]) in mm; None: no interpolation
    interpolation: str = "linear"  # "linear" or "cubic" (cubic B-spline)
    round_intensities: bool = False
    mask_threshold: float = 0.5  # partial-volume threshold of the interpolated mask
    reseg_range: tuple[float | None, float | None] | None = None
    outlier_sigma: float | None = None  # mean +- k sd outlier filter (3 in IBSI)
    discretisation: tuple[str, float] | None = None  # ("FBS", width) / ("FBN", bins) / None (as is)
    ivh_discretisation: tuple[str, float] | None = None  # None: intensities as they are (discrete case)
    texture_distance: int = 1
    ngldm_alpha: int = 0
    filter: dict | None = None  # IBSI-2 filter applied after interpolation (see filters.apply)
    families: tuple[str, ...] = field(default=("diag", "morph", "loc", "stat", "ih", "ivh", "cm", "rlm",
                                                "szm", "dzm", "ngt", "ngl"))


@dataclass
class Processed:
    """The image and masks after IBSI processing, cropped to the ROI's bounding box (plus a border)."""

    image: np.ndarray  # float64 intensities on the (possibly interpolated) grid
    morph_mask: np.ndarray  # bool: interpolated ROI (morphological mask)
    int_mask: np.ndarray  # bool: morphological mask after re-segmentation (intensity mask)
    spacing: np.ndarray  # (z, y, x) mm
    origin_offset: np.ndarray  # world position of voxel [0,0,0] of the crop, (z, y, x) mm
    diagnostics: dict[str, float]
    reseg_range: tuple[float | None, float | None] | None


def centred_grid(size: int, spacing: float, new_spacing: float) -> np.ndarray:
    """Positions (in original voxel index units) of a grid of ``new_spacing`` centred on the original."""
    n_new = int(np.ceil(np.round(size * spacing / new_spacing, 6)))
    step = new_spacing / spacing
    return (size - 1) / 2.0 + (np.arange(n_new) - (n_new - 1) / 2.0) * step


def _resample(arr: np.ndarray, coords: list[np.ndarray], order: int) -> np.ndarray:
    """Interpolate ``arr`` at the grid ``coords`` (index units), reading only the block the grid needs.

    Beyond the image, intensities extend the nearest boundary value (IBSI's padding). For the cubic spline
    the block keeps a 16-voxel margin, so the spline prefilter is the whole image's to ~1e-9 (its poles
    decay as 0.27^k); linear needs just the neighbours.
    """
    margin = 16 if order > 1 else 1
    lo = [max(int(np.floor(c.min())) - margin, 0) for c in coords]
    hi = [min(int(np.ceil(c.max())) + margin + 1, n) for c, n in zip(coords, arr.shape, strict=True)]
    block = arr[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))].astype(np.float64)
    grid = np.meshgrid(*[c - a for c, a in zip(coords, lo, strict=True)], indexing="ij")
    return ndimage.map_coordinates(block, grid, order=order, mode="nearest", prefilter=order > 1)


def _diag(prefix: str, img: np.ndarray, spacing: np.ndarray, intensities: bool) -> dict[str, float]:
    out = {f"img_dim_x_{prefix}": img.shape[2], f"img_dim_y_{prefix}": img.shape[1],
           f"img_dim_z_{prefix}": img.shape[0], f"vox_dim_x_{prefix}": spacing[2],
           f"vox_dim_y_{prefix}": spacing[1], f"vox_dim_z_{prefix}": spacing[0]}
    if intensities:
        out.update({f"mean_int_{prefix}": float(img.mean(dtype=np.float64)),
                    f"min_int_{prefix}": float(img.min()),
                    f"max_int_{prefix}": float(img.max())})
    return out


def _mask_diag(prefix: str, img: np.ndarray, int_mask: np.ndarray, morph_mask: np.ndarray,
               grid: tuple[int, ...] | None = None) -> dict[str, float]:
    out: dict[str, float] = {}
    for kind, m in (("int", int_mask), ("morph", morph_mask)):
        shape = grid or m.shape
        out[f"{kind}_mask_dim_x_{prefix}"] = shape[2]
        out[f"{kind}_mask_dim_y_{prefix}"] = shape[1]
        out[f"{kind}_mask_dim_z_{prefix}"] = shape[0]
        idx = np.nonzero(m)
        for ax, name in ((2, "x"), (1, "y"), (0, "z")):
            extent = float(idx[ax].max() - idx[ax].min() + 1) if m.any() else 0.0
            out[f"{kind}_mask_bb_dim_{name}_{prefix}"] = extent
        out[f"{kind}_mask_vox_count_{prefix}"] = float(m.sum())
        vals = img[m]
        if vals.size:
            out[f"{kind}_mask_mean_int_{prefix}"] = float(vals.mean())
            out[f"{kind}_mask_min_int_{prefix}"] = float(vals.min())
            out[f"{kind}_mask_max_int_{prefix}"] = float(vals.max())
    return out


def process(image: np.ndarray, mask: np.ndarray, spacing_zyx: tuple[float, float, float],
            settings: Settings, image_diagnostics: bool = False, margin_mm: float = 0.0) -> Processed:
    """Interpolate, re-segment and crop one image + ROI mask as IBSI-1 describes.

    ``image_diagnostics``: also interpolate the whole image for IBSI's diagnostic intensity features of the
    interpolated image (costly on a large CT; the features themselves only need the ROI's neighbourhood).
    """
    image = np.asarray(image)  # converted to float64 block by block: a whole CT stays as read
    mask = np.asarray(mask) > 0
    spacing = np.asarray(spacing_zyx, dtype=np.float64)
    diag = _diag("init_img", image, spacing, image_diagnostics)
    lo0, hi0 = _bbox(mask)
    box = tuple(slice(a, b + 1) for a, b in zip(lo0, hi0, strict=True))
    diag.update(_mask_diag("init_roi", image[box], mask[box], mask[box], mask.shape))
    offset = np.zeros(3)
    grid_shape = image.shape
    if settings.spacing is not None:
        new = list(spacing)
        sp = settings.spacing
        new[2], new[1] = sp[0], sp[1]
        if len(sp) > 2 and settings.dims == "3D":
            new[0] = sp[2]
        new_sp = np.asarray(new, dtype=np.float64)
        # crop to the ROI first (with a border wide enough for the spline) so large images stay cheap;
        # the grid positions are still those of the whole-image centred grid
        coords_full = [centred_grid(image.shape[a], spacing[a], new_sp[a]) for a in range(3)]
        diag_interp_shape = grid_shape = tuple(len(c) for c in coords_full)
        lo, hi = _bbox(mask)
        sel = []
        for a in range(3):
            c = coords_full[a]
            pad = 2 + (CROP_MARGIN_MM + margin_mm) / spacing[a]
            keep = np.nonzero((c >= lo[a] - pad) & (c <= hi[a] + pad))[0]
            sel.append(keep)
        coords = [coords_full[a][sel[a]] for a in range(3)]
        full_image = image
        order = 3 if settings.interpolation == "cubic" else 1
        img_i = _resample(image, coords, order)
        if settings.round_intensities:
            img_i = np.round(img_i)
        m_i = _resample(mask, coords, 1)
        morph = m_i >= settings.mask_threshold - 1e-9
        offset = np.array([coords[a][0] for a in range(3)]) * spacing
        spacing = new_sp
        image = img_i
        if image_diagnostics:
            whole = _resample(full_image, coords_full, order)
            if settings.round_intensities:
                whole = np.round(whole)
            diag.update({"mean_int_interp_img": float(whole.mean()), "min_int_interp_img": float(whole.min()),
                         "max_int_interp_img": float(whole.max())})
        diag.update({"img_dim_x_interp_img": diag_interp_shape[2],
                     "img_dim_y_interp_img": diag_interp_shape[1],
                     "img_dim_z_interp_img": diag_interp_shape[0], "vox_dim_x_interp_img": new_sp[2],
                     "vox_dim_y_interp_img": new_sp[1], "vox_dim_z_interp_img": new_sp[0]})
    else:
        morph = mask
        diag.update({k.replace("init_img", "interp_img"): v for k, v in diag.items()
                     if k.endswith("init_img")})
    lo, hi = _bbox(morph)
    border = np.ceil((CROP_MARGIN_MM + margin_mm) / spacing).astype(int) + 1
    sl = tuple(slice(max(lo[a] - border[a], 0), hi[a] + border[a] + 1) for a in range(3))
    offset = offset + np.array([s.start for s in sl]) * spacing
    image, morph = image[sl].astype(np.float64), morph[sl]
    diag.update(_mask_diag("interp_roi", image, morph, morph, grid_shape))
    int_mask = morph.copy()
    rr = settings.reseg_range
    if rr is not None:
        if rr[0] is not None:
            int_mask &= image >= rr[0]
        if rr[1] is not None:
            int_mask &= image <= rr[1]
    if settings.outlier_sigma is not None:
        v = image[int_mask]
        mu, sd = v.mean(), v.std()
        k = settings.outlier_sigma
        int_mask &= (image >= mu - k * sd) & (image <= mu + k * sd)
    diag.update(_mask_diag("reseg_roi", image, int_mask, morph, grid_shape))
    return Processed(image, morph, int_mask, spacing, offset, diag, rr)


def _bbox(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    zs = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))  # one pass over the whole mask
    if not zs.size:
        raise ValueError("the ROI is empty after processing")
    slab = mask[zs[0]:zs[-1] + 1]
    ys = np.flatnonzero(slab.any(axis=(0, 2)))
    xs = np.flatnonzero(slab.any(axis=(0, 1)))
    return np.array([zs[0], ys[0], xs[0]]), np.array([zs[-1], ys[-1], xs[-1]])


def discretise(values: np.ndarray, method: tuple[str, float] | None, lower: float | None,
               vmin: float, vmax: float) -> tuple[np.ndarray, int]:
    """Grey levels (1..Ng) of ``values`` and Ng.

    FBS counts bins from ``lower`` (the re-segmentation lower bound) when there is one, else from the ROI
    minimum; FBN spans the ROI's range. ``None`` keeps integer intensities as grey levels.
    """
    if method is None:
        g = np.round(values).astype(np.int64)
        return g, int(g.max()) if g.size else 0
    kind, par = method
    if kind == "FBS":
        base = vmin if lower is None else lower
        g = np.floor((values - base) / par).astype(np.int64) + 1
        return g, int(g.max())
    if kind == "FBN":
        n = int(par)
        if vmax == vmin:
            return np.ones(values.shape, dtype=np.int64), 1
        g = np.floor(n * (values - vmin) / (vmax - vmin)).astype(np.int64) + 1
        g[values >= vmax] = n
        return g, n
    raise ValueError(f"unknown discretisation {kind!r}; use FBS or FBN")
