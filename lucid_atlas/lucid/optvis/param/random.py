"""Lucid's ``param.random``: random (not trainable) images with natural-image statistics."""

from __future__ import annotations

from ....optvis import param as ours
from .color import to_valid_rgb


def rand_fft_image(shape, sd=None, decay_power=1):
    """A new random Fourier-noise batch of ``shape`` at every call (unbounded)."""
    return ours.sample_fft_image(shape, sd, decay_power)


def image_sample(shape, decorrelate=True, sd=None, decay_power=1):
    """A new random image batch in [0, 1] at every call, e.g. backgrounds behind an alpha channel."""
    return to_valid_rgb(rand_fft_image(shape, sd=sd, decay_power=decay_power), decorrelate=decorrelate)
