"""IBSI-compliant feature extraction (``--mode ibsi``): settings, presets and the feature run.

Feature names are IBSI's feature tags (e.g. ``cm_joint_max_3D_avg``); :func:`ibsi_code` gives each tag's
permanent four-character IBSI identifier from the packaged table ``data/ibsi_codes.csv``.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nbrisk.errors import InputError
from nbrisk.features.ibsi import filters, firstorder, texture
from nbrisk.features.ibsi.process import Processed, Settings, discretise, process

FAMILIES = ("diag", "morph", "loc", "stat", "ih", "ivh", "cm", "rlm", "szm", "dzm", "ngt", "ngl")


@lru_cache(maxsize=1)
def ibsi_codes() -> dict[str, str]:
    """IBSI feature tag -> permanent IBSI code (e.g. ``morph_volume`` -> ``RNU0``)."""
    text = (resources.files("nbrisk.features.ibsi") / "data" / "ibsi_codes.csv").read_text(encoding="utf-8")
    return {r["tag"]: r["ibsi_code"] for r in csv.DictReader(text.splitlines())}


def ibsi_code(tag: str) -> str:
    return ibsi_codes().get(tag, "")


def available_ibsi_presets() -> list[str]:
    folder = resources.files("nbrisk.features.ibsi") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


_KEYS = {"name", "title", "dims", "spacing", "interpolation", "round_intensities", "mask_threshold",
         "reseg_range", "outlier_sigma", "discretisation", "ivh_discretisation", "families", "filter"}


def load_ibsi_preset(name: str | Path) -> Settings:
    """An IBSI preset by name (``ibsi1-config-a`` ...) or YAML path."""
    name = str(name)
    if name in available_ibsi_presets():
        path = resources.files("nbrisk.features.ibsi") / "presets" / f"{name}.yaml"
        text = path.read_text(encoding="utf-8")
        source = f"preset {name}"
    elif Path(name).is_file():
        text, source = Path(name).read_text(encoding="utf-8"), name
    else:
        raise InputError(f"unknown IBSI preset {name!r}; use one of {', '.join(available_ibsi_presets())} "
                         "or an IBSI preset YAML file")
    try:
        raw = (yaml.safe_load(text) or {}).get("ibsi")
    except yaml.YAMLError:
        raw = None
    if not isinstance(raw, dict):
        raise InputError(f"{source}: an IBSI preset needs an 'ibsi:' block; see docs/ibsi.md")
    unknown = set(raw) - _KEYS
    if unknown:
        raise InputError(f"{source}: unknown key(s) {sorted(unknown)} in 'ibsi:'; allowed: {sorted(_KEYS)}")
    kw: dict[str, Any] = dict(raw)
    kw.pop("title", None)
    for key in ("spacing", "reseg_range", "discretisation", "ivh_discretisation", "families"):
        if kw.get(key) is not None:
            kw[key] = tuple(kw[key])
    if kw.get("dims", "3D") not in ("2D", "3D", "all"):
        raise InputError(f"{source}: dims must be 2D, 3D or all")
    return Settings(**kw)


def _ivh(p: Processed, s: Settings, vals: np.ndarray) -> dict[str, float]:
    rr = s.reseg_range or (None, None)
    ivh = s.ivh_discretisation
    if ivh is None:  # calibrated discrete intensities (CT, the digital phantom)
        lo = rr[0] if rr[0] is not None else vals.min()
        hi = rr[1] if rr[1] is not None else vals.max()
        levels = np.arange(np.floor(lo), np.ceil(hi) + 1)
        return firstorder.intensity_volume_histogram(levels, np.round(vals), float(lo), float(hi))
    kind, par = ivh
    if kind == "FBS":
        xmin = rr[0] if rr[0] is not None else vals.min()
        xmax = rr[1] if rr[1] is not None else vals.max()
        g, _ = discretise(vals, ("FBS", par), xmin, vals.min(), vals.max())
        centres = xmin + (g - 0.5) * par
        levels = np.arange(xmin + 0.5 * par, xmax - 0.5 * par + par / 2, par)
        return firstorder.intensity_volume_histogram(levels, centres, xmin + 0.5 * par, xmax - 0.5 * par)
    g, n = discretise(vals, ("FBN", par), None, vals.min(), vals.max())
    levels = np.arange(1, n + 1, dtype=np.float64)
    return firstorder.intensity_volume_histogram(levels, g.astype(np.float64), 1.0, float(n))


def compute(image: np.ndarray, mask: np.ndarray, spacing_zyx, settings: Settings,
            image_diagnostics: bool = False, progress=None) -> dict[str, float]:
    """All IBSI features of one ROI under ``settings`` (arrays ``[z, y, x]``, spacing in mm)."""
    def step(msg: str) -> None:
        if progress is not None:
            progress(msg)

    fams = set(settings.families)
    step("processing")
    margin = filters.reach_mm(settings.filter, spacing_zyx if settings.spacing is None else
                              settings.spacing) if settings.filter else 0.0
    p = process(image, mask, spacing_zyx, settings, image_diagnostics=image_diagnostics, margin_mm=margin)
    if settings.filter:  # IBSI-2: intensity mask from the unfiltered image, features from the response
        step("filter")
        p.image = filters.apply(p.image, settings.filter, p.spacing)
    out: dict[str, float] = {}
    if "diag" in fams:
        out.update(p.diagnostics)
    vals = p.image[p.int_mask]
    if vals.size == 0:
        raise InputError("the ROI has no voxels left after re-segmentation; "
                         "check the mask and the preset's range")
    if "morph" in fams:
        step("morphology")
        out.update(firstorder.morphology(p.morph_mask, p.int_mask, p.image, p.spacing))
    if "loc" in fams:
        step("local intensity")
        out.update(firstorder.local_intensity(p.image, p.int_mask, p.spacing))
    if "stat" in fams:
        out.update(firstorder.statistics(vals))
    lower = p.reseg_range[0] if p.reseg_range is not None else None
    g_vals, ng = discretise(vals, settings.discretisation, lower, float(vals.min()), float(vals.max()))
    if "ih" in fams:
        out.update(firstorder.histogram(g_vals, ng))
    if "ivh" in fams:
        out.update(_ivh(p, settings, vals))
    tex = fams & {"cm", "rlm", "szm", "dzm", "ngt", "ngl"}
    if tex:
        g = np.zeros(p.image.shape, dtype=np.int64)
        g[p.int_mask] = g_vals
        idx = np.nonzero(p.morph_mask)  # the morphological mask's box: GLDZM distances use its border
        sl = tuple(slice(i.min(), i.max() + 1) for i in idx)
        g = g[sl]
        dims = settings.dims
        if "cm" in tex:
            step("GLCM")
            out.update(texture.glcm(g, ng, dims))
        if "rlm" in tex:
            step("GLRLM")
            out.update(texture.glrlm(g, ng, dims))
        if tex & {"szm", "dzm"}:
            step("GLSZM/GLDZM")
            zz = texture.glszm_gldzm(g, ng, dims, dist_mask=p.morph_mask[sl])
            out.update({k: v for k, v in zz.items() if k.split("_")[0] in tex})
        if "ngt" in tex:
            step("NGTDM")
            out.update(texture.ngtdm(g, ng, dims))
        if "ngl" in tex:
            step("NGLDM")
            out.update(texture.ngldm(g, ng, dims, settings.ngldm_alpha))
    return {k: float(v) for k, v in out.items()}


def compute_sitk(image, mask, settings: Settings, **kw) -> dict[str, float]:
    """:func:`compute` for SimpleITK images (the mask must be on the image grid)."""
    import SimpleITK as sitk

    arr = sitk.GetArrayViewFromImage(image)
    m = sitk.GetArrayViewFromImage(mask) > 0
    if arr.shape != m.shape:
        raise InputError("the mask is not on the image grid; resample it first (--resample-mask)")
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    if not np.allclose(np.abs(direction), np.eye(3), atol=1e-4):
        raise InputError("IBSI mode needs an axis-aligned image (identity direction); "
                         "reorient the image first")
    return compute(arr, m, tuple(image.GetSpacing()[::-1]), settings, **kw)
