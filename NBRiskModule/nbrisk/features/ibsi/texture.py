"""IBSI-1 texture matrices (GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM) with 2D / 2.5D / 3D aggregation.

``g`` is the discretised image ``[z, y, x]`` with grey levels 1..Ng inside the ROI and 0 outside. 2D
matrices are built per slice (axial, the first axis) with in-plane neighbours only; IBSI's aggregation
variants then follow from how per-slice / per-direction matrices are merged before features are taken:

* GLCM/GLRLM: ``2D_avg`` (per slice and direction), ``2D_comb`` (directions merged per slice, then averaged
  over slices), ``2_5D_avg`` (slices merged per direction), ``2_5D_comb`` (all merged), ``3D_avg`` (per 3-D
  direction), ``3D_comb`` (all 3-D directions merged).
* GLSZM/GLDZM/NGTDM/NGLDM: ``2D`` (per slice, averaged), ``2_5D`` (slices merged), ``3D``.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage

DIRS_3D = [d for d in itertools.product((-1, 0, 1), repeat=3) if d > (0, 0, 0)]  # 13 unique directions
DIRS_2D = [d for d in DIRS_3D if d[0] == 0]  # 4 in-plane directions


def _shift_pairs(g: np.ndarray, d: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, z) for all voxel pairs x, x+d: grey levels of both and the slice index of x."""
    src, dst = [], []
    for k, n in zip(d, g.shape, strict=True):
        src.append(slice(max(0, -k), n - max(0, k)))
        dst.append(slice(max(0, k), n - max(0, -k)))
    a, b = g[tuple(src)], g[tuple(dst)]
    z = np.broadcast_to(np.arange(src[0].start, src[0].stop)[:, None, None], a.shape)
    return a, b, z


def _nanmean(x: np.ndarray, axis=None) -> np.ndarray:
    """Mean over the matrices that define the feature; NaN when none does (e.g. no slice has a pair)."""
    import warnings

    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=axis)


# ---------------------------------------------------------------------------------------------- GLCM
def glcm_matrices(g: np.ndarray, ng: int, dims: str) -> dict[str, np.ndarray]:
    """Symmetric co-occurrence counts: 2D ``(slice, dir, Ng, Ng)`` and/or 3D ``(dir, Ng, Ng)``."""
    out = {}
    nz = g.shape[0]
    if dims in ("2D", "all"):
        m = np.zeros((nz, len(DIRS_2D), ng, ng))
        for k, d in enumerate(DIRS_2D):
            a, b, z = _shift_pairs(g, d)  # type: ignore[arg-type]
            ok = (a > 0) & (b > 0)
            idx = (z[ok] * ng + (a[ok] - 1)) * ng + (b[ok] - 1)
            c = np.bincount(idx, minlength=nz * ng * ng).reshape(nz, ng, ng)
            m[:, k] = c + c.transpose(0, 2, 1)
        out["2D"] = m
    if dims in ("3D", "all"):
        m = np.zeros((len(DIRS_3D), ng, ng))
        for k, d in enumerate(DIRS_3D):
            a, b, _ = _shift_pairs(g, d)  # type: ignore[arg-type]
            ok = (a > 0) & (b > 0)
            c = np.bincount((a[ok] - 1) * ng + (b[ok] - 1), minlength=ng * ng).reshape(ng, ng)  # type: ignore[assignment]
            m[k] = c + c.T
        out["3D"] = m
    return out


CM_NAMES = ["joint_max", "joint_avg", "joint_var", "joint_entr", "diff_avg", "diff_var", "diff_entr",
            "sum_avg", "sum_var", "sum_entr", "energy", "contrast", "dissimilarity", "inv_diff",
            "inv_diff_norm", "inv_diff_mom", "inv_diff_mom_norm", "inv_var", "corr", "auto_corr", "clust_tend",
            "clust_shade", "clust_prom", "info_corr1", "info_corr2"]


def _plogp(p: np.ndarray, axes) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1)), 0).sum(axis=axes)


