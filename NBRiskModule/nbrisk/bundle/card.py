"""The model card: what a bundle says about its model, typed.

``manifest.json`` in a ``.nbrisk`` file is :meth:`ModelCard.to_dict`; :meth:`ModelCard.from_trained` builds it
from a :class:`~nbrisk.modeling.trained.TrainedModel` (every field comes from the model itself: nothing is
guessed with defaults), and :func:`card_lines` is the one human-readable summary of a card (``nbrisk bundle
inspect``, the report and the Slicer panel show it).
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from nbrisk import __version__
from nbrisk.errors import InputError
from nbrisk.modeling.trained import TrainedModel

BUNDLE_FORMAT_VERSION = 1
NOT_FOR_CLINICAL_USE = "Research software: not a medical device, not for clinical decisions."
# distribution -> how strictly its version must match (number of version parts compared)
TRACKED_VERSIONS = {"scikit-learn": 2, "numpy": 1, "scipy": 2, "skops": 2, "pyradiomics-bhklab": 3,
                    "nbrisk": 2, "python": 2}


def library_versions() -> dict[str, str]:
    """Return the versions that matter for reproducing a model's inputs and outputs."""
    out = {"python": platform.python_version(), "nbrisk": __version__}
    for dist in ("scikit-learn", "numpy", "scipy", "skops", "pyradiomics-bhklab", "imbalanced-learn", "pandas"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "absent"
    return out


def plain(obj: Any) -> Any:
    """Convert numpy scalars/arrays and tuples into JSON-ready values."""
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def default_threshold_rule(kind: str) -> str:
    """What a trained model's threshold means when the model does not say (older models)."""
    return ("Youden's J on the training data" if kind == "classification"
            else "median training risk score (low/high Radscore group cut-off)")


@dataclass(frozen=True)
class ModelSection:
    """The ``model`` part of the card: what was fitted and how its score is cut into classes."""

    kind: str
    recipe: str
    citation: str
    estimator: str
    steps: list[str]
    dropped_at_export: list[str]
    classes: list[Any]
    positive_class: Any
    threshold: float
    threshold_rule: str


@dataclass(frozen=True)
class ModelCard:
    """Everything ``manifest.json`` holds but the member checksums (added when the file is written)."""

    model: ModelSection
    feature_names: list[str]
    clinical_inputs: list[dict[str, Any]]
    input_columns: list[str]
    preset_name: str
    preset_sha256: str
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    selected_features: list[str] = field(default_factory=list)
    intended_use: str = NOT_FOR_CLINICAL_USE
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. synthetic, description, risk_labels

    RESERVED = frozenset({"bundle_format_version", "created", "model", "metrics", "training", "feature_names",
                          "input_columns", "preset", "clinical_inputs", "versions", "members",
                          "not_for_clinical_use", "intended_use", "recipe", "selected_features"})

    @classmethod
    def from_trained(cls, trained: TrainedModel, pipeline: Any, dropped: list[str], input_columns: list[str],
                     preset_name: str, preset_sha256: str, *, threshold_rule: str | None = None,
                     intended_use: str | None = None, created: str | None = None,
                     extras: dict[str, Any] | None = None) -> ModelCard:
        """The card of ``trained`` as saved with inference ``pipeline`` (``dropped``: steps left out)."""
        extras = dict(extras or {})
        clash = sorted(set(extras) & cls.RESERVED)
        if clash:
            raise InputError(f"save_bundle: card extras {clash} would overwrite core card fields; rename them")
        est = trained.pipeline.steps[-1][1] if hasattr(trained.pipeline, "steps") else trained.pipeline
        classes = [c.item() if hasattr(c, "item") else c for c in (trained.classes or
                                                                    getattr(trained.pipeline, "classes_", []))]
        rule = threshold_rule or trained.threshold_rule or default_threshold_rule(trained.kind)
        section = ModelSection(
            kind=trained.kind, recipe=trained.recipe_name, citation=trained.citation, estimator=type(est).__name__,
            steps=[n for n, _ in getattr(trained.pipeline, "steps", [])], dropped_at_export=list(dropped),
            classes=plain(classes), positive_class=plain(trained.positive_class), threshold=float(trained.threshold),
            threshold_rule=rule)
        return cls(model=section, feature_names=list(trained.feature_names),
                   clinical_inputs=plain(list(trained.clinical_inputs)), input_columns=list(input_columns),
                   preset_name=preset_name, preset_sha256=preset_sha256, metrics=plain(trained.metrics or {}),
                   training=plain(trained.training_summary or {}), recipe=plain(trained.recipe or {}),
                   selected_features=list(trained.selected_features), intended_use=intended_use or NOT_FOR_CLINICAL_USE,
                   created=created or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                   versions=library_versions(), extras=plain(extras))

    def to_dict(self) -> dict[str, Any]:
        """The manifest's JSON form (the bundle format v1 layout)."""
        m = self.model
        d: dict[str, Any] = {
            "bundle_format_version": BUNDLE_FORMAT_VERSION,
            "created": self.created,
            "not_for_clinical_use": True,
            "intended_use": self.intended_use,
            "model": {"kind": m.kind, "recipe": m.recipe, "citation": m.citation, "estimator": m.estimator,
                      "steps": m.steps, "dropped_at_export": m.dropped_at_export, "classes": m.classes,
                      "positive_class": m.positive_class, "threshold": m.threshold,
                      "threshold_rule": m.threshold_rule},
            "metrics": self.metrics,
            "training": self.training,
            "feature_names": self.feature_names,
            "clinical_inputs": self.clinical_inputs,
            "input_columns": self.input_columns,
            "preset": {"name": self.preset_name, "sha256": self.preset_sha256},
            "versions": self.versions,
        }
        if self.recipe:
            d["recipe"] = self.recipe
        if self.selected_features:
            d["selected_features"] = self.selected_features
        d.update(self.extras)
        return d


def card_summary(card: dict[str, Any], *, file: str | None = None, file_sha256: str = "") -> dict[str, Any]:
    """The card fields a reader of a prediction needs (copied into prediction.json and shown in the report)."""
    m = card["model"]
    return {"file": file, "file_sha256": file_sha256, "recipe": m.get("recipe"), "estimator": m.get("estimator"),
            "citation": m.get("citation"), "positive_class": m.get("positive_class"), "threshold": m.get("threshold"),
            "threshold_rule": m.get("threshold_rule"), "preset": card["preset"], "metrics": card.get("metrics"),
            "training": card.get("training"), "synthetic": bool(card.get("synthetic", False)),
            "intended_use": card.get("intended_use"), "not_for_clinical_use": card.get("not_for_clinical_use", True),
            "created": card.get("created"), "versions": card.get("versions")}


def card_lines(card: dict[str, Any]) -> list[str]:
    """The human-readable summary of a card (``nbrisk bundle inspect`` prints it)."""
    m = card["model"]
    return [
        f"NBRisk model bundle (format v{card['bundle_format_version']}, created {card.get('created')})",
        "NOT FOR CLINICAL USE" + (" - trained on SYNTHETIC data" if card.get("synthetic") else ""),
        f"intended use: {card.get('intended_use')}",
        f"kind: {m.get('kind')}   estimator: {m.get('estimator')}   recipe: {m.get('recipe')}",
        f"steps: {' -> '.join(m.get('steps') or [])}"
        + (f"   (dropped at export: {', '.join(m['dropped_at_export'])})" if m.get("dropped_at_export") else ""),
        f"citation: {m.get('citation') or 'none given'}",
        f"classes: {m.get('classes')}   positive class: {m.get('positive_class')}   "
        f"threshold: {m.get('threshold'):.4g} ({m.get('threshold_rule')})",
        f"training: {json.dumps(card.get('training', {}))}",
        f"metrics: {json.dumps(card.get('metrics', {}))}",
        f"preset: {card['preset']['name']} (sha256 {card['preset']['sha256']})",
        f"features ({len(card['feature_names'])}): " + ", ".join(card["feature_names"][:8])
        + (" ..." if len(card["feature_names"]) > 8 else ""),
        "clinical inputs: " + (", ".join(f"{c['name']} [{c.get('unit') or '-'}] range {c.get('range')}"
                                         for c in card.get("clinical_inputs", [])) or "none"),
        "versions: " + ", ".join(f"{k} {v}" for k, v in card.get("versions", {}).items()),
        "members: " + ", ".join(f"{k} ({v['bytes']} B, sha256 {v['sha256'][:12]}...)"
                                for k, v in card.get("members", {}).items()),
    ]
