"""``nbrisk bundle``: inspect a model bundle, or import a trusted pickled scikit-learn model into one."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nbrisk.errors import InputError, MissingDependencyError

COMMAND = "bundle"
HELP = "inspect a .nbrisk model bundle, or wrap a trusted pickled scikit-learn model into one"

PICKLE_WARNING = ("WARNING: unpickling {path} runs any code it contains. Import only a model whose origin you "
                  "trust; the resulting .nbrisk bundle is safe to share and load from then on.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="bundle_action", metavar="ACTION", required=True)
    ins = sub.add_parser("inspect", help="verify a bundle and print its model card")
    ins.add_argument("bundle", type=Path, help="model bundle (.nbrisk)")
    ins.add_argument("--json", action="store_true", help="print the full card as JSON")
    imp = sub.add_parser("import", help="wrap a pickled/joblib scikit-learn SVM or LR model into a safe bundle")
    imp.add_argument("model", type=Path, help="pickled or joblib file with a fitted classifier/pipeline")
    imp.add_argument("--features", type=Path, required=True, help="text file: the feature names, one per line, "
                     "in the model's column order")
    imp.add_argument("--preset", required=True, help="name or path of the feature preset the model was trained on")
    imp.add_argument("--preset-sha256", help="the preset's content hash, if it differs from this installation's")
    imp.add_argument("--out", type=Path, required=True, help="bundle to write (.nbrisk)")
    imp.add_argument("--threshold", type=float, help="decision threshold on the probability (default 0.5)")
    imp.add_argument("--citation", help="publication or source of the model")
    imp.add_argument("--trust-pickle", action="store_true", help="required: confirm you trust the pickle's origin")


def run(args: argparse.Namespace) -> int:
    if args.bundle_action == "inspect":
        return _inspect(args)
    return _import(args)


def _inspect(args: argparse.Namespace) -> int:
    from nbrisk.bundle.card import card_lines
    from nbrisk.bundle.format import MODEL, read_verified, version_drift
    from nbrisk.bundle.safety import audit_skops, sha256_bytes

    members, card = read_verified(args.bundle)
    audit_skops(members[MODEL], str(args.bundle))  # the types, without constructing anything
    if args.json:
        print(json.dumps(card, indent=1))
        return 0
    for line in card_lines(card):
        print(line)
    print(f"file sha256: {sha256_bytes(args.bundle.read_bytes())} (compare with the hash its publisher gives)")
    for w in version_drift(card.get("versions", {})):
        print(f"warning: {w}")
    return 0


def resolve_preset(preset: str, override_sha256: str | None) -> tuple[str, str]:
    """Return (preset name, content hash) from ``nbrisk.features.presets``, or the name as given and the override."""
    if override_sha256:
        return preset, override_sha256.lower()
    try:
        from nbrisk.features.presets import load_preset
    except ImportError as exc:
        raise MissingDependencyError("this nbrisk has no preset registry; pass --preset-sha256") from exc
    loaded = load_preset(preset)
    return str(loaded.name), str(loaded.sha256)


def _import(args: argparse.Namespace) -> int:
    from nbrisk.bundle.pickle_import import import_pickle

    print(PICKLE_WARNING.format(path=args.model), file=sys.stderr)
    if not args.features.is_file():
        raise InputError(f"{args.features}: feature names file not found; give one name per line")
    names = [ln.strip() for ln in args.features.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not names:
        raise InputError(f"{args.features}: no feature names in the file; give one name per line")
    if len(set(names)) != len(names):
        raise InputError(f"{args.features}: duplicate feature names; give each name once, in column order")
    extras = {"citation": args.citation} if args.citation else {}
    name, sha = resolve_preset(args.preset, args.preset_sha256)
    out = import_pickle(args.model, names, name, sha, args.out, trust_pickle=args.trust_pickle,
                        threshold=args.threshold, **extras)
    print(f"wrote {out} ({out.stat().st_size} bytes); it loads without pickle from now on")
    return 0
