"""Automatic tumour segmentation for the CLI, the demo and the Slicer panel.

``load_backend`` picks the backend for a model; ``autoseg`` runs it on one image;
``autoseg_manifest`` runs it on a cohort manifest with progress and resume and writes a manifest that
``nbrisk extract`` reads. The Slicer panel builds its command line with :func:`panel_command` and runs it
in its ``CliRunner`` (the CLI prints ``window k/n`` lines its progress bar parses), then loads the mask
as an editable segment; :func:`model_choices` fills its model list and :func:`model_info` its warning.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from nbrisk.errors import InputError, NBRiskError
from nbrisk.io.images import atomic_path, read_image, write_image
from nbrisk.segmentation.backend import BUILTIN, BUILTIN_MODEL, Progress, Prompts, SegmentationBackend
from nbrisk.segmentation.grow import lps_to_index
from nbrisk.segmentation.nnunet_backend import NnUNetBackend
from nbrisk.segmentation.onnx_backend import OnnxBackend


def load_backend(model: str | Path | None = None, *, threads: int | None = None,
                 modality: str = "auto") -> SegmentationBackend:
    """Return the backend for ``model``.

    ``None`` or ``"builtin"``: the shipped ONNX U-Net. A ``.onnx`` file: :class:`OnnxBackend` with the
    ``.json`` beside it. A folder holding ``plans.json`` and ``dataset.json`` (an nnU-Net v2 results folder
    such as ``.../nnUNetTrainer__nnUNetPlans__3d_fullres``): :class:`NnUNetBackend`.
    """
    if model is None or str(model) == BUILTIN:
        return OnnxBackend(BUILTIN_MODEL, threads=threads, modality=modality)
    p = Path(model)
    if not p.exists():
        raise InputError(f"{p}: model not found; give an .onnx file (with its .json), an nnU-Net model "
                         "folder, or 'builtin'")
    if p.is_dir():
        return NnUNetBackend(p)
    if p.suffix.lower() == ".onnx":
        return OnnxBackend(p, threads=threads, modality=modality)
    raise InputError(f"{p}: unknown model type; give an .onnx file (with its .json), an nnU-Net v2 model "
                     "folder, or 'builtin'")


@dataclass(frozen=True)
class AutosegResult:
    mask: sitk.Image  # uint8, 1 = tumour, on the image grid
    voxels: int
    volume_ml: float
    model: str
    seconds: float


def model_info(model: str | Path | None = BUILTIN) -> dict:
    """Name, path, note and whether the model was trained on synthetic data only (panel warning)."""
    path = BUILTIN_MODEL if model is None or str(model) == BUILTIN else Path(model)
    if path.is_dir():
        return {"name": f"nnunet:{path.name}", "path": str(path), "backend": "nnunet",
                "note": "user's nnU-Net v2 model", "synthetic_only": False}
    cfg_path = path.with_suffix(".json")
    if not path.is_file() or not cfg_path.is_file():
        raise InputError(f"{path}: model or its .json not found; give an .onnx with its .json, an nnU-Net folder "
                         "or 'builtin'")
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    note = str(cfg.get("note", ""))
    return {"name": cfg.get("name", path.stem), "path": str(path), "backend": "onnx", "note": note,
            "synthetic_only": "synthetic" in note.lower(), "spacing_mm": cfg.get("spacing_mm"),
            "metrics": cfg.get("metrics", {})}


def model_choices(extra_folder: str | Path | None = None) -> list[tuple[str, str]]:
    """(label, value) pairs for a model chooser: the built-in model, then any .onnx in ``extra_folder``."""
    out = [("Built-in U-Net (synthetic phantoms only, not for patients)", BUILTIN)]
    if extra_folder is not None and Path(extra_folder).is_dir():
        for p in sorted(Path(extra_folder).glob("*.onnx")):
            if p.with_suffix(".json").is_file():
                out.append((p.stem, str(p)))
    return out


def autoseg(image: sitk.Image, model: str | Path | SegmentationBackend | None = BUILTIN, *,
            prompts: Prompts | None = None, progress: Progress | None = None, threads: int | None = None,
            modality: str = "auto") -> AutosegResult:
    """Segment the tumour in ``image`` automatically; an empty result raises :class:`InputError`."""
    backend = model if isinstance(model, SegmentationBackend) else load_backend(model, threads=threads,
                                                                                 modality=modality)
    for what, points in (("tumour point", prompts.points if prompts else ()),
                         ("background point", prompts.background if prompts else ())):
        for point in points:  # a prompt outside the image would be ignored silently: refuse it
            lps_to_index(image, point, what)
    t0 = time.perf_counter()
    mask = backend.segment(image, prompts, progress=progress)
    seconds = time.perf_counter() - t0
    n = int(np.count_nonzero(sitk.GetArrayViewFromImage(mask)))
    if n == 0:
        raise InputError(f"model {backend.name} found no tumour in this image; segment it from seed points "
                         "(nbrisk segment / Grow tumour from seeds) instead")
    return AutosegResult(mask, n, n * float(np.prod(image.GetSpacing())) / 1000.0, backend.name, seconds)


def panel_command(image_path: str | Path, out_path: str | Path, model: str | Path = BUILTIN, *,
                  points_lps: Sequence[Sequence[float]] = (), background_lps: Sequence[Sequence[float]] = (),
                  box_lps: Sequence[float] | None = None, modality: str = "auto") -> list[str]:
    """Arguments of ``nbrisk autoseg`` for the panel's ``CliRunner.start`` (no program name)."""
    args = ["autoseg", "--image", str(image_path), "--out", str(out_path), "--model", str(model),
            "--modality", modality]
    for p in points_lps:
        args.append("--point-lps=" + ",".join(f"{float(v):.6g}" for v in p))
    for p in background_lps:
        args.append("--background-lps=" + ",".join(f"{float(v):.6g}" for v in p))
    if box_lps is not None:
        args.append("--box-lps=" + ",".join(f"{float(v):.6g}" for v in box_lps))
    return args


