"""ImageNet-1k class names and WordNet synsets, in the standard sorted-synset index order."""

from __future__ import annotations

import functools
import os

_LABELS_FILE = os.path.join(os.path.dirname(__file__), "data", "imagenet_labels.tsv")


@functools.lru_cache(maxsize=None)
def _rows() -> tuple[tuple[str, str], ...]:
    with open(_LABELS_FILE, encoding="utf-8") as f:
        return tuple(tuple(line.rstrip("\n").split("\t", 1)) for line in f if line.strip())


def imagenet_synsets() -> tuple[str, ...]:
    """The 1000 synsets (``n01440764``, ...) in class-index order."""
    return tuple(s for s, _ in _rows())


def imagenet_labels() -> tuple[str, ...]:
    """The 1000 class names (``tench``, ``goldfish``, ...) in class-index order."""
    return tuple(n for _, n in _rows())
