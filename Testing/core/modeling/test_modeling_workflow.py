"""Training, validation schemes, clinical inputs, input errors and the CLI verbs cv/train/evaluate."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nbrisk.cli import main
from nbrisk.errors import InputError
from nbrisk.modeling import TrainedModel, cross_validate, train
from nbrisk.modeling.synthetic import classification_tables, survival_tables

FAST = {"n_repeats": 1}


@pytest.fixture(scope="module")
def cls_tables():
    return classification_tables(n=70, p=60, informative=5, effect=1.2, seed=3, clinical=True)


@pytest.fixture(scope="module")
def surv_tables():
    return survival_tables(n=120, p=30, seed=1)


def _write(tmp_path, tables, prefix=""):
    paths = []
    for name, df in zip(("features", "labels", "clinical"), tables, strict=False):
        p = tmp_path / f"{prefix}{name}.csv"
        df.to_csv(p, index=False)
        paths.append(p)
    return paths


def test_train_follows_the_trained_model_contract(cls_tables):
    f, lab, clin = cls_tables
    tm = train(f, lab, "zhang2026-combined", clin, **FAST)
    assert isinstance(tm, TrainedModel) and tm.kind == "classification"
    assert tm.feature_names == list(f.columns[1:])
    assert [c["name"] for c in tm.clinical_inputs] == ["ferritin", "nse"]
    assert all({"name", "type", "unit", "range"} <= set(c) for c in tm.clinical_inputs)
    assert tm.positive_class == 1 and tm.recipe_name == "zhang2026-combined" and "Zhang" in tm.citation
    assert tm.training_summary["n"] == 70 and tm.training_summary["n_positive"] == int(lab["label"].sum())
    assert 0.75 < tm.metrics["auc"] <= 1 and tm.metrics["auc_ci_low"] < tm.metrics["auc"] < tm.metrics["auc_ci_high"]
    X = pd.concat([f.set_index("case_id"), clin.set_index("case_id")], axis=1)[tm.input_columns]
    p = tm.pipeline.predict_proba(X)[:, 1]
    assert 0 < tm.threshold < 1 and ((p >= tm.threshold) == lab["label"].to_numpy()).mean() > 0.8
    # informative columns are the first five
    assert any(s in tm.selected_features for s in f.columns[1:6])
    # the inference pipeline (no sampler) gives the same probabilities
    assert not any(hasattr(s, "fit_resample") for _, s in tm.inference_pipeline().steps)


def test_determinism(cls_tables):
    f, lab, _ = cls_tables
    a, _, _ = cross_validate(f, lab, "jia2023-svm", n_splits=3, **FAST)
    b, _, _ = cross_validate(f, lab, "jia2023-svm", n_splits=3, **FAST)
    np.testing.assert_array_equal(a.score, b.score)


def test_nested_cv_and_fixed_split(cls_tables, tmp_path):
    f, lab, _ = cls_tables
    nested, _, _ = cross_validate(f, lab, "lr", scheme="nested", n_splits=3, n_repeats=1)
    assert nested.scheme == "nested" and len(nested.details["best_params"]) == 3
    split_file = tmp_path / "split.csv"
    fixed, _ds, _ = cross_validate(f, lab, "lr", scheme="fixed_split", test_size=0.2)
    assert fixed.details["n_test"] == 14 and len(fixed.y) == 14
    fixed.details["split"].to_csv(split_file, index=False)
    again, _, _ = cross_validate(f, lab, "lr", split_file=split_file)
    assert again.case_ids == fixed.case_ids
    np.testing.assert_allclose(again.score, fixed.score)


def test_survival_recipe_learns_the_signal(surv_tables):
    f, lab, clin = surv_tables
    preds, _, _ = cross_validate(f, lab, "bi2025-cox-nomogram", clin, **FAST)
    from nbrisk.modeling.workflow import headline

    m = headline(preds)
    assert m["c_index"] > 0.6 and m["td_auc_12"] > 0.6 and m["logrank_p"] < 0.05
    tm = train(f, lab, "bi2025-cox-nomogram", clin, validate=False)
    assert tm.kind == "survival" and "radscore" in tm.selected_features


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda f, lab: (f.assign(**{f.columns[3]: np.nan}), lab), "NaN"),
    (lambda f, lab: (f, lab.assign(label=0)), "only one class"),
    (lambda f, lab: (f, lab.assign(label=np.where(lab["label"] == 1, "high", "low"))), "declare the positive"),
    (lambda f, lab: (f.iloc[:-3], lab), "have no row in features"),
    (lambda f, lab: (f, lab.iloc[:-2]), "have no row in labels"),
    (lambda f, lab: (f, lab.assign(label=(np.arange(len(lab)) < 3).astype(int))), "only 3 cases"),
    (lambda f, lab: (pd.concat([f, f.iloc[:1]]), lab), "appears 2 times"),
])
def test_input_errors_are_clear(cls_tables, mutate, match):
    f, lab, _ = cls_tables
    f2, lab2 = mutate(f.copy(), lab.copy())
    with pytest.raises(InputError, match=match):
        cross_validate(f2, lab2, "lr", **FAST)


def test_named_classes_with_declared_positive(cls_tables):
    f, lab, _ = cls_tables
    named = lab.assign(label=np.where(lab["label"] == 1, "high", "low"))
    preds, ds, _ = cross_validate(f, named, "lr", positive="high", **FAST)
    assert ds.positive_class == "high" and preds.y.sum() == lab["label"].sum()


def test_missing_clinical_column_is_a_clear_error(cls_tables):
    f, lab, clin = cls_tables
    with pytest.raises(InputError, match=r"required clinical column\(s\) \['nse'\] absent"):
        cross_validate(f, lab, "zhang2026-combined", clin.drop(columns="nse"), **FAST)
    with pytest.raises(InputError, match="pass --clinical"):
        cross_validate(f, lab, "zhang2026-combined", **FAST)


def test_cli_cv_train_evaluate(tmp_path, cls_tables, capsys):
    fpath, lpath, _cpath = _write(tmp_path, cls_tables)
    out = tmp_path / "cv"
    rc = main(["cv", "--features", str(fpath), "--labels", str(lpath), "--recipe", "lr", "--repeats", "1",
               "--compare", "svm", "--out", str(out)])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    for key in ("auc", "auc_ci_low", "auc_ci_high", "sensitivity", "specificity", "accuracy", "brier",
                "hosmer_lemeshow_p", "decision_curve", "cv_test_vs_comparison", "auc_pooled", "auc_ci_method"):
        assert key in m
    assert "delong_vs_comparison" not in m and "Nadeau-Bengio" in m["auc_ci_method"]  # DeLong: test sets only
    assert m["cv_test_vs_comparison"]["df"] == 4 and 0 <= m["cv_test_vs_comparison"]["p"] <= 1
    for plot in ("roc", "calibration", "dca"):
        assert (out / f"{plot}.png").stat().st_size > 1000 and (out / f"{plot}.svg").is_file()
    assert "AUC" in capsys.readouterr().out
    model = tmp_path / "model.nbrisk"
    assert main(["train", "--features", str(fpath), "--labels", str(lpath), "--recipe", "lr", "--no-cv",
                 "--preset", "pyradiomics-default", "--out", str(model)]) == 0
    from nbrisk.bundle.format import load_bundle
    from nbrisk.features.presets import load_preset

    card = load_bundle(model).card
    assert card["preset"] == {"name": "pyradiomics-default", "sha256": load_preset("pyradiomics-default").sha256}
    assert card["model"]["recipe"] == "lr" and card["recipe"]["name"] == "lr" and card["selected_features"]
    test_tables = classification_tables(n=40, p=60, informative=5, effect=1.2, seed=4)
    ft, lt = _write(tmp_path, test_tables[:2], prefix="test_")
    ev = tmp_path / "ev"
    assert main(["evaluate", "--model", str(model), "--features", str(ft), "--labels", str(lt), "--out", str(ev)]) == 0
    em = json.loads((ev / "metrics.json").read_text(encoding="utf-8"))
    assert em["n"] == 40 and em["auc"] > 0.7


def test_cli_survival_writes_km_and_nomogram(tmp_path, surv_tables):
    fpath, lpath, cpath = _write(tmp_path, surv_tables)
    out = tmp_path / "cv"
    rc = main(["cv", "--features", str(fpath), "--labels", str(lpath), "--clinical", str(cpath),
               "--recipe", "bi2025-cox-nomogram", "--repeats", "1", "--out", str(out)])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    for key in ("c_index", "td_auc_6", "td_auc_12", "td_auc_24", "logrank_p", "nomogram"):
        assert key in m
    assert {a["name"] for a in m["nomogram"]["axes"]} == {"radscore", "ki67", "metastasis"}
    for plot in ("km", "nomogram", "td_auc", "calibration"):
        assert (out / f"{plot}.png").is_file() and (out / f"{plot}.svg").is_file()
    model = tmp_path / "cox.nbrisk"
    assert main(["train", "--features", str(fpath), "--labels", str(lpath), "--clinical", str(cpath),
                 "--recipe", "bi2025-cox-nomogram", "--no-cv", "--out", str(model)]) == 0
    ext = survival_tables(n=80, p=30, seed=9)
    fe, le, ce = _write(tmp_path, ext, prefix="ext_")
    ev = tmp_path / "ev"
    assert main(["evaluate", "--model", str(model), "--features", str(fe), "--labels", str(le),
                 "--clinical", str(ce), "--out", str(ev)]) == 0
    em = json.loads((ev / "metrics.json").read_text(encoding="utf-8"))
    assert em["n"] == 80 and em["c_index"] > 0.6 and (ev / "nomogram.svg").is_file()


def test_cli_errors_exit_2_without_output(tmp_path, cls_tables, capsys):
    f, lab, _ = cls_tables
    fpath, lpath = _write(tmp_path, (f, lab.assign(label=1)))
    out = tmp_path / "cv"
    rc = main(["cv", "--features", str(fpath), "--labels", str(lpath), "--recipe", "lr", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("nbrisk cv: error:") and err.count("\n") == 1
    assert not out.exists()
    rc = main(["cv", "--features", str(fpath), "--labels", str(lpath), "--recipe", "nope", "--out", str(out)])
    assert rc == 2


def test_train_a_recipe_with_smote_reports_selected_features():
    f, lab, _ = classification_tables(n=40, p=20, informative=3, effect=1.5, seed=1)
    tm = train(f, lab, "jia2023-svm", validate=False)
    assert tm.selected_features and set(tm.selected_features) <= set(tm.feature_names)
    assert "smote" in dict(tm.pipeline.steps) and "smote" not in dict(tm.inference_pipeline().steps)
    X = f.set_index("case_id")[tm.feature_names]
    np.testing.assert_array_equal(tm.inference_pipeline().predict_proba(X), tm.pipeline.predict_proba(X))


def test_kept_list_restricts_the_features(cls_tables, tmp_path):
    from nbrisk.cli._model_args import read_keep

    f, lab, _ = cls_tables
    keep_file = tmp_path / "kept.txt"
    keep_file.write_text("# ICC >= 0.75\n" + "\n".join(f.columns[3:13]) + "\nnot_a_feature\n", encoding="utf-8")
    keep = read_keep(keep_file)
    tm = train(f, lab, "lr", keep=keep, validate=False)
    assert tm.feature_names == list(f.columns[3:13])
    assert set(tm.selected_features) <= set(f.columns[3:13])
    with pytest.raises(InputError, match="shares no name"):
        train(f, lab, "lr", keep=["nope"], validate=False)