@dataclass(frozen=True)
class ManifestResult:
    n_cases: int
    n_done: int
    n_skipped: int
    n_failed: int
    out_manifest: Path
    errors_csv: Path | None


def autoseg_manifest(manifest: str | Path, out_dir: str | Path, model: str | Path | None = BUILTIN, *,
                     resume: bool = True, threads: int | None = None, modality: str = "auto",
                     progress: Callable[[int, int, str], None] | None = None) -> ManifestResult:
    """Segment every case of a ``case_id,image`` manifest (paths relative to it) into ``out_dir``.

    Writes ``<case_id>_autoseg.nrrd`` per case and ``out_dir/manifest.csv`` (case_id,image,mask, absolute
    paths) for ``nbrisk extract``; failed cases go to ``out_dir/errors.csv``. With ``resume`` a case whose
    mask already exists is not run again (masks are written atomically, so an existing file is complete).
    """
    mpath = Path(manifest)
    if not mpath.is_file():
        raise InputError(f"{mpath}: manifest not found; check the path")
    with open(mpath, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or not {"case_id", "image"} <= set(rows[0]):
        raise InputError(f"{mpath}: manifest needs the columns case_id,image; add them "
                         "(image paths relative to the manifest)")
    ids = [r["case_id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise InputError(f"{mpath}: case_id values repeat; give each case one row")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    backend = load_backend(model, threads=threads, modality=modality)  # loaded once for all cases
    done_rows, errors, n_done, n_skipped = [], [], 0, 0
    for i, row in enumerate(rows):
        case = row["case_id"]
        image_path = (mpath.parent / row["image"]).resolve()
        mask_path = out / f"{case}_autoseg.nrrd"
        if resume and mask_path.is_file():
            n_skipped += 1
            done_rows.append({"case_id": case, "image": str(image_path), "mask": str(mask_path.resolve())})
        else:
            try:
                res = autoseg(read_image(image_path), backend)
                write_image(res.mask, mask_path)
                n_done += 1
                done_rows.append({"case_id": case, "image": str(image_path), "mask": str(mask_path.resolve())})
            except NBRiskError as exc:
                errors.append({"case_id": case, "image": str(image_path), "error": str(exc)})
        if progress is not None:
            progress(i + 1, len(rows), case)
    out_manifest = out / "manifest.csv"
    with atomic_path(out_manifest) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["case_id", "image", "mask"])
        w.writeheader()
        w.writerows(done_rows)
    errors_csv = out / "errors.csv"
    if errors:
        with atomic_path(errors_csv) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["case_id", "image", "error"])
            w.writeheader()
            w.writerows(errors)
    elif errors_csv.exists():
        errors_csv.unlink()
    return ManifestResult(len(rows), n_done, n_skipped, len(errors), out_manifest, errors_csv if errors else None)
