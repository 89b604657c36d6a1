"""Parameterizations: small callables holding tf.Variables that produce image batches in [0, 1].

Raw parameterizations (:func:`pixel_image`, :func:`fft_image`, :func:`laplacian_pyramid`,
:func:`lowres_tensor`) produce unbounded NHWC tensors; :func:`to_valid_rgb` decorrelates colors
and squashes them into [0, 1]. :func:`image` is Lucid's default composition; :func:`cppn` is a
compositional pattern-producing network. Every param is callable with no arguments and exposes
``trainable_variables``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from typing import Callable, Iterator, Sequence

import numpy as np
import tensorflow as tf

from . import lucid_compat
from .fused import fused

# Lucid's square root of the ImageNet color correlation matrix (from an SVD), rows = RGB.
COLOR_CORRELATION_SVD_SQRT = np.asarray(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)
MAX_NORM_SVD_SQRT = float(np.max(np.linalg.norm(COLOR_CORRELATION_SVD_SQRT, axis=0)))
COLOR_MEAN = np.asarray([0.48, 0.46, 0.41], np.float32)


class Param:
    """A differentiable image generator: ``param()`` -> NHWC tensor; state in ``trainable_variables``."""

    def __init__(self, fn: Callable[[], tf.Tensor], variables: Sequence[tf.Variable], description: str,
                 image_variable: tf.Variable | None = None, space: str = "pixels", jit_compile: bool = False):
        # jit_compile: XLA fuses the param's many small element-wise ops (and their gradients)
        # into one kernel, a visible share of a render step on CPU.
        self._fn = tf.function(fn, jit_compile=True) if jit_compile else fn
        self.trainable_variables = list(variables)
        self.description = description
        self.image_variable = image_variable  # an NHWC variable regularizers may act on directly
        self.space = space  # 'pixels', 'fourier' or 'other': what ``image_variable`` holds

    def __call__(self) -> tf.Tensor:
        return self._fn()

    def __repr__(self) -> str:
        return f"Param({self.description})"


class _Seeding:
    """A ``seeded`` block's seed, its images' ids, and one generator per image id."""

    def __init__(self, seed: int, image_ids: Sequence[int] | None):
        self.seed = int(seed)
        self.image_ids = None if image_ids is None else [int(i) for i in image_ids]
        self.generators: dict[int, np.random.Generator] = {}

    def generator(self, image_id: int, copy: int = 0) -> np.random.Generator:
        """The generator of ``image_id`` (its ``copy``-th occurrence in the batch: images that share an
        id draw the same noise, each from a generator of its own)."""
        key = (image_id, copy)
        if key not in self.generators:
            self.generators[key] = np.random.default_rng([self.seed, image_id])
        return self.generators[key]


_SEEDING: contextvars.ContextVar[_Seeding | None] = contextvars.ContextVar("lucid_atlas_param_seed", default=None)


@contextlib.contextmanager
def seeded(seed: int | None, image_ids: Sequence[int] | None = None) -> Iterator[None]:
    """Within this block, params created without an explicit seed draw from ``seed`` (reproducible).

    Image i of a batch draws its initial noise from ``(seed, image_ids[i])`` alone (default id
    ``i``), so an image starts the same whatever else is in its batch.
    """
    token = _SEEDING.set(None if seed is None else _Seeding(seed, image_ids))
    try:
        yield
    finally:
        _SEEDING.reset(token)


def _image_generators(seed: int | None, batch: int) -> list[np.random.Generator]:
    """One generator per image of a batch: from ``seed`` (ids 0..batch-1), the ``seeded`` block, or fresh."""
    if seed is not None:
        return [np.random.default_rng([int(seed), i]) for i in range(batch)]
    state = _SEEDING.get()
    if state is None:
        return [np.random.default_rng() for _ in range(batch)]
    ids = state.image_ids if state.image_ids is not None and len(state.image_ids) == batch else range(batch)
    ids = list(ids)
    return [state.generator(i, ids[:k].count(i)) for k, i in enumerate(ids)]


def _normal(seed: int | None, shape: Sequence[int], batch_axis: int = 0) -> np.ndarray:
    """Standard normal noise of ``shape`` whose slices along ``batch_axis`` come from each image's generator."""
    shape = list(shape)
    batch = shape.pop(batch_axis)
    draws = [g.normal(size=shape) for g in _image_generators(seed, batch)]
    return np.stack(draws, axis=batch_axis).astype(np.float32)


