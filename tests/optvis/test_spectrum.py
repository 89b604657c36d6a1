"""Magnitude-constrained (phase-only) images and the natural-image spectrum they keep."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lucid_atlas.optvis import param, render, spectrum


def _orthonormal_magnitude(images: np.ndarray) -> np.ndarray:
    """[B, C, h, w//2+1] amplitude spectra of NHWC images (orthonormal scale)."""
    h, w = images.shape[1:3]
    return np.abs(np.fft.rfft2(np.moveaxis(images, -1, 1))) / np.sqrt(h * w)


@pytest.mark.parametrize("h,w", [(32, 32), (7, 9), (6, 7), (5, 8)])
def test_a_phase_only_image_keeps_its_magnitude_exactly(h, w):
    magnitude = spectrum.natural_magnitude(h, w)
    images = param.phase_image([2, h, w, 3], magnitude, seed=1)().numpy()
    np.testing.assert_allclose(_orthonormal_magnitude(images), np.broadcast_to(magnitude, (2, *magnitude.shape)),
                               atol=1e-5 * magnitude.max())
    assert not np.allclose(images[0], images[1])  # each image its own phases


def test_a_magnitude_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"\[3, 16, 9\]"):
        param.phase_image([1, 16, 16, 3], np.ones((3, 16, 16), np.float32))


def test_the_objective_rises_with_a_natural_rgba_image(lite0):
    size = 48
    result = render.render(lite0, "block5_expanded:3", param_f=lambda: param.natural_image(size, alpha=True, seed=0),
                           thresholds=(24,), progress=False, seed=0)
    assert result.values[-1].mean() > result.history[0] + 0.1
    images = result.images[-1]
    assert images.shape == (1, size, size, 4)
    assert 0.0 <= images.min() and images.max() <= 1.0


def test_an_optimized_phase_image_still_has_its_magnitude(lite0):
    from lucid_atlas.optvis import objectives

    magnitude = spectrum.natural_magnitude(40)
    raw = param.phase_image([1, 40, 40, 3], magnitude, seed=3)
    p = param.Param(lambda: param.to_valid_rgb(raw(), decorrelate=True, sigmoid=False), raw.trainable_variables,
                    "phase rgb")
    before = raw().numpy()
    result = render.render(lite0, objectives.channel("block5_expanded", 3), param_f=lambda: p, thresholds=(16,),
                           progress=False, seed=0)
    after = raw().numpy()
    assert np.abs(after - before).mean() > 1e-3  # the picture changed
    assert result.values[-1].mean() > result.history[0]
    np.testing.assert_allclose(_orthonormal_magnitude(after)[0], magnitude, atol=1e-5 * magnitude.max())


def test_estimated_spectrum_of_known_images(tmp_path):
    size = 16
    flat = np.full((size, size, 3), 0.4, np.float32)
    x = np.arange(size)
    grating = np.repeat((0.5 + 0.25 * np.cos(2 * np.pi * 3 * x / size))[None, :, None], size, 0) * np.ones(3)
    for name, img in [("flat", flat), ("grating", grating)]:
        Image.fromarray(np.round(img * 255).astype(np.uint8)).save(tmp_path / f"{name}.png")
    (tmp_path / "broken.jpg").write_bytes(b"not an image")

    m_flat, n = spectrum.estimate_magnitude([str(tmp_path / "flat.png")], size)
    assert n == 1 and np.abs(m_flat).max() < 1e-3  # a flat image has nothing but its (zeroed) mean
    m_grating = spectrum.image_magnitude(grating)
    peak = np.unravel_index(np.argmax(m_grating.sum(0)), m_grating.shape[1:])
    assert peak == (0, 3)  # a horizontal cosine of 3 cycles: row 0, column 3
    assert m_grating.sum(0)[peak] / m_grating.sum() > 0.99

    both, n = spectrum.estimate_magnitude([str(p) for p in sorted(tmp_path.iterdir())], size)
    assert n == 2  # the unreadable file skipped and not counted
    np.testing.assert_allclose(both, (m_flat + spectrum.image_magnitude(
        np.asarray(Image.open(tmp_path / "grating.png"), np.float32) / 255)) / 2, atol=2e-3)
    with pytest.raises(ValueError, match="no readable image"):
        spectrum.estimate_magnitude([str(tmp_path / "broken.jpg")])


def test_a_one_over_f_spectrum_resamples_to_itself(tmp_path):
    n = 64
    f = np.hypot(np.fft.fftfreq(n)[:, None], np.fft.rfftfreq(n)[None, :])
    one_over_f = np.stack([1.0 / np.maximum(f, 1.0 / n)] * 3).astype(np.float32)
    for h in (32, 48):
        small = spectrum.resample(one_over_f, h, h)
        fs = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(h)[None, :])
        inside = (fs > 2.0 / h) & (fs < 0.4)  # away from the clamped DC and the interpolated corners
        np.testing.assert_allclose(small[0][inside], 1.0 / fs[inside], rtol=0.1)
    large = spectrum.resample(one_over_f, 96, 96)  # beyond the reference's Nyquist: the fitted power law
    fl = np.hypot(np.fft.fftfreq(96)[:, None], np.fft.rfftfreq(96)[None, :])
    corner = fl > 0.5
    np.testing.assert_allclose(large[0][corner], 1.0 / fl[corner], rtol=0.1)
    path = str(tmp_path / "s.npz")
    spectrum.save_magnitude(path, one_over_f, 5)
    np.testing.assert_allclose(spectrum.natural_magnitude(n, path=path), one_over_f, rtol=1e-3)


def test_the_shipped_spectrum_falls_with_frequency():
    m = spectrum.natural_magnitude(spectrum.REFERENCE_SIZE)
    f = np.hypot(np.fft.fftfreq(m.shape[1])[:, None], np.fft.rfftfreq(m.shape[1])[None, :])
    low, high = m[:, (f > 0.02) & (f < 0.05)].mean(1), m[:, (f > 0.3) & (f < 0.45)].mean(1)
    assert (low > 5 * high).all()
    assert m[0].sum() > m[1].sum() and m[0].sum() > m[2].sum()  # most energy in the luminance-like channel
