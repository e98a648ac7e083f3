"""View models for result displays: what the Slicer panel and reports show, computed once, as plain data.

The panel (``NBRiskLib.widget``) copies these fields onto widgets and never recomputes anything; the functions
here only read what the core produced (``prediction.json``, a bundle's model card) and format it. Keys are read
tolerantly (``predicted_class`` or ``label`` ...) so that older prediction files still display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

POSITIVE_RGB = (0.85, 0.33, 0.31)
NEGATIVE_RGB = (0.36, 0.72, 0.36)
UNKNOWN_RGB = (0.6, 0.6, 0.6)


@dataclass(frozen=True, slots=True)
class ContributionRow:
    """One contribution as the panel shows it (texts; the numbers: :class:`nbrisk.prediction.predict.Contribution`)."""

    feature: str
    value: str
    effect: str


@dataclass(frozen=True, slots=True)
class PredictionView:
    """Display-ready prediction: texts, colour for the tumour segment, rows for the results table."""

    probability: float | None
    score_text: str
    class_text: str
    threshold_text: str
    category_text: str
    colour: tuple[float, float, float]
    contributions: tuple[ContributionRow, ...] = ()
    warnings: tuple[str, ...] = ()
    table_rows: tuple[tuple[str, str], ...] = ()
    slice_text: str = ""


@dataclass(frozen=True, slots=True)
class ClinicalField:
    """One clinical input a bundle asks for (from its manifest); ``choices`` for categorical inputs."""

    name: str
    kind: str = "float"
    unit: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


def _first(data: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    for key in keys:
        if key in data and data[key] is not None:
            return data[key]
    return default


def _fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.{digits}g}"
    return str(value)


def _contributions(raw: Any, limit: int) -> tuple[ContributionRow, ...]:
    if isinstance(raw, Mapping):
        raw = [{"feature": k, "contribution": v} for k, v in raw.items()]
    rows = []
    for item in list(raw or [])[:limit]:
        if not isinstance(item, Mapping):
            continue
        effect = _first(item, "contribution", "effect", "importance", "weight")
        direction = _first(item, "direction", default="")
        text = _fmt(effect) if effect is not None else ""
        if direction:
            text = f"{text} ({direction})" if text else str(direction)
        rows.append(ContributionRow(str(_first(item, "feature", "name", default="?")),
                                 _fmt(_first(item, "value", default="")), text))
    return tuple(rows)


def _warnings(raw: Any) -> tuple[str, ...]:
    out = []
    for item in raw or []:
        out.append(str(_first(item, "message", "text", default=item)) if isinstance(item, Mapping) else str(item))
    return tuple(out)


def _is_code(value: Any) -> bool:
    """True for class labels that are codes (0/1, True/False, "1"), not names a reader understands."""
    text = str(value).strip().lower()
    return isinstance(value, bool | int | float) or text.lstrip("-").replace(".", "", 1).isdigit() or \
        text in ("true", "false")


def class_names(card: Mapping[str, Any]) -> dict[str, str]:
    """``{str(class): display name}`` from a model card: its ``class_names``, else named classes as they are,
    else coded classes (0/1) named by the card's risk labels ("high risk" for the positive class)."""
    model = card.get("model") or {}
    names = {str(k): str(v) for k, v in (model.get("class_names") or card.get("class_names") or {}).items()}
    labels = card.get("risk_labels") or {}
    positive = model.get("positive_class")
    for value in model.get("classes") or []:
        if str(value) in names:
            continue
        if not _is_code(value):
            names[str(value)] = str(value)
            continue
        level = "high" if str(value) == str(positive) else "low"
        names[str(value)] = f"{labels.get(level, level)} risk"
    return names


