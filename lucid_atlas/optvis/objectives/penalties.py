"""Penalties and regularizers (subtract them, or weigh them with :func:`relative_to`): total
variation, L1, L2, blur, difference from an image, boundary complexity, opacity; and sums."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from ..fused import fused
from ..transform import gaussian_blur
from .core import INPUT, Objective, ObjectiveLike, as_objective
from .parts import _per_batch, _spatial_mean, _spatial_sum

def total_variation(layer: str = INPUT) -> Objective:
    """Total variation (a penalty: subtract it): sum of absolute neighbor differences."""
    def inner(T):
        t = T(layer)
        return _spatial_sum(tf.abs(t[:, 1:] - t[:, :-1])) + _spatial_sum(tf.abs(t[:, :, 1:] - t[:, :, :-1]))
    return Objective(inner, "total_variation()" if layer == INPUT else f"total_variation({layer})", [layer])


def L1(layer: str = INPUT, constant: float = 0.0, batch: int | None = None) -> Objective:
    """L1 norm of ``T(layer) - constant`` per image (a penalty: subtract it)."""
    fn = _per_batch(lambda a: _spatial_sum(tf.abs(a - constant)), layer, batch)
    return Objective(fn, f"L1({'' if layer == INPUT else layer}{'' if not constant else f', {constant:g}'})", [layer])


def L2(layer: str = INPUT, constant: float = 0.0, epsilon: float = 1e-6, batch: int | None = None) -> Objective:
    """L2 norm of ``T(layer) - constant`` per image (a penalty: subtract it)."""
    fn = _per_batch(lambda a: tf.sqrt(epsilon + _spatial_sum((a - constant) ** 2)), layer, batch)
    return Objective(fn, f"L2({'' if layer == INPUT else layer}{'' if not constant else f', {constant:g}'})", [layer])


def blur_input_each_step() -> Objective:
    """A penalty whose gradient step equals blurring the input a little every step (subtract it)."""
    def inner(T):
        t = T(INPUT)
        blurred = tf.stop_gradient(gaussian_blur(t, 1.0, 1))
        return 0.5 * _spatial_sum((t - blurred) ** 2)
    return Objective(inner, "blur_input_each_step()", [INPUT])


def input_diff(orig_img) -> Objective:
    """RMS distance from a reference image in [0, 1] (a penalty: subtract it)."""
    ref = tf.constant(np.asarray(orig_img, np.float32))

    def inner(T):
        t = T(INPUT)
        r = tf.image.resize(ref[None] if ref.shape.rank == 3 else ref, tf.shape(t)[1:3])
        return tf.sqrt(_spatial_mean((t - r) ** 2))
    return Objective(inner, "input_diff(<image>)", [INPUT])


def penalize_boundary_complexity(w: int = 20, C: float = 0.5, mask=None, mean: bool = False) -> Objective:
    """Keeps a border of width ``w`` plain (near gray ``C`` and smooth); already negated. ``mean``:
    averaged over the image's pixels and channels instead of summed (Lucid), so its size does not
    change its weight."""
    if not isinstance(w, (int, np.integer)):
        raise TypeError(f"penalize_boundary_complexity takes the border width w first, got {w!r}: Lucid's "
                        f"penalize_boundary_complexity(shape, w) is penalize_boundary_complexity(w) here "
                        f"(the image's shape is read at render time)")
    def inner(T):
        t = T(INPUT)
        if mask is None:
            h, wd = tf.shape(t)[1], tf.shape(t)[2]
            rows = tf.range(h)[:, None]
            cols = tf.range(wd)[None, :]
            inside = (rows >= w) & (rows < h - w) & (cols >= w) & (cols < wd - w)
            m = tf.cast(~inside, tf.float32)[None, :, :, None]
        else:
            m = tf.constant(np.asarray(mask, np.float32))
        blurred = gaussian_blur(t, 1.5, 5)
        diffs = (blurred - t) ** 2 + 0.8 * (t - C) ** 2
        total = _spatial_sum(diffs * m)
        if mean:
            total = total / tf.cast(tf.reduce_prod(tf.shape(t)[1:]), tf.float32)
        return -total
    return Objective(inner, f"penalize_boundary_complexity(w={w})", [INPUT])


def radial_weights(h: int, w: int, centre: float) -> np.ndarray:
    """[h, w] weights from ``centre`` at the middle to 1 at the corners, growing with the squared
    radius: where a penalty should be weakest (the object) and strongest (the surroundings)."""
    ys = (np.arange(h) + 0.5) / h - 0.5
    xs = (np.arange(w) + 0.5) / w - 0.5
    radius2 = (ys[:, None] ** 2 + xs[None, :] ** 2) / 0.5
    return (centre + (1.0 - centre) * radius2).astype(np.float32)


def penalize_opacity(centre: float = 0.25) -> Objective:
    """The mean opacity of an RGBA image, weighed by distance from its centre (``centre`` at the
    middle, 1 at the corners, growing with the squared radius); already negated. With an alpha
    parameterization it keeps what the objective does not need transparent, and the object centred."""
    def inner(T):
        t = T(INPUT)
        if t.shape[-1] != 4:
            raise ValueError("penalize_opacity needs an RGBA image: param.image(..., alpha=True)")
        return -_weighted_opacity(t, tf.constant(radial_weights(t.shape[1], t.shape[2], centre)))
    return Objective(inner, f"penalize_opacity(centre={centre:g})", [INPUT])


def _weighted_opacity(images: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Each RGBA image's mean opacity weighed by ``weights`` [H, W] -> [B]; one XLA kernel each way
    (as TensorFlow ops, the alpha channel's split and its gradient's concat cost ~2.3 ms a step at
    batch 32, 80 px); plain ops eagerly (:func:`~lucid_atlas.optvis.fused.fused`)."""
    def weighted(images, weights):
        return tf.reduce_mean(images[..., 3] * weights, axis=[1, 2])
    return fused(weighted)(images, weights)


def relative_to(term: ObjectiveLike, reference: ObjectiveLike, floor: float = 1e-3) -> Objective:
    """``term`` × each image's current value of ``reference`` (at least ``floor``, no gradient through
    it): a regularizer whose weight keeps its meaning on any model and layer, since adding it to
    ``reference`` steers like maximizing log(reference) + term, whatever the reference's scale."""
    term, reference = as_objective(term), as_objective(reference)

    def inner(T):
        scale = tf.stop_gradient(tf.maximum(reference.per_image(T), floor))
        return term.per_image(T) * scale
    return Objective(inner, f"relative_to({term}, {reference})", term.layers + reference.layers,
                     term.validators + reference.validators)


def objective_sum(objectives: Sequence[ObjectiveLike]) -> Objective:
    """The sum of several objectives (same as ``sum(objectives)``)."""
    return sum(as_objective(o) for o in objectives)
