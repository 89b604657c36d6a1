"""Adversarial patches: composite, evaluate against a noise baseline, and discover them from atlases."""