def pixel_image(shape: Sequence[int], sd: float = 0.01, init: np.ndarray | None = None,
                seed: int | None = None) -> Param:
    """Plain pixels [B, H, W, C] (unbounded; pass through :func:`to_valid_rgb`)."""
    value = np.asarray(init, np.float32) if init is not None else _normal(seed, shape) * np.float32(sd)
    var = tf.Variable(value, name="pixels")
    return Param(lambda: tf.identity(var), [var], f"pixels{tuple(shape)}", var, "pixels")


def rfft2d_freqs(h: int, w: int) -> np.ndarray:
    """Frequency magnitude of each rfft2d coefficient of an h×w image (cycles per pixel)."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[: w // 2 + 2] if w % 2 == 1 else np.fft.fftfreq(w)[: w // 2 + 1]
    return np.sqrt(fx * fx + fy * fy)


def _spectrum_scale(h: int, w: int, decay_power: float) -> np.ndarray:
    """Lucid's spectrum scale: 1/f^decay, × sqrt(h w) (a unitary transform), ÷ 4 (its image scale)."""
    freqs = rfft2d_freqs(h, w)
    scale = 1.0 / np.maximum(freqs, 1.0 / max(h, w)) ** decay_power
    return (scale * np.sqrt(w * h) / 4.0).astype(np.float32)


def _complex_to_planes(spectrum: tf.Tensor, h: int, w: int) -> tf.Tensor:
    """Complex spectra [B, C, fh, fw] to image planes [B, C, h, w]."""
    img = tf.signal.irfft2d(spectrum)  # [B, C, H, W]
    if w % 2 == 1:  # Lucid's odd-width spectrum inverts to w + 1 columns
        img = img[:, :, :h, :w]
    return img


def _spectrum_to_planes(real: tf.Tensor, imag: tf.Tensor, scale: tf.Tensor, h: int, w: int) -> tf.Tensor:
    """Scaled spectra [B, C, fh, fw] (real and imaginary parts) to image planes [B, C, h, w]."""
    return _complex_to_planes(tf.complex(real * scale, imag * scale), h, w)


def _planes_to_nhwc(planes: tf.Tensor) -> tf.Tensor:
    return tf.transpose(planes, [0, 2, 3, 1])


def _spectrum_to_image(real: tf.Tensor, imag: tf.Tensor, scale: tf.Tensor, h: int, w: int) -> tf.Tensor:
    """Scaled spectra [B, C, fh, fw] (real and imaginary parts) to images [B, h, w, C]."""
    return _planes_to_nhwc(_spectrum_to_planes(real, imag, scale, h, w))


def fft_image(shape: Sequence[int], sd: float | None = None, decay_power: float = 1.0,
              seed: int | None = None) -> Param:
    """Lucid's Fourier parameterization: spectrum scaled by 1/f^decay, image ÷ 4 (unbounded).

    A ``decay_power`` above 1 (as in Lucid, unnormalized) favours low frequencies: smoother,
    larger shapes and, since the lowest frequencies gain most, more contrast."""
    spectrum, planes = _fft_planes(shape, sd, decay_power, seed)
    return Param(lambda: _planes_to_nhwc(planes()), [spectrum], f"fft{tuple(shape)}", spectrum, "fourier")


