"""Synthetic phantoms with known truth and the demo built on them."""
