"""Objectives between the images of a batch: Lucid's diversity and alignment, which may leave their
layer out and take the layer of the terms they are combined with."""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from .. import lucid_compat
from .core import Objective

def _layer_less(name: str, factory: Callable[[str], Objective]) -> Objective:
    """``name()`` without a layer: it takes the layer of the terms it is combined with."""
    def unbound(T):
        raise ValueError(f"{name}() has no layer: give it one, or add it to an objective on one layer")
    return Objective(unbound, f"{name}()", binder=factory)


def alignment(layer: str | None = None, decay_ratio: float = 2.0) -> Objective:
    """How much neighbouring batch images differ at ``layer`` (a penalty: subtract it); without a
    layer it takes the layer of the terms it is combined with."""
    if layer is None:
        return _layer_less("alignment", lambda l: alignment(l, decay_ratio))

    def inner(T):
        acts = T(layer)
        n = acts.shape[0]
        if n is None or n < 2:
            return tf.zeros([])
        total = tf.zeros([])
        for d in range(1, 5):
            if d >= n:
                break
            diff = tf.reduce_mean((acts[:-d] - acts[d:]) ** 2, axis=list(range(1, acts.shape.rank)))
            total += tf.reduce_sum(diff) / decay_ratio ** d
        return total
    return Objective(inner, f"alignment({layer})", [layer], signs=lucid_compat.term_sign("alignment"))


def diversity(layer: str | None = None) -> Objective:
    """Lucid's diversity: minus the mean Gram-matrix cosine between different images of the batch
    (a reward: ``channel(...) + k * diversity()`` makes the batch's images differ).

    :param layer: the layer whose Gram matrices are compared; None: the layer of the terms it is
        combined with (an error names the choices when they read several layers, or none).
    """
    if layer is None:
        return _layer_less("diversity", diversity)

    def inner(T):
        acts = T(layer)
        n = tf.shape(acts)[0]
        flat = tf.reshape(acts, [n, -1, acts.shape[-1]])
        grams = tf.matmul(flat, flat, transpose_a=True)
        grams = tf.math.l2_normalize(tf.reshape(grams, [n, -1]), axis=1, epsilon=1e-10)
        sims = tf.matmul(grams, grams, transpose_b=True)
        off_diagonal = tf.reduce_sum(sims) - tf.linalg.trace(sims)
        return -off_diagonal / tf.cast(n, tf.float32)
    return Objective(inner, f"diversity({layer})", [layer], signs=lucid_compat.term_sign("diversity"))