def _fft_planes(shape: Sequence[int], sd: float | None, decay_power: float, seed: int | None,
                jit_compile: bool = False) -> tuple:
    """(the spectrum variable of an :func:`fft_image` of ``shape``, a function giving its planes [B, C, h, w]).

    ``jit_compile``: the scaled complex spectrum is built by one XLA kernel (and its gradient by
    another) instead of five small ops each way; same values."""
    b, h, w, ch = shape
    fh, fw = rfft2d_freqs(h, w).shape
    sd = sd or 0.01
    spectrum = tf.Variable(np.float32(sd) * _normal(seed, (2, b, ch, fh, fw), batch_axis=1), name="spectrum")
    # Lucid's ÷4 after the inverse FFT, folded into the (real, so cheaper than complex) scale.
    scale = tf.constant(_spectrum_scale(h, w, decay_power))

    def scaled(value: tf.Tensor) -> tf.Tensor:
        real, imag = tf.unstack(value)  # unstack's gradient is a stack; slicing's is far slower
        return tf.complex(real * scale, imag * scale)

    def planes() -> tf.Tensor:
        return _complex_to_planes((fused(scaled) if jit_compile else scaled)(spectrum), h, w)

    return spectrum, planes


def fourier_to_raw(value, h: int, w: int, decay_power: float = 1.0) -> tf.Tensor:
    """The raw (unbounded) images [B, h, w, C] of an :func:`fft_image` variable's value [2, B, C, fh, fw]."""
    real, imag = tf.unstack(tf.convert_to_tensor(value, tf.float32))
    return _spectrum_to_image(real, imag, tf.constant(_spectrum_scale(h, w, decay_power)), h, w)


def raw_to_fourier(raw, decay_power: float = 1.0) -> tf.Tensor:
    """The :func:`fft_image` variable value [2, B, C, fh, fw] whose image is ``raw`` [B, h, w, C] exactly
    (the inverse of :func:`fourier_to_raw`; for an odd width, through Lucid's w + 1 columns)."""
    raw = tf.convert_to_tensor(raw, tf.float32)
    h, w = int(raw.shape[1]), int(raw.shape[2])
    x = tf.transpose(raw, [0, 3, 1, 2])
    if w % 2 == 1:  # Lucid's odd-width spectrum inverts to w + 1 columns, the last one cropped
        x = tf.concat([x, x[..., -1:]], -1)
    spectrum = tf.signal.rfft2d(x)
    scale = tf.constant(_spectrum_scale(h, w, decay_power))
    return tf.stack([tf.math.real(spectrum) / scale, tf.math.imag(spectrum) / scale])


def enlarge_fourier(value, h: int, w: int, new_h: int, new_w: int, decay_power: float = 1.0) -> tf.Tensor:
    """An :func:`fft_image` variable value for new_h×new_w images that show the h×w ones enlarged
    (their raw values resized bicubically): for coarse-to-fine rendering, most steps at few pixels."""
    raw = fourier_to_raw(value, h, w, decay_power)
    return raw_to_fourier(tf.image.resize(raw, (new_h, new_w), "bicubic"), decay_power)


def sample_fft_image(shape: Sequence[int], sd: float | None = None, decay_power: float = 1.0) -> tf.Tensor:
    """A new random image [B, H, W, C] with the Fourier parameterization's statistics at every call
    (unbounded, not trainable): e.g. random backgrounds that look like natural-image noise."""
    b, h, w, ch = shape
    fh, fw = rfft2d_freqs(h, w).shape
    noise = (0.01 if sd is None else sd) * tf.random.normal([2, b, ch, fh, fw])
    return _spectrum_to_image(noise[0], noise[1], tf.constant(_spectrum_scale(h, w, decay_power)), h, w)


