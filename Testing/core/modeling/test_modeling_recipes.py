"""Recipes: every shipped YAML validates and builds its pipeline; user files and typos give clear errors."""

from __future__ import annotations

import pytest
from imblearn.pipeline import Pipeline

from nbrisk.errors import InputError
from nbrisk.modeling import build_pipeline, load_recipe, shipped_recipes
from nbrisk.modeling.recipe import MODEL_PARAMS, STEP_PARAMS

SEED_RECIPES = {"jia2023-svm", "kim2024-rf", "bi2025-cox-nomogram", "zhang2026-combined", "lr", "svm", "rf"}


def test_all_seed_recipes_are_shipped():
    assert set(shipped_recipes()) >= SEED_RECIPES


@pytest.mark.parametrize("name", sorted(SEED_RECIPES))
def test_shipped_recipe_is_valid_and_builds(name):
    rec = load_recipe(name)
    assert rec.citation and rec.name == name and len(rec.sha256) == 64
    pipe = build_pipeline(rec)
    assert isinstance(pipe, Pipeline)
    for step, params in rec.steps:
        assert set(params) <= STEP_PARAMS[step]
    assert set(rec.model) - {"type"} <= MODEL_PARAMS[rec.model_type]
    # every search key names a real parameter of the pipeline
    assert set(rec.search) <= set(pipe.get_params())


def test_seed_specific_settings():
    jia = build_pipeline("jia2023-svm")
    names = [n for n, _ in jia.steps]
    assert names.index("univariate") < names.index("lasso") < names.index("smote") < names.index("model")
    svc = jia.named_steps["model"].estimator
    assert (svc.C, svc.gamma) == (100, 0.01)
    assert type(jia.named_steps["model"]).__name__ == "CalibratedClassifierCV"
    kim = build_pipeline("kim2024-rf")
    assert kim.named_steps["mrmr"].n_features == 10 and kim.named_steps["forward"].max_features == 2
    bi = load_recipe("bi2025-cox-nomogram")
    assert bi.kind == "survival" and {c.name for c in bi.clinical} == {"ki67", "metastasis"}
    zh = load_recipe("zhang2026-combined")
    assert {c.name for c in zh.clinical} == {"ferritin", "nse"}


def test_user_recipe_file(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("name: mine\nsteps:\n  - scale: {}\n  - mrmr: {n_features: 3}\n  - model: {type: lr, C: 0.5}\n",
                 encoding="utf-8")
    rec = load_recipe(f)
    assert rec.name == "mine" and rec.kind == "classification"
    assert build_pipeline(rec).named_steps["model"].C == 0.5


@pytest.mark.parametrize(("text", "match"), [
    ("steps:\n  - scale: {}\n", "last step"),
    ("steps:\n  - sclae: {}\n  - model: {type: lr}\n", "unknown step 'sclae'"),
    ("steps:\n  - mrmr: {k: 3}\n  - model: {type: lr}\n", r"unknown parameter\(s\) \['k'\]"),
    ("steps:\n  - model: {type: xgboost}\n", "model type 'xgboost' unknown"),
    ("steps:\n  - smote: {}\n  - scale: {}\n  - model: {type: lr}\n", "before 'smote'"),
    ("steps:\n  - smote: {}\n  - model: {type: cox}\n", "classification recipes only"),
    ("steps:\n  - model: {type: lr}\nvalidation: {scheme: loo}\n", "scheme 'loo' unknown"),
    ("steps:\n  - model: {type: lr}\nclinical:\n  - {name: sex, type: categorical, missing: median}\n", "categorical"),
    ("steps: [\n", "not valid YAML"),
])
def test_bad_recipes_give_one_line_errors(tmp_path, text, match):
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match) as exc:
        load_recipe(f)
    assert "\n" not in str(exc.value)


def test_unknown_recipe_name_lists_the_shipped_ones():
    with pytest.raises(InputError, match="jia2023-svm"):
        load_recipe("nope")
