"""NBRisk's public Python API: one call per pipeline stage, the same calls the CLI and the Slicer panel make.

Every function takes paths or SimpleITK images (a multi-phase image as a mapping ``{phase: image}``) and
raises :class:`~nbrisk.errors.InputError` (one line naming the input and the fix) on bad input. They are
re-exported by :mod:`nbrisk`, so a notebook writes ``import nbrisk; nbrisk.extract(...)``.
See ``docs/api.md`` for a worked example.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import SimpleITK as sitk

from nbrisk.bundle.format import Bundle
from nbrisk.bundle.format import load_bundle as _load_bundle
from nbrisk.bundle.format import save_bundle as _save_bundle
from nbrisk.errors import InputError
from nbrisk.features.case import load_inputs
from nbrisk.features.cohort import CohortResult, extract_manifest
from nbrisk.features.extract import FeatureVector, extract_features
from nbrisk.features.presets import Preset, load_preset
from nbrisk.io.images import Mask, read_image
from nbrisk.modeling.data import Table
from nbrisk.modeling.recipe import Recipe
from nbrisk.modeling.trained import TrainedModel
from nbrisk.modeling.validation import Predictions
from nbrisk.modeling.workflow import cross_validate as _cross_validate
from nbrisk.modeling.workflow import headline
from nbrisk.modeling.workflow import train as _train
from nbrisk.prediction.predict import Prediction, predict_case
from nbrisk.reproducibility.icc import icc_table, normalize_form, read_feature_tables
from nbrisk.segmentation.grow import GrowParams, grow_from_seeds
from nbrisk.segmentation.interactive import Prompts, segment_interactive
from nbrisk.staging.idrf import Checklist
from nbrisk.staging.inrg import Metastases, Staging, assess

ImageLike = str | Path | sitk.Image
Images = ImageLike | Mapping[str, ImageLike]

__all__ = [
    "CVResult", "cross_validate", "extract", "extract_cohort", "icc", "load_bundle", "load_case", "predict",
    "save_bundle", "segment", "stage", "train",
]


def _preset(preset: str | Path | Preset | None) -> Preset | None:
    return None if preset is None else load_preset(preset)


def load_case(image: Images, mask: str | Path | sitk.Image, *, label: int | None = None,
              segment: str | None = None, preset: str | Path | Preset | None = None,
              resample_mask: bool = False) -> tuple[Any, Mask]:
    """Read an image (or ``{phase: image}`` for a multi-phase ``preset``) and its ROI on one checked grid.

    Returns ``(image or {phase: image}, Mask)``; ``Mask.image`` is the binary ROI (uint8, 1 inside).
    ``label`` picks a label of a label map, ``segment`` a segment of a Slicer ``.seg.nrrd`` or DICOM SEG;
    a mask with several labels needs one of them. A mask on another grid is an error unless
    ``resample_mask`` (nearest neighbour).
    """
    return load_inputs(image, mask, _preset(preset), label=label, segment=segment, resample_mask=resample_mask)


def extract(image: Images, mask: str | Path | sitk.Image, preset: str | Path | Preset, *, label: int | None = None,
            segment: str | None = None, engine: str = "nbrisk", jobs: int = 1,
            resample_mask: bool = False) -> FeatureVector:
    """Extract ``preset``'s radiomics features of one case (``.values``: name → value, in a stable order).

    ``engine="nbrisk"`` (default) is the fast engine, equal to pyradiomics' values; ``"pyradiomics"`` runs
    pyradiomics' own extractor. Files are read only around the ROI where the preset allows it.
    """
    p = load_preset(preset)
    img, m = load_inputs(image, mask, p, label=label, segment=segment, resample_mask=resample_mask,
                         roi_only=engine == "nbrisk")
    return extract_features(img, m.image, p, engine=engine, jobs=jobs, whole=m.whole)


def extract_cohort(manifest: str | Path, preset: str | Preset, out: str | Path, *, jobs: int = 1,
                   resume: bool = True, engine: str = "nbrisk", resample_mask: bool = False,
                   progress: Callable[[int, int, str], None] | None = None) -> CohortResult:
    """Extract every case of a manifest CSV (``case_id, image, mask[, label, segment, reader]``) into ``out``.

    Failing cases are listed in the errors CSV beside ``out`` and the others go on; a rerun resumes.
    """
    return extract_manifest(manifest, preset, out, jobs=jobs, resume=resume, engine=engine,
                            resample_mask=resample_mask, progress=progress)


def segment(image: ImageLike, seeds: Sequence[Sequence[float]], *, background: Sequence[Sequence[float]] = (),
            box: Sequence[float] | None = None, modality: str = "auto", method: str = "geodesic",
            params: GrowParams | None = None) -> sitk.Image:
    """Segment the tumour from seed points (LPS mm) into a uint8 mask on the image's grid.

    ``background``: points outside the tumour; ``box``: ``(x0, y0, z0, x1, y1, z1)`` in LPS mm that the ROI
    stays inside; ``modality``: ``"ct"``, ``"mr"`` or ``"auto"``. ``method="geodesic"`` (as ``nbrisk segment``)
    runs the graph cut for the first seed (and box) and the interactive geodesic competition for the corrections;
    ``"competition"`` runs the region competition on all seeds (``params`` tune it).
    """
    img = image if isinstance(image, sitk.Image) else read_image(image)
    if method == "geodesic":
        def point(p: Sequence[float], what: str) -> tuple[float, float, float]:
            if len(p) != 3:
                raise InputError(f"{what} {tuple(p)} needs three coordinates x,y,z in LPS mm")
            return (float(p[0]), float(p[1]), float(p[2]))

        if box is not None and len(box) != 6:
            raise InputError(f"box {tuple(box)} needs six numbers x0,y0,z0,x1,y1,z1 in LPS mm")
        prompts = Prompts([point(s, "seed") for s in seeds], [point(s, "background seed") for s in background],
                          None if box is None else (float(box[0]), float(box[1]), float(box[2]), float(box[3]),
                                                    float(box[4]), float(box[5])))
        return segment_interactive(img, prompts, modality=modality).mask
    if method != "competition":
        raise InputError(f"unknown segmentation method {method!r}; use 'geodesic' or 'competition'")
    return grow_from_seeds(img, seeds, background, box, modality=modality, params=params)


def icc(tables: Mapping[str, pd.DataFrame | str | Path] | Sequence[str | Path] | pd.DataFrame, *,
        readers: Sequence[str] | None = None, form: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Intraclass correlation per feature between readers.

    ``tables``: ``{reader: features table or CSV path}`` (keyed by ``case_id``), a list of per-reader CSV paths
    (readers named by file stem unless ``readers``), or one long table with a ``reader`` column. Returns
    ``feature, form, icc, ci_low, ci_high, category`` for all six Shrout–Fleiss / McGraw–Wong forms, or only
    ``form`` (e.g. ``"ICC(3,1)"``, ``"ICC3"``).
    """
    data: Any = tables
    if isinstance(tables, Mapping) and all(isinstance(v, str | Path) for v in tables.values()):
        data, readers = read_feature_tables(list(tables.values()), list(tables))
    elif isinstance(tables, list | tuple):
        data, readers = read_feature_tables(tables, readers)
    table = icc_table(data, readers, alpha)
    if form is None:
        return table
    return table[table["form"] == normalize_form(form)].reset_index(drop=True)


