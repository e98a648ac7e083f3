"""Save and load model bundles (``.nbrisk``): a fitted inference pipeline plus its model card.

A bundle is a zip holding ``manifest.json`` (the model card: recipe, citation, training cohort, class
balance, positive class, threshold, CV metrics, intended use, feature names in order, preset name and
hash, clinical inputs, library versions, creation time and the SHA-256 of every other member),
``model.skops`` (the fitted pipeline, saved with skops, never pickle) and ``reference.json`` (training
ranges of each input and the training score distribution, used for warnings and the report).
Loading goes through :mod:`nbrisk.bundle.safety` (checksums, type allow-list) and then checks feature
names, preset hash and library versions. Format changes bump :data:`BUNDLE_FORMAT_VERSION`.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import logging
import warnings as warnings_module
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nbrisk import __version__
from nbrisk.bundle.card import (  # re-exported: the card's constants
    BUNDLE_FORMAT_VERSION,
    NOT_FOR_CLINICAL_USE,
    TRACKED_VERSIONS,
    ModelCard,
    card_summary,
    library_versions,
)
from nbrisk.bundle.safety import (
    UnsafeBundleError,
    audit_skops,
    normalise_skops,
    read_members,
    seal_zip,
    sha256_bytes,
    skops_loads,
    verify_checksums,
)
from nbrisk.errors import InputError, MissingDependencyError, ModelCompatibilityError
from nbrisk.io.images import atomic_path
from nbrisk.modeling.trained import TrainedModel

logger = logging.getLogger(__name__)

SUFFIX = ".nbrisk"
MANIFEST, MODEL, REFERENCE = "manifest.json", "model.skops", "reference.json"
MEMBERS = (MANIFEST, MODEL, REFERENCE)

__all__ = ["BUNDLE_FORMAT_VERSION", "NOT_FOR_CLINICAL_USE", "TRACKED_VERSIONS", "Bundle", "ModelCard",
           "UnsafeBundleError", "library_versions", "load_bundle", "save_bundle", "version_drift"]


def version_drift(recorded: Mapping[str, str], current: Mapping[str, str] | None = None) -> list[str]:
    """Return one warning per tracked library whose version differs from the one that trained the model."""
    current = current or library_versions()
    warnings = []
    for dist, parts in TRACKED_VERSIONS.items():
        old, new = recorded.get(dist), current.get(dist)
        if old is None or new is None:
            continue
        if old.split(".")[:parts] != new.split(".")[:parts]:
            warnings.append(f"version drift: model saved with {dist} {old}, running {new}; outputs may differ "
                            f"(install {dist}=={old} to reproduce exactly, or retrain)")
    return warnings


@dataclass(frozen=True)
class Bundle:
    """A loaded, verified bundle. ``pipeline`` takes a DataFrame with :attr:`input_columns` in order."""

    card: dict[str, Any]
    pipeline: Any
    reference: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    path: Path | None = None
    file_sha256: str = ""  # of the whole .nbrisk file: what a publisher gives to check a copy against

    @property
    def feature_names(self) -> list[str]:
        return list(self.card["feature_names"])

    @property
    def clinical_inputs(self) -> list[dict[str, Any]]:
        return list(self.card.get("clinical_inputs") or [])

    @property
    def input_columns(self) -> list[str]:
        return list(self.card["input_columns"])

    @property
    def threshold(self) -> float:
        return float(self.card["model"]["threshold"])

    @property
    def kind(self) -> str:
        return str(self.card["model"].get("kind", "classification"))

    @property
    def preset_name(self) -> str:
        return str(self.card["preset"]["name"])

    @property
    def preset_sha256(self) -> str:
        return str(self.card["preset"]["sha256"])

    def align(self, features: Mapping[str, float] | pd.DataFrame, clinical: Mapping[str, float] | None = None
              ) -> pd.DataFrame:
        """Return a frame with exactly :attr:`input_columns`, matched by name; a missing feature is an error."""
        df = pd.DataFrame([dict(features)]) if isinstance(features, Mapping) else features.copy()
        for key, value in (clinical or {}).items():
            df[key] = value
        missing = [c for c in self.feature_names if c not in df.columns]
        if missing:
            raise ModelCompatibilityError(
                f"{self.path or 'bundle'}: extraction lacks {len(missing)} feature(s) the model needs "
                f"(first: {missing[0]}); extract with preset '{self.preset_name}'"
            )
        for col in self.input_columns:
            if col not in df.columns:
                df[col] = np.nan
        out = df[self.input_columns].copy()
        categorical = self.categorical_inputs
        for col in out.columns:
            out[col] = out[col].map(category_text).astype(object) if col in categorical else out[col].astype(float)
        return out

    @property
    def categorical_inputs(self) -> set[str]:
        return {c["name"] for c in self.clinical_inputs if c.get("type") == "categorical"}

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        """Return the positive-class probability of each row (1-D array), columns aligned by name."""
        x = self.align(rows)
        classes = list(getattr(self.pipeline, "classes_", [0, 1]))
        pos = self.card["model"]["positive_class"]
        idx = next((i for i, c in enumerate(classes) if str(c) == str(pos)), len(classes) - 1)
        return np.asarray(self.pipeline.predict_proba(self.model_input(x)))[:, idx]

    def model_input(self, x: pd.DataFrame) -> pd.DataFrame | np.ndarray:
        """Return what the pipeline expects: the frame, or bare values for models fitted without names."""
        return x if getattr(self.pipeline, "feature_names_in_", None) is not None else x.to_numpy(float)

    def summary(self) -> dict[str, Any]:
        """Return the card fields a reader of a prediction needs (copied into prediction.json)."""
        return card_summary(self.card, file=self.path.name if self.path else None, file_sha256=self.file_sha256)

    def check_extraction(self, preset_sha256: str | None, feature_names: Sequence[str] | None = None) -> None:
        """Refuse features made with another preset, or lacking features the model needs."""
        if preset_sha256 is not None and preset_sha256 != self.preset_sha256:
            raise ModelCompatibilityError(
                f"{self.path or 'bundle'}: features come from a preset with hash {preset_sha256[:12]}, the model "
                f"was trained on '{self.preset_name}' ({self.preset_sha256[:12]}); extract with that preset"
            )
        if feature_names is not None:
            self.align(pd.DataFrame(columns=list(feature_names)))


# ------------------------------------------------------------------------------------------------ save
def inference_pipeline(pipeline: Any) -> tuple[Any, list[str]]:
    """Return a plain sklearn Pipeline without resampling steps (SMOTE etc.) and the dropped step names."""
    from sklearn.pipeline import Pipeline

    steps = getattr(pipeline, "steps", None)
    if steps is None:
        return pipeline, []
    kept = [(n, s) for n, s in steps if s not in (None, "passthrough") and not hasattr(s, "fit_resample")]
    dropped = [n for n, s in steps if (n, s) not in kept]
    if type(pipeline) is Pipeline and not dropped:
        return pipeline, []
    return Pipeline(kept), dropped


def category_text(value: Any) -> Any:
    """Spell a categorical value as training did (``1``, ``1.0`` and ``"1"`` all become ``"1"``); NaN stays."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _stats(values: pd.Series, categorical: bool = False) -> dict[str, Any]:
    if categorical:
        counts = values.dropna().astype(str).value_counts()
        return {"mode": str(counts.index[0]), "counts": {str(k): int(n) for k, n in counts.items()}} \
            if len(counts) else {}
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(float)
    if v.size == 0:
        return {}
    return {"min": float(v.min()), "max": float(v.max()), "mean": float(v.mean()),
            "median": float(np.median(v)), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0}


