"""Synthetic abdominal phantoms with known ground truth (tests, demo, benchmarks).

A CT-like abdomen (air, body, fat, spine with spinal canal, kidneys, aorta, IVC, liver) holds a
heterogeneous tumour (calcifications, necrosis). ``texture_class`` changes the tumour's texture
(0: fine-grained; 1: coarse, blotchy, more calcified), so models have a real signal to learn. The MRI
variant maps tissues to arbitrary units and multiplies a smooth bias field. Everything is deterministic
given ``seed``. Axes follow SimpleITK/LPS: x to the patient's left, y posterior, z superior.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from nbrisk.io.images import write_image
from nbrisk.io.structures import PHANTOM_LABELS

# label values of the structure segmentation written next to each phantom
STRUCTURES = PHANTOM_LABELS
CT_VALUES = {"air": -1000.0, "fat": -90.0, "soft": 45.0, "liver": 60.0, "kidney": 150.0, "aorta": 220.0,
             "ivc": 160.0, "bone": 700.0, "csf": 10.0, "tumour": 40.0}
# contrast phases of CT: tissue values (HU) that change with enhancement
PHASE_VALUES = {
    "plain": {"aorta": 45.0, "ivc": 45.0, "kidney": 35.0, "liver": 55.0, "tumour": 35.0},
    "arterial": {"aorta": 300.0, "ivc": 90.0, "kidney": 180.0, "liver": 70.0, "tumour": 55.0},
    "venous": {"aorta": 160.0, "ivc": 170.0, "kidney": 160.0, "liver": 110.0, "tumour": 70.0},
}
MR_VALUES = {"air": 0.0, "fat": 900.0, "soft": 350.0, "liver": 300.0, "kidney": 500.0, "aorta": 120.0,
             "ivc": 140.0, "bone": 200.0, "csf": 1200.0, "tumour": 650.0}


@dataclass(frozen=True)
class PhantomSpec:
    """Parameters of one synthetic case (sizes in voxels, spacing in mm, HU for CT)."""

    size: tuple[int, int, int] = (96, 96, 48)  # x, y, z voxels
    spacing: tuple[float, float, float] = (1.0, 1.0, 2.0)
    modality: str = "ct"  # "ct" or "mr"
    texture_class: int = 0
    tumour_radius_mm: tuple[float, float, float] = (16.0, 13.0, 14.0)
    tumour_offset_mm: tuple[float, float, float] = (22.0, -8.0, 0.0)  # from body centre (LPS)
    noise_hu: float = 12.0
    bias_strength: float = 0.35  # MRI only: relative amplitude of the bias field
    origin: tuple[float, float, float] = (-48.0, -48.0, -48.0)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Phantom:
    image: sitk.Image
    tumour: sitk.Image  # uint8 ground-truth tumour mask
    structures: sitk.Image  # uint8 label map, values in STRUCTURES
    tumour_centre_lps: tuple[float, float, float]
    spec: PhantomSpec


def _grid(spec: PhantomSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nx, ny, nz = spec.size
    sx, sy, sz = spec.spacing
    ox, oy, oz = spec.origin
    z, y, x = np.meshgrid(oz + sz * np.arange(nz), oy + sy * np.arange(ny), ox + sx * np.arange(nx), indexing="ij")
    return x, y, z


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma_vox: np.ndarray | float) -> np.ndarray:
    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_vox)
    return n / (n.std() + 1e-12)


def make_phantom(spec: PhantomSpec | None = None, seed: int = 0) -> Phantom:
    """Build one phantom (image, tumour truth, structure label map)."""
    spec = spec or PhantomSpec()
    rng = np.random.default_rng(seed)
    x, y, z = _grid(spec)
    sp = np.array(spec.spacing)[::-1]  # z, y, x
    ext = np.array(spec.size) * np.array(spec.spacing)
    cx, cy, cz = (np.array(spec.origin) + ext / 2.0).tolist()
    vals = dict(CT_VALUES if spec.modality == "ct" else MR_VALUES)
    vals.update(spec.extra.get("values", {}))
    labels = np.zeros(x.shape, np.uint8)
    img = np.full(x.shape, vals["air"], np.float64)

    ax, ay = 0.46 * ext[0], 0.40 * ext[1]
    body = ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1.0
    inner = ((x - cx) / (ax - 5)) ** 2 + ((y - cy) / (ay - 5)) ** 2 <= 1.0
    img[body] = vals["fat"]
    img[inner] = vals["soft"]
    # spine: vertebral body + canal, posterior
    vy = cy + 0.55 * ay
    vert = (x - cx) ** 2 + (y - vy) ** 2 <= 9.0**2
    canal = (x - cx) ** 2 + (y - (vy + 12.0)) ** 2 <= 4.5**2
    ring = ((x - cx) ** 2 + (y - (vy + 12.0)) ** 2 <= 8.0**2) & ~canal
    liver = (((x - (cx - 0.45 * ax)) / 22.0) ** 2 + ((y - (cy - 0.1 * ay)) / 20.0) ** 2
             + ((z - (cz + 0.3 * ext[2])) / 30.0) ** 2) <= 1.0
    kid_l = ((x - (cx + 0.5 * ax)) / 10.0) ** 2 + ((y - (vy - 4)) / 7.0) ** 2 + ((z - cz) / 18.0) ** 2 <= 1.0
    kid_r = ((x - (cx - 0.5 * ax)) / 10.0) ** 2 + ((y - (vy - 4)) / 7.0) ** 2 + ((z - cz) / 18.0) ** 2 <= 1.0
    aorta_c = (cx + 7.0, vy - 16.0)
    ivc_c = (cx - 12.0, vy - 14.0)
    aorta = (x - aorta_c[0]) ** 2 + (y - aorta_c[1]) ** 2 <= 5.5**2
    ivc = ((x - ivc_c[0]) / 7.5) ** 2 + ((y - ivc_c[1]) / 5.5) ** 2 <= 1.0
    for name, m, v in (("liver", liver, "liver"), ("kidney_left", kid_l, "kidney"),
                       ("kidney_right", kid_r, "kidney"), ("vertebra", vert | ring, "bone"),
                       ("spinal_canal", canal, "csf"), ("aorta", aorta, "aorta"), ("ivc", ivc, "ivc")):
        m = m & inner
        img[m] = vals[v]
        labels[m] = STRUCTURES[name]

    # tumour: lobulated ellipsoid, kept out of the spine and vessels' lumen
    tc = np.array([cx, cy, cz]) + np.array(spec.tumour_offset_mm)
    r = np.array(spec.tumour_radius_mm)
    d = ((x - tc[0]) / r[0]) ** 2 + ((y - tc[1]) / r[1]) ** 2 + ((z - tc[2]) / r[2]) ** 2
    lobes = 0.12 * _smooth_noise(rng, x.shape, 6.0 / sp)
    tumour = (d <= 1.0 + lobes) & inner & ~(vert | ring | canal | aorta | ivc)
    tumour = ndimage.binary_opening(tumour, iterations=1)
    lab, n = ndimage.label(tumour)
    if n > 1:
        sizes = ndimage.sum(tumour, lab, range(1, n + 1))
        tumour = lab == (1 + int(np.argmax(sizes)))
    scale = 1.0 if spec.modality == "ct" else 4.0
    if spec.texture_class == 0:
        tex = 18.0 * _smooth_noise(rng, x.shape, 0.7 / sp * np.array([1, 1, 1]))
        calc_p, necro_frac = 0.002, 0.05
    else:
        tex = 30.0 * _smooth_noise(rng, x.shape, 3.0 / sp) + 10.0 * _smooth_noise(rng, x.shape, 0.7 / sp)
        calc_p, necro_frac = 0.01, 0.15
    timg = vals["tumour"] + scale * tex
    necro = _smooth_noise(rng, x.shape, 4.0 / sp) > np.quantile(_smooth_noise(rng, (64,), 1.0), 1 - necro_frac)
    timg = np.where(necro, vals["tumour"] - scale * 25.0, timg)
    calc = ndimage.binary_dilation(rng.random(x.shape) < calc_p) & (rng.random(x.shape) < 0.7)
    calc_val = 450.0 if spec.modality == "ct" else 80.0
    timg = np.where(calc, calc_val, timg)
    img[tumour] = timg[tumour]
    labels[tumour] = STRUCTURES["tumour"]

    img = img + spec.noise_hu * (1.0 if spec.modality == "ct" else 3.0) * rng.standard_normal(x.shape)
    if spec.modality == "mr":
        ramp = ((x - cx) / ext[0]) + 0.6 * ((y - cy) / ext[1]) + 0.5 * ((z - cz) / ext[2])
        bias = np.exp(spec.bias_strength * ramp)
        img = np.clip(img, 0, None) * bias
        pixel: type[np.generic] = np.float32
    else:
        img = np.round(img)
        pixel = np.int16
    image = _to_sitk(img.astype(pixel), spec)
    truth = _to_sitk(tumour.astype(np.uint8), spec)
    structures = _to_sitk(labels, spec)
    return Phantom(image, truth, structures, (float(tc[0]), float(tc[1]), float(tc[2])), spec)


def _to_sitk(arr: np.ndarray, spec: PhantomSpec) -> sitk.Image:
    im = sitk.GetImageFromArray(arr)
    im.SetSpacing(spec.spacing)
    im.SetOrigin(spec.origin)
    return im


def make_cohort(
    out_dir: str | Path,
    n_cases: int = 12,
    *,
    seed: int = 0,
    modality: str = "ct",
    size: tuple[int, int, int] = (96, 96, 48),
    spacing: tuple[float, float, float] = (1.0, 1.0, 2.0),
    phases: tuple[str, ...] = (),
) -> Path:
    """Write a balanced two-class cohort; return the path of its ``manifest.csv``.

    Files: ``<case>_image.nrrd``, ``<case>_mask.nrrd`` (truth), ``<case>_structures.nrrd``;
    ``manifest.csv`` (case_id,image,mask), ``labels.csv`` (case_id,label) and ``seeds.csv``
    (case_id, tumour centre in LPS mm). With ``phases`` (CT: plain, arterial, venous) each case also gets
    ``<case>_<phase>.nrrd`` images (same anatomy and texture, phase-specific enhancement) and the manifest
    ``image_<phase>`` columns; ``image`` is then the last phase.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows, labels, seeds = [], [], []
    for i in range(n_cases):
        cls = i % 2
        case = f"case{i + 1:03d}"
        radius = tuple(float(v) for v in rng.uniform(11.0, 17.0, 3))
        offset = (float(rng.uniform(16, 24)), float(rng.uniform(-12, -4)), float(rng.uniform(-4, 4)))
        spec = PhantomSpec(size=size, spacing=spacing, modality=modality, texture_class=cls,
                           tumour_radius_mm=radius, tumour_offset_mm=offset)  # type: ignore[arg-type]
        row = {"case_id": case}
        for phase in phases:
            unknown = phase not in PHASE_VALUES
            if unknown:
                raise ValueError(f"unknown phase {phase!r}; use {sorted(PHASE_VALUES)}")
            pspec = PhantomSpec(**{**spec.__dict__, "extra": {"values": PHASE_VALUES[phase]}})
            write_image(make_phantom(pspec, seed=seed * 1000 + i).image, out / f"{case}_{phase}.nrrd")
            row[f"image_{phase}"] = f"{case}_{phase}.nrrd"
        ph = make_phantom(spec, seed=seed * 1000 + i)
        if phases:
            row["image"] = row[f"image_{phases[-1]}"]
        else:
            write_image(ph.image, out / f"{case}_image.nrrd")
            row["image"] = f"{case}_image.nrrd"
        write_image(ph.tumour, out / f"{case}_mask.nrrd")
        write_image(ph.structures, out / f"{case}_structures.nrrd")
        row["mask"] = f"{case}_mask.nrrd"
        rows.append(row)
        labels.append({"case_id": case, "label": cls})
        seeds.append({"case_id": case, "x": ph.tumour_centre_lps[0], "y": ph.tumour_centre_lps[1],
                      "z": ph.tumour_centre_lps[2]})
    for name, data in (("manifest.csv", rows), ("labels.csv", labels), ("seeds.csv", seeds)):
        with open(out / name, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(data[0]))
            w.writeheader()
            w.writerows(data)
    return out / "manifest.csv"
