"""Lucid's ``param.images``: the default image parameterization."""

from __future__ import annotations

import tensorflow as tf

from .color import to_valid_rgb
from .spatial import fft_image, pixel_image


def image(w, h=None, batch=None, sd=None, decorrelate=True, fft=True, alpha=False, channels=None):
    """An image batch [batch, h, w, 3] in [0, 1] (4 channels with ``alpha``).

    With ``channels`` given, every channel is a plain sigmoid (no color decorrelation), as in
    Lucid; that is how Lucid makes images of any number of channels.
    """
    h = h or w
    batch = batch or 1
    ch = channels or (4 if alpha else 3)
    t = (fft_image if fft else pixel_image)([batch, h, w, ch], sd=sd)
    if channels:
        return tf.nn.sigmoid(t)
    output = to_valid_rgb(t[..., :3], decorrelate=decorrelate, sigmoid=True)
    if alpha:
        output = tf.concat([output, tf.nn.sigmoid(t[..., 3:])], -1)
    return output


def grayscale_image_rgb(*args, **kwargs):
    """A one-channel image repeated to RGB (takes :func:`image`'s arguments)."""
    return tf.tile(image(*args, channels=1, **kwargs), (1, 1, 1, 3))
