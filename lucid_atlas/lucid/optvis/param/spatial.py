"""Lucid's ``param.spatial``: pixel, Fourier and Laplacian-pyramid images (unbounded tensors)."""

from __future__ import annotations

import warnings


from ....optvis import param as ours
from .lowres import lowres_tensor

rfft2d_freqs = ours.rfft2d_freqs


def pixel_image(shape, sd=None, init_val=None):
    """A variable of ``shape`` [batch, h, w, channels]: noise of deviation ``sd`` (0.01) or ``init_val``."""
    if sd is not None and init_val is not None:
        warnings.warn("`pixel_image` received both an initial value and a sd argument. Ignoring sd in favor of "
                      "the supplied initial value.", stacklevel=2)
    return ours.pixel_image(shape, sd or 0.01, init=init_val)()


def fft_image(shape, sd=None, decay_power=1):
    """An image from 2D Fourier coefficients scaled by 1/f^decay_power (Lucid's default image)."""
    return ours.fft_image(shape, sd, decay_power=decay_power)()


def laplacian_pyramid_image(shape, n_levels=4, sd=None):
    """The sum of ``n_levels`` low-resolution tensors at 1, 1/2, 1/4, ... of the size."""
    batch_dims = tuple(shape[:-3])
    h, w, ch = shape[-3:]
    pyramid = 0
    for n in range(n_levels):
        k = 2 ** n
        pyramid += lowres_tensor(shape, batch_dims + (h // k, w // k, ch), sd=sd)
    return pyramid


def bilinearly_sampled_image(texture, uv):
    """``texture`` [h, w, C] sampled at per-pixel ``uv`` [..., 2] (OpenGL's GL_REPEAT and GL_LINEAR)."""
    return ours.bilinear_sample(texture, uv)


def naive(shape, sd=None):
    warnings.warn("`naive` has been renamed `pixel_image` for clarity.", DeprecationWarning, stacklevel=2)
    return pixel_image(shape, sd)


def laplacian_pyramid(shape, n_levels=4, sd=None):
    warnings.warn("`laplacian_pyramid` has been renamed `laplacian_pyramid_image` for clarity.", DeprecationWarning,
                  stacklevel=2)
    return laplacian_pyramid_image(shape, n_levels=n_levels, sd=sd)


def sample_bilinear(texture, uv):
    warnings.warn("`sample_bilinear` has been renamed `bilinearly_sampled_image` for clarity.", DeprecationWarning,
                  stacklevel=2)
    return bilinearly_sampled_image(texture, uv)


__all__ = ["bilinearly_sampled_image", "fft_image", "laplacian_pyramid", "laplacian_pyramid_image", "naive",
           "pixel_image", "rfft2d_freqs", "sample_bilinear"]
