"""Extract a preset's radiomics features for one case.

The preset's own preprocessing (N4, ROI z-score, largest slice) runs first on the full image. Then
``engine="nbrisk"`` (default) normalises the full image, crops it to the ROI with a margin that keeps
every feature unchanged (see :mod:`nbrisk.features.preprocess`), lets pyradiomics resample on the same grid it
would have used for the full image, and extracts; ``engine="pyradiomics"`` hands the full image to a
plain ``RadiomicsFeatureExtractor`` (the reference the tests and benchmarks compare against).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from nbrisk.features import preprocess
from nbrisk.errors import InputError, NBRiskError, naming_mask  # noqa: F401 (naming_mask: re-exported)
from nbrisk.io.images import Grid
from nbrisk.features.presets import Preset, load_preset, phase_refs
from nbrisk.features.modality import warn_if_mismatch
from nbrisk.features import engine as fastextract

logger = logging.getLogger(__name__)
SHAPE_CLASSES = ("shape", "shape2D")
_INT_LABEL_TYPES = (sitk.sitkUInt8, sitk.sitkUInt16, sitk.sitkUInt32, sitk.sitkInt8, sitk.sitkInt16,
                    sitk.sitkInt32)


@dataclass(frozen=True)
class FeatureVector:
    """Features of one case: pyradiomics-named float values in a stable order, plus diagnostics."""

    values: dict[str, float]
    diagnostics: dict[str, str] = field(default_factory=dict)
    preset_name: str = ""
    preset_sha256: str = ""
    pyradiomics_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"values": self.values, "diagnostics": self.diagnostics, "preset_name": self.preset_name,
                "preset_sha256": self.preset_sha256, "pyradiomics_version": self.pyradiomics_version}


def pyradiomics_version() -> str:
    import radiomics

    return str(radiomics.__version__)


def prepare(image: sitk.Image, mask: sitk.Image, preset: Preset) -> tuple[sitk.Image, sitk.Image, dict[str, str]]:
    """Apply the preset's nbrisk preprocessing (slice2d, N4, ROI z-score) on the full image."""
    pre = preset.preprocessing
    diag: dict[str, str] = {}
    if pre.get("slice2d") == "largest_axial":
        mask, k = preprocess.largest_axial_slice(mask)
        diag["nbrisk_slice2d_index"] = str(k)
    if pre.get("n4"):
        image = _n4_once(image, pre["n4"])
        diag["nbrisk_n4"] = "applied"
    norm = pre.get("normalize")
    if norm and norm.get("region") == "roi":
        image = preprocess.normalize_roi(image, mask, float(norm.get("scale", 1.0)))
        diag["nbrisk_normalize"] = f"roi z-score x{norm.get('scale', 1.0)}"
    elif norm and norm.get("region") == "image":
        image = preprocess.normalize_image(image, {"normalizeScale": norm.get("scale", 1.0)})
        diag["nbrisk_normalize"] = f"image z-score x{norm.get('scale', 1.0)}"
    return image, mask, diag


_N4_MEMO: dict[str, Any] = {}  # {"key": digest of image + options, "image": its N4 correction}


def _n4_once(image: sitk.Image, options: dict[str, Any]) -> sitk.Image:
    """N4 of ``image``, computed once for back-to-back calls on the same voxels (a case's readers).

    N4 depends on the image alone, not on the ROI, and costs seconds per MRI (9 s on lung2); a reader
    study extracts the same image once per reader. The key is a hash of the voxels, grid and options, so
    a different image or setting is never served the cached result. One image is kept.
    """
    import hashlib
    import json

    h = hashlib.blake2b(sitk.GetArrayViewFromImage(image).data, digest_size=20)
    h.update(repr((image.GetPixelIDValue(), image.GetSize(), image.GetSpacing(), image.GetOrigin(),
                   image.GetDirection(), json.dumps(options, sort_keys=True, default=str))).encode())
    key = h.hexdigest()
    if _N4_MEMO.get("key") != key:
        _N4_MEMO.clear()
        _N4_MEMO.update(key=key, image=preprocess.n4_correct(image, options))
    return _N4_MEMO["image"]


@lru_cache(maxsize=32)
def _extractor_cached(key: str, params_json: str) -> Any:
    import json

    from radiomics.featureextractor import RadiomicsFeatureExtractor

    return RadiomicsFeatureExtractor(json.loads(params_json))


