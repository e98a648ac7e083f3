"""Per-patient prediction: contributions, warnings, the predict CLI and the rendered review report."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from bundle_helpers import (
    FEATURES,
    PRESET_NAME,
    PRESET_SHA,
    cohort_table,
    install_stub_extraction,
    stub_features,
    synthetic_table,
    train,
)

from nbrisk.bundle.format import load_bundle, save_bundle
from nbrisk.cli import main
from nbrisk.errors import InputError, ModelCompatibilityError
from nbrisk.io.images import write_image
from nbrisk.synthetic.phantom import PhantomSpec, make_phantom
from nbrisk.prediction.predict import predict_case, predict_features
from nbrisk.prediction.report import find_chromium, screenshot, write_report

AGE = {"name": "age_months", "type": "float", "unit": "months", "range": [0, 240]}
ARTIFACTS = Path(os.environ.get("NBRISK_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))


@pytest.fixture(scope="module")
def cohort(phantom_cohort):
    x, y = cohort_table(phantom_cohort)
    x["age_months"] = np.linspace(6.0, 90.0, len(x))
    return x, y


@pytest.fixture(scope="module")
def lr_bundle(cohort, tmp_path_factory):
    x, y = cohort
    trained = train(x, y, "lr", clinical=[AGE])
    path = save_bundle(tmp_path_factory.mktemp("m") / "lr.nbrisk", trained, PRESET_NAME, PRESET_SHA,
                       training_features=x, training_labels=y, synthetic=True)
    return load_bundle(path)


@pytest.fixture(scope="module")
def holdout(tmp_path_factory):
    """Two held-out phantoms (texture class 0 and 1) written to disk, with their stub features."""
    root = tmp_path_factory.mktemp("holdout")
    out = {}
    for cls in (0, 1):
        ph = make_phantom(PhantomSpec(texture_class=cls, tumour_radius_mm=(14.0, 12.0, 13.0),
                                      tumour_offset_mm=(20.0, -8.0, 0.0)), seed=4242 + cls)
        write_image(ph.image, root / f"hold{cls}_image.nrrd")
        write_image(ph.tumour, root / f"hold{cls}_mask.nrrd")
        out[cls] = (root / f"hold{cls}_image.nrrd", root / f"hold{cls}_mask.nrrd", ph,
                    stub_features(ph.image, ph.tumour))
    return out


# ------------------------------------------------------------------------------------------ contributions
def test_linear_contributions_are_exact(lr_bundle, holdout):
    feats = holdout[1][3]
    pred = predict_features(lr_bundle, feats, {"age_months": 30}, top=100)
    x = lr_bundle.align(feats, {"age_months": 30})
    logit = float(lr_bundle.pipeline.decision_function(x)[0])
    assert pred.baseline + sum(c.contribution for c in pred.contributions) == pytest.approx(logit, abs=1e-9)
    assert len(pred.contributions) == len(FEATURES) + 1
    mags = [abs(c.contribution) for c in pred.contributions]
    assert mags == sorted(mags, reverse=True)
    assert all((c.contribution >= 0) == (c.direction == "raises risk") for c in pred.contributions)
    assert pred.contribution_method.startswith("exact linear")


def test_occlusion_contributions_find_the_informative_feature(tmp_path):
    x, y = synthetic_table(40, seed=3)  # the class signal is only in StandardDeviation
    path = save_bundle(tmp_path / "svm.nbrisk", train(x, y, "svm"), PRESET_NAME, PRESET_SHA,
                       training_features=x, training_labels=y)
    b = load_bundle(path)
    row = x.median().to_dict() | {"original_firstorder_StandardDeviation": 2.8}
    pred = predict_features(b, row, top=3)
    assert pred.contribution_method.startswith("occlusion")
    top = pred.contributions[0]
    assert top.feature == "original_firstorder_StandardDeviation" and top.direction == "raises risk"
    assert abs(top.contribution) > 5 * abs(pred.contributions[1].contribution)


# ----------------------------------------------------------------------------------- classes and warnings
def test_threshold_sets_class_and_category(lr_bundle, holdout):
    feats = holdout[1][3]
    p = predict_features(lr_bundle, feats, {"age_months": 30}).probability
    for thr, cls, cat in ((p - 0.01, 1, "high"), (min(p + 0.01, 1.0), 0, "low")):
        card = json.loads(json.dumps(lr_bundle.card))
        card["model"]["threshold"] = thr
        pred = predict_features(dataclasses.replace(lr_bundle, card=card), feats, {"age_months": 30})
        assert (pred.predicted_class, pred.risk_category) == (cls, cat)
        assert any(w.startswith("borderline") for w in pred.warnings)


def test_warnings_for_range_clinical_inputs_and_versions(lr_bundle, cohort):
    feats = cohort[0].iloc[1][FEATURES].to_dict()  # a training case: inside the training range by definition
    clean = predict_features(lr_bundle, feats, {"age_months": 30})
    assert not any("outside" in w or "missing" in w for w in clean.warnings)
    feats["original_firstorder_Maximum"] *= 10
    pred = predict_features(lr_bundle, feats, {})
    text = " | ".join(pred.warnings)
    assert "1 input(s) outside the training range: original_firstorder_Maximum=" in text
    median = lr_bundle.reference["inputs"]["age_months"]["median"]
    assert f"missing clinical input age_months: used the training median {median:g} months" in text
    assert pred.inputs["age_months"] == median
    assert next(c for c in predict_features(lr_bundle, feats, {}, top=99).contributions
                if c.feature == "original_firstorder_Maximum").out_of_range
    assert "outside its valid range [0, 240]" in " ".join(
        predict_features(lr_bundle, feats, {"age_months": 500}).warnings)
    with pytest.raises(InputError, match="no clinical input 'weight'"):
        predict_features(lr_bundle, feats, {"weight": 3})
    with pytest.raises(InputError, match="not a number"):
        predict_features(lr_bundle, feats, {"age_months": "old"})
    drifted = dataclasses.replace(lr_bundle, warnings=("version drift: model saved with numpy 1.26.0, running 2",))
    assert any("version drift" in w for w in predict_features(drifted, feats, {"age_months": 30}).warnings)


# ------------------------------------------------------------------------------------- predict_case + CLI
def test_predict_case_separates_held_out_phantoms(lr_bundle, holdout, monkeypatch):
    install_stub_extraction(monkeypatch)
    probs = {}
    for cls in (0, 1):
        _, _, ph, _ = holdout[cls]
        pred = predict_case(lr_bundle, ph.image, ph.tumour, {"age_months": 24}, case_id=f"hold{cls}")
        probs[cls] = pred.probability
        assert pred.predicted_class == cls
    assert probs[1] > lr_bundle.threshold > probs[0]


def test_predict_case_refuses_a_changed_preset(lr_bundle, holdout, monkeypatch):
    install_stub_extraction(monkeypatch, sha="6" * 64)
    with pytest.raises(ModelCompatibilityError, match=f"preset '{PRESET_NAME}' here has hash 666666666666"):
        predict_case(lr_bundle, holdout[1][2].image, holdout[1][2].tumour, {"age_months": 24})


def test_predict_cli_writes_json_and_report(lr_bundle, holdout, monkeypatch, tmp_path, capsys):
    install_stub_extraction(monkeypatch)
    image, mask, _, _ = holdout[1]
    idrf = tmp_path / "idrf.json"
    idrf.write_text(json.dumps({"items": [{"id": "R1", "label": "Encasement of the aorta", "present": True},
                                          {"id": "R2", "label": "Spinal canal extension", "present": False}]}))
    out = tmp_path / "pred"
    args = ["predict", "--model", str(lr_bundle.path), "--image", str(image), "--mask", str(mask), "--out", str(out),
            "--clinical", "age_months=20", "--case-id", "NB-007", "--idrf", str(idrf), "--no-pdf"]
    assert main(args) == 0
    stdout = capsys.readouterr().out
    assert "case NB-007: probability" in stdout and "-> class 1, risk high" in stdout
    data = json.loads((out / "prediction.json").read_text(encoding="utf-8"))
    assert data["case_id"] == "NB-007" and data["predicted_class"] == 1 and data["probability"] > data["threshold"]
    assert data["inputs"]["age_months"] == 20.0 and len(data["contributions"]) == len(FEATURES) + 1
    assert data["source"] == {"image": image.name, "mask": mask.name, "label": 1, "segment": None,
                              "model": lr_bundle.path.name}
    assert data["model"]["synthetic"] is True and data["report"]["pdf"] is None
    assert data["model"]["file_sha256"] == hashlib.sha256(lr_bundle.path.read_bytes()).hexdigest()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "NB-007" in html and "NOT FOR CLINICAL USE" in html and "SYNTHETIC" in html
    assert html.count("data:image/png;base64,") == 3
    assert "Encasement of the aorta" in html and "absent" in html
    assert sorted(p.name for p in out.iterdir()) == ["prediction.json", "report.html"]
    assert data["model"]["file_sha256"] in html
    again = tmp_path / "again"  # the publisher's hash given: accepted
    assert main([str(again) if a == str(out) else a for a in args]
                + ["--model-sha256", data["model"]["file_sha256"]]) == 0
    assert (again / "prediction.json").is_file()


def test_predict_cli_errors_are_one_line_and_leave_no_output(lr_bundle, holdout, monkeypatch, tmp_path, capsys):
    install_stub_extraction(monkeypatch)
    image, mask, _, _ = holdout[1]
    out = tmp_path / "pred"
    base = ["predict", "--model", str(lr_bundle.path), "--image", str(image), "--mask", str(mask), "--out", str(out)]
    for extra, msg in ((["--clinical", "age_months"], "write NAME=VALUE"),
                       (["--clinical", "height=3"], "no clinical input 'height'"),
                       (["--label", "7"], "label"),
                       (["--model-sha256", "ab" * 32], "not the published bundle")):
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        lines = [ln for ln in err.strip().splitlines() if not ln.startswith("nbrisk predict [")]  # progress steps
        assert msg in err and len(lines) == 1 and ": error: " in lines[0], err
    assert not out.exists() or not any(out.iterdir())


# ------------------------------------------------------------------------------------------------ report
@pytest.mark.skipif(find_chromium() is None, reason="Chromium not installed (apt-get install chromium); "
                    "CI installs it, so this check runs there")
def test_report_renders_in_chromium_with_pdf(lr_bundle, holdout, tmp_path):
    from PIL import Image

    feats = dict(holdout[1][3])
    feats["original_firstorder_Maximum"] *= 10  # so the warnings section has content
    pred = predict_features(lr_bundle, feats, {}, case_id="NB-SHOT")
    files = write_report(tmp_path, pred.to_dict(), lr_bundle.card, lr_bundle.reference, holdout[1][2].image,
                         holdout[1][2].tumour, pdf=True)
    pdf = files["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000 and pdf.count(b"/Type /Page") >= 2
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = screenshot(files["html"], ARTIFACTS / "report_screenshot.png", width=1280, height=3000)
    (ARTIFACTS / "report.pdf").write_bytes(pdf)
    im = np.asarray(Image.open(shot).convert("RGB"))
    assert im.shape[:2] == (3000, 1280)
    # the red "not for clinical use" banner and the ROI figures are really painted (not a blank page)
    banner = (np.abs(im.astype(int) - [176, 0, 32]).sum(axis=2) < 30).sum()
    assert banner > 20_000
    assert (im[:1500].std(axis=2) > 0).mean() > 0.01 and len(np.unique(im[600:1400].reshape(-1, 3), axis=0)) > 200


# -------------------------------------------------------------------------------------------- demo step
def test_demo_step_bundles_and_predicts_a_held_out_patient(cohort, phantom_cohort, monkeypatch, tmp_path):
    from nbrisk.synthetic.demo import DemoContext
    from nbrisk.synthetic.demo_steps import s50_predict

    install_stub_extraction(monkeypatch)
    x, y = cohort
    x[FEATURES].rename_axis("case_id").reset_index().to_csv(tmp_path / "features.csv", index=False)
    logs: list[str] = []
    ctx = DemoContext(out_dir=tmp_path / "demo", log=logs.append, state={
        "trained": train(x[FEATURES], y, "lr"), "preset": PRESET_NAME, "features_csv": tmp_path / "features.csv",
        "labels": phantom_cohort.parent / "labels.csv"})
    monkeypatch.setattr("nbrisk.prediction.report.find_chromium", lambda: None)  # PDF is covered by the Chromium test
    s50_predict.run(ctx)
    b = load_bundle(ctx.state["bundle"], expected_preset_sha256=PRESET_SHA)
    assert b.card["synthetic"] is True and "DEMONSTRATION ONLY" in b.card["intended_use"]
    assert ctx.state["report"].is_file() and "SYNTHETIC" in ctx.state["report"].read_text(encoding="utf-8")
    assert ctx.state["prediction"].predicted_class == 1  # the held-out phantom has the class-1 texture
    assert any("held-out synthetic patient" in ln and "probability" in ln for ln in logs)
    assert any(ln.startswith("report: ") for ln in logs)


# ------------------------------------------------------------- real extraction (foundation: features/presets)
@pytest.mark.slow
@pytest.mark.radiomics
def test_cli_predict_with_real_pyradiomics_features(phantom_cohort, holdout, tmp_path, capsys):
    """Train on real pyradiomics features of the phantom cohort, bundle, and predict a held-out phantom."""
    import pandas as pd

    pytest.importorskip("nbrisk.features.extract", reason="needs the foundation (nbrisk.features.extract)")
    from nbrisk.features.cohort import extract_manifest
    from nbrisk.features.presets import load_preset

    preset = load_preset("pyradiomics-default")
    extract_manifest(phantom_cohort, preset, tmp_path / "features.csv")
    table = pd.read_csv(tmp_path / "features.csv").set_index("case_id")
    labels = pd.read_csv(phantom_cohort.parent / "labels.csv").set_index("case_id")["label"].loc[table.index]
    names = ["original_firstorder_Mean", "original_firstorder_90Percentile", "original_glcm_Contrast",
             "original_firstorder_Entropy", "original_shape_MeshVolume"]
    trained = train(table[names], labels, "lr")
    trained = dataclasses.replace(trained, feature_names=names)
    path = save_bundle(tmp_path / "real.nbrisk", trained, preset.name, preset.sha256,
                       training_features=table[names], training_labels=labels)
    for cls in (0, 1):
        image, mask, _, _ = holdout[cls]
        out = tmp_path / f"pred{cls}"
        assert main(["predict", "--model", str(path), "--image", str(image), "--mask", str(mask), "--out", str(out),
                     "--no-pdf"]) == 0, capsys.readouterr().err
        data = json.loads((out / "prediction.json").read_text(encoding="utf-8"))
        assert data["predicted_class"] == cls, data
        assert set(data["inputs"]) == set(names) and data["model"]["preset"]["sha256"] == preset.sha256


def test_report_for_a_minimal_imported_bundle(tmp_path, holdout):
    """A bundle without training reference (e.g. imported) still predicts and renders, saying what is missing."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from nbrisk.bundle.pickle_import import import_pickle

    x, y = synthetic_table(30, seed=4)
    import joblib

    joblib.dump(make_pipeline(StandardScaler(), LogisticRegression()).fit(x.to_numpy(), y), tmp_path / "m.pkl")
    b = load_bundle(import_pickle(tmp_path / "m.pkl", FEATURES, PRESET_NAME, PRESET_SHA, tmp_path / "m.nbrisk",
                                  trust_pickle=True))
    pred = predict_features(b, x.iloc[0].to_dict())
    assert "the bundle carries no training ranges; out-of-range inputs cannot be flagged" in pred.warnings
    assert pred.contribution_method.startswith("exact linear") and pred.baseline == pytest.approx(
        float(b.pipeline[-1].intercept_[0]))
    html = write_report(tmp_path / "r", pred.to_dict(), b.card, b.reference, holdout[0][2].image,
                        holdout[0][2].tumour, pdf=False)["html"].read_text(encoding="utf-8")
    assert "No training distribution stored in the model bundle" in html
    assert "SYNTHETIC" not in html and "default 0.5 (unknown training threshold)" in html
    assert html.count("data:image/png;base64,") == 3