def _reference(bundle: Bundle, training: pd.DataFrame | None, labels: Sequence[Any] | None) -> dict[str, Any]:
    if training is None:
        return {}
    x = bundle.align(training)
    cat = bundle.categorical_inputs
    ref: dict[str, Any] = {"n": len(x), "inputs": {c: _stats(x[c], c in cat) for c in x.columns}}
    if bundle.kind == "classification" and not x[bundle.feature_names].isna().any(axis=None):
        scores = bundle.predict_proba(x)  # clinical NaNs are the pipeline's imputer's job
        edges = np.linspace(0.0, 1.0, 21)
        ref["scores"] = {"what": "in-sample probability of the positive class (training cohort)",
                         "bin_edges": edges.tolist(), "counts": {}}
        groups = {"all": np.ones(len(x), bool)} if labels is None else {
            str(c): np.asarray([str(v) for v in labels]) == str(c) for c in sorted({str(v) for v in labels})}
        for name, sel in groups.items():
            ref["scores"]["counts"][name] = np.histogram(scores[sel], bins=edges)[0].astype(int).tolist()
    return ref


def created_now() -> str:
    """The card's ``created`` time: now, or ``SOURCE_DATE_EPOCH`` when set (reproducible builds' convention)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), _dt.UTC).isoformat(timespec="seconds")
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def save_bundle(path: str | Path, trained: TrainedModel, preset_name: str, preset_sha256: str, *,
                training_features: pd.DataFrame | None = None, training_labels: Sequence[Any] | None = None,
                threshold_rule: str | None = None, intended_use: str | None = None, created: str | None = None,
                **card_extras: Any) -> Path:
    """Write ``trained`` (a TrainedModel) as a ``.nbrisk`` bundle and return its path.

    ``training_features`` (one row per training case, the model's input columns) gives the training
    ranges and score distribution the prediction warnings and report use; ``training_labels`` splits that
    distribution by class. ``card_extras`` (e.g. ``intended_use``, ``synthetic=True``, ``description``)
    are added to the card; ``threshold_rule`` overrides the model's own (:attr:`TrainedModel.threshold_rule`),
    ``created`` pins the card's creation time (ISO 8601) for byte-identical rebuilds. The written file is
    re-read through the full loader before it is kept.
    """
    import skops.io as sio

    path = Path(path)
    pipeline, dropped = inference_pipeline(trained.pipeline)
    if any(type(s).__name__ == "ComBat" for _, s in getattr(pipeline, "steps", [])):
        raise ModelCompatibilityError(
            f"{path}: a model with a ComBat step needs each new patient's centre, which bundles do not carry yet; "
            "train the recipe without 'combat' for a bundle (use ComBat in cross-validation to compare)")
    clinical = [c["name"] for c in trained.clinical_inputs]
    input_columns = list(trained.feature_names) + [c for c in clinical if c not in trained.feature_names]
    names_in = getattr(pipeline, "feature_names_in_", None)
    if names_in is not None and list(names_in) != input_columns:
        raise ModelCompatibilityError(
            f"{path}: the pipeline was fitted on columns that differ from feature_names + clinical inputs; "
            "pass the fitted column order as feature_names"
        )
    card = ModelCard.from_trained(trained, pipeline, dropped, input_columns, preset_name, preset_sha256,
                                  threshold_rule=threshold_rule, intended_use=intended_use,
                                  created=created or created_now(),
                                  extras=card_extras).to_dict()
    model_bytes = normalise_skops(sio.dumps(pipeline))  # same model, same bytes
    audit_skops(model_bytes, f"{path} ({type(pipeline).__name__})")  # a type we would refuse to load: fail now
    draft = Bundle(card=card, pipeline=pipeline, path=path)
    ref_bytes = json.dumps(_reference(draft, training_features, training_labels), indent=1).encode()
    card["members"] = {MODEL: {"sha256": sha256_bytes(model_bytes), "bytes": len(model_bytes)},
                       REFERENCE: {"sha256": sha256_bytes(ref_bytes), "bytes": len(ref_bytes)}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, member in ((MANIFEST, json.dumps(card, indent=1).encode()), (MODEL, model_bytes),
                             (REFERENCE, ref_bytes)):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # same bytes for the same model
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member)
    with atomic_path(path, suffix=SUFFIX) as tmp:
        tmp.write_bytes(seal_zip(buf.getvalue()))
        load_bundle(tmp, expected_preset_sha256=preset_sha256)  # never keep a bundle we could not load
    logger.info("saved bundle %s (%d bytes)", path, path.stat().st_size)
    return path


# ------------------------------------------------------------------------------------------------ load
def load_bundle(path: str | Path, expected_preset_sha256: str | None = None, *,
                expected_feature_names: Sequence[str] | None = None, strict_versions: bool = False,
                expected_sha256: str | None = None) -> Bundle:
    """Verify and load a bundle.

    ``expected_sha256``: the SHA-256 of the whole file as its publisher gives it. The members' checksums
    inside the manifest catch damage, but not an edited manifest (a changed threshold, say); only a hash
    obtained from the publisher, outside the file, does.

    Raises:
        UnsafeBundleError: not a bundle (e.g. a pickle), unexpected member, checksum mismatch, a file hash
            other than ``expected_sha256``, or a type outside the allow-list (nothing from the file is
            executed in these cases).
        ModelCompatibilityError: unknown format version, inconsistent or unexpected feature names, wrong
            preset hash, or (with ``strict_versions``) library version drift.
    """
    try:
        import skops.io  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("loading a bundle needs skops; install it with 'pip install skops'") from exc
    path = Path(path)
    data = _file_bytes(path)  # one read: the file hash below describes exactly the members loaded
    members, card = read_verified(path, data)
    digest = sha256_bytes(data)
    if expected_sha256 is not None and digest != expected_sha256.strip().lower():
        raise UnsafeBundleError(
            f"{path}: file SHA-256 is {digest[:16]}..., not the expected {expected_sha256.strip()[:16]}...; this "
            "is not the published bundle (edited, damaged or another version): get it again from its publisher"
        )
    with warnings_module.catch_warnings(record=True) as caught:
        warnings_module.simplefilter("always")
        pipeline = skops_loads(members[MODEL], f"{path}:{MODEL}")
    sklearn_warnings = [f"scikit-learn: {w.message}" for w in caught
                        if type(w.message).__name__ == "InconsistentVersionWarning"]
    for w in caught:
        if type(w.message).__name__ != "InconsistentVersionWarning":
            warnings_module.warn_explicit(w.message, w.category, w.filename, w.lineno)
    names_in = getattr(pipeline, "feature_names_in_", None)
    if names_in is not None and list(names_in) != list(card["input_columns"]):
        raise ModelCompatibilityError(f"{path}: the card's feature names do not match the model's inputs; "
                                      "the bundle is inconsistent, re-export it")
    if list(card["input_columns"][: len(card["feature_names"])]) != list(card["feature_names"]):
        raise ModelCompatibilityError(f"{path}: input_columns do not start with feature_names; re-export it")
    reference = json.loads(members.get(REFERENCE, b"{}") or b"{}")
    drift = version_drift(card.get("versions", {})) + sklearn_warnings
    for msg in drift:
        logger.warning("%s: %s", path.name, msg)
    if drift and strict_versions:
        raise ModelCompatibilityError(f"{path}: {drift[0]}")
    bundle = Bundle(card=card, pipeline=pipeline, reference=reference, warnings=tuple(drift), path=path,
                    file_sha256=digest)
    bundle.check_extraction(expected_preset_sha256, expected_feature_names)
    return bundle


def _read_manifest(path: Path, members: dict[str, bytes]) -> dict[str, Any]:
    if MANIFEST not in members or MODEL not in members:
        raise UnsafeBundleError(f"{path}: bundle lacks {MANIFEST} or {MODEL}; not an NBRisk bundle")
    try:
        card = json.loads(members[MANIFEST])
    except ValueError as exc:
        raise UnsafeBundleError(f"{path}: {MANIFEST} is not valid JSON; re-export the bundle") from exc
    version = card.get("bundle_format_version") if isinstance(card, dict) else None
    if version != BUNDLE_FORMAT_VERSION:
        raise ModelCompatibilityError(
            f"{path}: bundle format version {version!r} is not supported by nbrisk {__version__} "
            f"(reads version {BUNDLE_FORMAT_VERSION}); update nbrisk"
        )
    for key in ("feature_names", "input_columns", "preset", "model", "members"):
        if key not in card:
            raise ModelCompatibilityError(f"{path}: manifest lacks '{key}'; re-export the bundle")
    return card


def _file_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise InputError(f"{path}: model bundle not found; check the path")
    return path.read_bytes()


def read_verified(path: str | Path, data: bytes | None = None) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Return a bundle's members and card after the zip, manifest and checksum checks (nothing is loaded).

    ``data``: the file's bytes, when the caller has read them already.
    """
    path = Path(path)
    members = read_members(path, MEMBERS, _file_bytes(path) if data is None else data)
    card = _read_manifest(path, members)
    verify_checksums(path, members, card["members"])
    return members, card

