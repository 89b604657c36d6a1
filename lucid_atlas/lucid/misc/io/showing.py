"""Lucid's ``lucid.misc.io.showing``: show arrays as images (inline in a notebook, else a PNG file)."""

from __future__ import annotations

import numpy as np

from ....io.show import show as _show


def _in_domain(array, domain):
    array = np.asarray(array, np.float32)
    if domain is None:
        low, high = float(array.min()), float(array.max())
    else:
        low, high = domain
    return np.clip((array - low) / max(high - low, 1e-8), 0.0, 1.0)


def image(array, domain=None, w=None, format="png", **kwargs):
    """Show one image [H, W, C] whose pixels span ``domain`` (default: its min and max)."""
    return _show(_in_domain(array, domain)[None], min_size=w or 128)


def images(arrays, labels=None, domain=None, w=None):
    """Show images side by side, labelled (default: their index)."""
    labels = [str(l) for l in (labels if labels is not None else range(len(arrays)))]
    return _show([_in_domain(a, domain) for a in arrays], labels, min_size=w or 128)


def show(thing, domain=(0, 1), **kwargs):
    """Show an array as Lucid does: rank 4 as a row of images, rank 2 or 3 as one image."""
    array = np.asarray(thing)
    if array.ndim == 4:
        return images(list(array), domain=domain, **kwargs)
    if array.ndim in (2, 3):
        return image(array if array.ndim == 3 else array[..., None], domain=domain, **kwargs)
    raise ValueError(f"show displays arrays of rank 2, 3 (an image) or 4 (a batch); got shape {array.shape}")
