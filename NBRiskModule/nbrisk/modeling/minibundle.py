"""Minimal model bundle used until :mod:`nbrisk.bundle` exists: a folder with model.skops + model_card.json.

Only a stop-gap so ``nbrisk train``/``evaluate`` work end to end; when :mod:`nbrisk.bundle` is importable
the CLI uses it instead. Loading accepts only types from scikit-learn, imbalanced-learn,
scikit-survival, numpy/scipy and NBRisk's own estimators (skops, no pickle).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from nbrisk.errors import ModelCompatibilityError

CARD_FIELDS = ("feature_names", "clinical_inputs", "threshold", "positive_class", "metrics", "recipe_name",
               "citation", "training_summary", "kind", "recipe", "selected_features", "classes")
TRUSTED_PREFIXES = ("sklearn.", "imblearn.", "sksurv.", "numpy.", "scipy.", "nbrisk.modeling.", "builtins.",
                    "collections.", "pandas.")


def save_minibundle(path: Path, trained: Any, preset_name: str, preset_sha256: str) -> Path:
    """Write ``path/`` (model.skops + model_card.json) atomically."""
    import skops.io as sio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        sio.dump(trained.pipeline, tmp / "model.skops")
        card = {k: getattr(trained, k) for k in CARD_FIELDS}
        card.update({"bundle_format": "nbrisk-minibundle-0", "preset_name": preset_name,
                     "preset_sha256": preset_sha256})
        (tmp / "model_card.json").write_text(json.dumps(card, indent=2, default=str) + "\n", encoding="utf-8")
        if path.exists():
            shutil.rmtree(path)
        tmp.replace(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def load_minibundle(path: Path) -> Any:
    """Load a minimal bundle back into a :class:`~nbrisk.modeling.TrainedModel`."""
    import skops.io as sio

    from nbrisk.modeling import TrainedModel

    path = Path(path)
    card_file, model_file = path / "model_card.json", path / "model.skops"
    if not card_file.is_file() or not model_file.is_file():
        raise ModelCompatibilityError(f"{path}: not a model bundle (needs model.skops and model_card.json); "
                                      "train one with nbrisk train --out")
    card = json.loads(card_file.read_text(encoding="utf-8"))
    untrusted = sio.get_untrusted_types(file=model_file)
    bad = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if bad:
        raise ModelCompatibilityError(f"{path}: model contains untrusted type(s) {bad[:3]}; refusing to load it")
    pipeline = sio.load(model_file, trusted=untrusted)
    return TrainedModel(pipeline=pipeline, **{k: card[k] for k in CARD_FIELDS})
