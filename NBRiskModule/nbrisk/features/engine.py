"""Run pyradiomics' segment-based extraction with less repeated work (the ``nbrisk`` engine's inner loop).

Same steps and same feature values as ``RadiomicsFeatureExtractor.execute`` on an already normalised,
resampled and cropped image (see :mod:`nbrisk.features.extract`), with three changes measured to pay:

- the grey-level discretisation of each (filtered) image is done once and shared by the feature classes
  (pyradiomics re-bins the image in every class: 6 times per image type);
- GLCM's Maximal Correlation Coefficient uses the symmetric form of its matrix. pyradiomics takes the
  general (non-symmetric) eigenvalues of ``Q = Dx^-1 P Dy^-1 P^T`` per angle, which was over half of the
  whole extraction time; ``Q`` is similar to ``M M^T`` with ``M = Dx^-1/2 P Dy^-1/2``, whose eigenvalues a
  symmetric solver finds several times faster (same values up to rounding and pyradiomics' 2e-16 epsilon);
- image types (and each LoG sigma) can run in parallel worker processes (``jobs > 1``).
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np
import SimpleITK as sitk

logger = logging.getLogger(__name__)

_SHARED: dict[str, Any] = {}  # the current image's discretisation: {"image": sitk.Image, "binned": ..., ...}
_POOL: dict[str, Any] = {}  # {"jobs": n, "pool": ProcessPoolExecutor}
_CLASS_CACHE: dict[str, type] = {}


def _shared_binning_class(base: type) -> type:
    """Subclass of a pyradiomics feature class that takes the image's discretisation from ``_SHARED``."""

    def _applyBinning(self: Any, matrix: np.ndarray) -> np.ndarray:  # noqa: N802 (pyradiomics' name)
        if _SHARED.get("image") is self.inputImage and _SHARED.get("label") == self.label:
            self.coefficients["grayLevels"] = _SHARED["grayLevels"]
            self.coefficients["Ng"] = _SHARED["Ng"]
            return _SHARED["binned"].copy()
        return base._applyBinning(self, matrix)  # type: ignore[attr-defined]

    ns: dict[str, Any] = {"_applyBinning": _applyBinning, "__module__": base.__module__}
    if base.__name__ == "RadiomicsGLCM":
        ns["getMCCFeatureValue"] = _glcm_mcc
    if base.__name__ == "RadiomicsGLSZM":
        ns["_calculateMatrix"] = _glszm_matrix
        ns["_calculateCoefficients"] = _glszm_coefficients
    return type(f"NBRisk{base.__name__}", (base,), ns)


def _glcm_mcc(self: Any) -> Any:
    """GLCM MCC = second largest singular value of ``M = Dx^-1/2 P Dy^-1/2`` per angle, averaged."""
    P = self.P_glcm  # (v, i, k, angle), each angle normalised to sum 1
    if P.shape[1] < 2:
        return 1  # flat region, as pyradiomics
    if not np.all(np.isfinite(P)):
        return type(self).__mro__[1].getMCCFeatureValue(self)  # type: ignore[attr-defined]
    px = self.coefficients["px"][:, :, 0, :]  # (v, i, angle)
    py = self.coefficients["py"][:, 0, :, :]  # (v, k, angle)
    with np.errstate(divide="ignore"):
        rx = np.where(px > 0, 1.0 / np.sqrt(px), 0.0)
        ry = np.where(py > 0, 1.0 / np.sqrt(py), 0.0)
    m = (P * rx[:, :, None, :] * ry[:, None, :, :]).transpose(0, 3, 1, 2)  # (v, angle, i, k)
    s = m @ m.transpose(0, 1, 3, 2)
    ev = np.linalg.eigvalsh(s)  # ascending
    mcc = np.sqrt(np.clip(ev[:, :, -2], 0.0, None))
    return np.nanmean(mcc, 1)