@dataclass(frozen=True)
class CVResult:
    """Cross-validated predictions of a recipe and the metrics computed from them."""

    predictions: Predictions
    metrics: dict[str, Any]
    recipe: Recipe


def cross_validate(features: Table, labels: Table, recipe: str | Path | Recipe, *, clinical: Table | None = None,
                   keep: list[str] | None = None, positive: Any = None, **scheme: Any) -> CVResult:
    """Validate a recipe without leakage (its own scheme; override with ``scheme``, ``n_splits``, ...).

    ``features``/``labels``/``clinical``: DataFrames or CSV paths keyed by ``case_id``.
    """
    preds, _, rec = _cross_validate(features, labels, recipe, clinical, keep, positive, **scheme)
    return CVResult(preds, headline(preds), rec)


def train(features: Table, labels: Table, recipe: str | Path | Recipe, *, clinical: Table | None = None,
          keep: list[str] | None = None, positive: Any = None, validate: bool = True, **scheme: Any) -> TrainedModel:
    """Fit a recipe on all cases (with its cross-validated metrics unless ``validate=False``)."""
    return _train(features, labels, recipe, clinical, keep, positive=positive, validate=validate, **scheme)


def save_bundle(path: str | Path, trained: TrainedModel, preset: str | Path | Preset, *,
                training_features: pd.DataFrame | None = None, training_labels: Sequence[Any] | None = None,
                **card: Any) -> Path:
    """Save ``trained`` as a safe ``.nbrisk`` bundle recording the extraction ``preset`` (name and hash).

    ``training_features``/``training_labels`` give the training ranges and score distribution that
    predictions warn against; ``card`` adds fields to the model card (``intended_use``, ``description``,
    ``created`` to pin the creation time).
    """
    p = load_preset(preset)
    return _save_bundle(path, trained, p.name, p.sha256, training_features=training_features,
                        training_labels=training_labels, **card)


