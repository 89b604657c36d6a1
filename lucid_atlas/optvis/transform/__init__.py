"""Transforms: random, differentiable image perturbations that make visualizations robust.

A transform is a callable ``t(images, seed) -> images`` on NHWC batches, where ``seed`` is a
shape-[2] integer tensor (image i then draws from ``rng.per_image(seed, i)``) or one seed per
image, shape [B, 2]. Every image draws its own jitter, scale and angle from its own seed, so an
image is transformed the same alone or in a batch of any size; all randomness is stateless, so a
seeded render is reproducible and every transform works inside ``tf.function``. :func:`compose`
chains transforms, folding each image's seed so each transform gets its own stream.

Geometric transforms (constant :func:`pad`, :func:`jitter`, :func:`random_scale`,
:func:`random_rotate`, :func:`resize_to`) are :class:`Geometric` objects: alone each is one
image warp; inside :func:`compose` consecutive ones are fused into a single affine warp, so
Lucid's five standard transforms cost one resampling instead of five (faster, and less blur).

The package's rooms: :mod:`.transforms` (the transforms and :func:`compose`), :mod:`.warp` (the
affine steps and the resampling back end), :mod:`.presets` (named lists).
"""

from __future__ import annotations

from .. import lucid_compat
from .presets import atlas_recipe_transforms, atlas_transforms, standard_transforms, wide_transforms
from .transforms import (
    Transform, collapse_alpha_random, compose, crop_or_pad_to, gaussian_blur, jitter, pad, random_rotate,
    random_scale, resize_to, rotate, uniform_noise,
)
from .warp import AffineSampler, Geometric, gather_warp, warp_chain, xla_compatible

__all__ = [
    "AffineSampler", "Geometric", "Transform", "atlas_recipe_transforms", "atlas_transforms",
    "collapse_alpha_random", "compose", "crop_or_pad_to", "gather_warp", "gaussian_blur", "jitter", "pad",
    "random_rotate", "random_scale", "resize_to", "rotate", "standard_transforms", "uniform_noise", "warp_chain",
    "wide_transforms", "xla_compatible",
]

__getattr__ = lucid_compat.name_lookup(__name__, lucid_compat.TRANSFORM_HINTS)
