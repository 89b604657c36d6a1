"""Stateless random numbers per image: each image's draws depend on its own seed only.

A render's images must not depend on their batch (an atlas icon rendered alone equals the same
icon rendered among 95 others), so every random draw is keyed by (seed, image). TensorFlow's
stateless ops take one seed per call; here a seed is a row of a ``[B, 2]`` tensor and draws
come from a counter-based integer hash (a 32-bit avalanche finalizer, as in PCG-style hashes),
vectorized over the batch, XLA-compatible and cheap. Quality is ample for augmentation noise.
"""

from __future__ import annotations

import math

import tensorflow as tf

_MASK = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9  # 2^32 / golden ratio


def _mix(x: tf.Tensor) -> tf.Tensor:
    """Avalanche a 32-bit value held in int64 (products stay below 2^63)."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
    x = tf.bitwise.bitwise_and(x * 0x7FEB352D, _MASK)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 15))
    x = tf.bitwise.bitwise_and(x * 0x2C1B3C6D, _MASK)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def _as_u32(x) -> tf.Tensor:
    return tf.bitwise.bitwise_and(tf.cast(x, tf.int64), _MASK)


def per_image(seed, ids) -> tf.Tensor:
    """Seeds [B, 2] (int64) for images ``ids`` [B] under a shared ``seed`` [2]."""
    seed = _as_u32(seed)
    ids = tf.cast(ids, tf.int64)
    low, high = _as_u32(ids), tf.bitwise.right_shift(ids, 32)
    s0 = _mix(tf.bitwise.bitwise_xor(seed[0], _mix(tf.bitwise.bitwise_and(low + _GOLDEN, _MASK))))
    s1 = _mix(tf.bitwise.bitwise_xor(seed[1], _mix(tf.bitwise.bitwise_and(high * 31 + low + 1, _MASK))))
    return tf.stack([s0, s1], axis=-1)


def batch_seeds(seed, batch) -> tf.Tensor:
    """``seed`` as per-image seeds: a [2] seed gives image i the seed ``per_image(seed, i)``;
    a [B, 2] seed is already per image."""
    seed = tf.convert_to_tensor(seed)
    if seed.shape.rank == 2:
        return _as_u32(seed)
    return per_image(seed, tf.range(batch, dtype=tf.int64))


def fold(seeds: tf.Tensor, k: int | tf.Tensor) -> tf.Tensor:
    """An independent stream ``k`` of every per-image seed [B, 2] (e.g. one per transform)."""
    k = tf.cast(k, tf.int64)
    s0 = _mix(tf.bitwise.bitwise_xor(seeds[:, 0], _mix(tf.bitwise.bitwise_and(k * _GOLDEN + 12345, _MASK))))
    s1 = _mix(tf.bitwise.bitwise_and(seeds[:, 1] + k + 1, _MASK))
    return tf.stack([s0, s1], axis=-1)


def uniform(seeds: tf.Tensor, shape=()) -> tf.Tensor:
    """Uniform floats in [0, 1), shape [B, *shape]; row i depends on ``seeds[i]`` only."""
    shape = tf.convert_to_tensor(shape, tf.int32)
    count = tf.reduce_prod(shape)
    counters = tf.range(tf.cast(count, tf.int64), dtype=tf.int64)
    key = _mix(tf.bitwise.bitwise_xor(seeds[:, 0], _mix(seeds[:, 1])))
    x = _mix(_mix(tf.bitwise.bitwise_and(key[:, None] + counters[None] * _GOLDEN, _MASK)))
    values = tf.cast(tf.bitwise.right_shift(x, 8), tf.float32) / float(1 << 24)
    return tf.reshape(values, tf.concat([tf.shape(seeds)[:1], shape], 0))


def normal(seeds: tf.Tensor, shape=()) -> tf.Tensor:
    """Standard normal floats, shape [B, *shape] (Box–Muller on two uniform streams)."""
    u1 = uniform(fold(seeds, 1), shape)
    u2 = uniform(fold(seeds, 2), shape)
    return tf.sqrt(-2.0 * tf.math.log(1.0 - u1)) * tf.cos(2.0 * math.pi * u2)
