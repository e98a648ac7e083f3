"""Model bundles: round trip in a fresh process, model card, and refusal of unsafe or mismatched files."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from bundle_helpers import FEATURES, PRESET_NAME, PRESET_SHA, edit_card, rewrite_member, synthetic_table, train

import nbrisk
from nbrisk.bundle.format import BUNDLE_FORMAT_VERSION, load_bundle, save_bundle, version_drift
from nbrisk.bundle.safety import UnsafeBundleError, audit_skops
from nbrisk.cli import main
from nbrisk.errors import ModelCompatibilityError

PKG_ROOT = str(Path(nbrisk.__file__).resolve().parents[1])


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": PKG_ROOT}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def table():
    return synthetic_table(40, seed=1)


@pytest.fixture(scope="module")
def bundles(table, tmp_path_factory):
    """One saved bundle per model family: {"lr": (path, trained), "svm": (path, trained)}."""
    x, y = table
    out = {}
    for kind in ("lr", "svm"):
        trained = train(x, y, kind)
        path = save_bundle(tmp_path_factory.mktemp("b") / f"{kind}.nbrisk", trained, PRESET_NAME, PRESET_SHA,
                           training_features=x, training_labels=y, synthetic=True)
        out[kind] = (path, trained)
    return out


@pytest.fixture(params=["lr", "svm"])
def saved(request, bundles, table):
    path, trained = bundles[request.param]
    return path, trained, table[0]


@pytest.fixture
def bundle_copy(bundles, tmp_path):
    dst = tmp_path / "copy.nbrisk"
    dst.write_bytes(bundles["lr"][0].read_bytes())
    return dst


# ----------------------------------------------------------------------------------------- round trip
def test_round_trip_in_fresh_process_gives_identical_probabilities(bundles, table, tmp_path):
    import pandas as pd

    table[0].to_csv(tmp_path / "x.csv", index=False)
    x = pd.read_csv(tmp_path / "x.csv")
    paths = {k: str(v[0]) for k, v in bundles.items()}
    code = ("import json, pandas as pd; from nbrisk.bundle.format import load_bundle; x = pd.read_csv('x.csv'); "
            f"print(json.dumps({{k: [float(v).hex() for v in load_bundle(p, expected_preset_sha256={PRESET_SHA!r})"
            f".predict_proba(x)] for k, p in {paths!r}.items()}}))")
    proc = _python(code, tmp_path)
    assert proc.returncode == 0, proc.stderr
    fresh = json.loads(proc.stdout)
    for kind, (_, trained) in bundles.items():
        probs = [float.fromhex(v) for v in fresh[kind]]
        assert probs == trained.pipeline.predict_proba(x)[:, 1].tolist()  # bit-identical, not merely close
        assert len(set(np.round(probs, 6))) > 5  # a real, non-constant model


def test_card_records_what_a_reviewer_needs(saved):
    path, trained, x = saved
    b = load_bundle(path)
    card = b.card
    assert card["bundle_format_version"] == BUNDLE_FORMAT_VERSION
    assert card["feature_names"] == FEATURES
    assert card["preset"] == {"name": PRESET_NAME, "sha256": PRESET_SHA}
    assert card["not_for_clinical_use"] is True and card["synthetic"] is True
    assert card["model"]["dropped_at_export"] == ["smote"]
    assert card["model"]["threshold"] == trained.threshold and card["model"]["positive_class"] == 1
    assert card["training"]["n"] == 40 and card["metrics"]["auc"] == 0.9
    assert {"scikit-learn", "numpy", "skops", "python", "pyradiomics-bhklab"} <= set(card["versions"])
    assert set(card["members"]) == {"model.skops", "reference.json"}
    # the exported pipeline is plain sklearn: no sampler left
    assert type(b.pipeline).__module__.startswith("sklearn.") and "smote" not in dict(b.pipeline.steps)
    # training reference: ranges match the data and the score histogram counts every case
    ref = b.reference
    assert ref["inputs"][FEATURES[1]]["max"] == pytest.approx(x[FEATURES[1]].max())
    assert sum(map(sum, ref["scores"]["counts"].values())) == len(x)


def test_inspect_prints_the_card(bundle_copy, capsys):
    assert main(["bundle", "inspect", str(bundle_copy)]) == 0
    out = capsys.readouterr().out
    assert "NOT FOR CLINICAL USE - trained on SYNTHETIC data" in out
    assert f"preset: {PRESET_NAME} (sha256 {PRESET_SHA})" in out
    assert f"features ({len(FEATURES)})" in out and "dropped at export: smote" in out
    assert main(["bundle", "inspect", str(bundle_copy), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["feature_names"] == FEATURES


# --------------------------------------------------------------------------------------- malicious files
class _PickleBomb:
    """Unpickling this opens (creates) ``marker``: the classic pickle code-execution payload."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _malicious_skops(clean: bytes, marker: Path) -> bytes:
    """Add an ``io.open(marker, 'w')`` constructor call to a skops file's root object state."""
    with zipfile.ZipFile(io.BytesIO(clean)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    schema = json.loads(members["schema.json"])

    def js(value: str, i: int) -> dict:
        return {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
                "content": json.dumps(value), "is_json": True, "__id__": 990000 + i}

    attrs = schema["content"]
    attrs["content"]["payload"] = {
        "__class__": "open", "__module__": "io", "__loader__": "ConstructorFromReduceNode", "__id__": 990010,
        "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "__id__": 990011,
                    "content": [js(str(marker), 1), js("w", 2)]},
    }
    attrs["key_types"]["content"].append(dict(attrs["key_types"]["content"][0]))
    members["schema.json"] = json.dumps(schema).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    return buf.getvalue()


