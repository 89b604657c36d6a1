"""Lucid's names that our API spells differently: a module-level ``__getattr__`` that names ours."""

from __future__ import annotations

from typing import Callable, Mapping


def lucid_name_lookup(module: str, hints: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__``: Lucid's names in ``hints`` raise an AttributeError with the hint and
    ``lucid_atlas.lucid``; any other missing name raises Python's usual error."""
    def __getattr__(name: str):
        if name in hints:
            raise AttributeError(f"{module} has no '{name}' (Lucid's name): {hints[name]}; Lucid code runs "
                                 f"unchanged through lucid_atlas.lucid")
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return __getattr__