def _self_mirrored_columns(w: int) -> list[int]:
    """The rfft2 columns that hold their own conjugate mirror: 0, and w/2 for even w."""
    return [0] + ([w // 2] if w % 2 == 0 else [])


def realizable_magnitude(magnitude: np.ndarray, w: int) -> np.ndarray:
    """An rfft2 amplitude spectrum [C, h, w//2+1] of h×w images as a real image's must be: in the
    self-mirrored columns |X[k]| = |X[−k]| (each such pair replaced by its mean)."""
    out = np.array(magnitude, np.float32)
    h = out.shape[-2]
    mirror = (-np.arange(h)) % h
    for c in _self_mirrored_columns(w):
        out[..., c] = (out[..., c] + out[..., mirror, c]) / 2
    return out


def _hermitian_phase(theta: tf.Tensor, h: int, w: int) -> tf.Tensor:
    """Phases [B, C, h, w//2+1] that a real image can have: in the columns that are their own mirror
    (0, and w/2 for even w) φ[k] = −φ[−k], so the self-conjugate bins are 0 and irfft2d keeps every
    magnitude as given (free phases there would be averaged with their mirror's, shrinking it)."""
    mirror = (-np.arange(h)) % h
    mask = np.zeros((1, 1, 1, w // 2 + 1), np.float32)
    mask[..., _self_mirrored_columns(w)] = 1.0
    odd = (theta - tf.gather(theta, mirror, axis=2)) / 2.0
    return theta + mask * (odd - theta)


def phase_image(shape: Sequence[int], magnitude: np.ndarray, seed: int | None = None) -> Param:
    """A magnitude-constrained Fourier image [B, H, W, C] (MACO, Fel et al. 2023): the amplitude of
    each rfft2 coefficient is fixed to ``magnitude`` [C, H, W//2+1] (orthonormal scale; its columns
    0 and W/2 made mirror-symmetric, as a real image's are: :func:`realizable_magnitude`) and only
    the phase is optimized, so the image keeps that spectrum exactly (unbounded, mean 0 if the
    magnitude's DC is 0). The initial phases are uniform in [−π, π)."""
    b, h, w, ch = shape
    magnitude = np.asarray(magnitude, np.float32)
    if magnitude.shape != (ch, h, w // 2 + 1):
        raise ValueError(f"magnitude must be [{ch}, {h}, {w // 2 + 1}] for {h}×{w}×{ch} images, "
                         f"got {list(magnitude.shape)}")
    magnitude = realizable_magnitude(magnitude, w)
    start = np.stack([g.uniform(-np.pi, np.pi, (ch, h, w // 2 + 1)) for g in _image_generators(seed, b)])
    theta = tf.Variable(start.astype(np.float32), name="phase")
    # irfft2d divides by h·w; the orthonormal scale multiplies by sqrt(h·w)
    amplitude = tf.constant(magnitude * np.float32(np.sqrt(h * w)))

    def render() -> tf.Tensor:
        phase = _hermitian_phase(theta, h, w)
        spectrum = tf.complex(amplitude * tf.cos(phase), amplitude * tf.sin(phase))
        return tf.transpose(tf.signal.irfft2d(spectrum, fft_length=[h, w]), [0, 2, 3, 1])

    # no image variable: a blur or decay of phases means nothing
    return Param(render, [theta], f"phase{tuple(shape)}", None, "phase")


def natural_image(w: int, h: int | None = None, batch: int = 1, alpha: bool = False, *,
                  magnitude: np.ndarray | None = None, seed: int | None = None, jit_compile: bool = True,
                  decay_power: float = 1.0) -> Param:
    """A phase-only RGB(A) image [batch, h, w, 3 or 4] in [0, 1] whose colours have the spectrum of
    natural images (``spectrum.natural_magnitude``, or ``magnitude`` [3, h, w//2+1]) in Lucid's
    decorrelated colour space, clipped to [0, 1] (Lucid's ``constrain_L_inf`` gradient). With
    ``alpha``, an opacity channel from Lucid's Fourier parameterization (1/f^``decay_power``,
    sigmoid), whose spectrum the image operators (a blur) act on."""
    from . import spectrum as spectrum_lib
    h = h or w
    magnitude = spectrum_lib.natural_magnitude(h, w) if magnitude is None else magnitude
    rgb = phase_image([batch, h, w, 3], magnitude, seed=seed)
    opacity = fft_image([batch, h, w, 1], decay_power=decay_power, seed=seed) if alpha else None
    variables = rgb.trainable_variables + (opacity.trainable_variables if alpha else [])

    def render() -> tf.Tensor:
        colours = to_valid_rgb(rgb(), decorrelate=True, sigmoid=False)
        return tf.concat([colours, tf.nn.sigmoid(opacity())], -1) if alpha else colours

    image_variable, space = (opacity.image_variable, "fourier") if alpha else (None, "phase")
    return Param(render, variables, f"natural_image({w}x{h}, batch={batch}, alpha={alpha})",
                 image_variable, space, jit_compile)


def laplacian_pyramid(shape: Sequence[int], n_levels: int = 4, sd: float | None = None,
                      seed: int | None = None) -> Param:
    """Sum of pixel images at 1, 1/2, 1/4, ... resolution, upsampled (unbounded)."""
    b, h, w, ch = shape
    generators = _image_generators(seed, b)
    sd = sd or 0.01
    levels = []
    for k in range(n_levels):
        k_size = max(1, h // 2 ** k), max(1, w // 2 ** k)
        noise = np.stack([g.normal(size=(*k_size, ch)) for g in generators]) * sd
        levels.append(tf.Variable(noise.astype(np.float32)))

    def render() -> tf.Tensor:
        return tf.add_n([tf.image.resize(v, (h, w), "bilinear") for v in levels]) / n_levels

    return Param(render, levels, f"laplacian{tuple(shape)}x{n_levels}", None, "other")


def lowres_tensor(shape: Sequence[int], underlying_shape: Sequence[int], sd: float | None = None,
                  seed: int | None = None) -> Param:
    """A low-resolution variable bilinearly upsampled to ``shape`` (for smooth, coarse images)."""
    var = tf.Variable(_normal(seed, underlying_shape) * np.float32(sd or 0.01))
    return Param(lambda: tf.image.resize(var, shape[1:3], "bilinear"), [var],
                 f"lowres{tuple(underlying_shape)}->{tuple(shape)}", None, "other")


def _linear_decorrelate(t: tf.Tensor) -> tf.Tensor:
    normalized = COLOR_CORRELATION_SVD_SQRT / MAX_NORM_SVD_SQRT
    return tf.einsum("bhwc,dc->bhwd", t, tf.constant(normalized))


def to_valid_rgb(t: tf.Tensor, decorrelate: bool = False, sigmoid: bool = True) -> tf.Tensor:
    """Unbounded RGB(A) to [0, 1]: optional color decorrelation, then sigmoid or clipping."""
    rgb, alpha = t[..., :3], t[..., 3:]
    if decorrelate and t.shape[-1] >= 3:
        rgb = _linear_decorrelate(rgb)
        if not sigmoid:
            rgb += COLOR_MEAN
    elif decorrelate and not sigmoid:
        rgb += float(COLOR_MEAN.mean())
    t = tf.concat([rgb, alpha], -1) if t.shape[-1] > 3 else rgb
    if sigmoid:
        return tf.nn.sigmoid(t)
    return constrain_L_inf(2 * t - 1) / 2 + 0.5


def constrain_L_inf(t: tf.Tensor, precondition: bool = False) -> tf.Tensor:
    """Clip to [-1, 1] with the gradient of Lucid's ``constrain_L_inf`` (``precondition``: the
    gradient's sign, the L∞ steepest-descent direction, as its ``constrain_L_inf_precondition``)."""
    @tf.custom_gradient
    def constrained(t):
        def grad(dy):
            # Lucid reads the gradient as the step direction: at the edge, a component with t·dy > 0
            # ("outward") is zeroed. dy is the loss gradient, so those are the components whose
            # descent step would move the value back inside. Kept as Lucid has it.
            blocked = (tf.abs(t) >= 1) & (t * dy > 0)
            g = tf.sign(dy) if precondition else dy
            return tf.where(blocked, tf.zeros_like(g), g)
        return t / tf.maximum(1.0, tf.abs(t)), grad
    return constrained(t)


def constrain_L2(t: tf.Tensor) -> tf.Tensor:
    """``t`` scaled into the unit L2 ball; at or beyond the boundary, a gradient whose descent step
    would leave the ball loses its outward (radial) part, as Lucid's ``constrain_L2``."""
    @tf.custom_gradient
    def constrained(t):
        norm = tf.norm(t)

        def grad(dy):
            unit = t / norm
            along = tf.reduce_sum(unit * dy)
            keep = (norm <= 1) | (along < 0)
            return tf.where(keep, dy, dy - unit * along)
        return t / tf.maximum(1.0, norm), grad
    return constrained(t)


def bilinear_sample(texture, uv) -> tf.Tensor:
    """Sample ``texture`` [h, w, C] at ``uv`` [..., 2] in [0, 1] as OpenGL does (GL_REPEAT wrap,
    GL_LINEAR filter, v = 0 at the bottom row): [..., C]. For textures seen through a UV map."""
    texture = tf.convert_to_tensor(texture, tf.float32)
    uv = tf.convert_to_tensor(uv, tf.float32)
    h, w = tf.shape(texture)[0], tf.shape(texture)[1]
    # pixel-center coordinates: column u·w − ½, row (1 − v)·h − ½
    col = uv[..., 0] * tf.cast(w, tf.float32) - 0.5
    row = (1.0 - uv[..., 1]) * tf.cast(h, tf.float32) - 0.5
    c0, r0 = tf.floor(col), tf.floor(row)
    fc, fr = (col - c0)[..., None], (row - r0)[..., None]
    c0, r0 = tf.cast(c0, tf.int32), tf.cast(r0, tf.int32)

    def at(r, c):
        return tf.gather_nd(texture, tf.stack([tf.math.floormod(r, h), tf.math.floormod(c, w)], -1))
    top = at(r0, c0) * (1 - fc) + at(r0, c0 + 1) * fc
    bottom = at(r0 + 1, c0) * (1 - fc) + at(r0 + 1, c0 + 1) * fc
    return top * (1 - fr) + bottom * fr


def image(w: int, h: int | None = None, batch: int = 1, sd: float | None = None, decorrelate: bool = True,
          fft: bool = True, alpha: bool = False, *, channels: int | None = None, sigmoid: bool = True,
          seed: int | None = None, jit_compile: bool = True, decay_power: float = 1.0) -> Param:
    """Lucid's default image parameterization: [batch, h, w, channels] in [0, 1].

    :param w: width in pixels.
    :param h: height in pixels (default: ``w``).
    :param batch: images rendered together.
    :param sd: standard deviation of the initial noise (default: Lucid's 0.01).
    :param decorrelate: colours through Lucid's ImageNet colour-decorrelation matrix.
    :param fft: optimize a Fourier spectrum scaled by 1/f (else plain pixels).
    :param alpha: add a fourth, alpha channel (RGBA); the renderer composites it over random backgrounds.
    :param channels: 3 by default (4 with ``alpha``); 1 gives grayscale, repeated to RGB for the model.
    :param sigmoid: squash to [0, 1] with a sigmoid (else clip).
    :param seed: the initial noise's seed (default: from the render's seed).
    :param jit_compile: fuse the parameterization's element-wise work into one XLA kernel.
    :param decay_power: the spectrum's 1/f^decay scale (Lucid: 1; larger favours smoother images).
    """
    h = h or w
    ch = channels or (4 if alpha else 3)
    zero_is_gray = sigmoid or (decorrelate and ch >= 3)
    description = f"image({w}x{h}, batch={batch}, fft={fft}, decorrelate={decorrelate}, channels={ch})"
    valid = functools.partial(to_valid_rgb, decorrelate=decorrelate and ch >= 3, sigmoid=sigmoid)
    if fft and jit_compile:
        # the inverse FFT outside the XLA kernel, which takes the rest: TensorFlow's own FFT is faster
        # than XLA's on CPU (forward+backward, batch 32 at 80 px RGBA: 6.9 ms instead of 9.4)
        spectrum, planes = _fft_planes([batch, h, w, ch], sd, decay_power, seed, jit_compile=True)
        finish = tf.function(lambda p: valid(_planes_to_nhwc(p)), jit_compile=True)
        return Param(lambda: finish(planes()), [spectrum], description, spectrum, "fourier")
    raw = (fft_image([batch, h, w, ch], sd, decay_power=decay_power, seed=seed) if fft
           else pixel_image([batch, h, w, ch], sd or 0.01, seed=seed))
    return Param(lambda: valid(raw()), raw.trainable_variables, description, raw.image_variable,
                 raw.space if zero_is_gray or fft else "other", jit_compile)


def centered_pixels(w: int, h: int | None = None, batch: int = 1, sd: float = 0.02,
                    seed: int | None = None) -> Param:
    """Plain RGB pixels stored centered (0 = gray), image = clip(x + 0.5): Yosinski's setting."""
    raw = pixel_image([batch, h or w, w, 3], sd, seed=seed)
    return Param(lambda: constrain_L_inf(2 * raw()) / 2 + 0.5, raw.trainable_variables,
                 f"centered_pixels({w}x{h or w}, batch={batch})", raw.image_variable, "pixels")


def grayscale(w: int, h: int | None = None, batch: int = 1, **options) -> Param:
    """A one-channel image parameterization (see :func:`image`)."""
    return image(w, h, batch, channels=1, decorrelate=False, **options)


def inverse_sigmoid(images: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """Logits whose sigmoid gives ``images`` (pixels in [0, 1], clipped to [eps, 1 - eps])."""
    x = np.clip(np.asarray(images, np.float32), eps, 1 - eps)
    return np.log(x / (1 - x))


def from_image(init: np.ndarray) -> Param:
    """A pixel parameterization starting at a given batch in [0, 1] (for up-scaling and zooms)."""
    logits = inverse_sigmoid(init)
    if logits.ndim == 3:
        logits = logits[None]
    raw = pixel_image(logits.shape, init=logits)
    return Param(lambda: tf.nn.sigmoid(raw()), raw.trainable_variables, f"from_image{logits.shape}",
                 raw.image_variable, "logit_pixels")


def composite_activation(x: tf.Tensor) -> tf.Tensor:
    """atan(x) and its square, each scaled to unit RMS for unit-normal x (Lucid's CPPN activation)."""
    a = tf.atan(x)
    return tf.concat([a / 0.67, a * a / 0.6], -1)


def _instance_norm(x: tf.Tensor) -> tf.Tensor:
    mean, var = tf.nn.moments(x, axes=[1, 2], keepdims=True)
    return (x - mean) * tf.math.rsqrt(var + 1e-6)


def cppn(width: int, batch: int = 1, channels: int = 3, hidden: int = 24, layers: int = 8,
         *, height: int | None = None, seed: int | None = None,
         activation: Callable[[tf.Tensor], tf.Tensor] = composite_activation, normalize: bool = False) -> Param:
    """A CPPN: an MLP from (x, y) coordinates to colors; smooth, resolution-free patterns.

    Each image of the batch has its own network. ``activation`` maps [..., hidden] to [..., k]
    (default :func:`composite_activation`, k = 2 × hidden); ``normalize`` instance-normalizes
    each layer before it. Use a smaller learning rate than for images (Adam 0.005, as Lucid
    recommends).
    """
    height = height or width
    generators = _image_generators(seed, batch)
    r = 3.0 ** 0.5
    ys, xs = np.meshgrid(np.linspace(-r, r, height), np.linspace(-r, r, width), indexing="ij")
    coords = tf.constant(np.stack([xs, ys], -1)[None].astype(np.float32))
    out_width = int(activation(tf.zeros([1, hidden])).shape[-1])
    weights, biases, fan_in = [], [], 2
    for _ in range(layers):
        draws = [g.normal(0, np.sqrt(1.0 / fan_in), (fan_in, hidden)) for g in generators]
        weights.append(tf.Variable(np.stack(draws).astype(np.float32)))
        biases.append(tf.Variable(np.zeros((batch, 1, 1, hidden), np.float32)))
        fan_in = out_width
    w_out = tf.Variable(np.zeros((batch, fan_in, channels), np.float32))

    def render() -> tf.Tensor:
        x = tf.tile(coords, [batch, 1, 1, 1])
        for w, b in zip(weights, biases):
            x = tf.einsum("bhwi,bio->bhwo", x, w) + b
            x = activation(_instance_norm(x) if normalize else x)
        return tf.nn.sigmoid(tf.einsum("bhwi,bio->bhwo", x, w_out))

    return Param(render, weights + biases + [w_out], f"cppn({width}x{height}, batch={batch})", None, "other")


__getattr__ = lucid_compat.name_lookup(__name__, lucid_compat.PARAM_HINTS)
