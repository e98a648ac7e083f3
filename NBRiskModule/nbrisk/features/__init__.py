"""Feature extraction: presets, preprocessing, the pyradiomics-equal engine and cohorts."""
