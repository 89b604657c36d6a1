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
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from . import rng
from . import lucid_compat

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
        lambda x, t, shape, fill: gather_warp(x, t, shape, fill, interpolation),
        images, transforms, output_shape, fill_value)


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


def collapse_alpha_random(sd: float = 0.5) -> Transform:
    """RGBA to RGB over random-color backgrounds, so transparency means 'doesn't matter'."""
    def collapsed(images, seed):
        if images.shape[-1] != 4:
            return images
        rgb, a = images[..., :3], images[..., 3:]
        seeds = rng.batch_seeds(seed, tf.shape(rgb)[0])
        background = tf.clip_by_value(0.5 + sd * rng.normal(seeds, [1, 1, 3]), 0.0, 1.0)
        return a * rgb + (1 - a) * background
    collapsed.collapses_alpha = True  # the renderer then leaves RGBA to the transforms before it
    return collapsed


def uniform_noise(amount: float = 0.02) -> Transform:
    """Add uniform pixel noise in ±``amount``."""
    def noised(images, seed):
        seeds = rng.batch_seeds(seed, tf.shape(images)[0])
        return images + (2.0 * rng.uniform(seeds, tf.shape(images)[1:]) - 1.0) * amount
    return noised


def _standard_transforms() -> list[Transform]:
    """Lucid's standard list: pad 12 (0.5), jitter 8, scale 0.9..1.1, rotate -10..10 (+ zeros), jitter 4."""
    return [
        pad(12, mode="constant", constant_value=0.5),
        jitter(8),
        random_scale([1 + (i - 5) / 50.0 for i in range(11)]),
        random_rotate(list(range(-10, 11)) + 5 * [0]),
        jitter(4),
    ]


# Lucid's standard list: pad 12 (0.5), jitter 8, scale 0.9..1.1, rotate -10..10 (+ zeros), jitter 4;
# usable as a list (Lucid's ``transform.standard_transforms``) or called (``standard_transforms()``).
standard_transforms = lucid_compat.CallableList(_standard_transforms())


def atlas_transforms(size: int = 80) -> list[Transform]:
    """The Activation Atlas article's icon transforms (pad, jitter, scale, rotate), for 80 px icons.

    For other icon sizes the pad and jitter amounts scale with ``size`` so the crop keeps the
    same share of the icon (at 48 px the article's jitters would leave the model 14 px).
    """
    def px(n: int) -> int:
        return max(1, round(n * size / 80))

    return [
        pad(px(2), mode="constant", constant_value=0.5),
        jitter(px(4)),
        jitter(px(4)),
        jitter(px(8)),
        jitter(px(8)),
        jitter(px(8)),
        random_scale([0.995 ** n for n in range(-5, 80)] + [0.998 ** n for n in 2 * list(range(20, 40))]),
        random_rotate(list(range(-20, 20)) + list(range(-10, 10)) + list(range(-5, 5)) + 5 * [0]),
        jitter(px(2)),
    ]


def _icon_px(size: int, reference: int):
    """Pixel amounts given for a ``reference`` icon size, scaled to ``size`` (at least 1)."""
    return lambda n: max(1, round(n * size / reference))


def atlas_recipe_transforms(size: int = 80) -> list[Transform]:
    """The transforms of Lucid's activation-atlas recipe (``recipes/activation_atlas/render.py``),
    which rendered the published atlases: pad 16 (gray), jitters 4, 4, 8, 8, 8, scale 0.92–0.96,
    rotate ±20°, jitter 2, then crop or pad (black) back to the icon size; amounts are for 80 px
    icons and scale with ``size``. The model sees the whole icon, shifted about."""
    px = _icon_px(size, 80)
    return [
        pad(px(16), mode="constant", constant_value=0.5),
        jitter(px(4)), jitter(px(4)), jitter(px(8)), jitter(px(8)), jitter(px(8)),
        random_scale([0.998 ** n for n in range(20, 40)]),
        random_rotate(list(range(-20, 20)) + list(range(-10, 10)) + list(range(-5, 5)) + 5 * [0]),
        jitter(px(2)),
        crop_or_pad_to(size, size),
    ]


def wide_transforms(size: int = 64) -> list[Transform]:
    """Stronger transformation robustness for icons: pad 4, jitter 6, scale 0.8–1.6, rotate ±15°,
    jitter 3 (amounts for 64 px icons, scaled with ``size``). Each image is zoomed by its own
    factor on a canvas 1.2× the icon (the median factor), so parts and whole objects both pay."""
    px = _icon_px(size, 64)
    return [
        pad(px(4), mode="constant", constant_value=0.5),
        jitter(px(6)),
        random_scale([0.8 + 0.05 * k for k in range(17)]),
        random_rotate(list(range(-15, 16))),
        jitter(px(3)),
    ]


__getattr__ = lucid_compat.name_lookup(__name__, lucid_compat.TRANSFORM_HINTS)