def make_extractor(params: dict[str, Any]) -> Any:
    import json

    text = json.dumps(params, sort_keys=True, default=str)
    return _extractor_cached(text, text)


def _margin(params: dict[str, Any], spacing: tuple[float, ...]) -> np.ndarray | None:
    """The ``nbrisk`` engine's crop margin (voxels) for these pyradiomics parameters; None: no crop."""
    return preprocess.crop_margin(params.get("setting") or {}, params.get("imageType") or {}, np.array(spacing))


def roi_region(preset: Preset, mask: sitk.Image) -> tuple[list[int], list[int]] | None:
    """The block ``(index, size)`` of the image that the ``nbrisk`` engine uses for this ROI, or None.

    Reading only this block from disk gives the same features as reading the whole image: it is the crop the
    engine makes anyway (:func:`_fast_inputs` crops it again to itself). None when the preset needs the
    whole image: N4, whole-image normalisation, the largest-slice step (its index is reported on the full
    grid) or an image type scaled by the whole image.
    """
    pre = preset.preprocessing
    if pre.get("n4") or pre.get("slice2d") or (pre.get("normalize") or {}).get("region") == "image":
        return None
    params = preset.pyradiomics_params()
    if (params.get("setting") or {}).get("normalize"):
        return None
    margin = _margin(params, mask.GetSpacing())
    if margin is None:
        return None
    lo, hi = preprocess.roi_bounds(mask)
    return preprocess.crop_box(lo, hi, margin, mask.GetSize())


def _fast_inputs(image: sitk.Image, mask: sitk.Image, params: dict[str, Any],
                 whole: Grid | None = None) -> tuple[sitk.Image, sitk.Image, dict]:
    """Crop with a safe margin, normalise the crop with whole-image statistics, resample on the full grid.

    ``whole``: the whole image's grid when ``image``/``mask`` are already a block of it (see
    :func:`roi_region`); pyradiomics' resampling grid is anchored to it.
    """
    from radiomics import imageoperations

    settings = dict(params.get("setting") or {})
    settings["label"] = 1
    margin = _margin(params, image.GetSpacing())
    if settings.get("normalize") and margin is None:
        image = preprocess.normalize_image(image, settings)
    resamples = settings.get("interpolator") is not None and settings.get("resampledPixelSpacing") is not None
    if margin is not None:  # crop, then normalise the crop with the whole image's statistics
        whole = whole or Grid.of(mask)
        lo, hi = preprocess.roi_bounds(mask)
        full, image = image, preprocess.crop(image, lo, hi, margin)
        if settings.get("normalize"):
            image = preprocess.normalize_part(full, image, settings)
        del full
        mask = preprocess.crop(mask, lo, hi, margin)
    if resamples:
        # pyradiomics' getMask casts the full mask to UInt32 and runs numpy.unique over it (seconds and
        # ~5 bytes/voxel on a 512x512x200 CT); an integer label map resamples the same without it, and
        # getMask still runs on the resampled (small) mask inside the extraction.
        lab = mask if mask.GetPixelID() in _INT_LABEL_TYPES else imageoperations.getMask(mask, **settings)
        image, mask = preprocess.resample_like_pyradiomics(image, lab, settings, whole)
    fast = dict(settings)
    fast.update(normalize=False, interpolator=None, resampledPixelSpacing=None, additionalInfo=False)
    out = copy.deepcopy(params)
    out["setting"] = fast
    return image, mask, out


