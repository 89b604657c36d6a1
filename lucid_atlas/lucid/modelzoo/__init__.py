"""Lucid's ``lucid.modelzoo``: ``vision_models.InceptionV1()`` and friends, backed by our zoo."""

from . import vision_models

__all__ = ["vision_models"]
