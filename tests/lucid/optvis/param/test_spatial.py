"""Lucid's tests/optvis/param/test_spatial.py, ported: pixel, Fourier and Laplacian params fit a
photo; bilinear texture sampling matches OpenGL's rules.

Changed from Lucid's file: the imports; the photo is scikit-image's astronaut at 112 px (Lucid
uses its dog_cat_112.jpg fixture); the session loop written with ``make_t_image``.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas.io.images import default_image_paths
from lucid_atlas.lucid.misc.io import load
from lucid_atlas.lucid.optvis.param.color import to_valid_rgb
from lucid_atlas.lucid.optvis.param.spatial import (
    bilinearly_sampled_image,
    fft_image,
    laplacian_pyramid_image,
    pixel_image,
)
from lucid_atlas.lucid.optvis.render import make_t_image


@pytest.fixture
def test_image():
    path = next(p for p in default_image_paths() if p.endswith("astronaut.png"))
    return tf.image.resize(load(path), (112, 112)).numpy()


@pytest.mark.parametrize("param", [pixel_image, fft_image, laplacian_pyramid_image])
def test_param_can_fit_image(param, test_image, maxsteps=1000):
    shape = (1,) + test_image.shape
    image_t = make_t_image(lambda: to_valid_rgb(param(shape)))
    optimizer = tf.compat.v1.train.AdamOptimizer(0.05)

    @tf.function
    def optimize():
        with tf.GradientTape() as tape:
            image = image_t()
            loss_t = tf.reduce_mean((image - test_image) ** 2)
        variables = image_t.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss_t, variables), variables))
        return tf.reduce_mean(tf.abs(image - test_image))

    for step in range(maxsteps):
        mean_distance = float(optimize())
        if mean_distance < 0.01:
            break
    assert mean_distance < 0.01


def test_bilinearly_sampled_image():
    h, w = 2, 3
    img = np.float32(np.arange(6).reshape(h, w, 1))
    img = img[::-1]  # flip y to match OpenGL
    tests = [
        [0, 0, 0],
        [1, 1, 4],
        [0.5, 0.5, 2],
        [0.5, 0.0, 0.5],
        [0.0, 0.5, 1.5],
        [-1.0, -1.0, 5.0],
        [w, 1, 3.0],
        [w - 0.5, h - 0.5, 2.5],
        [2 * w - 0.5, 2 * h - 0.5, 2.5],
    ]
    tests = np.float32(tests)
    uv = np.float32((tests[:, :2] + 0.5) / [w, h])  # normalize UVs
    expected = tests[:, 2:]

    output = bilinearly_sampled_image(img, uv).numpy()
    assert np.abs(output - expected).max() < 1e-8
