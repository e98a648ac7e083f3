"""Declarative model recipes: load a shipped or user YAML file and validate it.

A recipe names its steps (``impute``, ``scale``, ``keep``, ``univariate``, ``correlation``, ``lasso``,
``mrmr``, ``forward``, ``radscore``, ``smote``) and one final ``model`` with their parameters, the
validation scheme, an optional hyper-parameter ``search`` grid for nested CV, the clinical inputs
(type, unit, range, missing-value rule) and the citation. Validation happens here so a typo in a
user's file is a one-line :class:`~nbrisk.errors.InputError`, not a traceback from scikit-learn.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from nbrisk.errors import InputError
from nbrisk.io.yaml_text import safe_load
from nbrisk.modeling.threshold_rule import parse_rule

#: step name -> allowed parameter names (the parameters of the estimator it builds)
STEP_PARAMS: dict[str, set[str]] = {
    "impute": {"strategy"},
    "scale": {"method"},
    "keep": set(),
    "univariate": {"test", "alpha", "max_features", "min_features"},
    "correlation": {"threshold"},
    "lasso": {"C", "cv", "max_features", "min_features"},
    "mrmr": {"n_features"},
    "forward": {"max_features", "criterion"},
    "radscore": {"alpha", "cv", "max_features", "n_alphas"},
    "smote": {"k_neighbors", "sampling_strategy"},
    "combat": {"batch", "eb", "mean_only"},
}
MODEL_PARAMS: dict[str, set[str]] = {
    "lr": {"C", "l1_ratio", "max_iter", "class_weight"},
    "svm": {"C", "gamma", "kernel", "calibration_cv", "calibration_method", "class_weight"},
    "rf": {"n_estimators", "max_depth", "min_samples_leaf", "max_features", "class_weight"},
    "cox": {"alpha", "ties"},
}
SURVIVAL_MODELS = {"cox"}
POST_MERGE_STEPS = {"smote"}  # applied to radiomics + clinical columns together, before the model
SCHEMES = {"repeated_kfold", "nested", "fixed_split"}
CLINICAL_TYPES = {"numeric", "categorical"}
MISSING_RULES = {"median", "mean", "most_frequent", "constant", "drop", "error"}


@dataclass(frozen=True)
class ClinicalInput:
    """One clinical/biochemical input: ``type`` numeric|categorical, ``unit``, plausible ``range``."""

    name: str
    type: str = "numeric"
    unit: str = ""
    range: tuple[float, float] | None = None
    missing: str = "median"
    categories: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "unit": self.unit,
                "range": list(self.range) if self.range is not None else None,
                "missing": self.missing,
                "categories": list(self.categories) if self.categories is not None else None}


@dataclass(frozen=True)
class Recipe:
    """A validated recipe; ``steps`` is a tuple of (step name, params) ending with ("model", params)."""

    name: str
    kind: str
    steps: tuple[tuple[str, dict[str, Any]], ...]
    model: dict[str, Any]
    validation: dict[str, Any]
    search: dict[str, list[Any]] = field(default_factory=dict)
    clinical: tuple[ClinicalInput, ...] = ()
    citation: str = ""
    description: str = ""
    random_state: int = 0
    source: str = ""
    sha256: str = ""
    threshold: dict[str, Any] | None = None  # the recipe's ``threshold:`` block (None: the kind's default)

    @property
    def threshold_rule(self) -> Any:
        """How the decision threshold is chosen (:class:`~nbrisk.modeling.thresholds.ThresholdRule`)."""
        return parse_rule(self.threshold, self.kind, self.source or self.name)

    @property
    def model_type(self) -> str:
        return str(self.model["type"])

    def with_clinical(self, clinical: tuple[ClinicalInput, ...]) -> Recipe:
        """Return a copy using the given clinical inputs (for recipes that declare none)."""
        from dataclasses import replace

        return replace(self, clinical=clinical)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind,
                "steps": [{k: dict(v)} for k, v in self.steps] + [{"model": dict(self.model)}],
                "validation": dict(self.validation), "search": dict(self.search),
                "clinical": [c.to_dict() for c in self.clinical], "citation": self.citation,
                "description": self.description, "random_state": self.random_state, "sha256": self.sha256,
                "threshold": self.threshold_rule.to_dict()}


def shipped_recipes() -> list[str]:
    """Names of the recipes shipped in ``nbrisk/recipes``."""
    folder = resources.files("nbrisk.modeling") / "recipes"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_recipe(name_or_path: str | Path | Recipe) -> Recipe:
    """Load a shipped recipe by name (``jia2023-svm``) or a user's YAML file, and validate it."""
    if isinstance(name_or_path, Recipe):
        return name_or_path
    text, source = _recipe_text(name_or_path)
    recipe = parse_recipe(safe_load(text, source), source)
    from dataclasses import replace

    return replace(recipe, sha256=hashlib.sha256(text.encode()).hexdigest())


def _recipe_text(name_or_path: str | Path) -> tuple[str, str]:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise InputError(f"{path}: recipe file not found; give a shipped name ({', '.join(shipped_recipes())}) "
                             "or an existing YAML file")
        return path.read_text(encoding="utf-8"), str(path)
    res = resources.files("nbrisk.modeling") / "recipes" / f"{name_or_path}.yaml"
    if not res.is_file():
        raise InputError(f"unknown recipe '{name_or_path}'; use one of {', '.join(shipped_recipes())} "
                         "or the path of a YAML recipe file")
    return res.read_text(encoding="utf-8"), f"recipe {name_or_path}"


