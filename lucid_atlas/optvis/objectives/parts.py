"""Pieces the built-in objectives share: batch selection, spatial means, positions, checks, and the
one dot-times-cosine formula (with its ε and reduction as parameters)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

from ...models.base import ModelError
from .core import Accessor, Validator

def _select(t: tf.Tensor, batch: int | None) -> tf.Tensor:
    return t if batch is None else t[batch:batch + 1]


def _spatial_mean(t: tf.Tensor) -> tf.Tensor:
    """Mean over every axis but the batch: [B, ...] -> [B]."""
    return tf.reduce_mean(tf.reshape(t, [tf.shape(t)[0], -1]), axis=1)


def _spatial_sum(t: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.reshape(t, [tf.shape(t)[0], -1]), axis=1)


def _channel_check(layer: str, ch: int) -> Validator:
    return lambda model: model.check_channel(layer, ch)


def _vector_check(layer: str, vec) -> Validator:
    def check(model):
        depth = model.layer(layer).depth
        if np.shape(vec)[-1] != depth:
            raise ModelError(f"direction for layer '{layer}' has {np.shape(vec)[-1]} values but the "
                             f"layer has {depth} channels")
    return check


def _at_position(acts: tf.Tensor, x: int | None, y: int | None) -> tf.Tensor:
    """[B, H, W, C] -> [B, C] at (x, y) (column, row), default the center; dense layers pass through."""
    if acts.shape.rank == 2:
        return acts
    shape = tf.shape(acts)
    col = shape[2] // 2 if x is None else x
    row = shape[1] // 2 if y is None else y
    return acts[:, row, col]


def _batched_vec(vec, rank: int) -> tf.Tensor:
    """A direction [C] or per-image [B, C] reshaped to broadcast against rank-``rank`` activations."""
    v = tf.convert_to_tensor(vec, tf.float32)
    if v.shape.rank == 1:
        return v
    return tf.reshape(v, [tf.shape(v)[0]] + [1] * (rank - 2) + [tf.shape(v)[-1]])


def _masked_to_batch(values: tf.Tensor, batch: int | None, n: tf.Tensor) -> tf.Tensor:
    if batch is None:
        return values
    return tf.scatter_nd([[batch]], values, [n])


def _per_batch(layer_fn: Callable[[tf.Tensor], tf.Tensor], layer: str, batch: int | None):
    def inner(T: Accessor) -> tf.Tensor:
        acts = T(layer)
        values = layer_fn(_select(acts, batch))
        return _masked_to_batch(values, batch, tf.shape(acts)[0])
    return inner


def dot_cossim(acts: tf.Tensor, vec: tf.Tensor, cossim_pow: float, *, floor: float = 0.1, eps: float = 1e-6,
               reduce: str = "sum", vector_norm: bool = True) -> tf.Tensor:
    """dot(acts, vec) × max(floor, cos)^pow along channels, for every position (pow 0: the dot alone).

    ``reduce``: "sum" (a dot product) or "mean" (over channels, as Lucid's atlas recipe);
    cos = dot / (|acts| |vec| + eps), or dot / (|acts| + eps) without ``vector_norm`` (the recipe's).
    """
    dot = tf.reduce_sum(acts * vec, -1) if reduce == "sum" else tf.reduce_mean(acts * vec, -1)
    if not cossim_pow:
        return dot
    norm = tf.norm(acts, axis=-1) * tf.norm(vec, axis=-1) if vector_norm else tf.norm(acts, axis=-1)
    cos = dot / (norm + eps)
    return dot * tf.maximum(floor, cos) ** cossim_pow