def test_predict_cli_multi_phase_model(lr_bundle, holdout, monkeypatch, tmp_path, capsys):
    install_stub_extraction(monkeypatch, phases=("arterial", "venous"))
    image, mask, _, _ = holdout[1]
    out = tmp_path / "pred"
    base = ["predict", "--model", str(lr_bundle.path), "--mask", str(mask), "--out", str(out), "--no-pdf",
            "--clinical", "age_months=12"]
    assert main([*base, "--image", str(image)]) == 2
    assert "needs one image per phase: --image arterial=PATH --image venous=PATH" in capsys.readouterr().err
    assert main([*base, "--image", f"arterial={image}", "--image", f"portal={image}"]) == 2
    assert "missing ['venous'], unknown ['portal']" in capsys.readouterr().err
    assert main([*base, "--image", f"arterial={holdout[0][0]}", "--image", f"venous={image}"]) == 0
    data = json.loads((out / "prediction.json").read_text(encoding="utf-8"))
    assert data["source"]["image"] == {"arterial": holdout[0][0].name, "venous": image.name}
    assert data["predicted_class"] == 1  # features come from the venous (last) phase: the class-1 phantom


def test_report_shows_an_nbrisk_idrf_checklist(lr_bundle, holdout, tmp_path):
    idrf = pytest.importorskip("nbrisk.staging.idrf", reason="needs the IDRF branch (nbrisk.staging.idrf)")
    cl = idrf.Checklist.new("NB-007", reader="reader A")
    first = cl.idrf_ids[0]
    cl.set(first, "present", note="seen on axial 42")
    pred = predict_features(lr_bundle, holdout[1][3], {"age_months": 20}, case_id="NB-007")
    html = write_report(tmp_path, pred.to_dict(), lr_bundle.card, lr_bundle.reference, idrf=cl.to_dict(),
                        pdf=False)["html"].read_text(encoding="utf-8")
    label = next(i["label"] for i in idrf.idrf_items() if i["id"] == first)
    assert f"1 of {len(cl.idrf_ids)} IDRFs present" in html and "reader reader A" in html
    assert "seen on axial 42" in html and label.split("<")[0][:30] in html
    assert "No image-defined risk factor checklist" not in html


def test_report_shows_inrg_stage_and_risk_group(lr_bundle, holdout, tmp_path, capsys):
    """The `nbrisk inrg --json` result goes into the report beside the checklist (issue 8's report bullet)."""
    from nbrisk.cli import main as cli_main

    assert cli_main(["inrg", "--stage", "L2", "--age-months", "20", "--histology", "neuroblastoma", "--grade",
                     "poorly_differentiated", "--mycn", "not_amplified", "--11q", "absent", "--ploidy",
                     "hyperdiploid", "--json"]) == 0
    inrg = json.loads(capsys.readouterr().out)
    pred = predict_features(lr_bundle, holdout[1][3], {"age_months": 20}, case_id="NB-008")
    html = write_report(tmp_path, pred.to_dict(), lr_bundle.card, lr_bundle.reference, pdf=False,
                        inrg=inrg)["html"].read_text(encoding="utf-8")
    assert "INRGSS stage L2" in html
    assert "INRG pretreatment group H (intermediate)" in html
    plain = write_report(tmp_path / "b", pred.to_dict(), lr_bundle.card, lr_bundle.reference,
                         pdf=False)["html"].read_text(encoding="utf-8")
    assert "INRGSS stage" not in plain