def _model_member(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("model.skops")


def test_pickle_payload_is_live_but_never_run(bundle_copy, tmp_path):
    control, marker = tmp_path / "control_marker", tmp_path / "marker"
    # control: the payload really executes when unpickled (so "marker absent" below means "not run")
    pickle.loads(pickle.dumps(_PickleBomb(str(control)))).close()
    assert control.exists()
    payload = pickle.dumps(_PickleBomb(str(marker)))
    raw = tmp_path / "model.pkl"
    raw.write_bytes(payload)
    with pytest.raises(UnsafeBundleError, match="pickle file, not an NBRisk bundle"):
        load_bundle(raw)
    disguised = tmp_path / "disguised.nbrisk"
    disguised.write_bytes(payload)
    with pytest.raises(UnsafeBundleError, match="pickle"):
        load_bundle(disguised)
    # inside a bundle, with a correct checksum (the attacker recomputed it)
    rewrite_member(bundle_copy, "model.skops", payload, fix_checksum=True)
    with pytest.raises(UnsafeBundleError, match="pickle payload, not skops"):
        load_bundle(bundle_copy)
    assert main(["bundle", "inspect", str(bundle_copy)]) == 2
    # and 'bundle import' without --trust-pickle refuses before unpickling
    names = tmp_path / "names.txt"
    names.write_text("\n".join(FEATURES), encoding="utf-8")
    rc = main(["bundle", "import", str(raw), "--features", str(names), "--preset", PRESET_NAME,
               "--preset-sha256", PRESET_SHA, "--out", str(tmp_path / "imp.nbrisk")])
    assert rc == 2
    assert not marker.exists() and not (tmp_path / "imp.nbrisk").exists()


def test_skops_with_disallowed_type_is_refused_and_not_run(bundle_copy, tmp_path, capsys):
    import skops.io as sio

    control, marker = tmp_path / "control_marker", tmp_path / "marker"
    clean = _model_member(bundle_copy)
    # control: the naive "trust whatever the file lists" pattern runs the payload
    evil_control = _malicious_skops(clean, control)
    sio.loads(evil_control, trusted=sio.get_untrusted_types(data=evil_control)).payload.close()
    assert control.exists()
    evil = _malicious_skops(clean, marker)
    assert "io.open" in sio.get_untrusted_types(data=evil)
    with pytest.raises(UnsafeBundleError, match=r"io\.open \(ConstructorFromReduceNode\)"):
        audit_skops(evil, "evil.skops")
    rewrite_member(bundle_copy, "model.skops", evil, fix_checksum=True)
    with pytest.raises(UnsafeBundleError, match="outside NBRisk's allow-list"):
        load_bundle(bundle_copy)
    assert main(["bundle", "inspect", str(bundle_copy)]) == 2
    err = capsys.readouterr().err
    assert "io.open" in err and len(err.strip().splitlines()) == 1
    assert not marker.exists()


def test_types_skops_trusts_by_default_are_still_checked_against_our_list(tmp_path):
    import skops.io as sio
    from sklearn.neighbors import KNeighborsClassifier

    x, y = synthetic_table(20)
    data = sio.dumps(KNeighborsClassifier(n_neighbors=3).fit(x.to_numpy(), y))
    assert sio.get_untrusted_types(data=data) == [] or "KNeighbors" not in str(sio.get_untrusted_types(data=data))
    with pytest.raises(UnsafeBundleError, match="KNeighborsClassifier"):
        audit_skops(data, "knn.skops")


# --------------------------------------------------------------------------------------- tampering
def test_tampered_member_checksum_is_refused(bundle_copy):
    model = bytearray(_model_member(bundle_copy))
    other = _malicious_skops(bytes(model), Path("/nonexistent/never"))
    rewrite_member(bundle_copy, "model.skops", other)  # manifest hash left as it was
    with pytest.raises(UnsafeBundleError, match=r"checksum of model\.skops does not match"):
        load_bundle(bundle_copy)


def test_tampered_reference_and_extra_member_are_refused(bundle_copy, tmp_path):
    a = tmp_path / "a.nbrisk"
    a.write_bytes(bundle_copy.read_bytes())
    rewrite_member(a, "reference.json", b'{"inputs": {}}')
    with pytest.raises(UnsafeBundleError, match=r"checksum of reference\.json"):
        load_bundle(a)
    b = tmp_path / "b.nbrisk"
    b.write_bytes(bundle_copy.read_bytes())
    with zipfile.ZipFile(b, "a") as zf:
        zf.writestr("extra.pkl", b"\x80\x04.")
    with pytest.raises(UnsafeBundleError, match=r"do not match its whole-file checksum"):  # appended: seal broken
        load_bundle(b)
    rewrite_member(b, "extra.pkl", b"\x80\x04.")  # re-sealed by someone who knows the format
    with pytest.raises(UnsafeBundleError, match=r"unexpected member\(s\) extra\.pkl"):
        load_bundle(b)


# ------------------------------------------------------------------------------- preset / feature checks
def test_wrong_preset_is_refused(bundle_copy):
    assert load_bundle(bundle_copy, expected_preset_sha256=PRESET_SHA).preset_name == PRESET_NAME
    with pytest.raises(ModelCompatibilityError, match=f"trained on '{PRESET_NAME}'"):
        load_bundle(bundle_copy, expected_preset_sha256="0" * 64)


def test_wrong_feature_names_are_refused(bundle_copy, table):
    with pytest.raises(ModelCompatibilityError, match="lacks 1 feature"):
        load_bundle(bundle_copy, expected_feature_names=[*FEATURES[:-1], "original_glcm_Contrast"])
    renamed = [*FEATURES[:-1], "original_shape_Sphericity"]
    edit_card(bundle_copy, feature_names=renamed, input_columns=renamed)
    with pytest.raises(ModelCompatibilityError, match="card's feature names do not match"):
        load_bundle(bundle_copy)
    x, y = table
    trained = train(x, y, "lr")
    trained = dataclasses.replace(trained, feature_names=list(reversed(FEATURES)))  # wrong order = wrong names
    with pytest.raises(ModelCompatibilityError, match="fitted on columns that differ"):
        save_bundle(bundle_copy.with_name("bad.nbrisk"), trained, PRESET_NAME, PRESET_SHA)
    assert not bundle_copy.with_name("bad.nbrisk").exists()


def test_predict_proba_aligns_by_name_not_position(saved):
    path, trained, x = saved
    b = load_bundle(path)
    shuffled = x[list(reversed(FEATURES))]
    assert np.array_equal(b.predict_proba(shuffled), trained.pipeline.predict_proba(x)[:, 1])


def test_unknown_format_version_is_refused(bundle_copy):
    edit_card(bundle_copy, bundle_format_version=99)
    with pytest.raises(ModelCompatibilityError, match="format version 99 is not supported"):
        load_bundle(bundle_copy)


def test_version_drift_warns_and_strict_mode_refuses(bundle_copy):
    card_versions = load_bundle(bundle_copy).card["versions"]
    edit_card(bundle_copy, versions={**card_versions, "scikit-learn": "0.24.2"})
    b = load_bundle(bundle_copy)
    assert any("scikit-learn 0.24.2" in w for w in b.warnings)
    with pytest.raises(ModelCompatibilityError, match="version drift"):
        load_bundle(bundle_copy, strict_versions=True)
    assert version_drift({"numpy": "2.0.0"}, {"numpy": "2.9.1"}) == []  # numpy: major version only
    assert version_drift({"python": "3.11.7"}, {"python": "3.12.1"})


# ------------------------------------------------------------------------------------------- import
def test_import_trusted_pickle_makes_a_safe_bundle(table, tmp_path, capsys):
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = table
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x.to_numpy(), y)  # fitted without names
    joblib.dump(model, tmp_path / "model.joblib")
    names = tmp_path / "names.txt"
    names.write_text("\n".join(FEATURES) + "\n", encoding="utf-8")
    out = tmp_path / "imported.nbrisk"
    args = ["bundle", "import", str(tmp_path / "model.joblib"), "--features", str(names), "--preset", PRESET_NAME,
            "--preset-sha256", PRESET_SHA, "--out", str(out), "--threshold", "0.35", "--citation", "Someone 2024"]
    assert main(args) == 2 and not out.exists()  # no --trust-pickle
    assert "runs any code" in capsys.readouterr().err
    assert main([*args, "--trust-pickle"]) == 0
    captured = capsys.readouterr()
    assert "WARNING: unpickling" in captured.err and "wrote" in captured.out
    b = load_bundle(out, expected_preset_sha256=PRESET_SHA)
    assert b.threshold == 0.35 and b.card["model"]["citation"] == "Someone 2024"
    assert b.card["imported_from"] == "model.joblib"
    assert np.array_equal(b.predict_proba(x), model.predict_proba(x.to_numpy())[:, 1])
    names.write_text("\n".join(FEATURES[:3]), encoding="utf-8")
    assert main([*args, "--trust-pickle"]) == 2
    assert "takes 6 features but the names file lists 3" in capsys.readouterr().err


