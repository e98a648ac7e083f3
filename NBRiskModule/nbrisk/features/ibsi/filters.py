"""IBSI-2 convolutional filters: mean, Laplacian of Gaussian, Laws kernels, Gabor, separable wavelets.

Arrays are ``[z, y, x]``; "2D" filters work in the axial planes (the last two axes). Boundary conditions
follow IBSI-2: ``constant`` (zero padding), ``nearest``, ``periodic`` and ``mirror`` (symmetric, the edge
voxel repeated: ``d c b a | a b c d``).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage

MODES = {"constant": "constant", "nearest": "nearest", "periodic": "wrap", "mirror": "reflect"}
PAD_MODES = {"constant": "constant", "nearest": "edge", "periodic": "wrap", "mirror": "symmetric"}


def _mode(boundary: str) -> str:
    try:
        return MODES[boundary]
    except KeyError:
        raise ValueError(f"unknown boundary condition {boundary!r}; use {', '.join(MODES)}") from None


def mean_filter(img: np.ndarray, support: int, boundary: str = "constant", dims: str = "3D") -> np.ndarray:
    """Mean over a ``support``-voxel cube (3D) or square (2D, in-plane)."""
    size = (1, support, support) if dims == "2D" else (support,) * 3
    return ndimage.uniform_filter(img.astype(np.float64), size=size, mode=_mode(boundary), cval=0.0)


def log_filter(img: np.ndarray, sigma_mm: float, spacing_zyx, boundary: str = "constant", dims: str = "3D",
               truncate: float = 4.0) -> np.ndarray:
    """Laplacian of Gaussian, ``sigma_mm`` converted to voxels and second derivatives per voxel (IBSI-2's
    reference maps), kernel cut at ``truncate`` sigma."""
    sp = np.asarray(spacing_zyx, dtype=np.float64)
    sig = sigma_mm / sp
    img = img.astype(np.float64)
    mode = _mode(boundary)
    axes = (1, 2) if dims == "2D" else (0, 1, 2)
    out = np.zeros_like(img)
    for ax in axes:
        order = [0, 0, 0]
        order[ax] = 2
        s = [0.0 if (dims == "2D" and a == 0) else sig[a] for a in range(3)]
        out += ndimage.gaussian_filter(img, s, order=order, mode=mode, truncate=truncate)
    return out


LAWS = {
    "L3": np.array([1, 2, 1]) / np.sqrt(6), "E3": np.array([-1, 0, 1]) / np.sqrt(2),
    "S3": np.array([-1, 2, -1]) / np.sqrt(6),
    "L5": np.array([1, 4, 6, 4, 1]) / np.sqrt(70), "E5": np.array([-1, -2, 0, 2, 1]) / np.sqrt(10),
    "S5": np.array([-1, 0, 2, 0, -1]) / np.sqrt(6), "W5": np.array([-1, 2, 0, -2, 1]) / np.sqrt(10),
    "R5": np.array([1, -4, 6, -4, 1]) / np.sqrt(70),
}


def _laws_kernel(name: str) -> np.ndarray:
    """``E5L5S5``: E5 along x, L5 along y, S5 along z; returned ``[z, y, x]`` (2D names: ``[1, y, x]``)."""
    parts = [name[i:i + 2] for i in range(0, len(name), 2)]
    ks = [LAWS[p] for p in parts]
    if len(ks) == 2:
        kx, ky = ks
        return (ky[:, None] * kx[None, :])[None]
    kx, ky, kz = ks
    return kz[:, None, None] * ky[None, :, None] * kx[None, None, :]


def rotations_3d(k: np.ndarray) -> list[np.ndarray]:
    """The 24 right-angle rotations of a 3-D array."""
    out, seen = [], set()
    for a, b, c in itertools.product(range(4), repeat=3):
        r = np.rot90(np.rot90(np.rot90(k, a, (1, 2)), b, (0, 2)), c, (0, 1))
        key = (r.shape, r.tobytes())
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _rotations(k: np.ndarray, dims: str) -> list[np.ndarray]:
    if dims == "2D":
        return [np.rot90(k, a, (1, 2)) for a in range(4)]
    return rotations_3d(k)


def laws_filter(img: np.ndarray, name: str, boundary: str = "constant", rot_invariant: bool = False,
                pooling: str = "max", energy_distance: int | None = None) -> np.ndarray:
    """Laws kernel response (convolution), optionally rotation-invariant and as an energy map."""
    img = img.astype(np.float64)
    mode = _mode(boundary)
    k = _laws_kernel(name)
    dims = "2D" if k.shape[0] == 1 else "3D"
    kernels = _rotations(k, dims) if rot_invariant else [k]
    resp = [ndimage.convolve(img, kk, mode=mode, cval=0.0) for kk in kernels]
    out = _pool(resp, pooling)
    if energy_distance is not None:
        size = 2 * energy_distance + 1
        esize = (1, size, size) if dims == "2D" else (size,) * 3
        out = ndimage.uniform_filter(np.abs(out), size=esize, mode=mode, cval=0.0)
    return out


def _pool(resp: list[np.ndarray], pooling: str) -> np.ndarray:
    if len(resp) == 1:
        return resp[0]
    if pooling == "max":
        return np.max(resp, axis=0)
    if pooling == "min":
        return np.min(resp, axis=0)
    return np.mean(resp, axis=0)


def gabor_kernel(sigma: float, lam: float, gamma: float, theta: float, half: int) -> np.ndarray:
    """Complex 2-D Gabor kernel ``[y, x]`` (voxel units), unnormalised as in IBSI-2."""
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    xr = x * np.cos(theta) + y * np.sin(theta)
    yr = -x * np.sin(theta) + y * np.cos(theta)
    return np.exp(-(xr ** 2 + gamma ** 2 * yr ** 2) / (2 * sigma ** 2)) * np.exp(1j * 2 * np.pi * xr / lam)


def _conv2d_fft(img: np.ndarray, kern: np.ndarray, boundary: str) -> np.ndarray:
    """Convolve every plane ``img[k]`` with the 2-D (complex) ``kern`` by FFT, padded by the boundary rule."""
    from scipy import fft

    h = kern.shape[0] // 2
    _mode(boundary)
    pad = np.pad(img, ((0, 0), (h, h), (h, h)), mode=PAD_MODES[boundary])  # type: ignore[call-overload]
    shape = [fft.next_fast_len(pad.shape[a] + kern.shape[a - 1] - 1) for a in (1, 2)]
    f = fft.fftn(pad, shape, axes=(1, 2)) * fft.fftn(kern, shape)[None]
    full = fft.ifftn(f, axes=(1, 2))
    return full[:, 2 * h:2 * h + img.shape[1], 2 * h:2 * h + img.shape[2]]


def gabor_filter(img: np.ndarray, sigma_mm: float, lambda_mm: float, gamma: float, theta: float,
                 spacing_mm: float, boundary: str = "constant", theta_step: float | None = None,
                 orthogonal_planes: bool = False, truncate: float = 4.0) -> np.ndarray:
    """Modulus of the Gabor response in axial planes; ``theta_step``: average over theta, 0..2pi;
    ``orthogonal_planes``: average the axial, coronal and sagittal responses."""
    img = img.astype(np.float64)
    _mode(boundary)  # validates the name
    sigma, lam = sigma_mm / spacing_mm, lambda_mm / spacing_mm
    half = int(np.ceil(truncate * sigma * max(1.0, 1.0 / gamma)))
    thetas = [theta] if theta_step is None else list(np.arange(0, 2 * np.pi - 1e-9, theta_step) + 0.0)
    planes = [0, 1, 2] if orthogonal_planes else [0]
    acc = np.zeros_like(img)
    for axis in planes:
        moved = np.moveaxis(img, axis, 0)
        res = np.zeros_like(moved)
        for th in thetas:
            res += np.abs(_conv2d_fft(moved, gabor_kernel(sigma, lam, gamma, th, half), boundary))
        acc += np.moveaxis(res / len(thetas), 0, axis)
    return acc / len(planes)


def _wavelet_bank(wavelet: str) -> tuple[np.ndarray, np.ndarray]:
    import pywt

    w = pywt.Wavelet(wavelet)
    return np.asarray(w.dec_lo, dtype=np.float64), np.asarray(w.dec_hi, dtype=np.float64)


def _atrous(k: np.ndarray, level: int) -> np.ndarray:
    """The filter of decomposition ``level`` of the undecimated transform (2^(level-1) - 1 zeros inserted)."""
    step = 2 ** (level - 1)
    out = np.zeros(len(k) * step)  # keeps the level-1 filter's even/odd length and so its centre
    out[::step] = k
    return out


def wavelet_filter(img: np.ndarray, wavelet: str, response: str, level: int = 1, boundary: str = "constant",
                   rot_invariant: bool = False) -> np.ndarray:
    """Undecimated separable wavelet response (``response`` letters for x, y[, z]: ``LHL``; two letters: 2D
    in-plane), à trous filters at ``level`` applied to the low-pass image of the previous level; rotation
    invariance averages the response over the 24 (2D: 4 in-plane) right-angle rotations of the image."""
    lo, hi = _wavelet_bank(wavelet)
    mode = _mode(boundary)
    axes = (2, 1, 0)[:len(response)]

    def one(x: np.ndarray) -> np.ndarray:
        cur = x.astype(np.float64)
        for lev in range(1, level + 1):
            letters = response if lev == level else "L" * len(response)
            res = cur
            for letter, axis in zip(letters.upper(), axes, strict=True):
                k = _atrous(lo if letter == "L" else hi, lev)
                res = ndimage.convolve1d(res, k, axis=axis, mode=mode, cval=0.0)
            cur = res
        return cur

    if not rot_invariant:
        return one(img)
    if len(response) == 2:
        return np.mean([np.rot90(one(np.rot90(img, a, (1, 2))), -a, (1, 2)) for a in range(4)], axis=0)
    acc = np.zeros(img.shape)
    n = 0
    for a, b, c in _rotation_steps():
        r = np.rot90(np.rot90(np.rot90(img, a, (1, 2)), b, (0, 2)), c, (0, 1))
        out = one(r)
        out = np.rot90(np.rot90(np.rot90(out, -c, (0, 1)), -b, (0, 2)), -a, (1, 2))
        acc += out
        n += 1
    return acc / n


def _rotation_steps() -> list[tuple[int, int, int]]:
    """(a, b, c) quarter-turn counts of the 24 distinct right-angle rotations (see :func:`rotations_3d`)."""
    probe = np.arange(27).reshape(3, 3, 3)
    steps, seen = [], set()
    for a, b, c in itertools.product(range(4), repeat=3):
        r = np.rot90(np.rot90(np.rot90(probe, a, (1, 2)), b, (0, 2)), c, (0, 1))
        if r.tobytes() not in seen:
            seen.add(r.tobytes())
            steps.append((a, b, c))
    return steps


FILTER_KINDS = ("mean", "log", "laws", "gabor", "wavelet")


def apply(img: np.ndarray, spec: dict, spacing_zyx) -> np.ndarray:
    """Apply the filter described by a preset's ``filter:`` block (see docs/ibsi.md)."""
    kind = spec.get("kind")
    b = spec.get("boundary", "mirror")
    dims = spec.get("dims", "3D")
    if kind == "mean":
        return mean_filter(img, int(spec["support"]), b, dims)
    if kind == "log":
        return log_filter(img, float(spec["sigma_mm"]), spacing_zyx, b, dims,
                          float(spec.get("truncate", 4.0)))
    if kind == "laws":
        return laws_filter(img, spec["kernel"], b, bool(spec.get("rotation_invariant", False)),
                           spec.get("pooling", "max"), spec.get("energy_distance"))
    if kind == "gabor":
        step = spec.get("theta_step_deg")
        return gabor_filter(img, float(spec["sigma_mm"]), float(spec["lambda_mm"]), float(spec["gamma"]),
                            np.deg2rad(float(spec.get("theta_deg", 0.0))), float(spacing_zyx[-1]), b,
                            None if step is None else np.deg2rad(float(step)),
                            bool(spec.get("orthogonal_planes", False)))
    if kind == "wavelet":
        return wavelet_filter(img, spec["wavelet"], spec["response"], int(spec.get("level", 1)), b,
                              bool(spec.get("rotation_invariant", False)))
    raise ValueError(f"unknown filter kind {kind!r}; use one of {', '.join(FILTER_KINDS)}")


def reach_mm(spec: dict, spacing_zyx) -> float:
    """How far (mm) the filter looks from a voxel: the crop around the ROI must be at least this wide."""
    sp = float(max(spacing_zyx))
    kind = spec.get("kind")
    if kind == "mean":
        return (int(spec["support"]) // 2 + 1) * sp
    if kind == "log":
        return float(spec.get("truncate", 4.0)) * float(spec["sigma_mm"]) + 2 * sp
    if kind == "laws":
        return (3 + int(spec.get("energy_distance") or 0)) * sp
    if kind == "gabor":
        g = float(spec["gamma"])
        return 4.0 * float(spec["sigma_mm"]) * max(1.0, 1.0 / g) + 2 * sp
    if kind == "wavelet":
        import pywt

        n = pywt.Wavelet(spec["wavelet"]).dec_len
        return (n * 2 ** int(spec.get("level", 1)) + 2) * sp
    return 0.0
