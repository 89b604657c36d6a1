"""Deep Visualization regularizers (Yosinski et al. 2015) as step-wise image operators.

Each operator runs after every optimizer step on the parameterization's image variable:
``op(value, grad, step) -> new value``. Values are centered pixels (0 = gray) for pixel
params; with Lucid's Fourier param, L2 decay and Gaussian blur act exactly on the spectrum
(decay is linear; blurring is a product with the Gaussian's frequency response), while the two
clipping operators need pixels and say so.

The paper's four: L2 decay, Gaussian blur every N steps, clipping pixels with small norm, and
clipping pixels with small contribution (|Σ_c x·∂/∂x|), the last two by percentile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf

from .param import Param, rfft2d_freqs
from .transform import gaussian_blur

PIXEL_SPACES = ("pixels", "logit_pixels")


@dataclass(frozen=True)
class ImageOp:
    """A named operator applied to a param's image variable after each step."""

    name: str
    fn: Callable[[tf.Tensor, tf.Tensor, tf.Tensor, str], tf.Tensor]
    needs_pixels: bool = False

    def check(self, param: Param) -> None:
        """Raise a clear error when ``param`` cannot take this operator."""
        if param.image_variable is None:
            raise ValueError(f"{self.name} acts on an image variable; {param.description} has none. "
                             "Use param.image(..., fft=False) or fft=True.")
        if self.needs_pixels and param.space not in PIXEL_SPACES:
            raise ValueError(f"{self.name} clips pixels; use a pixel parameterization "
                             "(param.image(size, fft=False, decorrelate=False)) instead of "
                             f"{param.description}")

    def __call__(self, value, grad, step, space):
        return self.fn(value, grad, step, space)


def l2_decay(theta: float = 0.01) -> ImageOp:
    """Shrink the image toward gray by a factor (1 - theta) every step."""
    return ImageOp(f"l2_decay({theta:g})", lambda v, g, s, space: v * (1.0 - theta))


def _fourier_blur(value: tf.Tensor, sigma: float, strength: tf.Tensor | None = None) -> tf.Tensor:
    # value: [2, B, C, fh, fw] real/imag parts of an rfft2d spectrum of an h×w image; a Gaussian's
    # response to the power ``strength`` is the Gaussian with ``strength`` × its variance
    fh = value.shape[-2]
    freqs = rfft2d_freqs(fh, 2 * (value.shape[-1] - 1))
    log_response = (-2 * (np.pi * sigma * freqs) ** 2).astype(np.float32)
    if strength is None:
        return value * tf.constant(np.exp(log_response))
    return value * tf.exp(tf.constant(log_response) * strength)


def _pixel_blur(value: tf.Tensor, sigma: float, strength: tf.Tensor | None = None) -> tf.Tensor:
    # a share ``strength`` of the way to the blurred image: the Gaussian of ``strength`` × its
    # variance to first order in sigma²
    blurred = gaussian_blur(value, sigma)
    return blurred if strength is None else value + strength * (blurred - value)


def gaussian_blur_every(every: int = 4, sigma: float = 0.5,
                        strength: Callable[[tf.Tensor], tf.Tensor] | None = None) -> ImageOp:
    """Blur the image with a Gaussian of width ``sigma`` pixels every ``every`` steps.

    ``strength``: a function of the step (1 at the first) scaling the blur's variance, in [0, 1]: with
    a falling learning rate, a blur that falls with it (as AdamW scales its weight decay by the
    schedule) keeps the same balance against the steps; exact on a Fourier image, to first order on pixels.
    """
    def op(v, g, step, space):
        blur = _fourier_blur if space == "fourier" else _pixel_blur
        # the blur (and its strength) inside the branch: computed on the steps that use it only
        return tf.cond(tf.equal(step % every, 0),
                       lambda: blur(v, sigma, None if strength is None else strength(step)), lambda: v)
    return ImageOp(f"blur(every={every}, sigma={sigma:g}{', scheduled' if strength else ''})", op)


def _percentile_per_image(values: tf.Tensor, percentile: float) -> tf.Tensor:
    """The ``percentile`` of each image's [H, W] values, shape [B, 1, 1]."""
    flat = tf.reshape(values, [tf.shape(values)[0], -1])
    sorted_ = tf.sort(flat, axis=1)
    n = tf.shape(flat)[1]
    idx = tf.clip_by_value(tf.cast(tf.round(percentile / 100.0 * tf.cast(n - 1, tf.float32)), tf.int32), 0, n - 1)
    return tf.gather(sorted_, idx, axis=1)[:, None, None]


def clip_small_norm(percentile: float = 10.0) -> ImageOp:
    """Set to gray the pixels whose color-vector norm is below the given percentile."""
    def op(v, g, step, space):
        norms = tf.norm(v, axis=-1)
        keep = norms >= _percentile_per_image(norms, percentile)
        return v * tf.cast(keep, v.dtype)[..., None]
    return ImageOp(f"clip_norm({percentile:g}%)", op, needs_pixels=True)


def clip_small_contribution(percentile: float = 10.0) -> ImageOp:
    """Set to gray the pixels whose contribution |Σ_c x·grad| is below the given percentile."""
    def op(v, g, step, space):
        contribution = tf.abs(tf.reduce_sum(v * g, axis=-1))
        keep = contribution >= _percentile_per_image(contribution, percentile)
        return v * tf.cast(keep, v.dtype)[..., None]
    return ImageOp(f"clip_contribution({percentile:g}%)", op, needs_pixels=True)


# The four regularization settings the paper found by random search (its Table 1), as
# (L2 decay, blur every, blur width, norm percentile, contribution percentile).
YOSINSKI_PRESETS = {
    "none": (0.0, 0, 0.0, 0.0, 0.0),
    "1": (0.0, 4, 0.5, 50.0, 0.0),
    "2": (0.3, 0, 0.0, 20.0, 0.0),
    "3": (0.0001, 4, 1.0, 0.0, 0.0),
    "4": (0.0, 4, 0.5, 0.0, 90.0),
}


def yosinski(preset: str) -> list[ImageOp]:
    """The operators of one of the paper's regularization settings ('none', '1'..'4')."""
    if preset not in YOSINSKI_PRESETS:
        raise ValueError(f"unknown preset '{preset}': {', '.join(YOSINSKI_PRESETS)}")
    decay, every, width, norm_pct, contrib_pct = YOSINSKI_PRESETS[preset]
    ops = []
    if decay:
        ops.append(l2_decay(decay))
    if every:
        ops.append(gaussian_blur_every(every, width))
    if norm_pct:
        ops.append(clip_small_norm(norm_pct))
    if contrib_pct:
        ops.append(clip_small_contribution(contrib_pct))
    return ops


def normalize_for_display(images: np.ndarray, percentile: float = 99.5) -> np.ndarray:
    """Stretch centered pixel images so their contrast fills [0, 1], as the paper displays them."""
    centered = np.asarray(images, np.float32) - 0.5
    axes = tuple(range(1, centered.ndim)) if centered.ndim == 4 else None
    scale = np.percentile(np.abs(centered), percentile, axis=axes, keepdims=True)
    return np.clip(0.5 + 0.5 * centered / np.maximum(scale, 1e-6), 0.0, 1.0)