def test_sklearn_inconsistent_version_warning_becomes_a_bundle_warning(bundle_copy):
    clean = _model_member(bundle_copy)
    with zipfile.ZipFile(io.BytesIO(clean)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["schema.json"] = members["schema.json"].replace(b'\\"1.9', b'\\"0.9')  # _sklearn_version
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    rewrite_member(bundle_copy, "model.skops", buf.getvalue(), fix_checksum=True)
    b = load_bundle(bundle_copy)
    assert any(w.startswith("scikit-learn: Trying to unpickle estimator") for w in b.warnings), b.warnings
    with pytest.raises(ModelCompatibilityError):
        load_bundle(bundle_copy, strict_versions=True)


# ------------------------------------------------------------------- real recipes (nbrisk.modeling contract)
@pytest.mark.parametrize("recipe", [
    "lr", "svm", "zhang2026-combined", "bi2025-cox-nomogram",
    pytest.param("rf", marks=pytest.mark.slow), pytest.param("kim2024-rf", marks=pytest.mark.slow),
    pytest.param("jia2023-svm", marks=pytest.mark.slow),
])
def test_shipped_recipes_bundle_and_predict_identically(recipe, tmp_path):
    modeling = pytest.importorskip("nbrisk.modeling", reason="needs the modeling branch (nbrisk.modeling)")
    from nbrisk.modeling.synthetic import classification_tables, survival_tables
    from nbrisk.prediction.predict import predict_features

    rec = modeling.load_recipe(recipe)
    if rec.kind == "classification":
        feats, labels, clin = classification_tables(n=40, p=20, clinical=bool(rec.clinical), seed=1)
    else:
        feats, labels, clin = survival_tables(n=60, p=20, seed=1)
    trained = modeling.train(feats, labels, recipe, clinical_df=clin if rec.clinical else None, validate=False)
    raw = feats.set_index("case_id")
    if rec.clinical:
        raw = raw.join(clin.set_index("case_id"))
    path = save_bundle(tmp_path / f"{recipe}.nbrisk", trained, PRESET_NAME, PRESET_SHA, training_features=raw,
                       training_labels=labels["label"].tolist() if "label" in labels else None)
    b = load_bundle(path, expected_preset_sha256=PRESET_SHA)
    x = b.align(raw)
    if rec.kind == "classification":
        assert np.array_equal(b.predict_proba(raw), trained.pipeline.predict_proba(x)[:, 1])
    else:
        assert np.array_equal(b.pipeline.predict(x), trained.pipeline.predict(x))
    assert b.card["model"]["kind"] == rec.kind and b.card["clinical_inputs"] == trained.clinical_inputs
    row = raw.iloc[3]
    clinical = {c["name"]: row[c["name"]] for c in trained.clinical_inputs if row[c["name"]] == row[c["name"]]}
    pred = predict_features(b, row[trained.feature_names].to_dict(), clinical)
    assert pred.contributions and pred.risk_category in {"high", "low"}


def test_allow_list_covers_every_nbrisk_estimator_class():
    """Every estimator class nbrisk.modeling defines (but fit-only samplers) is on the one allow-list."""
    import inspect

    from sklearn.base import BaseEstimator

    from nbrisk.bundle.safety import ALLOWED
    from nbrisk.modeling import harmonize, pipeline, radscore, selectors
    from nbrisk.modeling.trained import NBRISK_ESTIMATORS

    defined = {f"{m.__name__}.{name}" for m in (selectors, radscore, pipeline, harmonize)
               for name, cls in inspect.getmembers(m, inspect.isclass)
               if cls.__module__ == m.__name__ and issubclass(cls, BaseEstimator) and not name.startswith("_")
               and not hasattr(cls, "fit_resample")}
    assert defined and defined == set(NBRISK_ESTIMATORS)
    assert ALLOWED["ObjectNode"] >= NBRISK_ESTIMATORS


def test_nbrisk_evaluate_reads_the_bundle_back_as_a_trained_model(tmp_path):
    modeling = pytest.importorskip("nbrisk.modeling", reason="needs the modeling branch (nbrisk.modeling)")
    from nbrisk.modeling.synthetic import classification_tables

    feats, labels, _ = classification_tables(n=40, p=12, seed=2)
    trained = modeling.train(feats, labels, "lr", validate=False)
    from nbrisk.cli.evaluate import load_trained
    from nbrisk.cli.train import save  # the path 'nbrisk train --out model.nbrisk' takes

    path = save(tmp_path / "m.nbrisk", trained, PRESET_NAME, PRESET_SHA, feats.set_index("case_id"), labels["label"])

    back = load_trained(path)
    for name in ("threshold", "positive_class", "kind", "classes", "recipe_name", "feature_names", "clinical_inputs",
                 "selected_features", "training_summary", "recipe"):
        assert getattr(back, name) == getattr(trained, name), name
    x = feats.set_index("case_id")
    assert np.array_equal(back.predict_score(x), trained.predict_score(x))


def test_edited_threshold_is_caught_only_by_the_published_hash(bundle_copy):
    from nbrisk.bundle.safety import sha256_bytes

    published = sha256_bytes(bundle_copy.read_bytes())
    b = load_bundle(bundle_copy, expected_sha256=published.upper())
    assert b.file_sha256 == published and b.summary()["file_sha256"] == published
    with zipfile.ZipFile(bundle_copy) as zf:
        card = json.loads(zf.read("manifest.json"))
    card["model"]["threshold"] = 0.01
    rewrite_member(bundle_copy, "manifest.json", json.dumps(card).encode())
    assert load_bundle(bundle_copy).threshold == 0.01  # the members' checksums do not cover the card itself
    with pytest.raises(UnsafeBundleError, match=r"copy\.nbrisk: file SHA-256 is .*, not the expected .*publisher"):
        load_bundle(bundle_copy, expected_sha256=published)


def test_the_published_hash_and_the_loaded_model_come_from_one_read(bundle_copy, monkeypatch):
    """The file is read once: a bundle swapped on disk between a hash check and the model load cannot pass
    with the published hash while the edited model is what gets loaded."""
    from nbrisk.bundle.safety import sha256_bytes

    published = sha256_bytes(bundle_copy.read_bytes())
    reads = []
    real = Path.read_bytes

    def counting(self):
        if self == bundle_copy:
            reads.append(self)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    real_zip = zipfile.ZipFile

    def from_memory_only(file, *a, **k):
        assert isinstance(file, io.BytesIO), f"{file} opened from disk a second time"
        return real_zip(file, *a, **k)

    monkeypatch.setattr(zipfile, "ZipFile", from_memory_only)
    assert load_bundle(bundle_copy, expected_sha256=published).file_sha256 == published
    assert len(reads) == 1


def test_a_combat_model_is_refused_as_a_bundle_it_could_not_predict_with(tmp_path):
    """ComBat needs the new patient's centre; until bundles carry it, saving one says so (nothing written)."""
    import dataclasses

    from nbrisk.modeling.harmonize import ComBat

    x, y = synthetic_table(40, seed=4)
    trained = train(x, y, "lr")
    steps = [("combat", ComBat(batch="centre")), *trained.pipeline.steps]
    with_combat = dataclasses.replace(trained, pipeline=type(trained.pipeline)(steps))
    with pytest.raises(ModelCompatibilityError, match="ComBat step needs each new patient's centre"):
        save_bundle(tmp_path / "c.nbrisk", with_combat, PRESET_NAME, PRESET_SHA)
    assert not (tmp_path / "c.nbrisk").exists()
