"""Lucid's ``param.lowres``: a tensor interpolated from a lower-resolution variable."""

from __future__ import annotations

import tensorflow as tf

from ....optvis import param as ours


def _resize_linear(t: tf.Tensor, shape) -> tf.Tensor:
    """Linear interpolation of every axis whose size changes (Lucid's resize_bilinear_nd)."""
    for axis, size in enumerate(shape):
        old = t.shape[axis]
        if old == size:
            continue
        moved = tf.experimental.numpy.moveaxis(t, axis, -1)
        flat = tf.reshape(moved, [-1, 1, old, 1])
        flat = tf.image.resize(flat, [1, size], "bilinear")
        t = tf.experimental.numpy.moveaxis(tf.reshape(flat, moved.shape[:-1] + [size]), -1, axis)
    return t


def lowres_tensor(shape, underlying_shape, offset=None, sd=None):
    """A tensor of ``shape`` interpolated from a variable of ``underlying_shape`` (noise ``sd``, 0.01).

    ``offset`` shifts the interpolation as in Lucid: a number (or list, one per axis), ``True``
    for half the upsampling ratio, ``False``/``None`` for none.
    """
    raw = ours.pixel_image(list(underlying_shape), sd or 0.01)()  # a variable's value, any rank
    t = _resize_linear(raw, list(shape))
    if offset is not None:
        offset = list(offset) if isinstance(offset, (list, tuple)) else len(shape) * [offset]
        for n in range(len(offset)):
            if offset[n] is True:
                offset[n] = shape[n] / underlying_shape[n] / 2
            if offset[n] is False:
                offset[n] = 0
            offset[n] = int(offset[n])
        t = tf.pad(t, [(pad, 0) for pad in offset], "SYMMETRIC")
        t = tf.slice(t, len(shape) * [0], list(shape))
    return t


__all__ = ["lowres_tensor"]
