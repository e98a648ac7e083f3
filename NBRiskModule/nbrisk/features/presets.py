"""Feature presets: one YAML per published setting, shipped in ``nbrisk/features/presets/``.

A preset file has two blocks. ``pyradiomics:`` is a complete pyradiomics parameter file (imageType,
featureClass, setting), validated against pyradiomics' own schema, so plain pyradiomics can run it too.
``nbrisk:`` declares what pyradiomics cannot do (N4, ROI z-score, single-slice 2-D mode, contrast
phases) plus the paper, its feature count and the reasons for every choice the paper left open.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from nbrisk.errors import InputError, MissingDependencyError
from nbrisk.io.yaml_text import safe_load

# derived images per pyradiomics image type (Wavelet: 8 per level; LoG: one per sigma)
_FIXED_IMAGES = {"Original": 1, "Square": 1, "SquareRoot": 1, "Logarithm": 1, "Exponential": 1,
                 "Gradient": 1, "LBP2D": 1}
_NBRISK_KEYS = {"name", "title", "citation", "modality", "paper_feature_count", "preprocessing", "rationale",
                "phases", "variant_of", "phase"}
_PREPROCESSING_KEYS = {"n4", "normalize", "slice2d"}


@dataclass(frozen=True)
class Preset:
    """A validated feature preset."""

    name: str
    title: str
    citation: str
    modality: str
    paper_feature_count: int | None
    preprocessing: dict[str, Any]
    pyradiomics: dict[str, Any]
    phases: tuple[str, ...] = ()
    rationale: str = ""
    variant_of: str = ""  # single-phase variant: the multi-phase preset whose settings it applies
    phase: str = ""  # single-phase variant: the contrast phase its one image must be
    source: str = ""
    sha256: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.pyradiomics.get("setting") or {})

    @property
    def resamples(self) -> bool:
        s = self.settings
        return s.get("interpolator") is not None and s.get("resampledPixelSpacing") is not None

    def pyradiomics_params(self) -> dict[str, Any]:
        """A deep copy of the pyradiomics parameter block (safe to modify)."""
        return copy.deepcopy(self.pyradiomics)

    @property
    def per_phase_feature_count(self) -> int:
        return feature_count(self.pyradiomics, include_shape=False)

    @property
    def shape_feature_count(self) -> int:
        return feature_count(self.pyradiomics) - self.per_phase_feature_count

    @property
    def feature_count(self) -> int:
        """Exact number of feature columns this preset produces per case."""
        return self.shape_feature_count + self.per_phase_feature_count * max(1, len(self.phases))


def available_presets() -> list[str]:
    folder = resources.files("nbrisk.features") / "presets"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_preset(name_or_path: str | Path | Preset) -> Preset:
    """Load a shipped preset by name, or a preset YAML file by path, and validate it."""
    if isinstance(name_or_path, Preset):
        return name_or_path
    return _parse(*_preset_text(str(name_or_path)))


@lru_cache(maxsize=64)
def _parse(text: str, source: str) -> Preset:
    """Parse and validate a preset's text once per process (validation took ~0.08 s, on every case)."""
    return _build(safe_load(text, source), source, text)


def _preset_text(name: str) -> tuple[str, str]:
    if name in available_presets():
        f = resources.files("nbrisk.features") / "presets" / f"{name}.yaml"
        return f.read_text(encoding="utf-8"), f"preset {name}"
    p = Path(name)
    if p.suffix.lower() in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise InputError(f"{p}: preset file not found; check the path")
        return p.read_text(encoding="utf-8"), str(p)
    raise InputError(f"unknown preset {name!r}; use one of {', '.join(available_presets())} or a YAML file path")


