"""The warp back end of the geometric transforms: affine steps (one 3×3 matrix per image), the
fused warp of a chain of them, and the resampling itself — TF's projective-transform op in row
bands with an exact gradient by the inverse warp, or a gather sampler under XLA and for nearest
sampling."""

from __future__ import annotations

import contextlib
import contextvars
import functools
from typing import Callable, Sequence

import tensorflow as tf

from .. import rng
from ..fused import fused


# An affine step maps output pixel (x, y, 1) to input pixel coordinates: one 3×3 float matrix
# per image, and the batch's common output size [h, w] (int32).
# ``sample(seeds [B, 2], size) -> (matrices [B, 3, 3], new_size)``.
AffineSampler = Callable[[tf.Tensor, tf.Tensor], tuple]


class Geometric:
    """A transform that is an affine resampling; consecutive ones fuse inside :func:`compose`.

    ``interpolation`` is "bilinear" or "nearest"; a fused warp samples with nearest neighbours
    when any of its steps asks for it (a nearest resampling sets the look of the chain anyway).
    """

    def __init__(self, sample: AffineSampler, name: str, fill_value: float | None = None,
                 interpolation: str = "bilinear"):
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"interpolation must be 'bilinear' or 'nearest', not {interpolation!r}")
        self.sample = sample
        self.name = name
        self.fill_value = fill_value  # a pad's color; None: no opinion
        self.interpolation = interpolation

    def __call__(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        return warp_chain(images, [self], rng.batch_seeds(seed, tf.shape(images)[0])[None])

    def __repr__(self) -> str:
        return self.name


def _affine(a, b, c, d, e, f) -> tf.Tensor:
    """Matrices [..., 3, 3] with rows (a, b, c), (d, e, f), (0, 0, 1); arguments [B] or scalars."""
    values = [tf.cast(v, tf.float32) for v in (a, b, c, d, e, f)]
    shape = functools.reduce(tf.broadcast_dynamic_shape, [tf.shape(v) for v in values])
    zero, one = tf.zeros(shape), tf.ones(shape)
    rows = [tf.broadcast_to(v, shape) for v in values] + [zero, zero, one]
    return tf.reshape(tf.stack(rows, -1), tf.concat([shape, [3, 3]], 0))


def _translation(tx, ty) -> tf.Tensor:
    return _affine(1.0, 0.0, tx, 0.0, 1.0, ty)


_GATHER_WARP: contextvars.ContextVar[bool] = contextvars.ContextVar("gather_warp", default=False)


@contextlib.contextmanager
def xla_compatible(enabled: bool = True):
    """While tracing inside this context, warps use gathers instead of ImageProjectiveTransformV3,
    which XLA cannot compile (for ``jit_compile=True`` render steps)."""
    token = _GATHER_WARP.set(enabled)
    try:
        yield
    finally:
        _GATHER_WARP.reset(token)


def _round_half_away(x: tf.Tensor) -> tf.Tensor:
    """std::round, as ImageProjectiveTransformV3's nearest sampling uses (tf.round rounds half to even)."""
    return tf.sign(x) * tf.floor(tf.abs(x) + 0.5)


def gather_warp(images: tf.Tensor, transforms: tf.Tensor, output_shape: tf.Tensor,
                fill_value: float = 0.0, interpolation: str = "BILINEAR") -> tf.Tensor:
    """ImageProjectiveTransformV3's constant-fill warp (bilinear or nearest) from gathers.

    ``transforms`` [B, 8] map output (x, y) to input ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k),
    k = c0 x + c1 y + 1; neighbors outside the image read ``fill_value``. XLA-compatible; for
    nearest sampling also faster than the op on CPU.
    """
    shape = tf.shape(images)
    b, h, w, c = shape[0], shape[1], shape[2], shape[3]
    ys, xs = tf.meshgrid(tf.range(output_shape[0], dtype=tf.float32), tf.range(output_shape[1], dtype=tf.float32),
                         indexing="ij")
    t = transforms[:, :, None, None]
    k = t[:, 6] * xs + t[:, 7] * ys + 1.0
    sx = (t[:, 0] * xs + t[:, 1] * ys + t[:, 2]) / k
    sy = (t[:, 3] * xs + t[:, 4] * ys + t[:, 5]) / k
    # one extra pixel holding the fill value: taps outside the image point at it
    flat = tf.concat([tf.reshape(images, [b, h * w, c]), tf.fill([b, 1, c], tf.cast(fill_value, images.dtype))], 1)

    def tap(xi, yi):
        inside = ((xi >= 0) & (xi <= tf.cast(w, tf.float32) - 1) & (yi >= 0)
                  & (yi <= tf.cast(h, tf.float32) - 1))
        index = tf.where(inside, tf.cast(yi, tf.int32) * w + tf.cast(xi, tf.int32), h * w)
        values = tf.gather(flat, tf.reshape(index, [b, -1]), batch_dims=1)
        return tf.reshape(values, [b, output_shape[0], output_shape[1], c])

    if interpolation == "NEAREST":
        return tap(_round_half_away(sx), _round_half_away(sy))
    x0, y0 = tf.floor(sx), tf.floor(sy)
    out = 0.0
    for dy in (0.0, 1.0):
        for dx in (0.0, 1.0):
            xi, yi = x0 + dx, y0 + dy
            weight = (1.0 - tf.abs(sx - xi)) * (1.0 - tf.abs(sy - yi))
            out = out + weight[..., None] * tap(xi, yi)
    return out


def _flat_to_matrices(transforms: tf.Tensor) -> tf.Tensor:
    """[B, 8] projective transforms -> [B, 3, 3] matrices."""
    return tf.reshape(tf.concat([transforms, tf.ones_like(transforms[:, :1])], 1), [-1, 3, 3])


def _matrices_to_flat(matrices: tf.Tensor) -> tf.Tensor:
    return tf.reshape(matrices / matrices[:, 2:3, 2:3], [-1, 9])[:, :8]


def _row_band(transforms: tf.Tensor, first_row) -> tf.Tensor:
    """The transforms of an output band whose row 0 is output row ``first_row``."""
    shift = tf.stack([tf.constant([1.0, 0.0, 0.0]), tf.stack([0.0, 1.0, tf.cast(first_row, tf.float32)]),
                      tf.constant([0.0, 0.0, 1.0])])
    return _matrices_to_flat(tf.matmul(_flat_to_matrices(transforms), shift[None]))


def _banded_transform(images, transforms, output_shape, fill_value: float, interpolation: str,
                      bands: int) -> tf.Tensor:
    """ImageProjectiveTransformV3 cut into ``bands`` row bands: independent ops that run in parallel
    (the op's CPU kernel uses one thread for small images)."""
    output_shape = tf.convert_to_tensor(output_shape, tf.int32)
    height = output_shape[0]
    parts = []
    for k in range(bands):
        top, bottom = height * k // bands, height * (k + 1) // bands
        parts.append(tf.raw_ops.ImageProjectiveTransformV3(
            images=images, transforms=_row_band(transforms, top),
            output_shape=tf.stack([bottom - top, output_shape[1]]),
            fill_value=fill_value, interpolation=interpolation, fill_mode="CONSTANT"))
    return tf.concat(parts, 1) if bands > 1 else parts[0]


def _cpu_bands() -> int:
    """Row bands for warps: 2 on CPU-only machines (two kernels at once), 1 with a GPU."""
    return 1 if tf.config.list_logical_devices("GPU") else 2


def _inverse(transforms: tf.Tensor) -> tf.Tensor:
    return _matrices_to_flat(tf.linalg.inv(_flat_to_matrices(transforms)))


def _with_inverse_warp_gradient(warp: Callable, images, transforms, output_shape, fill_value: float) -> tf.Tensor:
    """``warp(images, transforms, output_shape, fill_value)`` with ImageProjectiveTransformV3's
    gradient rule: the inverse warp of the incoming gradient."""
    @tf.custom_gradient
    def warped(images):
        def grad(dy):
            return warp(dy, _inverse(transforms), tf.shape(images)[1:3], 0.0)
        return warp(images, transforms, output_shape, fill_value), grad
    return warped(images)


def _banded_warp(images, transforms, output_shape, fill_value: float, interpolation: str, bands: int) -> tf.Tensor:
    """ImageProjectiveTransformV3 in ``bands`` row bands, forward and backward."""
    return _with_inverse_warp_gradient(
        lambda x, t, shape, fill: _banded_transform(x, t, shape, fill, interpolation, bands),
        images, transforms, output_shape, fill_value)


def _gathered_warp(images, transforms, output_shape, fill_value: float, interpolation: str) -> tf.Tensor:
    """:func:`gather_warp`, forward and backward."""
    return _with_inverse_warp_gradient(
        lambda x, t, shape, fill: _fused_gather_warp(x, t, shape, fill, interpolation),
        images, transforms, output_shape, fill_value)


def _fused_gather_warp(images, transforms, output_shape, fill_value: float, interpolation: str) -> tf.Tensor:
    """:func:`gather_warp` as one XLA kernel when traced into a graph (its index arithmetic and taps
    as TensorFlow ops cost 3.0 ms forward+backward at batch 32, 80 px, the icons' wide transforms;
    1.7 ms fused), with the same values; compiled once per output size, read when it runs. Eagerly
    (:func:`~lucid_atlas.optvis.fused.fused`), or inside a step compiled whole by XLA already: the
    plain ops."""
    if _GATHER_WARP.get():
        return gather_warp(images, transforms, output_shape, fill_value, interpolation)
    fused_warp = fused(lambda x, t, size: gather_warp(x, t, size, fill_value, interpolation))
    return fused_warp(images, transforms, tf.convert_to_tensor(output_shape, tf.int32))


def _projective(images, transforms, output_shape, fill_value: float, interpolation: str = "BILINEAR") -> tf.Tensor:
    """Constant-fill warp with ImageProjectiveTransformV3's values and gradient rule: by gathers
    under XLA and for nearest sampling (faster than the op on CPU), else the op in row bands."""
    if _GATHER_WARP.get() or interpolation == "NEAREST":
        return _gathered_warp(images, transforms, output_shape, fill_value, interpolation)
    return _banded_warp(images, transforms, output_shape, fill_value, interpolation, _cpu_bands())


def warp_chain(images: tf.Tensor, steps: Sequence[Geometric], seeds: tf.Tensor) -> tf.Tensor:
    """Apply geometric steps as one warp per image (outside the image: the first pad's color).

    ``seeds`` [len(steps), B, 2]: each step's per-image seeds.
    """
    size = tf.shape(images)[1:3]
    matrix = tf.eye(3, batch_shape=tf.shape(images)[:1])
    for i, step in enumerate(steps):
        m, size = step.sample(seeds[i], size)
        matrix = tf.matmul(matrix, tf.broadcast_to(m, tf.shape(matrix)))
    fills = [s.fill_value for s in steps if s.fill_value is not None]
    nearest = any(s.interpolation == "nearest" for s in steps)
    return _projective(images, _matrices_to_flat(matrix), size, float(fills[0]) if fills else 0.0,
                       "NEAREST" if nearest else "BILINEAR")
