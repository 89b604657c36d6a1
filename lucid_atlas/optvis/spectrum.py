"""The mean amplitude spectrum of natural images, for magnitude-constrained (phase-only) images.

MACO (Fel et al., NeurIPS 2023) fixes an image's Fourier magnitude to that of natural images and
optimizes only the phase, so a render cannot drift into high-frequency noise. The magnitudes here
live in the colour-decorrelated space of :func:`param.to_valid_rgb` (channel c of ``(rgb −
COLOR_MEAN)`` through the inverse of Lucid's colour matrix) with the orthonormal FFT's scale
(``|rfft2(y)| / sqrt(h w)``), DC zeroed: [3, h, w // 2 + 1], float32. The package ships one
estimated from 1000 ImageNet photos (one a class) at 224 px; :func:`estimate_magnitude` makes
one from any folder of images.
"""

from __future__ import annotations

import functools
import os
from typing import Iterable

import numpy as np
from scipy.ndimage import map_coordinates

from ..io.images import ImageReadError, load_image
from .param import COLOR_CORRELATION_SVD_SQRT, COLOR_MEAN, MAX_NORM_SVD_SQRT, realizable_magnitude

REFERENCE_SIZE = 224  # px: the square the shipped spectrum was estimated at
_SHIPPED = os.path.join(os.path.dirname(__file__), "data", "natural_spectrum.npz")


def decorrelation_basis() -> np.ndarray:
    """[3, 3] matrix D with rgb = y @ D + COLOR_MEAN, as :func:`param.to_valid_rgb` maps colours."""
    return (COLOR_CORRELATION_SVD_SQRT / MAX_NORM_SVD_SQRT).T.astype(np.float64)


def to_decorrelated(rgb: np.ndarray) -> np.ndarray:
    """Pixels [..., 3] in [0, 1] to the decorrelated colour space the parameterizations use."""
    return (np.asarray(rgb, np.float64) - COLOR_MEAN) @ np.linalg.inv(decorrelation_basis())


def image_magnitude(rgb: np.ndarray) -> np.ndarray:
    """One image's [3, h, w//2+1] orthonormal amplitude spectrum in the decorrelated space (DC zeroed)."""
    y = to_decorrelated(rgb)
    h, w = y.shape[:2]
    spectrum = np.abs(np.fft.rfft2(np.moveaxis(y, -1, 0))) / np.sqrt(h * w)
    spectrum[:, 0, 0] = 0.0
    return spectrum.astype(np.float32)


def estimate_magnitude(paths: Iterable[str], size: int = REFERENCE_SIZE) -> tuple[np.ndarray, int]:
    """The mean amplitude spectrum [3, size, size//2+1] of the images' centred squares, and how
    many images it averages (unreadable files are skipped)."""
    total, count = None, 0
    for path in paths:
        try:
            m = image_magnitude(load_image(path, size))  # the centred square, resized
        except ImageReadError:
            continue
        total = m.astype(np.float64) if total is None else total + m
        count += 1
    if not count:
        raise ValueError("no readable image to estimate a spectrum from")
    return (total / count).astype(np.float32), count


def save_magnitude(path: str, magnitude: np.ndarray, count: int) -> None:
    """Write a spectrum (float16: ~150 kB at 224 px) with the number of images behind it."""
    np.savez_compressed(path, magnitude=magnitude.astype(np.float16), images=np.int64(count))


def _load(path: str) -> np.ndarray:
    with np.load(path) as data:
        return data["magnitude"].astype(np.float32)


def _power_law(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel (A, α) of A·|f|^−α fitted to the reference spectrum between 0.05 and 0.45 cycles/px."""
    n = reference.shape[1]
    f = np.hypot(np.fft.fftfreq(n)[:, None], np.fft.rfftfreq(n)[None, :])
    band = (f > 0.05) & (f < 0.45)
    amps, alphas = [], []
    for channel in reference:
        slope, intercept = np.polyfit(np.log(f[band]), np.log(np.maximum(channel[band], 1e-12)), 1)
        amps.append(np.exp(intercept))
        alphas.append(-slope)
    return np.asarray(amps), np.asarray(alphas)


def resample(reference: np.ndarray, h: int, w: int) -> np.ndarray:
    """A square reference spectrum [3, n, n//2+1] at another size [3, h, w//2+1].

    An image shrunk from n to h px keeps the band below h/n of the reference's frequencies, and a
    pixel then spans (n/h)² of the reference's, so in orthonormal units the h-px spectrum at f
    cycles/px is the reference's at f·h/n, × h/n (bilinear on the reference grid; equal at f for
    a 1/f spectrum, as scale-invariant). Beyond the reference's Nyquist (h > n) the spectrum
    follows a power law fitted to it."""
    n = reference.shape[1]
    fy = np.fft.fftfreq(h)[:, None] * h / n * np.ones((1, w // 2 + 1))
    fx = np.fft.rfftfreq(w)[None, :] * w / n * np.ones((h, 1))
    # the full n×n grid (|X[k, l]| = |X[−k, −l]| for a real image), centred by fftshift
    cols_full = np.arange(n)
    mirrored = cols_full > n // 2
    rows_full = np.arange(n)[:, None]
    full = reference[:, np.where(mirrored, (-rows_full) % n, rows_full), np.where(mirrored, n - cols_full, cols_full)]
    full = np.fft.fftshift(full, axes=(1, 2))
    rows, cols = fy * n + n // 2, fx * n + n // 2
    out = np.stack([map_coordinates(c, [rows, cols], order=1, mode="nearest") for c in full])
    out *= np.sqrt(h * w) / n
    outside = (np.abs(fy) > 0.5) | (np.abs(fx) > 0.5)
    if outside.any():
        amps, alphas = _power_law(reference)
        f = np.hypot(fy, fx)
        for c in range(out.shape[0]):
            out[c][outside] = amps[c] * f[outside] ** -alphas[c] * np.sqrt(h * w) / n
    out[:, 0, 0] = 0.0
    return realizable_magnitude(out, w)


def natural_magnitude(h: int, w: int | None = None, path: str | None = None) -> np.ndarray:
    """The natural-image amplitude spectrum [3, h, w//2+1] for an h×w image (``path``: a spectrum
    written by :func:`save_magnitude`; default the shipped ImageNet one)."""
    return _natural_magnitude(h, w or h, os.path.abspath(path or _SHIPPED)).copy()


@functools.lru_cache(maxsize=16)
def _natural_magnitude(h: int, w: int, path: str) -> np.ndarray:
    # cached: a renderer makes its image anew (and asks again) at every restart
    reference = _load(path)
    if reference.shape[1] == h and reference.shape[2] == w // 2 + 1:
        return reference
    return resample(reference, h, w)
