"""Helpers for the bundle/predict tests: a quickly fitted TrainedModel and a small real-data feature table.

``train`` fits a recipe-like imblearn pipeline and wraps it in the real
:class:`~nbrisk.modeling.trained.TrainedModel`. Features are first-order statistics and the voxel volume
computed with numpy from synthetic phantoms (two texture classes), so the models learn a real signal.
``install_stub_extraction`` replaces the preset loader and extraction that prediction calls by fast
stand-ins computing those same features.
"""

from __future__ import annotations

import io
import json
import types
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import SimpleITK as sitk

from nbrisk.modeling.trained import TrainedModel

PRESET_NAME = "stub_firstorder"
PRESET_SHA = "5" * 64
FEATURES = [
    "original_firstorder_Mean",
    "original_firstorder_StandardDeviation",
    "original_firstorder_10Percentile",
    "original_firstorder_90Percentile",
    "original_firstorder_Maximum",
    "original_shape_VoxelVolume",
]


def stub_features(image: sitk.Image, mask: sitk.Image) -> dict[str, float]:
    """First-order statistics of the ROI and its volume (mm^3), with pyradiomics-style names."""
    a = sitk.GetArrayViewFromImage(image).astype(float)
    m = sitk.GetArrayViewFromImage(mask) > 0
    v = a[m]
    voxel = float(np.prod(image.GetSpacing()))
    vals = [v.mean(), v.std(), np.percentile(v, 10), np.percentile(v, 90), v.max(), m.sum() * voxel]
    return {n: float(x) for n, x in zip(FEATURES, vals, strict=True)}


def cohort_table(manifest: Path) -> tuple[pd.DataFrame, pd.Series]:
    """Return (features indexed by case_id, labels) for a phantom cohort manifest."""
    root = manifest.parent
    rows = pd.read_csv(manifest)
    labels = pd.read_csv(root / "labels.csv").set_index("case_id")["label"]
    feats = {}
    for r in rows.itertuples():
        feats[r.case_id] = stub_features(sitk.ReadImage(str(root / r.image)), sitk.ReadImage(str(root / r.mask)))
    df = pd.DataFrame.from_dict(feats, orient="index")[FEATURES]
    return df, labels.loc[df.index]


def train(x: pd.DataFrame, y: pd.Series, kind: str = "lr", clinical: list[dict] | None = None) -> TrainedModel:
    """Fit a recipe-like imblearn pipeline (scaler → SMOTE → LR or calibrated SVC) on ``x``."""
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import Pipeline
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    est = LogisticRegression(C=1.0) if kind == "lr" else CalibratedClassifierCV(SVC(C=10.0, gamma=0.1), cv=3)
    pipe = Pipeline([("scale", StandardScaler()), ("smote", SMOTE(random_state=0, k_neighbors=2)), ("model", est)])
    pipe.fit(x, y)
    return TrainedModel(pipeline=pipe, feature_names=[c for c in x.columns if c in FEATURES],
                        clinical_inputs=clinical or [], threshold=0.5, positive_class=1,
                        metrics={"auc": 0.9, "auc_ci": [0.8, 0.97]}, recipe_name="test_recipe",
                        citation="Test et al. 2026", kind="classification", classes=[0, 1],
                        training_summary={"n": len(x), "class_balance": {str(k): int(v) for k, v in
                                                                         y.value_counts().items()}})


def synthetic_table(n: int = 40, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A quick numeric table with FEATURES columns where the 2nd column carries the class signal."""
    rng = np.random.default_rng(seed)
    y = pd.Series(np.arange(n) % 2, name="label")
    x = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=FEATURES)
    x["original_firstorder_StandardDeviation"] += 2.0 * y
    return x, y


def rewrite_member(path: Path, name: str, data: bytes, fix_checksum: bool = False) -> None:
    """Replace one zip member in place (an attacker's edit); optionally also update its manifest hash."""
    import hashlib

    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[name] = data
    if fix_checksum and name != "manifest.json":
        card = json.loads(members["manifest.json"])
        card["members"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        members["manifest.json"] = json.dumps(card).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    from nbrisk.bundle.safety import seal_zip

    path.write_bytes(seal_zip(buf.getvalue()))  # an attacker who knows the format re-seals the file


def edit_card(path: Path, **changes: Any) -> None:
    with zipfile.ZipFile(path) as zf:
        card = json.loads(zf.read("manifest.json"))
    card.update(changes)
    rewrite_member(path, "manifest.json", json.dumps(card).encode())


def install_stub_extraction(monkeypatch: Any, sha: str = PRESET_SHA, phases: tuple[str, ...] = ()) -> None:
    """Replace the preset loader and feature extraction that prediction calls by fast stand-ins.

    Patched where prediction looks them up (``nbrisk.prediction.predict`` and the single-case loader), so the
    real extraction never runs. With ``phases`` the stub preset is multi-phase: extraction then needs
    ``{phase: image}`` and takes the intensity features from the last phase.
    """

    def load_preset(name_or_path: Any) -> Any:
        return types.SimpleNamespace(name=str(name_or_path), sha256=sha, feature_count=len(FEATURES), phases=phases,
                                     preprocessing={}, pyradiomics_params=dict)

    def extract_features(image: Any, mask: sitk.Image, preset: Any, **_: Any) -> Any:
        if phases:
            assert isinstance(image, dict) and list(image) == list(phases), image
            image = image[phases[-1]]
        return types.SimpleNamespace(values=stub_features(image, mask), diagnostics={}, preset_sha256=sha,
                                     pyradiomics_version="3.1.4")

    monkeypatch.setattr("nbrisk.prediction.predict.load_preset", load_preset)
    monkeypatch.setattr("nbrisk.features.presets.load_preset", load_preset)  # the demo's bundle step
    monkeypatch.setattr("nbrisk.prediction.predict.extract_features", extract_features)
