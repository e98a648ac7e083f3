"""Prediction for one case, the feature review and the HTML/PDF report."""
