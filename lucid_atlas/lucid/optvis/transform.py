"""Lucid's ``lucid.optvis.transform``: ``(config) -> (image tensor -> randomly transformed tensor)``.

Each transform is a one-argument callable, as in Lucid, and carries our engine's transform
(``.engine``, ``(images, seed) -> images``) which ``render_vis`` uses, so the draws are
reproducible and consecutive geometric transforms fuse into one warp; there, as in Lucid, the
images of a batch share each step's draws. Called directly, a transform draws fresh random
numbers for each image. Difference from Lucid: ``random_scale`` keeps the batch's size at the
median factor (cropping or padding with the fill).
"""

from __future__ import annotations

import uuid

import numpy as np
import tensorflow as tf

from ...optvis import transform as ours
from . import param


class LucidTransform:
    """A one-argument transform over one of ours."""

    def __init__(self, engine, name: str):
        self.engine = engine
        self.name = name

    def __call__(self, t_image):
        t_image = tf.convert_to_tensor(t_image, tf.float32)
        seed = tf.random.uniform([2], maxval=2 ** 31 - 1, dtype=tf.int64)
        return self.engine(t_image, seed)

    def __repr__(self) -> str:
        return self.name


def as_engine(transform):
    """Ours from a Lucid transform, or from any one-argument function of the image tensor."""
    if isinstance(transform, LucidTransform):
        return transform.engine
    return lambda images, seed: transform(images)


def jitter(d, seed=None):
    """A random crop ``d`` pixels smaller in height and width (``seed`` is ignored: render seeds)."""
    return LucidTransform(ours.jitter(d), f"jitter({d})")


def pad(w, mode="REFLECT", constant_value=0.5):
    """Pad ``w`` pixels on each side (``constant_value="uniform"``: one random gray per call)."""
    if constant_value == "uniform":
        def padded(images, seed):
            value = tf.random.uniform([], 0, 1)
            return tf.pad(images, [(0, 0), (w, w), (w, w), (0, 0)], mode=mode, constant_values=value)
        return LucidTransform(padded, f"pad({w}, uniform)")
    return LucidTransform(ours.pad(w, mode, constant_value), f"pad({w}, {mode})")


def random_scale(scales, seed=None):
    """Resize by a factor picked from ``scales``."""
    return LucidTransform(ours.random_scale(list(scales)), "random_scale")


def random_rotate(angles, units="degrees", seed=None):
    """Rotate by an angle picked from ``angles`` (``units``: degrees or radians, any case)."""
    return LucidTransform(ours.random_rotate(list(angles), units), "random_rotate")


def normalize_gradient(grad_scales=None):
    """Identity whose gradient is divided by its L2 norm per image (times ``grad_scales[i]``)."""
    scales = None if grad_scales is None else tf.constant(np.float32(grad_scales))

    @tf.custom_gradient
    def normalized(x):
        def grad(dy):
            norm = tf.sqrt(tf.reduce_sum(dy ** 2, [1, 2, 3], keepdims=True))
            scaled = dy if scales is None else dy * scales[:, None, None, None]
            return scaled / norm
        return tf.identity(x), grad
    return LucidTransform(lambda images, seed: normalized(images), f"normalize_gradient_{uuid.uuid4().hex[:6]}")


def compose(transforms):
    """One transform applying ``transforms`` (a list) in order."""
    return LucidTransform(ours.compose(*[as_engine(t) for t in transforms]), "compose")


def collapse_alpha_random(sd=0.5):
    """RGBA over a random natural-noise background (``param.random.image_sample``), as RGB."""
    def collapsed(images, seed):
        rgb, a = images[..., :3], images[..., 3:4]
        background = param.random.image_sample(rgb.shape, sd=sd)
        return a * rgb + (1 - a) * background
    collapsed.collapses_alpha = True  # the renderer leaves RGBA images to the transforms
    return LucidTransform(collapsed, "collapse_alpha_random")


def crop_or_pad_to(height, width):
    """Center-crop or zero-pad to ``height`` × ``width`` (for models with a fixed input size)."""
    return LucidTransform(ours.crop_or_pad_to(height, width), f"crop_or_pad_to({height}, {width})")


standard_transforms = [
    pad(12, mode="constant", constant_value=.5),
    jitter(8),
    random_scale([1 + (i - 5) / 50. for i in range(11)]),
    random_rotate(list(range(-10, 11)) + 5 * [0]),
    jitter(4),
]