def parse_recipe(data: Any, source: str = "recipe") -> Recipe:
    """Validate a recipe mapping (as read from YAML) and return a :class:`Recipe`."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a recipe must be a mapping with 'name', 'steps' and a final 'model' step")
    unknown = set(data) - {"name", "kind", "steps", "validation", "search", "clinical", "citation",
                           "description", "random_state", "threshold"}
    if unknown:
        raise InputError(f"{source}: unknown top-level key(s) {sorted(unknown)}; remove or rename them")
    steps_raw = data.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise InputError(f"{source}: 'steps' must be a non-empty list ending with a 'model' step")
    steps = [_parse_step(s, source) for s in steps_raw]
    if steps[-1][0] != "model" or any(n == "model" for n, _ in steps[:-1]):
        raise InputError(f"{source}: the last step (and only the last) must be 'model'")
    model = dict(steps[-1][1])
    mtype = model.get("type")
    if mtype not in MODEL_PARAMS:
        raise InputError(f"{source}: model type '{mtype}' unknown; use one of {sorted(MODEL_PARAMS)}")
    _check_params(source, f"model {mtype}", model, MODEL_PARAMS[mtype] | {"type"})
    kind = data.get("kind") or ("survival" if mtype in SURVIVAL_MODELS else "classification")
    if kind != ("survival" if mtype in SURVIVAL_MODELS else "classification"):
        raise InputError(f"{source}: kind '{kind}' does not match model type '{mtype}'")
    body = steps[:-1]
    if kind == "survival" and any(n in ("smote", "forward") for n, _ in body):
        raise InputError(f"{source}: steps 'smote' and 'forward' are for classification recipes only")
    if kind == "classification" and any(n == "radscore" for n, _ in body):
        raise InputError(f"{source}: step 'radscore' needs a survival ('cox') model")
    if any(n == "combat" for n, _ in body[1:]):
        raise InputError(f"{source}: step 'combat' must be the first step (it harmonises the raw features)")
    seen_post = False
    for n, _ in body:
        if n in POST_MERGE_STEPS:
            seen_post = True
        elif seen_post:
            raise InputError(f"{source}: step '{n}' must come before 'smote' (resampling is the last step)")
    parse_rule(data.get("threshold"), kind, source)  # validated here: a typo is a one-line error at load time
    return Recipe(
        threshold=data.get("threshold"), name=str(data.get("name") or Path(source).stem), kind=kind,
        steps=tuple(body), model=model,
        validation=_parse_validation(data.get("validation") or {}, source),
        search=_parse_search(data.get("search") or {}, source),
        clinical=tuple(_parse_clinical(c, source) for c in data.get("clinical") or []),
        citation=str(data.get("citation", "")).strip(), description=str(data.get("description", "")).strip(),
        random_state=int(data.get("random_state", 0)), source=source)


def _parse_step(step: Any, source: str) -> tuple[str, dict[str, Any]]:
    if isinstance(step, str):
        step = {step: {}}
    if not isinstance(step, dict) or len(step) != 1:
        raise InputError(f"{source}: each step must be a one-key mapping like '- scale: {{}}', got {step!r}")
    (name, params), = step.items()
    params = dict(params or {})
    if name == "model":
        return name, params
    if name not in STEP_PARAMS:
        raise InputError(f"{source}: unknown step '{name}'; use one of {sorted(STEP_PARAMS)} or 'model'")
    _check_params(source, f"step {name}", params, STEP_PARAMS[name])
    return name, params


def _check_params(source: str, what: str, params: dict[str, Any], allowed: set[str]) -> None:
    bad = set(params) - allowed
    if bad:
        raise InputError(f"{source}: {what} has unknown parameter(s) {sorted(bad)}; allowed: {sorted(allowed)}")


def _parse_validation(v: dict[str, Any], source: str) -> dict[str, Any]:
    out = {"scheme": "repeated_kfold", "n_splits": 5, "n_repeats": 5, "inner_splits": 3, "test_size": 0.2}
    bad = set(v) - set(out)
    if bad:
        raise InputError(f"{source}: validation has unknown key(s) {sorted(bad)}; allowed: {sorted(out)}")
    out.update(v)
    if out["scheme"] not in SCHEMES:
        raise InputError(f"{source}: validation scheme '{out['scheme']}' unknown; use one of {sorted(SCHEMES)}")
    return out


def _parse_search(s: dict[str, Any], source: str) -> dict[str, list[Any]]:
    out = {}
    for key, values in s.items():
        if "__" not in key or not isinstance(values, list) or not values:
            raise InputError(f"{source}: search key '{key}' must look like 'model__C' (step__param) with a list")
        out[key] = values
    return out


def _parse_clinical(c: Any, source: str) -> ClinicalInput:
    if isinstance(c, str):
        c = {"name": c}
    if not isinstance(c, dict) or "name" not in c:
        raise InputError(f"{source}: each clinical input needs at least a 'name'")
    bad = set(c) - {"name", "type", "unit", "range", "missing", "categories"}
    if bad:
        raise InputError(f"{source}: clinical input '{c['name']}' has unknown key(s) {sorted(bad)}")
    ci = ClinicalInput(name=str(c["name"]), type=c.get("type", "numeric"), unit=str(c.get("unit", "")),
                       range=tuple(c["range"]) if c.get("range") is not None else None,
                       missing=c.get("missing", "median" if c.get("type", "numeric") == "numeric" else "most_frequent"),
                       categories=tuple(str(x) for x in c["categories"]) if c.get("categories") else None)
    if ci.type not in CLINICAL_TYPES or ci.missing not in MISSING_RULES:
        raise InputError(f"{source}: clinical input '{ci.name}': type must be one of {sorted(CLINICAL_TYPES)} "
                         f"and missing one of {sorted(MISSING_RULES)}")
    if ci.type == "categorical" and ci.missing in ("median", "mean"):
        raise InputError(f"{source}: clinical input '{ci.name}' is categorical; use missing most_frequent|constant")
    return ci
