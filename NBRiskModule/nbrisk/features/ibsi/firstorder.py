"""IBSI-1 morphology, local intensity, intensity statistics, intensity histogram and IVH features."""

from __future__ import annotations

import numpy as np
from scipy import ndimage, special
from scipy.spatial import ConvexHull


def _mesh(mask: np.ndarray, spacing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from skimage.measure import marching_cubes

    padded = np.pad(mask.astype(np.float32), 1)
    verts, faces, _, _ = marching_cubes(padded, level=0.5, spacing=tuple(spacing))
    return verts, faces


def morphology(morph_mask: np.ndarray, int_mask: np.ndarray, image: np.ndarray,
               spacing: np.ndarray, moran_max_voxels: int = 20000) -> dict[str, float]:
    """Morphological features (IBSI 3.1) from the morphological and intensity masks, mm units."""
    verts, faces = _mesh(morph_mask, spacing)
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    vol = abs(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum()
    out: dict[str, float] = {}
    vox_vol = float(np.prod(spacing))
    out["morph_volume"] = vol
    out["morph_vol_approx"] = morph_mask.sum() * vox_vol
    out["morph_area_mesh"] = area
    out["morph_av"] = area / vol
    out["morph_comp_1"] = vol / (np.pi ** 0.5 * area ** 1.5)
    out["morph_comp_2"] = 36 * np.pi * vol ** 2 / area ** 3
    out["morph_sph_dispr"] = area / (36 * np.pi * vol ** 2) ** (1 / 3)
    out["morph_sphericity"] = (36 * np.pi * vol ** 2) ** (1 / 3) / area
    out["morph_asphericity"] = (area ** 3 / (36 * np.pi * vol ** 2)) ** (1 / 3) - 1
    pos_m = np.argwhere(morph_mask) * spacing
    pos_i = np.argwhere(int_mask) * spacing
    w = image[int_mask]
    com_geom = pos_m.mean(axis=0)
    com_int = (pos_i * w[:, None]).sum(axis=0) / w.sum() if w.sum() != 0 else pos_i.mean(axis=0)
    out["morph_com"] = float(np.linalg.norm(com_geom - com_int))
    hull = ConvexHull(verts)
    hv = verts[hull.vertices]
    d2 = ((hv[:, None, :] - hv[None, :, :]) ** 2).sum(-1)
    out["morph_diam"] = float(np.sqrt(d2.max()))
    # PCA of the voxel centres of the morphological mask (IBSI: sample covariance, axis = 4*sqrt(lambda))
    lam = np.sort(np.linalg.eigvalsh(np.cov(pos_m.T)))[::-1]
    lam = np.clip(lam, 0, None)
    out["morph_pca_maj_axis"] = 4 * np.sqrt(lam[0])
    out["morph_pca_min_axis"] = 4 * np.sqrt(lam[1])
    out["morph_pca_least_axis"] = 4 * np.sqrt(lam[2])
    out["morph_pca_elongation"] = np.sqrt(lam[1] / lam[0])
    out["morph_pca_flatness"] = np.sqrt(lam[2] / lam[0])
    ext = verts.max(axis=0) - verts.min(axis=0)
    out["morph_vol_dens_aabb"] = vol / np.prod(ext)
    out["morph_area_dens_aabb"] = area / (2 * (ext[0] * ext[1] + ext[0] * ext[2] + ext[1] * ext[2]))
    sa, sb, sc = 2 * np.sqrt(lam[0]), 2 * np.sqrt(lam[1]), 2 * np.sqrt(lam[2])
    out["morph_vol_dens_aee"] = 3 * vol / (4 * np.pi * sa * sb * sc)
    out["morph_area_dens_aee"] = area / _ellipsoid_area(sa, sb, sc)
    out["morph_vol_dens_conv_hull"] = vol / hull.volume
    out["morph_area_dens_conv_hull"] = area / hull.area
    out["morph_integ_int"] = vol * float(w.mean())
    out["morph_moran_i"], out["morph_geary_c"] = _moran_geary(int_mask, image, spacing)
    return out


def _ellipsoid_area(a: float, b: float, c: float, terms: int = 20) -> float:
    """Surface area of an ellipsoid (a >= b >= c) by IBSI's Legendre series."""
    alpha = np.sqrt(max(1 - b ** 2 / a ** 2, 0.0))
    beta = np.sqrt(max(1 - c ** 2 / a ** 2, 0.0))
    if alpha * beta == 0:
        return 4 * np.pi * a * b
    x = (alpha ** 2 + beta ** 2) / (2 * alpha * beta)
    nu = np.arange(terms + 1)
    s = ((alpha * beta) ** nu / (1 - 4 * nu ** 2) * special.eval_legendre(nu, x)).sum()
    return float(4 * np.pi * a * b * s)


def _moran_geary(int_mask: np.ndarray, image: np.ndarray, spacing: np.ndarray) -> tuple[float, float]:
    """Moran's I and Geary's C with inverse-distance weights over all voxel pairs of the intensity mask.

    Exact: the weight of a pair depends only on its offset on the grid, so every pairwise sum is a
    correlation of the ROI's fields with the kernel 1/|offset| (FFT, O(n log n) instead of O(n^2)).
    """
    from scipy import fft

    idx = np.nonzero(int_mask)
    sl = tuple(slice(i.min(), i.max() + 1) for i in idx)
    m = int_mask[sl].astype(np.float64)
    n = m.sum()
    if n < 2:
        return float("nan"), float("nan")
    x = np.where(int_mask[sl], image[sl], 0.0)
    dev = np.where(int_mask[sl], x - image[int_mask].mean(), 0.0)
    var = (dev ** 2).sum()
    if var == 0:
        return float("nan"), float("nan")
    axes = [np.arange(-(k - 1), k) * s for k, s in zip(m.shape, spacing, strict=True)]
    grids = np.meshgrid(*axes, indexing="ij")
    d = np.sqrt(sum(gr ** 2 for gr in grids))
    kern = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)

    shape = [fft.next_fast_len(a + b - 1, real=True) for a, b in zip(m.shape, kern.shape, strict=True)]
    kf = fft.rfftn(kern, shape)

    def corr(f: np.ndarray) -> np.ndarray:  # sum over k != j of w_jk f_k, at every j (kernel is symmetric)
        full = fft.irfftn(fft.rfftn(f, shape) * kf, shape)
        return full[tuple(slice(k - 1, 2 * k - 1) for k in f.shape)]

    km = corr(m)
    kd = corr(dev)
    wsum = (m * km).sum()
    moran = n / wsum * (dev * kd).sum() / var
    geary = (n - 1) / (2 * wsum) * (2 * (dev ** 2 * km).sum() - 2 * (dev * kd).sum()) / var
    return float(moran), float(geary)


def local_intensity(image: np.ndarray, int_mask: np.ndarray, spacing: np.ndarray) -> dict[str, float]:
    """Local and global intensity peak: mean in a 1 cm^3 sphere around ROI voxels (IBSI 3.2)."""
    r = (3 / (4 * np.pi) * 1000.0) ** (1 / 3)  # mm
    half = np.floor(r / spacing).astype(int)
    axes = [np.arange(-h, h + 1) * s for h, s in zip(half, spacing, strict=True)]
    zz, yy, xx = np.meshgrid(*axes, indexing="ij")
    kern = ((zz ** 2 + yy ** 2 + xx ** 2) <= r ** 2 + 1e-9).astype(np.float64)
    sums = ndimage.correlate(image, kern, mode="constant", cval=0.0)
    counts = ndimage.correlate(np.ones_like(image), kern, mode="constant", cval=0.0)
    local = sums / counts
    vals = image[int_mask]
    top = int_mask & (image == vals.max())
    return {"loc_peak_loc": float(local[top].max()), "loc_peak_glob": float(local[int_mask].max())}


def _stats(x: np.ndarray, prefix: str) -> dict[str, float]:
    mu = x.mean()
    sd = x.std()
    m2 = ((x - mu) ** 2).mean()
    p10, p25, p50, p75, p90 = np.percentile(x, [10, 25, 50, 75, 90])
    out = {f"{prefix}_mean": mu, f"{prefix}_var": m2,
           f"{prefix}_skew": ((x - mu) ** 3).mean() / m2 ** 1.5 if m2 > 0 else 0.0,
           f"{prefix}_kurt": ((x - mu) ** 4).mean() / m2 ** 2 - 3 if m2 > 0 else 0.0,
           f"{prefix}_median": p50, f"{prefix}_min": x.min(), f"{prefix}_p10": p10, f"{prefix}_p90": p90,
           f"{prefix}_max": x.max(), f"{prefix}_iqr": p75 - p25, f"{prefix}_range": x.max() - x.min(),
           f"{prefix}_mad": np.abs(x - mu).mean()}
    inner = x[(x >= p10) & (x <= p90)]
    out[f"{prefix}_rmad"] = np.abs(inner - inner.mean()).mean()
    out[f"{prefix}_medad"] = np.abs(x - p50).mean()
    out[f"{prefix}_cov"] = sd / mu if mu != 0 else float("nan")
    out[f"{prefix}_qcod"] = (p75 - p25) / (p75 + p25) if (p75 + p25) != 0 else float("nan")
    return out


def statistics(values: np.ndarray) -> dict[str, float]:
    """Intensity-based statistical features (IBSI 3.3) of the intensity mask's voxels."""
    x = values.astype(np.float64)
    out = _stats(x, "stat")
    out["stat_energy"] = float((x ** 2).sum())
    out["stat_rms"] = float(np.sqrt((x ** 2).mean()))
    return out


def histogram(g: np.ndarray, ng: int) -> dict[str, float]:
    """Intensity histogram features (IBSI 3.4) of grey levels 1..ng."""
    x = g.astype(np.float64)
    out = _stats(x, "ih")
    h = np.bincount(g, minlength=ng + 1)[1:ng + 1].astype(np.float64)
    p = h / h.sum()
    out["ih_mode"] = float(np.argmax(h) + 1)
    nz = p[p > 0]
    out["ih_entropy"] = float(-(nz * np.log2(nz)).sum())
    out["ih_uniformity"] = float((p ** 2).sum())
    # central differences inside, one-sided at the ends (IBSI 3.4.21)
    grad = np.gradient(h) if ng > 1 else np.zeros(1)
    out["ih_max_grad"] = float(grad.max())
    out["ih_max_grad_g"] = float(np.argmax(grad) + 1)
    out["ih_min_grad"] = float(grad.min())
    out["ih_min_grad_g"] = float(np.argmin(grad) + 1)
    return out


def intensity_volume_histogram(levels: np.ndarray, values: np.ndarray, lo: float,
                               hi: float) -> dict[str, float]:
    """IVH features (IBSI 3.5).

    ``levels``: the grey levels that exist on the discretisation grid, ascending (intensity values or bin
    numbers); ``values``: each ROI voxel's level; ``lo``/``hi``: the range used for intensity fractions.
    """
    v = np.sort(values)
    n = len(v)
    # fraction of the volume with intensity >= level, for every level
    frac = 1.0 - np.searchsorted(v, levels, side="left") / n
    gamma = (levels - lo) / (hi - lo) if hi > lo else np.zeros_like(levels, dtype=np.float64)

    def v_at(x: float) -> float:
        sel = gamma >= x - 1e-12
        return float(frac[sel].min(initial=1.0) if not sel.any() else frac[np.argmax(sel)])

    def i_at(x: float) -> float:
        sel = frac <= x + 1e-12
        if sel.any():
            return float(levels[np.argmax(sel)])
        return float(levels[-1] + (levels[-1] - levels[-2] if len(levels) > 1 else 1))

    out = {"ivh_v10": v_at(0.10), "ivh_v90": v_at(0.90), "ivh_i10": i_at(0.10), "ivh_i90": i_at(0.90)}
    out["ivh_diff_v10_v90"] = out["ivh_v10"] - out["ivh_v90"]
    out["ivh_diff_i10_i90"] = out["ivh_i10"] - out["ivh_i90"]
    return out
