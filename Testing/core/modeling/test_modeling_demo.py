"""The demo step s30_model trains a seed recipe on the cohort's feature table and writes the plots."""

from __future__ import annotations

import pytest

from nbrisk.synthetic.demo import DemoContext
from nbrisk.synthetic.demo_steps import s30_model
from nbrisk.modeling import TrainedModel
from nbrisk.modeling.synthetic import classification_tables


@pytest.mark.parametrize("recipe", ["lr", pytest.param(None, marks=pytest.mark.slow)])  # None: the step's default
def test_demo_step_trains_logs_auc_and_writes_plots(tmp_path, recipe):
    f, lab, _ = classification_tables(n=24, p=30, informative=4, effect=2.0, seed=0)
    fcsv, lcsv = tmp_path / "features.csv", tmp_path / "labels.csv"
    f.to_csv(fcsv, index=False)
    lab.to_csv(lcsv, index=False)
    lines: list[str] = []
    ctx = DemoContext(out_dir=tmp_path / "demo", log=lines.append,
                      state={"features_csv": fcsv, "labels": lcsv, "preset": "pyradiomics-default"})
    if recipe:
        ctx.state["recipe"] = recipe
    s30_model.run(ctx)
    assert ctx.state["trained"].recipe_name == (recipe or s30_model.RECIPE)
    assert isinstance(ctx.state["trained"], TrainedModel)
    assert ctx.state["model_dir"] == tmp_path / "demo" / "model"
    assert any("AUC" in ln and "95% CI" in ln for ln in lines)
    assert ctx.state["cv_metrics"]["auc"] > 0.8 and ctx.state["trained"].metrics["auc"] > 0.8
    for plot in ("roc", "calibration", "dca"):
        assert (ctx.state["model_dir"] / f"{plot}.png").is_file()
        assert (ctx.state["model_dir"] / f"{plot}.svg").is_file()


def test_demo_step_skips_without_features(tmp_path):
    lines: list[str] = []
    s30_model.run(DemoContext(out_dir=tmp_path, log=lines.append))
    assert lines and lines[0].startswith("skipped")