def _build(raw: Any, source: str, text: str) -> Preset:
    if not isinstance(raw, dict) or "pyradiomics" not in raw:
        if isinstance(raw, dict) and ({"imageType", "featureClass", "setting"} & set(raw)):
            raw = {"nbrisk": {"name": Path(source).stem, "preprocessing": {}}, "pyradiomics": raw}
        else:
            raise InputError(f"{source}: a preset needs a 'pyradiomics:' block (and optionally 'nbrisk:'); "
                             "fix the file (see `nbrisk presets --show pyradiomics-default`)")
    nb = raw.get("nbrisk") or {}
    unknown = set(nb) - _NBRISK_KEYS
    if unknown:
        raise InputError(f"{source}: unknown key(s) {sorted(unknown)} in 'nbrisk:'; allowed: {sorted(_NBRISK_KEYS)}")
    pre = nb.get("preprocessing") or {}
    unknown = set(pre) - _PREPROCESSING_KEYS
    if unknown:
        raise InputError(f"{source}: unknown preprocessing step(s) {sorted(unknown)}; "
                         f"allowed: {sorted(_PREPROCESSING_KEYS)}")
    _validate_preprocessing(pre, source)
    pyr = raw["pyradiomics"] or {}
    validate_pyradiomics_params(pyr, source)
    phases = tuple(str(p) for p in (nb.get("phases") or ()))
    if len(set(phases)) != len(phases):
        raise InputError(f"{source}: duplicate phase names {list(phases)}")
    if nb.get("phase") and phases:
        raise InputError(f"{source}: 'phase' (one image of that phase) and 'phases' (several) exclude each other")
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return Preset(
        name=str(nb.get("name") or Path(source).stem),
        title=str(nb.get("title", "")),
        citation=str(nb.get("citation", "")),
        modality=str(nb.get("modality", "any")),
        paper_feature_count=nb.get("paper_feature_count"),
        preprocessing=dict(pre),
        pyradiomics=pyr,
        phases=phases,
        rationale=str(nb.get("rationale", "")).strip(),
        variant_of=str(nb.get("variant_of") or ""),
        phase=str(nb.get("phase") or ""),
        source=source,
        sha256=hashlib.sha256(canonical.encode()).hexdigest(),
        raw=raw,
    )


def _validate_preprocessing(pre: dict[str, Any], source: str) -> None:
    norm = pre.get("normalize")
    if norm is not None and (not isinstance(norm, dict) or norm.get("region") not in ("roi", "image")):
        raise InputError(f"{source}: preprocessing.normalize needs region: roi|image (and optional scale)")
    s2d = pre.get("slice2d")
    if s2d not in (None, False, "largest_axial"):
        raise InputError(f"{source}: preprocessing.slice2d must be 'largest_axial' or false")
    n4 = pre.get("n4")
    if n4 not in (None, False) and not isinstance(n4, dict):
        raise InputError(f"{source}: preprocessing.n4 must be a mapping of N4 options or false")


def validate_pyradiomics_params(params: dict[str, Any], source: str = "<preset>") -> None:
    """Validate a pyradiomics parameter block against pyradiomics' own schema."""
    try:
        import pykwalify.core
        import radiomics
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise MissingDependencyError(f"pyradiomics is not installed ({exc}); pip install pyradiomics-bhklab") from None
    import logging

    schema_dir = Path(radiomics.__file__).parent / "schemas"
    logging.getLogger("pykwalify").setLevel(logging.CRITICAL)
    core = pykwalify.core.Core(
        source_data=params,
        schema_files=[str(schema_dir / "paramSchema.yaml")],
        extensions=[str(schema_dir / "schemaFuncs.py")],
    )
    try:
        core.validate()
    except Exception as exc:  # pykwalify raises SchemaError and others
        errors = [str(e) for e in getattr(core, "validation_errors", None) or []] or [str(exc)]
        msg = " ".join(errors[0].split())[:200]
        raise InputError(f"{source}: pyradiomics block fails pyradiomics' schema ({msg}); "
                         f"{_schema_fix(errors[0], schema_dir / 'paramSchema.yaml')}") from None


