"""Tumour segmentation: the backend interface, the seeded grow and region competition."""