def glcm_features(m: np.ndarray) -> dict[str, np.ndarray]:
    """IBSI GLCM features of a stack of count matrices ``(..., Ng, Ng)``; empty matrices give NaN."""
    ng = m.shape[-1]
    tot = m.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = m / tot[..., None, None]
    i = np.arange(1, ng + 1, dtype=np.float64)[:, None]
    j = i.T
    pi = p.sum(-1)
    pj = p.sum(-2)
    lv = np.arange(1, ng + 1, dtype=np.float64)
    mu_i = (pi * lv).sum(-1)
    kdiff = np.abs(i - j).astype(int)
    ksum = (i + j).astype(int)
    pd = np.stack([(p * (kdiff == k)).sum((-2, -1)) for k in range(ng)], -1)
    ps = np.stack([(p * (ksum == k)).sum((-2, -1)) for k in range(2, 2 * ng + 1)], -1)
    kd = np.arange(ng, dtype=np.float64)
    ks = np.arange(2, 2 * ng + 1, dtype=np.float64)
    f: dict[str, np.ndarray] = {}
    f["joint_max"] = p.max((-2, -1))
    f["joint_avg"] = (p * i).sum((-2, -1))
    f["joint_var"] = (p * (i - f["joint_avg"][..., None, None]) ** 2).sum((-2, -1))
    f["joint_entr"] = _plogp(p, (-2, -1))
    f["diff_avg"] = (pd * kd).sum(-1)
    f["diff_var"] = (pd * (kd - f["diff_avg"][..., None]) ** 2).sum(-1)
    f["diff_entr"] = _plogp(pd, -1)
    f["sum_avg"] = (ps * ks).sum(-1)
    f["sum_var"] = (ps * (ks - f["sum_avg"][..., None]) ** 2).sum(-1)
    f["sum_entr"] = _plogp(ps, -1)
    f["energy"] = (p ** 2).sum((-2, -1))
    f["contrast"] = (p * (i - j) ** 2).sum((-2, -1))
    f["dissimilarity"] = (p * np.abs(i - j)).sum((-2, -1))
    f["inv_diff"] = (p / (1 + np.abs(i - j))).sum((-2, -1))
    f["inv_diff_norm"] = (p / (1 + np.abs(i - j) / ng)).sum((-2, -1))
    f["inv_diff_mom"] = (p / (1 + (i - j) ** 2)).sum((-2, -1))
    f["inv_diff_mom_norm"] = (p / (1 + (i - j) ** 2 / ng ** 2)).sum((-2, -1))
    off = (i != j)
    with np.errstate(divide="ignore", invalid="ignore"):
        f["inv_var"] = (np.where(off, p / np.where(off, (i - j) ** 2, 1), 0)).sum((-2, -1))
    var_i = (pi * (lv - mu_i[..., None]) ** 2).sum(-1)
    mu_ij = mu_i[..., None, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        f["corr"] = ((p * (i - mu_ij) * (j - mu_ij)).sum((-2, -1))) / var_i
    f["auto_corr"] = (p * i * j).sum((-2, -1))
    f["clust_tend"] = (p * (i + j - 2 * mu_ij) ** 2).sum((-2, -1))
    f["clust_shade"] = (p * (i + j - 2 * mu_ij) ** 3).sum((-2, -1))
    f["clust_prom"] = (p * (i + j - 2 * mu_ij) ** 4).sum((-2, -1))
    hxy = f["joint_entr"]
    hx = _plogp(pi, -1)
    pipj = pi[..., :, None] * pj[..., None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        hxy1 = -np.where((p > 0) & (pipj > 0), p * np.log2(np.where(pipj > 0, pipj, 1)), 0).sum((-2, -1))
        hxy2 = -np.where(pipj > 0, pipj * np.log2(np.where(pipj > 0, pipj, 1)), 0).sum((-2, -1))
        f["info_corr1"] = (hxy - hxy1) / hx
        f["info_corr2"] = np.sqrt(np.clip(1 - np.exp(-2 * (hxy2 - hxy)), 0, None))
    for k in f:
        f[k] = np.where(tot > 0, f[k], np.nan)
    return f


def _aggregate_pairwise(mats: dict[str, np.ndarray], feats, prefix: str, dims: str) -> dict[str, float]:
    """The six IBSI aggregation variants for direction-resolved matrices (GLCM, GLRLM)."""
    out: dict[str, float] = {}
    variants = {}
    if "2D" in mats:
        m2 = mats["2D"]
        variants["2D_avg"] = feats(m2)
        variants["2D_comb"] = feats(m2.sum(1))
        variants["2_5D_avg"] = feats(m2.sum(0))
        variants["2_5D_comb"] = feats(m2.sum((0, 1))[None])
    if "3D" in mats:
        m3 = mats["3D"]
        variants["3D_avg"] = feats(m3)
        variants["3D_comb"] = feats(m3.sum(0)[None])
    for suffix, fd in variants.items():
        for name, arr in fd.items():
            out[f"{prefix}_{name}_{suffix}"] = float(_nanmean(arr))
    return out


def glcm(g: np.ndarray, ng: int, dims: str) -> dict[str, float]:
    return _aggregate_pairwise(glcm_matrices(g, ng, dims), glcm_features, "cm", dims)


# ---------------------------------------------------------------------------------------------- GLRLM
def _run_lengths(g: np.ndarray, d: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grey level, run length and slice of every run along direction ``d``."""
    gp = np.pad(g, 1)
    inner = tuple(slice(1, -1) for _ in range(3))
    nxt = tuple(slice(1 + k, gp.shape[a] - 1 + k) for a, k in enumerate(d))
    prv = tuple(slice(1 - k, gp.shape[a] - 1 - k) for a, k in enumerate(d))
    same_next = (gp[nxt] == g) & (g > 0)
    start = (g > 0) & (gp[prv] != g)
    # run length from each voxel onwards: R = 1 + R(x+d) where the next voxel continues the run
    r = np.ones(g.shape, dtype=np.int32)
    rp = np.zeros(gp.shape, dtype=np.int32)
    for _ in range(max(g.shape)):
        rp[inner] = r
        new = 1 + np.where(same_next, rp[nxt], 0)
        if np.array_equal(new, r):
            break
        r = new
    z = np.nonzero(start)[0]
    return g[start], r[start], z


def glrlm_matrices(g: np.ndarray, ng: int, dims: str) -> dict[str, np.ndarray]:
    out = {}
    nz = g.shape[0]
    nr = max(g.shape)
    if dims in ("2D", "all"):
        m = np.zeros((nz, len(DIRS_2D), ng, nr))
        for k, d in enumerate(DIRS_2D):
            lv, rl, z = _run_lengths(g, d)  # type: ignore[arg-type]
            c = np.bincount((z * ng + lv - 1) * nr + rl - 1, minlength=nz * ng * nr)
            m[:, k] = c.reshape(nz, ng, nr)
        out["2D"] = m
    if dims in ("3D", "all"):
        m = np.zeros((len(DIRS_3D), ng, nr))
        for k, d in enumerate(DIRS_3D):
            lv, rl, _ = _run_lengths(g, d)  # type: ignore[arg-type]
            m[k] = np.bincount((lv - 1) * nr + rl - 1, minlength=ng * nr).reshape(ng, nr)
        out["3D"] = m
    return out


def size_features(m: np.ndarray, n_vox: np.ndarray, names: dict[str, str]) -> dict[str, np.ndarray]:
    """Features shared by GLRLM, GLSZM, GLDZM and NGLDM for matrices ``(..., Ng, Nj)``.

    ``n_vox``: voxels behind each matrix (for run/zone percentage); ``names`` maps the generic names to the
    family's tags (e.g. ``se`` -> ``sre`` for runs, ``sze`` for zones).
    """
    ng, nj = m.shape[-2:]
    i = np.arange(1, ng + 1, dtype=np.float64)[:, None]
    j = np.arange(1, nj + 1, dtype=np.float64)[None, :]
    ns = m.sum((-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = m / ns[..., None, None]
        gi = m.sum(-1)
        sj = m.sum(-2)
        f = {
            "se": (m / j ** 2).sum((-2, -1)) / ns,
            "le": (m * j ** 2).sum((-2, -1)) / ns,
            "lge": (m / i ** 2).sum((-2, -1)) / ns,
            "hge": (m * i ** 2).sum((-2, -1)) / ns,
            "slge": (m / (i ** 2 * j ** 2)).sum((-2, -1)) / ns,
            "shge": (m * i ** 2 / j ** 2).sum((-2, -1)) / ns,
            "llge": (m * j ** 2 / i ** 2).sum((-2, -1)) / ns,
            "lhge": (m * i ** 2 * j ** 2).sum((-2, -1)) / ns,
            "glnu": (gi ** 2).sum(-1) / ns,
            "glnu_norm": (gi ** 2).sum(-1) / ns ** 2,
            "jnu": (sj ** 2).sum(-1) / ns,
            "jnu_norm": (sj ** 2).sum(-1) / ns ** 2,
            "perc": ns / n_vox,
        }
        mu_i = (p * i).sum((-2, -1))
        f["gl_var"] = (p * (i - mu_i[..., None, None]) ** 2).sum((-2, -1))
        mu_j = (p * j).sum((-2, -1))
        f["j_var"] = (p * (j - mu_j[..., None, None]) ** 2).sum((-2, -1))
        f["j_entr"] = _plogp(p, (-2, -1))
        f["j_energy"] = (p ** 2).sum((-2, -1))
    return {names[k]: np.where(ns > 0, v, np.nan) for k, v in f.items() if k in names}


RLM_NAMES = {"se": "sre", "le": "lre", "lge": "lgre", "hge": "hgre", "slge": "srlge", "shge": "srhge",
             "llge": "lrlge", "lhge": "lrhge", "glnu": "glnu", "glnu_norm": "glnu_norm", "jnu": "rlnu",
             "jnu_norm": "rlnu_norm", "perc": "r_perc", "gl_var": "gl_var", "j_var": "rl_var",
             "j_entr": "rl_entr"}


def glrlm(g: np.ndarray, ng: int, dims: str) -> dict[str, float]:
    mats = glrlm_matrices(g, ng, dims)
    inside = g > 0
    per_slice = inside.sum((1, 2)).astype(np.float64)
    total = float(inside.sum())
    out: dict[str, float] = {}
    variants = {}
    if "2D" in mats:
        m2 = mats["2D"]
        variants["2D_avg"] = size_features(m2, per_slice[:, None], RLM_NAMES)
        # merging over directions: run percentage divides by the voxels counted once per direction
        variants["2D_comb"] = size_features(m2.sum(1), per_slice * m2.shape[1], RLM_NAMES)
        variants["2_5D_avg"] = size_features(m2.sum(0), np.full(m2.shape[1], total), RLM_NAMES)
        variants["2_5D_comb"] = size_features(m2.sum((0, 1))[None], np.array([total * m2.shape[1]]),
                                              RLM_NAMES)
    if "3D" in mats:
        m3 = mats["3D"]
        variants["3D_avg"] = size_features(m3, np.full(m3.shape[0], total), RLM_NAMES)
        variants["3D_comb"] = size_features(m3.sum(0)[None], np.array([total * m3.shape[0]]), RLM_NAMES)
    for suffix, fd in variants.items():
        for name, arr in fd.items():
            out[f"rlm_{name}_{suffix}"] = float(_nanmean(arr))
    return out


# ------------------------------------------------------------------------------------ zones (GLSZM, GLDZM)
def _zones(g: np.ndarray, ng: int, two_d: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Connected zones of equal grey level: level, size, slice and voxel label map per level."""
    if two_d:
        st = np.zeros((3, 3, 3), bool)
        st[1] = True
    else:
        st = np.ones((3, 3, 3), bool)
    levels, sizes, slices, lab_maps = [], [], [], []
    for lv in np.unique(g[g > 0]):
        lab, n = ndimage.label(g == lv, structure=st)
        if n == 0:
            continue
        flat = lab.ravel()
        sz = np.bincount(flat, minlength=n + 1)[1:]
        first = np.zeros(n + 1, dtype=np.int64)
        nzi = np.flatnonzero(flat)
        first[flat[nzi[::-1]]] = nzi[::-1]
        z = np.unravel_index(first[1:], g.shape)[0]
        levels.append(np.full(n, lv))
        sizes.append(sz)
        slices.append(z)
        lab_maps.append((lv, lab, n))
    return np.concatenate(levels), np.concatenate(sizes), np.concatenate(slices), lab_maps


SZM_NAMES = {"se": "sze", "le": "lze", "lge": "lgze", "hge": "hgze", "slge": "szlge", "shge": "szhge",
             "llge": "lzlge", "lhge": "lzhge", "glnu": "glnu", "glnu_norm": "glnu_norm", "jnu": "zsnu",
             "jnu_norm": "zsnu_norm", "perc": "z_perc", "gl_var": "gl_var", "j_var": "zs_var",
             "j_entr": "zs_entr"}
DZM_NAMES = {"se": "sde", "le": "lde", "lge": "lgze", "hge": "hgze", "slge": "sdlge", "shge": "sdhge",
             "llge": "ldlge", "lhge": "ldhge", "glnu": "glnu", "glnu_norm": "glnu_norm", "jnu": "zdnu",
             "jnu_norm": "zdnu_norm", "perc": "z_perc", "gl_var": "gl_var", "j_var": "zd_var",
             "j_entr": "zd_entr"}


def _per_slice_or_volume(lv, val, z, ng, nj, nz, two_d):
    if two_d:
        c = np.bincount((z * ng + lv - 1) * nj + val - 1, minlength=nz * ng * nj)
        return c.reshape(nz, ng, nj)
    return np.bincount((lv - 1) * nj + val - 1, minlength=ng * nj).reshape(1, ng, nj)


def _zone_family(m: np.ndarray, g: np.ndarray, two_d: bool, names, prefix: str, tag: str) -> dict[str, float]:
    inside = g > 0
    out = {}
    if two_d:
        per_slice = inside.sum((1, 2)).astype(np.float64)
        for suffix, fd in (("2D", size_features(m, per_slice, names)),
                           ("2_5D", size_features(m.sum(0)[None], np.array([per_slice.sum()]), names))):
            for name, arr in fd.items():
                out[f"{prefix}_{name}_{suffix}"] = float(_nanmean(arr))
    else:
        for name, arr in size_features(m, np.array([float(inside.sum())]), names).items():
            out[f"{prefix}_{name}_3D"] = float(_nanmean(arr))
    return out


def glszm_gldzm(g: np.ndarray, ng: int, dims: str, dist_mask: np.ndarray | None = None) -> dict[str, float]:
    """GLSZM and GLDZM features; ``dist_mask``: the mask whose border defines distances (default: ROI)."""
    out: dict[str, float] = {}
    nz = g.shape[0]
    dmask = (g > 0) if dist_mask is None else dist_mask
    for two_d in ([True] if dims == "2D" else [False] if dims == "3D" else [True, False]):
        lv, sz, z, labs = _zones(g, ng, two_d)
        m = _per_slice_or_volume(lv, sz, z, ng, int(sz.max()), nz, two_d)
        out.update(_zone_family(m, g, two_d, SZM_NAMES, "szm", ""))
        dist = _border_distance(dmask, two_d)
        dists = []
        for _level, lab, n in labs:  # each zone's distance: the smallest of its voxels'
            sel = lab > 0
            dmin = np.full(n + 1, np.iinfo(np.int64).max)
            np.minimum.at(dmin, lab[sel], dist[sel].astype(np.int64))
            dists.append(dmin[1:])
        dz = np.concatenate(dists)
        m = _per_slice_or_volume(lv, dz, z, ng, int(dz.max()), nz, two_d)
        out.update(_zone_family(m, g, two_d, DZM_NAMES, "dzm", ""))
    return out


def _border_distance(mask: np.ndarray, two_d: bool) -> np.ndarray:
    """Taxicab distance (voxels) of each ROI voxel to the ROI border; border voxels are at distance 1."""
    pad = np.pad(mask, 1)
    if two_d:
        d = np.stack([ndimage.distance_transform_cdt(s, metric="taxicab") for s in pad])
    else:
        d = ndimage.distance_transform_cdt(pad, metric="taxicab")
    return d[1:-1, 1:-1, 1:-1]


# ---------------------------------------------------------------------------------- NGTDM and NGLDM
def _neigh_kernel(two_d: bool, dist: int = 1) -> np.ndarray:
    k = np.ones((2 * dist + 1,) * 3)
    if two_d:
        k[:dist] = 0
        k[dist + 1:] = 0
    k[dist, dist, dist] = 0
    return k


def ngtdm(g: np.ndarray, ng: int, dims: str) -> dict[str, float]:
    out: dict[str, float] = {}
    inside = g > 0
    gf = g.astype(np.float64)
    for two_d in ([True] if dims == "2D" else [False] if dims == "3D" else [True, False]):
        k = _neigh_kernel(two_d)
        cnt = ndimage.correlate(inside.astype(np.float64), k, mode="constant")
        tot = ndimage.correlate(gf, k, mode="constant")
        valid = inside & (cnt > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            s_vox = np.abs(gf - tot / np.where(cnt > 0, cnt, 1))
        lv = g[valid]
        z = np.nonzero(valid)[0]
        nz = g.shape[0] if two_d else 1
        zz = z if two_d else np.zeros_like(z)
        n = np.bincount(zz * ng + lv - 1, minlength=nz * ng).reshape(nz, ng).astype(np.float64)
        s = np.bincount(zz * ng + lv - 1, weights=s_vox[valid], minlength=nz * ng).reshape(nz, ng)
        if two_d:
            for suffix, (nn, ss) in (("2D", (n, s)), ("2_5D", (n.sum(0)[None], s.sum(0)[None]))):
                for name, arr in _ngtdm_features(nn, ss).items():
                    out[f"ngt_{name}_{suffix}"] = float(_nanmean(arr))
        else:
            for name, arr in _ngtdm_features(n, s).items():
                out[f"ngt_{name}_3D"] = float(_nanmean(arr))
    return out


def _ngtdm_features(n: np.ndarray, s: np.ndarray) -> dict[str, np.ndarray]:
    """NGTDM features per row of ``n`` (voxel counts per level) and ``s`` (summed differences)."""
    ng = n.shape[-1]
    nv = n.sum(-1)
    names = ("coarseness", "contrast", "busyness", "complexity", "strength")
    res = {k: np.full(n.shape[0], np.nan) for k in names}
    lv = np.arange(1, ng + 1, dtype=np.float64)
    for r in range(n.shape[0]):
        if nv[r] == 0:
            continue
        p = n[r] / nv[r]
        ok = p > 0
        i, pi, si = lv[ok], p[ok], s[r][ok]
        ngp = ok.sum()
        res["coarseness"][r] = 1.0 / (pi * si).sum() if (pi * si).sum() > 0 else 1e6
        di = i[:, None] - i[None, :]
        pp = pi[:, None] * pi[None, :]
        res["contrast"][r] = ((pp * di ** 2).sum() / (ngp * (ngp - 1)) * si.sum() / nv[r]) if ngp > 1 else 0.0
        den = np.abs(i[:, None] * pi[:, None] - i[None, :] * pi[None, :]).sum()
        res["busyness"][r] = (pi * si).sum() / den if den > 0 else 0.0
        res["complexity"][r] = (np.abs(di) * (pi[:, None] * si[:, None] + pi[None, :] * si[None, :])
                                / (pi[:, None] + pi[None, :])).sum() / nv[r]
        res["strength"][r] = ((pi[:, None] + pi[None, :]) * di ** 2).sum() / si.sum() if si.sum() > 0 else 0.0
    return res


NGL_NAMES = {"se": "lde", "le": "hde", "lge": "lgce", "hge": "hgce", "slge": "ldlge", "shge": "ldhge",
             "llge": "hdlge", "lhge": "hdhge", "glnu": "glnu", "glnu_norm": "glnu_norm", "jnu": "dcnu",
             "jnu_norm": "dcnu_norm", "perc": "dc_perc", "gl_var": "gl_var", "j_var": "dc_var",
             "j_entr": "dc_entr", "j_energy": "dc_energy"}


def ngldm(g: np.ndarray, ng: int, dims: str, alpha: int = 0) -> dict[str, float]:
    out: dict[str, float] = {}
    inside = g > 0
    gp = np.pad(g, 1)
    for two_d in ([True] if dims == "2D" else [False] if dims == "3D" else [True, False]):
        dep = np.ones(g.shape, dtype=np.int64)
        for d in itertools.product((-1, 0, 1), repeat=3):
            if d == (0, 0, 0) or (two_d and d[0] != 0):
                continue
            nb = gp[tuple(slice(1 + k, gp.shape[a] - 1 + k) for a, k in enumerate(d))]
            dep += (nb > 0) & (np.abs(nb - g) <= alpha)
        lv = g[inside]
        j = dep[inside]
        z = np.nonzero(inside)[0]
        nz = g.shape[0]
        nj = int(j.max())
        m = _per_slice_or_volume(lv, j, z, ng, nj, nz, two_d)
        out.update(_zone_family(m, g, two_d, NGL_NAMES, "ngl", ""))
    return out
