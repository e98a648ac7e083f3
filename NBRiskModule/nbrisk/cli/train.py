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
         labels: Any = None) -> Path:
    """Save a ``.nbrisk`` bundle with the training reference data (the card comes from the model itself)."""
    from nbrisk.bundle.format import save_bundle

    return save_bundle(path, trained, preset_name, preset_sha, training_features=training, training_labels=labels)


def run(args: argparse.Namespace) -> int:
    from nbrisk.modeling import train

    from nbrisk.modeling.data import prepare
    from nbrisk.modeling.recipe import load_recipe

    name, sha = preset_identity(args.preset)
    keep = read_keep(args.keep)
    trained = train(args.features, args.labels, args.recipe, args.clinical, keep,
                    positive=args.positive, validate=not args.no_cv, **scheme_kwargs(args))
    ds, _ = prepare(args.features, args.labels, load_recipe(args.recipe), args.clinical, keep, args.positive)
    labels = ds.y.tolist() if ds.kind == "classification" else None
    out = save(args.out, trained, name, sha, training=ds.X, labels=labels)
    s = trained.training_summary
    print(f"trained {trained.recipe_name} on {s['n']} cases with {len(trained.feature_names)} features "
          f"(selected: {', '.join(trained.selected_features[:8])}{' ...' if len(trained.selected_features) > 8 else ''})")
    if trained.metrics:
        print(f"cross-validated: {fmt_metrics(trained.metrics)}")
    print(f"threshold (training Youden / median risk): {trained.threshold:.4f}; saved {out}")
    return 0