def _glszm_matrix(self: Any, voxelCoordinates: Any = None) -> np.ndarray:  # noqa: N803 (pyradiomics' name)
    """GLSZM with one column per zone size present, not one per possible size (1..number of ROI voxels).

    pyradiomics' C matrix is dense (grey levels x ROI voxel count, float64: 77 MB for one wavelet band of a
    500 cm3 tumour, copied again when its empty columns are deleted). Zones are the same 26-connected (3-D)
    regions of equal grey level inside the ROI (``skimage.measure.label``), so the compact matrix holds
    exactly the non-empty rows and columns pyradiomics keeps.
    """
    base = type(self).__mro__[1]
    if self.voxelBased or self.settings.get("force2D", False):
        self._zone_sizes = None
        return base._calculateMatrix(self, voxelCoordinates)  # type: ignore[attr-defined]
    from skimage.measure import label

    img = np.where(self.maskArray, self.imageArray, 0)
    lab = label(img, background=0, connectivity=img.ndim)
    flat = lab.ravel()
    sizes = np.bincount(flat)[1:]
    grey = np.zeros(len(sizes) + 1, dtype=img.dtype)
    grey[flat] = img.ravel()
    levels = self.coefficients["grayLevels"]
    zone_sizes, col = np.unique(sizes, return_inverse=True)
    cell = np.searchsorted(levels, grey[1:]) * len(zone_sizes) + col.ravel()
    P = np.bincount(cell, minlength=len(levels) * len(zone_sizes)).astype(np.float64)
    P = P.reshape(1, len(levels), len(zone_sizes))
    self._zone_sizes = zone_sizes
    return P


def _glszm_coefficients(self: Any) -> None:
    """pyradiomics' GLSZM coefficients for the compact matrix (its columns are the zone sizes present)."""
    if getattr(self, "_zone_sizes", None) is None:
        type(self).__mro__[1]._calculateCoefficients(self)  # type: ignore[attr-defined]
        return
    P = self.P_glszm
    ps = np.sum(P, 1)
    nz = np.sum(P, (1, 2))
    nz[nz == 0] = 1
    jvector = self._zone_sizes.astype(np.float64)
    np_ = np.sum(ps * jvector[None, :], 1)
    np_[np_ == 0] = 1
    self.coefficients.update(Np=np_, Nz=nz, ps=ps, pg=np.sum(P, 2), jvector=jvector,
                             ivector=self.coefficients["grayLevels"].astype(float))


def feature_classes() -> dict[str, type]:
    """pyradiomics' feature classes with the shared-binning (and fast MCC) subclasses."""
    if not _CLASS_CACHE:
        from radiomics import getFeatureClasses

        for name, cls in getFeatureClasses().items():
            _CLASS_CACHE[name] = cls if name.startswith("shape") else _shared_binning_class(cls)
    return _CLASS_CACHE


def _features_of_image(image: sitk.Image, mask: sitk.Image, type_name: str, enabled: dict[str, Any],
                       kwargs: dict[str, Any]) -> dict[str, float]:
    """``computeFeatures`` of pyradiomics for one (filtered, cropped) image, binning it once."""
    from radiomics import imageoperations

    classes = feature_classes()
    label = kwargs.get("label", 1)
    arr = sitk.GetArrayFromImage(image)
    roi = sitk.GetArrayFromImage(mask) == label
    binned, _ = imageoperations.binImage(arr, roi, **kwargs)
    levels = np.unique(binned[roi])
    _SHARED.update(image=image, label=label, binned=binned, grayLevels=levels, Ng=int(np.max(levels)))
    out: dict[str, float] = collections.OrderedDict()
    try:
        for cls_name, names in enabled.items():
            if cls_name.startswith("shape") or cls_name not in classes:
                continue
            fc = classes[cls_name](image, mask, **kwargs)
            if names is not None:
                for n in names:
                    fc.enableFeatureByName(n)
            for n, v in fc.execute().items():
                out[f"{type_name}_{cls_name}_{n}"] = v
    finally:
        _SHARED.clear()
    return out