def load_bundle(path: str | Path, *, expected_sha256: str | None = None, strict_versions: bool = False) -> Bundle:
    """Verify and load a bundle (checksums, type allow-list, preset and version checks); nothing is executed."""
    return _load_bundle(path, expected_sha256=expected_sha256, strict_versions=strict_versions)


def predict(bundle: Bundle | str | Path, image: Images, mask: str | Path | sitk.Image, *,
            clinical: Mapping[str, Any] | None = None, label: int | None = None, segment: str | None = None,
            case_id: str = "case", top: int = 10) -> Prediction:
    """Extract the bundle's preset features of one case and predict: class, probability, contributions."""
    b = bundle if isinstance(bundle, Bundle) else _load_bundle(bundle)
    p = load_preset(b.preset_name)
    img, m = load_inputs(image, mask, p, label=label, segment=segment)
    return predict_case(b, img, m, clinical, case_id=case_id, top=top)


def stage(checklist: Checklist | str | Path | None = None, *, stage: str | None = None,
          metastases: Metastases | Sequence[str] | bool | None = None, age_months: float | None = None,
          marrow_tumour_percent: float | None = None, histology: str | None = None, grade: str | None = None,
          mycn: str | None = None, aberration_11q: str | bool | None = None,
          ploidy: str | None = None) -> Staging:
    """INRGSS stage and INRG pretreatment risk group.

    The stage is given (``stage="L2"``) or derived from the IDRF ``checklist`` (object or file) and the
    metastatic work-up: ``metastases`` is ``False`` (none), a list of sites (``["bone_marrow", "liver"]``),
    a :class:`~nbrisk.staging.inrg.Metastases`, or None (unknown).
    """
    cl = Checklist.load(checklist) if isinstance(checklist, str | Path) else checklist
    if metastases is None or isinstance(metastases, Metastases):
        met = metastases
    elif metastases is False:
        met = Metastases(False)
    elif metastases is True:
        raise InputError("metastases=True: name the sites (e.g. ['bone_marrow']) so MS can be told from M")
    else:
        met = Metastases(True, tuple(metastases), marrow_tumour_percent)
    return assess(cl, met, age_months, stage=stage, histology=histology, grade=grade, mycn=mycn,
                  aberration_11q=aberration_11q, ploidy=ploidy)