def _run(image: sitk.Image, mask: sitk.Image, params: dict[str, Any], engine: str,
         jobs: int = 1, whole: Grid | None = None, fixed_stats: bool = False) -> dict[str, float]:
    """Features of one (preprocessed) image with either engine.

    ``fixed_stats`` (the ``pyradiomics`` engine): normalise the image as pyradiomics does, but with the
    whole-image statistics on :data:`preprocess.STATS_THREADS` threads, then hand it to pyradiomics with
    ``normalize`` off, so that the features do not depend on SimpleITK's thread count. pyradiomics normalises
    first thing in ``loadImage``, before resampling, so the steps are the same. The benchmarks keep it off:
    they time pyradiomics exactly as it runs on its own.
    """
    params = copy.deepcopy(params)
    params.setdefault("setting", {})["label"] = 1
    if engine == "nbrisk":
        image, mask, params = _fast_inputs(image, mask, params, whole)
    elif engine != "pyradiomics":
        raise NBRiskError(f"unknown engine {engine!r}; use nbrisk or pyradiomics")
    elif whole is not None:  # pyradiomics would resample the block on a grid anchored to the block
        raise NBRiskError("engine pyradiomics needs the whole image, not a block of it; read it without roi_only")
    elif fixed_stats and params["setting"].get("normalize"):
        image = preprocess.normalize_image(image, params["setting"])
        params["setting"]["normalize"] = False
    extractor = make_extractor(params)
    try:
        if engine == "nbrisk":
            result = fastextract.execute(extractor, image, mask, jobs=jobs)
        else:
            result = extractor.execute(image, mask, label=1)
    except (ValueError, RuntimeError, IndexError) as exc:
        msg = " ".join(str(exc).split())[:160]
        raise InputError(f"pyradiomics cannot extract features from this ROI ({msg}); draw the whole tumour or "
                         "check the mask") from None
    return {k: float(v) for k, v in result.items() if not k.startswith("diagnostics_")}


def extract_features(
    image: sitk.Image | Mapping[str, sitk.Image],
    mask: sitk.Image,
    preset: str | Preset,
    *,
    engine: str = "nbrisk",
    jobs: int = 1,
    whole: Grid | None = None,
) -> FeatureVector:
    """Extract the preset's features for one ROI.

    Args:
        image: one image, or ``{phase: image}`` for multi-phase presets (all on the mask's grid).
        mask: binary ROI (1 inside) on the image grid, e.g. ``nbrisk.io.images.read_mask(...).image``.
        preset: preset name, YAML path or :class:`Preset`.
        engine: ``"nbrisk"`` (cropped, fast) or ``"pyradiomics"`` (plain extractor on the full image).
        jobs: worker processes for the image types of one case (``nbrisk`` engine only; use 1 inside a
            cohort that already runs cases in parallel).
        whole: the whole image's grid when ``image``/``mask`` are only the block around the ROI
            (``Mask.whole`` from :func:`nbrisk.features.case.load_row_inputs` with ``roi_only``); ``nbrisk`` engine.
    """
    p = load_preset(preset)
    for what, obj in (("image", image), ("mask", mask)):
        if isinstance(obj, str | Path):
            raise InputError(f"{obj}: extract_features takes SimpleITK images, not a path as its {what}; "
                             "use nbrisk.extract(image_path, mask_path, preset) for files")
    if not isinstance(mask, sitk.Image):
        raise InputError(f"mask is a {type(mask).__name__}; give the binary ROI as a SimpleITK image "
                         "(e.g. nbrisk.load_case(...)[1].image)")
    images = _phase_images(image, p)
    for phase, img in images.items():
        warn_if_mismatch(img, p.name, p.modality, whole_image=whole is None,
                         what=f"the {phase} image" if phase else "the image")
    values: dict[str, float] = {}
    diag: dict[str, str] = {}
    for i, (phase, img) in enumerate(images.items()):
        img_p, mask_p, d = prepare(img, mask, p)
        diag.update({f"{phase}_{k}" if phase else k: v for k, v in d.items()})
        params = p.pyradiomics_params()
        if i > 0:
            params["featureClass"] = {k: v for k, v in (params.get("featureClass") or {}).items()
                                      if k not in SHAPE_CLASSES}
        res = _run(img_p, mask_p, params, engine, jobs, whole, fixed_stats=True)
        for k, v in res.items():
            is_shape = k.split("_")[1] in SHAPE_CLASSES if k.count("_") >= 2 else False
            values[k if (is_shape or not phase) else f"{phase}_{k}"] = v
    if len(values) != p.feature_count:
        raise NBRiskError(
            f"preset {p.name}: extraction produced {len(values)} features, expected {p.feature_count}; "
            "a filter's dependency may be missing (LBP2D needs scikit-image): reinstall nbrisk"
        )
    diag["nbrisk_engine"] = engine
    return FeatureVector(values, diag, p.name, p.sha256, pyradiomics_version())


def _phase_images(image: sitk.Image | Mapping[str, sitk.Image], p: Preset) -> dict[str, sitk.Image]:
    return phase_refs(image, p)  # type: ignore[return-value]