def _image_type_features(image: sitk.Image, mask: sitk.Image, bbox: np.ndarray, image_type: str,
                         custom: dict[str, Any], settings: dict[str, Any],
                         enabled: dict[str, Any]) -> dict[str, float]:
    """All features of one pyradiomics image type (all its derived images), as ``execute`` computes them."""
    from radiomics import imageoperations

    args = dict(settings)
    args.update(custom)
    lean = image_type == "Wavelet" and int(args.get("level", 1)) == 1 and int(args.get("start_level", 0)) == 0
    images = _wavelet_images(image, **args) if lean else getattr(imageoperations, f"get{image_type}Image")(
        image, mask, **args)
    parts: dict[str, dict[str, float]] = {}
    for img, type_name, kw in images:
        img_c, mask_c = imageoperations.cropToTumorMask(img, mask, bbox, padDistance=0)
        del img
        parts[type_name] = _features_of_image(img_c, mask_c, type_name, enabled, kw)
    order = _wavelet_order(image, args) if lean else list(parts)
    out: dict[str, float] = collections.OrderedDict()
    for type_name in order:
        out.update(parts[type_name])
    return out


def _wavelet_axes(image: sitk.Image, kwargs: dict[str, Any]) -> list[int]:
    """numpy axes pyradiomics' wavelet transforms, in its order (x first)."""
    axes = list(range(image.GetDimension() - 1, -1, -1))
    if kwargs.get("force2D", False):
        axes.remove(kwargs.get("force2Ddimension", 0))
    return axes


def _wavelet_order(image: sitk.Image, kwargs: dict[str, Any]) -> list[str]:
    """pyradiomics' order of the sub-bands: the details (LLH ... HHH), then the approximation (LLL)."""
    n = len(_wavelet_axes(image, kwargs))
    names = ["wavelet-" + "".join(c) for c in itertools.product("LH", repeat=n)]
    return names[1:] + names[:1]


def _wavelet_images(image: sitk.Image, **kwargs: Any) -> Iterator[tuple[sitk.Image, str, dict[str, Any]]]:
    """pyradiomics' ``getWaveletImage`` (one level), one sub-band at a time, high-pass branches first.

    pyradiomics builds all 8 sub-bands of the 3-D stationary wavelet transform at once (``pywt.swtn`` over
    3 axes) and keeps copies of each: about 25 float64 copies of the image. Here the transform runs one axis
    at a time, depth first, and each array is released as soon as it has been split or turned into the
    sub-band image: at most 4 arrays exist at once. These are the same ``pywt`` calls on the same arrays,
    so the values are bit for bit equal (tested). The sub-bands come out in another order (the
    approximation last, so it need not be kept aside); :func:`_image_type_features` restores pyradiomics'.
    """
    import pywt

    axes = _wavelet_axes(image, kwargs)
    wavelet = kwargs.get("wavelet", "coif1")
    wavelet = wavelet if isinstance(wavelet, pywt.Wavelet) else pywt.Wavelet(wavelet)
    matrix = sitk.GetArrayFromImage(image)
    shape = matrix.shape
    todo = [np.pad(matrix, tuple((0, 1 if d % 2 != 0 else 0) for d in shape), "wrap")]
    del matrix
    trim = tuple(slice(None, -1 if d % 2 != 0 else None) for d in shape)

    def bands(arrays: list[np.ndarray], i: int, name: str) -> Iterator[tuple[str, np.ndarray]]:
        """Leaves below ``arrays[0]`` (the only reference to it: popped, so it is freed once split)."""
        if i == len(axes):
            yield name, arrays.pop()
            return
        dec = pywt.swtn(arrays.pop(), wavelet, level=1, start_level=0, axes=(axes[i],))[0]
        low = [dec.pop("a")]
        high = [dec.pop("d")]
        del dec
        yield from bands(high, i + 1, name + "H")
        yield from bands(low, i + 1, name + "L")

    for name, arr in bands(todo, 0, ""):
        out = sitk.GetImageFromArray(arr[trim])
        del arr
        out.CopyInformation(image)
        yield out, "wavelet-" + name, kwargs