def prediction_view(prediction: Mapping[str, Any], top: int = 8,
                    names: Mapping[str, str] | None = None) -> PredictionView:
    """Turn a ``prediction.json`` dict into what the panel shows (``names``: from :func:`class_names`)."""
    probability = _first(prediction, "probability", "risk_score", "score")
    probability = float(probability) if probability is not None else None
    threshold = _first(prediction, "threshold")
    label = _first(prediction, "predicted_class", "label", "class", "predicted_label")
    positive = _first(prediction, "positive_class")
    category = _first(prediction, "risk_category", "category", default="")
    is_positive = _first(prediction, "is_positive", "positive")
    if is_positive is None and label is not None and positive is not None:
        is_positive = str(label) == str(positive)
    if is_positive is None and probability is not None and threshold is not None:
        is_positive = probability >= float(threshold)
    colour = UNKNOWN_RGB if is_positive is None else (POSITIVE_RGB if is_positive else NEGATIVE_RGB)
    contributions = _contributions(_first(prediction, "contributions", "top_contributions",
                                          "feature_contributions"), top)
    warnings = _warnings(_first(prediction, "warnings", default=[]))
    score_text = "-" if probability is None else f"{probability:.2f}"
    if label is None:
        class_text = "-"
    elif names and str(label) in names:
        class_text = names[str(label)]
    elif _is_code(label) and category:  # no card at hand: a coded class is named by its risk category
        class_text = f"{category} risk"
    else:
        class_text = str(label)
    threshold_text = "-" if threshold is None else f"{float(threshold):.2f}"
    rows = [("Probability", score_text), ("Predicted class", class_text), ("Threshold", threshold_text),
            ("Risk category", str(category) or "-")]
    model = _first(prediction, "model_id", "model", "recipe")
    if isinstance(model, Mapping):
        model = _first(model, "recipe", "model_id", "estimator")
    if model is not None:
        rows.insert(0, ("Model", _fmt(model)))
    rows += [(f"Contribution: {c.feature}", f"{c.effect} (value {c.value})") for c in contributions]
    rows += [("Warning", w) for w in warnings]
    slice_text = f"NBRisk: p={score_text} class={class_text}" + (f" [{category}]" if category else "")
    return PredictionView(probability, score_text, class_text, threshold_text, str(category or "-"), colour,
                          contributions, warnings, tuple(rows), slice_text)


def clinical_fields(card: Mapping[str, Any]) -> list[ClinicalField]:
    """Return the clinical inputs a model card declares (name/type/unit/range), in card order."""
    fields = []
    for item in _first(card, "clinical_inputs", "clinical", default=[]) or []:
        if isinstance(item, str):
            fields.append(ClinicalField(item))
            continue
        rng = _first(item, "range", default=None) or (None, None)
        low, high = [*rng, None, None][:2] if isinstance(rng, Sequence) else (None, None)
        choices = tuple(str(c) for c in _first(item, "choices", "categories", "levels", default=()) or ())
        fields.append(ClinicalField(str(item["name"]), str(_first(item, "type", "kind", default="float")),
                                    str(_first(item, "unit", default="") or ""),
                                    None if low is None else float(low), None if high is None else float(high),
                                    choices))
    return fields


_CARD_KEYS = (("recipe", "Recipe"), ("estimator", "Estimator"), ("kind", "Kind"), ("citation", "Citation"),
              ("positive_class", "Positive class"), ("threshold", "Decision threshold"),
              ("threshold_rule", "Threshold rule"), ("intended_use", "Intended use"), ("created", "Created"))


def _flat_card(card: Mapping[str, Any]) -> dict[str, Any]:
    """Card fields with the nested ``model`` block lifted to the top (older flat cards pass through)."""
    flat = dict(card)
    model = card.get("model")
    if isinstance(model, Mapping):
        flat.update({k: v for k, v in model.items() if k not in flat or flat[k] in (None, "")})
    if "recipe" not in flat and "recipe_name" in flat:
        flat["recipe"] = flat["recipe_name"]
    return flat


def card_preset(card: Mapping[str, Any]) -> str:
    """The feature preset a bundle was trained on (name), or ''."""
    preset = _first(card, "preset", "preset_name", default="")
    return str(preset.get("name", "")) if isinstance(preset, Mapping) else str(preset)


def card_lines(card: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return (label, text) lines summarising a model card, the 'not for clinical use' flag first."""
    flat = _flat_card(card)
    lines: list[tuple[str, str]] = []
    flag = _first(flat, "not_for_clinical_use", "research_only")
    if flag is None or flag:
        lines.append(("Use", "Research use only - not for clinical use unless validated locally."))
    for key, label in _CARD_KEYS:
        if flat.get(key) not in (None, "", []):
            lines.append((label, _fmt(flat[key], 4)))
    if card_preset(card):
        lines.append(("Feature preset", card_preset(card)))
    summary = _first(flat, "training", "training_summary", "training_cohort")
    if isinstance(summary, Mapping):
        lines.append(("Training data", ", ".join(f"{k}={_fmt(v)}" for k, v in summary.items()
                                                 if not isinstance(v, Mapping | list))))
    metrics = _first(flat, "metrics", "cv_metrics")
    if isinstance(metrics, Mapping):
        shown = [f"{k}={_fmt(v)}" for k, v in metrics.items() if isinstance(v, int | float)]
        if shown:
            lines.append(("CV metrics", ", ".join(shown)))
    names = _first(flat, "feature_names", "features")
    if isinstance(names, list):
        lines.append(("Features", f"{len(names)}"))
    return lines
