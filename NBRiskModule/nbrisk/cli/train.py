"""``nbrisk train``: fit a recipe on all given cases and save a model bundle."""

from __future__ import annotations

import argparse
import hashlib
import logging
from pathlib import Path
from typing import Any

from nbrisk.cli._model_args import add_data_arguments, add_scheme_arguments, fmt_metrics, read_keep, scheme_kwargs

COMMAND = "train"
HELP = "train a model recipe on all given cases (with cross-validated metrics) and save a model bundle"
logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data_arguments(p)
    add_scheme_arguments(p)
    p.add_argument("--preset", help="the extraction preset the features came from (name or YAML); recorded in the "
                                    "bundle so predictions refuse features from another preset")
    p.add_argument("--no-cv", action="store_true", help="skip cross-validation (the card then has no CV metrics)")
    p.add_argument("--out", type=Path, required=True, help="bundle path, e.g. model.nbrisk")
    p.add_argument("--created", metavar="ISO-TIME",
                   help="time written in the card's 'created' (default: now, or SOURCE_DATE_EPOCH when set); pin it "
                        "and the same inputs give a byte-identical bundle")


def preset_identity(preset: str | None) -> tuple[str, str]:
    """(name, sha256) of the extraction preset, via nbrisk.features.presets when available."""
    if preset is None:
        logger.warning("no --preset given: the bundle cannot check that features come from the same preset")
        return "unspecified", ""
    try:
        from nbrisk.features.presets import load_preset
    except ImportError:
        path = Path(preset)
        sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        return (path.stem if path.is_file() else preset), sha
    p = load_preset(preset)
    return p.name, p.sha256


def save(path: Path, trained: Any, preset_name: str, preset_sha: str, training: Any = None,
         labels: Any = None, created: str | None = None) -> Path:
    """Save a ``.nbrisk`` bundle with the training reference data (the card comes from the model itself)."""
    from nbrisk.bundle.format import save_bundle

    return save_bundle(path, trained, preset_name, preset_sha, training_features=training, training_labels=labels,
                       created=created)


def run(args: argparse.Namespace) -> int:
    from nbrisk.cli._progress import Steps
    from nbrisk.modeling import train
    from nbrisk.modeling.data import prepare
    from nbrisk.modeling.recipe import load_recipe

    created = _created(args.created)
    steps = Steps("train", 3, quiet=args.quiet)
    steps("reading the tables and the recipe")
    name, sha = preset_identity(args.preset)
    keep = read_keep(args.keep)
    kwargs = scheme_kwargs(args)
    recipe = load_recipe(args.recipe)
    ds, _ = prepare(args.features, args.labels, recipe, args.clinical, keep, args.positive)
    steps(("fitting the final model" if args.no_cv else "cross-validating, then fitting the final model")
          + f" ({recipe.name}, {len(ds.y)} cases x {len(ds.feature_names)} features)")
    trained = train(args.features, args.labels, args.recipe, args.clinical, keep,
                    positive=args.positive, validate=not args.no_cv, **kwargs)
    labels = ds.y.tolist() if ds.kind == "classification" else None
    steps(f"writing {args.out}")
    out = save(args.out, trained, name, sha, training=ds.X, labels=labels, created=created)
    steps.done()
    s = trained.training_summary
    print(f"trained {trained.recipe_name} on {s['n']} cases with {len(trained.feature_names)} features "
          f"(selected: {', '.join(trained.selected_features[:8])}"
          f"{' ...' if len(trained.selected_features) > 8 else ''})")
    if trained.metrics:
        print(f"cross-validated: {fmt_metrics(trained.metrics)}")
    print(f"threshold {trained.threshold:.4f} ({trained.threshold_rule}); saved {out}")
    return 0


def _created(text: str | None) -> str | None:
    """Check ``--created`` (ISO 8601) and return it normalised to UTC seconds."""
    import datetime as _dt

    from nbrisk.errors import InputError

    if text is None:
        return None
    try:
        t = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--created {text!r}: give an ISO time such as 2026-01-31T12:00:00+00:00") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC).isoformat(timespec="seconds")
