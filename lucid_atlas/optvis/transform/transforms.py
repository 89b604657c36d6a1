"""The transforms themselves: blur, pad, jitter, scale, rotate, crop, resize, alpha collapse, noise,
and :func:`compose`, which fuses runs of geometric ones into one warp (:mod:`.warp`)."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from .. import rng
from ..fused import fused
from .warp import Geometric, _affine, _projective, _translation, warp_chain

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


def _pick(values: Sequence[float], seeds: tf.Tensor) -> tf.Tensor:
    """One of ``values`` per image, chosen uniformly at random from each image's seed: [B]."""
    table = tf.constant(np.asarray(values, np.float32))
    idx = tf.minimum(tf.cast(rng.uniform(seeds) * len(values), tf.int32), len(values) - 1)
    return tf.gather(table, idx)


def compose(*transforms: Transform) -> Transform:
    """Apply transforms in order, each with its own seed; runs of geometric ones become one warp."""
    flat = [t for item in transforms for t in (item if isinstance(item, (list, tuple)) else [item])]
    groups: list[list] = []
    for t in flat:
        fusable = isinstance(t, Geometric) and groups and isinstance(groups[-1][0], Geometric)
        if fusable and t.fill_value is not None and any(g.fill_value not in (None, t.fill_value)
                                                        for g in groups[-1]):
            fusable = False  # two pads with different colors stay separate
        if fusable:
            groups[-1].append(t)
        else:
            groups.append([t])

    def composed(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        if not flat:
            return images
        per_image = rng.batch_seeds(seed, tf.shape(images)[0])
        seeds = [rng.fold(per_image, k) for k in range(len(flat))]
        i = 0
        for group in groups:
            if isinstance(group[0], Geometric):
                images = warp_chain(images, group, tf.stack(seeds[i:i + len(group)]))
            else:
                images = group[0](images, seeds[i])
            i += len(group)
        return images
    # a chain that collapses RGBA itself is marked as its parts are (the renderer then leaves it RGBA)
    composed.collapses_alpha = any(getattr(t, "collapses_alpha", False) for t in flat)
    return composed


def pad(w: int, mode: str = "REFLECT", constant_value: float = 0.5) -> Transform:
    """Pad ``w`` pixels on every side (reflect, symmetric, or constant ``constant_value``)."""
    if mode.upper() == "CONSTANT":
        def sample(seed, size):
            return _translation(-float(w), -float(w)), size + 2 * w
        return Geometric(sample, f"pad({w}, {constant_value:g})", float(constant_value))

    def padded(images, seed):
        return tf.pad(images, [[0, 0], [w, w], [w, w], [0, 0]], mode=mode.upper())
    return padded


def jitter(d: int) -> Transform:
    """Random crop that removes ``d`` pixels in total from width and height (a random shift per image)."""
    def sample(seeds, size):
        off = tf.minimum(tf.floor(rng.uniform(seeds, [2]) * (d + 1)), float(d))
        return _translation(off[:, 1], off[:, 0]), size - d
    return Geometric(sample, f"jitter({d})")


def _scale_matrix(sy, sx) -> tf.Tensor:
    """Output→input map of a resize by (sy, sx), with half-pixel centers like tf.image.resize."""
    return _affine(1.0 / sx, 0.0, 0.5 / sx - 0.5, 0.0, 1.0 / sy, 0.5 / sy - 0.5)


def random_scale(scales: Sequence[float]) -> Transform:
    """Resize each image by its own factor picked from ``scales`` (bilinear), about its center.

    The batch keeps one size, the input's times the median factor (Lucid resizes the whole
    batch by one factor, so its size varies): images drawn larger are cropped to it, smaller
    ones get a border of the fill.
    """
    scales = list(scales)  # a generator (as Lucid code passes) is read once
    nominal = float(np.median(np.asarray(scales, np.float32)))

    def sample(seeds, size):
        s = _pick(scales, seeds)
        old = tf.cast(size, tf.float32)
        new = tf.cast(tf.round(old * nominal), tf.int32)
        half_new, half_old = tf.cast(new, tf.float32) / 2.0, old / 2.0
        # output pixel center (x + 0.5) maps to (x + 0.5 - new/2) / s + old/2 in input pixels
        return _affine(1.0 / s, 0.0, (0.5 - half_new[1]) / s + half_old[1] - 0.5,
                       0.0, 1.0 / s, (0.5 - half_new[0]) / s + half_old[0] - 0.5), new
    return Geometric(sample, f"random_scale({len(scales)} scales)")


def _rotation_matrix(radians, size) -> tf.Tensor:
    h, w = tf.cast(size[0], tf.float32), tf.cast(size[1], tf.float32)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    c, s = tf.cos(radians), tf.sin(radians)
    return _affine(c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy)


def rotate(images: tf.Tensor, radians: tf.Tensor, fill_value: float = 0.0) -> tf.Tensor:
    """Rotate every image of a batch about its center (bilinear, constant fill)."""
    shape = tf.shape(images)
    h, w = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    c, s = tf.cos(radians), tf.sin(radians)
    x_off = ((w - 1) - (c * (w - 1) - s * (h - 1))) / 2.0
    y_off = ((h - 1) - (s * (w - 1) + c * (h - 1))) / 2.0
    row = tf.stack([c, -s, x_off, s, c, y_off, 0.0, 0.0])
    transforms = tf.tile(row[None], [shape[0], 1])
    return _projective(images, transforms, shape[1:3], fill_value)


def random_rotate(angles: Sequence[float], units: str = "degrees", interpolation: str = "nearest") -> Transform:
    """Rotate about the center by an angle picked from ``angles`` (``units``: degrees by default, or
    radians; any case, as Lucid's ``units="Degrees"``).

    Nearest-neighbour sampling by default, as Lucid's rotate (``tf.contrib.image.rotate``); it
    is also about a third cheaper than bilinear sampling, forward and backward.
    """
    unit = units.lower().rstrip("s")
    if unit not in ("degree", "radian", "deg", "rad"):
        raise ValueError(f"random_rotate units must be 'degrees' or 'radians' (any case), got '{units}'")
    factor = math.pi / 180.0 if unit in ("degree", "deg") else 1.0

    angles = list(angles)

    def sample(seeds, size):
        return _rotation_matrix(_pick(angles, seeds) * factor, size), size
    return Geometric(sample, f"random_rotate({len(angles)} angles)", interpolation=interpolation)


def crop_or_pad_to(height: int, width: int) -> Transform:
    """Center-crop or pad (zeros) to a fixed size, e.g. a model's fixed input size."""
    def fitted(images, seed):
        return tf.image.resize_with_crop_or_pad(images, height, width)
    return fitted


def resize_to(height: int, width: int) -> Transform:
    """Bilinear resize to a fixed size (fuses with neighbouring geometric transforms)."""
    def sample(seed, size):
        target = tf.constant([height, width], tf.int32)
        real = tf.cast(target, tf.float32) / tf.cast(size, tf.float32)
        return _scale_matrix(real[0], real[1]), target
    return Geometric(sample, f"resize_to({height}, {width})")


def _over(images: tf.Tensor, background: tf.Tensor) -> tf.Tensor:
    """RGBA images [B, H, W, 4] over backgrounds [B, 1, 1, 3] -> RGB; one XLA kernel each way (the
    broadcasts' gradients cost 7.5 ms a step at batch 32, 80 px, as TensorFlow ops; 2.2 ms fused);
    plain ops eagerly (:func:`~lucid_atlas.optvis.fused.fused`)."""
    def over(images, background):
        rgb, a = tf.split(images, [3, 1], axis=-1)
        return a * rgb + (1 - a) * background
    return fused(over)(images, background)


def collapse_alpha_random(sd: float = 0.5) -> Transform:
    """RGBA to RGB over random-color backgrounds, so transparency means 'doesn't matter'."""
    def collapsed(images, seed):
        if images.shape[-1] != 4:
            return images
        seeds = rng.batch_seeds(seed, tf.shape(images)[0])
        background = tf.clip_by_value(0.5 + sd * rng.normal(seeds, [1, 1, 3]), 0.0, 1.0)
        return _over(images, background)
    collapsed.collapses_alpha = True  # the renderer then leaves RGBA to the transforms before it
    return collapsed


def uniform_noise(amount: float = 0.02) -> Transform:
    """Add uniform pixel noise in ±``amount``."""
    def noised(images, seed):
        seeds = rng.batch_seeds(seed, tf.shape(images)[0])
        return images + (2.0 * rng.uniform(seeds, tf.shape(images)[1:]) - 1.0) * amount
    return noised