def _tasks(image_types: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Split image types into independent tasks (one per LoG sigma), the most expensive first."""
    tasks: list[tuple[str, dict[str, Any]]] = []
    for itype, custom in image_types.items():
        if itype == "LoG" and len(custom.get("sigma", [])) > 1:
            tasks += [(itype, {**custom, "sigma": [s]}) for s in custom["sigma"]]
        else:
            tasks.append((itype, dict(custom)))
    cost = {"Wavelet": 0, "LBP3D": 1}
    return sorted(tasks, key=lambda t: cost.get(t[0], 2))


def _worker_init() -> None:
    import warnings

    warnings.simplefilter("ignore")
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    one_blas_thread()  # for the worker's lifetime (see :func:`one_blas_thread`)
    try:
        import radiomics

        radiomics.setVerbosity(logging.ERROR)
    except ImportError:  # pragma: no cover
        pass
    feature_classes()


def _pool(jobs: int) -> ProcessPoolExecutor:
    """A persistent pool of ``jobs`` spawned workers (fork is unsafe after SimpleITK started its threads)."""
    if _POOL.get("jobs") != jobs:
        shutdown_pool()
        import multiprocessing as mp

        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"),
                                   initializer=_worker_init)
        for f in [pool.submit(int, 0) for _ in range(jobs)]:  # start all workers now, not mid-extraction
            f.result()
        _POOL.update(jobs=jobs, pool=pool)
    return _POOL["pool"]


def shutdown_pool() -> None:
    """Stop the image-type worker pool (it is restarted on demand)."""
    pool = _POOL.pop("pool", None)
    _POOL.clear()
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def one_blas_thread() -> Any:
    """Context: BLAS/LAPACK (OpenBLAS, MKL) on one thread.

    The GLCM MCC runs a batched matrix product and ``eigvalsh`` on grey-level x grey-level matrices (13 angles
    x 20 derived images for jia2023-mri). OpenBLAS splits each call between all cores, and its threads wait
    for each other (and for ITK's) much longer than the small calls take: one MRI phantom case took 3.1 s with
    OpenBLAS on 2 threads and 1.3 s on 1 (2 cores, nothing else running), and the threaded result of a
    LAPACK call may also depend on the thread count. Extraction runs whole cases or image types in parallel
    instead.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def execute(extractor: Any, image: sitk.Image, mask: sitk.Image, jobs: int = 1) -> dict[str, Any]:
    """Equivalent of ``extractor.execute(image, mask, label=1)`` (segment-based, no resegmentation).

    ``image``/``mask`` must already be normalised/resampled as the extractor's settings ask (the extractor's
    own normalisation and resampling settings are ignored here). ``jobs > 1`` runs image types in parallel.
    BLAS runs on one thread meanwhile (:func:`one_blas_thread`).
    """
    with one_blas_thread():
        return _execute(extractor, image, mask, jobs)


def _execute(extractor: Any, image: sitk.Image, mask: sitk.Image, jobs: int) -> dict[str, Any]:
    from radiomics import imageoperations

    settings = dict(extractor.settings)
    settings["label"] = 1
    if settings.get("resegmentRange") is not None or settings.get("voxelBased"):
        return extractor.execute(image, mask, label=1)
    settings.update(normalize=False, interpolator=None, resampledPixelSpacing=None)
    image, mask = extractor.loadImage(image, mask, None, **settings)
    bbox, corrected = imageoperations.checkMask(image, mask, **settings)
    if corrected is not None:
        mask = corrected
    out: dict[str, Any] = collections.OrderedDict()
    out.update(extractor.computeShape(image, mask, bbox, **settings))
    enabled = dict(extractor.enabledFeatures)
    types = dict(extractor.enabledImagetypes)
    tasks = _tasks(types)
    jobs = max(1, min(int(jobs), len(tasks), os.cpu_count() or 1))
    args = (settings, enabled)
    parts: dict[tuple[str, str], dict[str, float]] = {}
    if jobs == 1:
        for itype, custom in tasks:
            parts[(itype, repr(custom))] = _image_type_features(image, mask, bbox, itype, custom, *args)
    else:
        pool = _pool(jobs)
        futs: dict[tuple[str, str], Future] = {
            (itype, repr(custom)): pool.submit(_image_type_features, image, mask, bbox, itype, custom, *args)
            for itype, custom in tasks}
        parts = {k: f.result() for k, f in futs.items()}
    for itype, custom in types.items():  # pyradiomics' order: image types as enabled, LoG sigmas in order
        for t_itype, t_custom in _tasks({itype: custom}):
            out.update(parts[(t_itype, repr(t_custom))])
    return out
