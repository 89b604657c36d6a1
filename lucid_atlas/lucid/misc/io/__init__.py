"""Lucid's ``lucid.misc.io``: ``show``, ``load`` and ``save`` for images, arrays, JSON and text."""

from .loading import load
from .saving import save
from .showing import show

__all__ = ["load", "save", "show"]