def _schema_fix(error: str, schema_file: Path) -> str:
    """The fix for a pykwalify error: for an unknown key, the allowed key it most likely means."""
    import difflib
    import re

    import yaml

    m = re.search(r"Key '([^']+)' was not defined\. Path: '/?([^']*)'", error)
    if not m:
        return "fix the value as pyradiomics' parameter documentation says"
    key, where = m.group(1), m.group(2).strip("/")
    node: Any = yaml.safe_load(schema_file.read_text(encoding="utf-8"))
    for part in [p for p in where.split("/") if p]:
        node = (node.get("mapping") or {}).get(part, {}) if isinstance(node, dict) else {}
    known = sorted((node.get("mapping") or {}) if isinstance(node, dict) else {})
    lower = {k.lower(): k for k in known}
    guess = lower.get(key.lower()) or next(iter(difflib.get_close_matches(key, known, n=1, cutoff=0.6)), None)
    section = f"'{where}:'" if where else "the pyradiomics block"
    if guess:
        return f"rename '{key}' to '{guess}' in {section}"
    return f"remove '{key}' from {section} (allowed: {', '.join(known[:12])}{' ...' if len(known) > 12 else ''})"


def _enabled_feature_count(params: dict[str, Any], cls: str) -> int:
    from radiomics import getFeatureClasses

    classes = getFeatureClasses()
    if cls not in classes:
        raise InputError(f"unknown feature class {cls!r}")
    listed = (params.get("featureClass") or {}).get(cls)
    names = classes[cls].getFeatureNames()  # name -> deprecated?
    if listed:
        return len(listed)
    return sum(1 for _, deprecated in names.items() if not deprecated)


def _derived_images(image_types: dict[str, Any], settings: dict[str, Any]) -> int:
    n = 0
    for itype, custom in image_types.items():
        custom = custom or {}
        if itype in _FIXED_IMAGES:
            n += _FIXED_IMAGES[itype]
        elif itype == "Wavelet":
            n += 8 * int(custom.get("level", settings.get("level", 1)))
        elif itype == "LoG":
            n += len(custom.get("sigma", settings.get("sigma", [])))
        elif itype == "LBP3D":
            n += 2 * int(custom.get("lbp3DLevels", settings.get("lbp3DLevels", 2))) + 1
        else:
            raise InputError(f"unknown image type {itype!r}")
    return n


def feature_count(params: dict[str, Any], include_shape: bool = True) -> int:
    """Number of features pyradiomics produces for a parameter block (shape counted once)."""
    fc = params.get("featureClass")
    if fc is None:
        from radiomics import getFeatureClasses

        fc = {c: None for c in getFeatureClasses()}
    image_types = params.get("imageType") or {"Original": {}}
    settings = params.get("setting") or {}
    per_image = sum(_enabled_feature_count(params, c) for c in fc if c not in ("shape", "shape2D"))
    total = per_image * _derived_images(image_types, settings)
    if include_shape:
        total += sum(_enabled_feature_count(params, c) for c in fc if c in ("shape", "shape2D"))
    return total


def single_phase_variants(name: str) -> list[tuple[str, str]]:
    """(preset, phase) of the shipped single-phase variants of a multi-phase preset (e.g. bi2025-ct-venous)."""
    out = []
    for n in available_presets():
        p = _parse(*_preset_text(n))
        if p.variant_of == name:
            out.append((p.name, p.phase))
    return out


def phase_refs(image: Any, preset: Preset | None) -> dict[str, Any]:
    """``{phase: image}`` in the preset's phase order (``{"": image}`` for a single-phase preset), checked.

    A single-phase preset takes one image (a one-entry mapping is accepted); a multi-phase one needs exactly
    its phases.
    """
    phases = tuple(preset.phases) if preset is not None and preset.phases else ()
    name = getattr(preset, "name", "")
    if not isinstance(image, Mapping):
        if phases:
            single = single_phase_variants(name)
            raise InputError(f"preset {name} needs one image per phase: "
                             + " ".join(f"--image {p}=PATH" for p in phases)
                             + (f"; or use {single[0][0]} for a single {single[0][1]} image" if single else ""))
        return {"": image}
    if not phases:
        if len(image) == 1:
            return {"": next(iter(image.values()))}
        raise InputError(f"preset {name} is single-phase but {len(image)} phase images were given; "
                         "give one --image PATH")
    missing = [p for p in phases if p not in image]
    unknown = sorted(set(image) - set(phases))
    if missing or unknown:
        raise InputError(f"preset {name} needs --image PHASE=PATH for phases {', '.join(phases)} "
                         f"(missing {missing}, unknown {unknown})")
    return {p: image[p] for p in phases}
