"""Wrap a pickled/joblib scikit-learn model into a safe ``.nbrisk`` bundle (``nbrisk bundle import``).

Unpickling runs whatever code the file holds, so this happens only with an explicit ``trust_pickle=True``
(the CLI's ``--trust-pickle``), once, here. The result is an ordinary bundle that loads without pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nbrisk.bundle.format import save_bundle
from nbrisk.bundle.safety import UnsafeBundleError
from nbrisk.errors import InputError, ModelCompatibilityError
from nbrisk.modeling.trained import TrainedModel


def import_pickle(pickle_path: str | Path, feature_names: Sequence[str], preset_name: str, preset_sha256: str,
                  out: str | Path, *, trust_pickle: bool = False, threshold: float | None = None,
                  **card_extras: Any) -> Path:
    """Wrap a pickled/joblib scikit-learn classifier into a safe bundle (the pickle is run once, here).

    Only with ``trust_pickle=True``: unpickling runs whatever code the file holds. The model must give
    probabilities and take exactly ``feature_names`` (in that order); its types must pass the allow-list.
    """
    import joblib
    from sklearn.pipeline import Pipeline

    src = Path(pickle_path)
    if not trust_pickle:
        raise UnsafeBundleError(f"{src}: importing a pickle runs any code it contains; re-run with --trust-pickle "
                                "only if you trust where the file came from")
    if not src.is_file():
        raise InputError(f"{src}: model file not found; check the path")
    try:
        model = joblib.load(src)
    except Exception as exc:  # unpickling can fail in many ways; the message names the file and reason
        raise InputError(f"{src}: cannot unpickle the model ({type(exc).__name__}: {exc}); "
                         "check it is a scikit-learn model saved with pickle/joblib") from exc
    if not hasattr(model, "predict_proba"):
        raise ModelCompatibilityError(f"{src}: {type(model).__name__} gives no probabilities; wrap an SVC in "
                                      "CalibratedClassifierCV or save a LogisticRegression")
    names = list(feature_names)
    n_in = getattr(model, "n_features_in_", None)
    if n_in is not None and int(n_in) != len(names):
        raise ModelCompatibilityError(f"{src}: model takes {n_in} features but the names file lists {len(names)}; "
                                      "give the names in training order")
    fitted_names = getattr(model, "feature_names_in_", None)
    if fitted_names is not None and list(fitted_names) != names:
        raise ModelCompatibilityError(f"{src}: model was fitted on other feature names (first: {fitted_names[0]}); "
                                      "give the names in training order")
    pipeline = model if hasattr(model, "steps") else Pipeline([("model", model)])
    classes = list(getattr(model, "classes_", [0, 1]))
    rule = "given at import" if threshold is not None else "default 0.5 (unknown training threshold)"
    trained = TrainedModel(
        pipeline=pipeline, feature_names=names, clinical_inputs=[], kind="classification",
        threshold=0.5 if threshold is None else float(threshold), positive_class=classes[-1], metrics={},
        recipe_name="imported", citation=str(card_extras.pop("citation", None) or ""), training_summary={},
        classes=classes, threshold_rule=rule,
    )
    return save_bundle(out, trained, preset_name, preset_sha256, imported_from=src.name, **card_extras)
