"""nbrisk.prediction.review: what the panel shows for a prediction and a model card (plain data, no Qt)."""

from __future__ import annotations

from nbrisk.prediction import review

PREDICTION = {"case_id": "c1", "probability": 0.2, "score": 0.2, "threshold": 0.45, "predicted_class": "low",
              "positive_class": "high", "risk_category": "below threshold",
              "contributions": [{"feature": f"f{i}", "value": i * 1.5, "contribution": -0.1 * i,
                                 "direction": "lowers risk"} for i in range(12)],
              "warnings": ["age_months missing"], "model": {"recipe": "jia2023-svm"}}


def test_prediction_view_formats_the_core_prediction() -> None:
    view = review.prediction_view(PREDICTION)
    assert (view.score_text, view.class_text, view.threshold_text) == ("0.20", "low", "0.45")
    assert view.category_text == "below threshold"
    assert view.colour == review.NEGATIVE_RGB                 # predicted class != positive class
    assert len(view.contributions) == 8 and view.contributions[1] == review.ContributionRow("f1", "1.5",
                                                                                          "-0.1 (lowers risk)")
    assert view.warnings == ("age_months missing",)
    assert view.table_rows[0] == ("Model", "jia2023-svm")
    assert ("Warning", "age_months missing") in view.table_rows
    assert view.slice_text == "NBRisk: p=0.20 class=low [below threshold]"


def test_colour_follows_the_class_or_the_threshold() -> None:
    assert review.prediction_view({"probability": 0.7, "threshold": 0.5}).colour == review.POSITIVE_RGB
    assert review.prediction_view({"probability": 0.3, "threshold": 0.5}).colour == review.NEGATIVE_RGB
    assert review.prediction_view({"predicted_class": 1, "positive_class": 1}).colour == review.POSITIVE_RGB
    empty = review.prediction_view({})
    assert empty.colour == review.UNKNOWN_RGB and empty.score_text == "-"


def test_card_lines_show_the_research_flag_first_and_nested_fields() -> None:
    card = {"not_for_clinical_use": True, "intended_use": "research",
            "model": {"recipe": "lr", "citation": "Kim 2024", "threshold": 0.41234, "positive_class": 1},
            "preset": {"name": "kim2024-mri-2d", "sha256": "ab"}, "training": {"n": 46, "positives": 20},
            "metrics": {"auc": 0.81, "scheme": "cv"}, "feature_names": ["a", "b"]}
    lines = dict(review.card_lines(card))
    assert review.card_lines(card)[0][0] == "Use"
    assert lines["Recipe"] == "lr" and lines["Citation"] == "Kim 2024" and lines["Decision threshold"] == "0.4123"
    assert lines["Feature preset"] == "kim2024-mri-2d" and review.card_preset(card) == "kim2024-mri-2d"
    assert lines["Training data"] == "n=46, positives=20" and lines["CV metrics"] == "auc=0.81"
    assert lines["Features"] == "2"


def test_clinical_fields_come_from_the_card() -> None:
    card = {"clinical_inputs": [{"name": "age_months", "type": "float", "unit": "months", "range": [0, 216]},
                                {"name": "mycn", "type": "category", "choices": ["amplified", "not_amplified"]},
                                "ferritin"]}
    age, mycn, ferritin = review.clinical_fields(card)
    assert (age.label, age.low, age.high) == ("age_months (months)", 0.0, 216.0)
    assert mycn.choices == ("amplified", "not_amplified") and ferritin.name == "ferritin"
    assert review.clinical_fields({}) == []


def test_classes_are_shown_by_name_never_as_a_code() -> None:
    """Issue 16: the panel showed the predicted class as "1"; names come from the model card."""
    coded = {"model": {"classes": [0, 1], "positive_class": 1}, "risk_labels": {"high": "INRG high"}}
    assert review.class_names(coded) == {"0": "low risk", "1": "INRG high risk"}
    named = {"model": {"classes": ["ganglioneuroblastoma", "neuroblastoma"], "positive_class": "neuroblastoma"}}
    assert review.class_names(named) == {"ganglioneuroblastoma": "ganglioneuroblastoma",
                                         "neuroblastoma": "neuroblastoma"}
    explicit = {"model": {"classes": [0, 1], "positive_class": 1, "class_names": {"1": "surgical risk"}}}
    assert review.class_names(explicit)["1"] == "surgical risk"
    prediction = {"probability": 0.8, "threshold": 0.5, "predicted_class": 1, "positive_class": 1,
                  "risk_category": "high"}
    assert review.prediction_view(prediction, names=review.class_names(coded)).class_text == "INRG high risk"
    assert review.prediction_view(prediction).class_text == "high risk"   # no card at hand (reopened scene)
    assert "class=high risk" in review.prediction_view(prediction).slice_text
