"""Lucid's ``lucid.optvis``: objectives, param, transform and render, on our engine."""

from . import objectives, param, render, transform

__all__ = ["objectives", "param", "render", "transform"]
