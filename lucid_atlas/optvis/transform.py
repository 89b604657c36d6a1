"""Transforms: random, differentiable image perturbations that make visualizations robust.

A transform is a callable ``t(images, seed) -> images`` on NHWC batches, where ``seed`` is a
shape-[2] int32 tensor; all randomness is stateless, so a seeded render is reproducible and
every transform works inside ``tf.function``. :func:`compose` chains transforms, splitting
the seed so each gets its own stream.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

Transform = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def gaussian_blur(images: tf.Tensor, sigma: float = 1.0, radius: int | None = None) -> tf.Tensor:
    """Depthwise Gaussian blur of an NHWC batch (reflect padding), ``sigma`` in pixels."""
    radius = radius if radius is not None else max(1, int(round(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / max(sigma, 1e-3)) ** 2)
    k = (k / k.sum()).astype(np.float32)
    channels = images.shape[-1]
    kx = tf.constant(np.tile(k[None, :, None, None], (1, 1, channels, 1)))
    ky = tf.constant(np.tile(k[:, None, None, None], (1, 1, channels, 1)))
    x = tf.pad(images, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
    x = tf.nn.depthwise_conv2d(x, kx, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(x, ky, [1, 1, 1, 1], "VALID")


def _pick(values: Sequence[float], seed: tf.Tensor) -> tf.Tensor:
    """One of ``values`` chosen uniformly at random (stateless)."""
    table = tf.constant(np.asarray(values, np.float32))
    idx = tf.random.stateless_uniform([], seed, 0, len(values), dtype=tf.int32)
    return tf.gather(table, idx)


def compose(*transforms: Transform) -> Transform:
    """Apply transforms in order, each with its own seed split from the given one."""
    flat = [t for item in transforms for t in (item if isinstance(item, (list, tuple)) else [item])]

    def composed(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        if not flat:
            return images
        seeds = tf.random.experimental.stateless_split(seed, len(flat))
        for i, t in enumerate(flat):
            images = t(images, seeds[i])
        return images
    return composed


def pad(w: int, mode: str = "REFLECT", constant_value: float = 0.5) -> Transform:
    """Pad ``w`` pixels on every side (reflect, symmetric, or constant ``constant_value``)."""
    def padded(images, seed):
        paddings = [[0, 0], [w, w], [w, w], [0, 0]]
        if mode.upper() == "CONSTANT":
            return tf.pad(images, paddings, constant_values=constant_value)
        return tf.pad(images, paddings, mode=mode.upper())
    return padded


def jitter(d: int) -> Transform:
    """Random crop that removes ``d`` pixels in total from width and height (a random shift)."""
    def jittered(images, seed):
        shape = tf.shape(images)
        off = tf.random.stateless_uniform([2], seed, 0, d + 1, dtype=tf.int32)
        return images[:, off[0]:off[0] + shape[1] - d, off[1]:off[1] + shape[2] - d, :]
    return jittered


def random_scale(scales: Sequence[float]) -> Transform:
    """Resize by a factor picked from ``scales`` (bilinear)."""
    def scaled(images, seed):
        s = _pick(scales, seed)
        size = tf.cast(tf.round(tf.cast(tf.shape(images)[1:3], tf.float32) * s), tf.int32)
        return tf.image.resize(images, size, "bilinear")
    return scaled


def rotate(images: tf.Tensor, radians: tf.Tensor, fill_value: float = 0.0) -> tf.Tensor:
    """Rotate every image of a batch about its center (bilinear, constant fill)."""
    shape = tf.shape(images)
    h, w = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    c, s = tf.cos(radians), tf.sin(radians)
    x_off = ((w - 1) - (c * (w - 1) - s * (h - 1))) / 2.0
    y_off = ((h - 1) - (s * (w - 1) + c * (h - 1))) / 2.0
    row = tf.stack([c, -s, x_off, s, c, y_off, 0.0, 0.0])
    transforms = tf.tile(row[None], [shape[0], 1])
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=shape[1:3], fill_value=fill_value,
        interpolation="BILINEAR", fill_mode="CONSTANT")


def random_rotate(angles: Sequence[float], units: str = "degrees", fill_value: float = 0.0) -> Transform:
    """Rotate by an angle picked from ``angles`` (degrees by default)."""
    factor = math.pi / 180.0 if units == "degrees" else 1.0

    def rotated(images, seed):
        return rotate(images, _pick(angles, seed) * factor, fill_value)
    return rotated


def crop_or_pad_to(height: int, width: int) -> Transform:
    """Center-crop or pad (zeros) to a fixed size, e.g. a model's fixed input size."""
    def fitted(images, seed):
        return tf.image.resize_with_crop_or_pad(images, height, width)
    return fitted


def resize_to(height: int, width: int) -> Transform:
    """Bilinear resize to a fixed size."""
    def resized(images, seed):
        return tf.image.resize(images, (height, width), "bilinear")
    return resized


def collapse_alpha_random(sd: float = 0.5) -> Transform:
    """RGBA to RGB over random-color backgrounds, so transparency means 'doesn't matter'."""
    def collapsed(images, seed):
        if images.shape[-1] != 4:
            return images
        rgb, a = images[..., :3], images[..., 3:]
        shape = tf.shape(rgb)
        background = tf.clip_by_value(
            0.5 + sd * tf.random.stateless_normal([shape[0], 1, 1, 3], seed), 0.0, 1.0)
        return a * rgb + (1 - a) * background
    return collapsed


def uniform_noise(amount: float = 0.02) -> Transform:
    """Add uniform pixel noise in ±``amount``."""
    def noised(images, seed):
        return images + tf.random.stateless_uniform(tf.shape(images), seed, -amount, amount)
    return noised


def standard_transforms() -> list[Transform]:
    """Lucid's standard list: pad 12 (0.5), jitter 8, scale 0.9..1.1, rotate -10..10 (+ zeros), jitter 4."""
    return [
        pad(12, mode="constant", constant_value=0.5),
        jitter(8),
        random_scale([1 + (i - 5) / 50.0 for i in range(11)]),
        random_rotate(list(range(-10, 11)) + 5 * [0]),
        jitter(4),
    ]


def atlas_transforms() -> list[Transform]:
    """The transforms of the Activation Atlas article's icon rendering (pad, jitter, scale, rotate)."""
    return [
        pad(2, mode="constant", constant_value=0.5),
        jitter(4),
        jitter(4),
        jitter(8),
        jitter(8),
        jitter(8),
        random_scale([0.995 ** n for n in range(-5, 80)] + [0.998 ** n for n in 2 * list(range(20, 40))]),
        random_rotate(list(range(-20, 20)) + list(range(-10, 10)) + list(range(-5, 5)) + 5 * [0]),
        jitter(2),
    ]
