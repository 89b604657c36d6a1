"""Parameterizations: shapes, value ranges, and the ability to represent a real photo."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas.optvis import param


@pytest.mark.parametrize("make,shape", [
    (lambda: param.image(48, batch=2), (2, 48, 48, 3)),
    (lambda: param.image(33, 21, fft=True), (1, 21, 33, 3)),
    (lambda: param.image(32, fft=False, decorrelate=False), (1, 32, 32, 3)),
    (lambda: param.image(32, sigmoid=False), (1, 32, 32, 3)),
    (lambda: param.image(32, alpha=True), (1, 32, 32, 4)),
    (lambda: param.natural_image(32, batch=2), (2, 32, 32, 3)),
    (lambda: param.natural_image(30, 20, alpha=True), (1, 20, 30, 4)),
    (lambda: param.grayscale(32, batch=3), (3, 32, 32, 1)),
    (lambda: param.cppn(40, batch=2), (2, 40, 40, 3)),
    (lambda: param.centered_pixels(24), (1, 24, 24, 3)),
    (lambda: param.from_image(np.full((16, 16, 3), 0.3, np.float32)), (1, 16, 16, 3)),
    (lambda: param.Param(lambda raw=param.laplacian_pyramid([1, 32, 32, 3]): param.to_valid_rgb(raw()), [], "lp"),
     (1, 32, 32, 3)),
    (lambda: param.Param(lambda raw=param.lowres_tensor([1, 32, 32, 3], [1, 8, 8, 3]):
                         param.to_valid_rgb(raw()), [], "lowres"), (1, 32, 32, 3)),
])
def test_shapes_and_range(make, shape):
    p = make()
    out = p().numpy()
    assert out.shape == shape
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_seeded_params_repeat_and_differ():
    a = param.image(16, seed=1)().numpy()
    b = param.image(16, seed=1)().numpy()
    c = param.image(16, seed=2)().numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    with param.seeded(5):
        d = param.image(16)().numpy()
    with param.seeded(5):
        e = param.image(16)().numpy()
    np.testing.assert_array_equal(d, e)


def test_decorrelation_matrix_is_lucids():
    m = param.COLOR_CORRELATION_SVD_SQRT
    assert m[0].tolist() == pytest.approx([0.26, 0.09, 0.02])
    assert param.MAX_NORM_SVD_SQRT == pytest.approx(np.linalg.norm(m, axis=0).max())


@pytest.fixture(scope="module")
def photo():
    from lucid_atlas.io.images import default_image_paths, load_image

    path = next(p for p in default_image_paths() if p.endswith("chelsea.png"))
    return load_image(path, 64)[None]


@pytest.mark.parametrize("fft", [False, True])
def test_can_fit_a_real_photo(photo, fft):
    p = param.image(64, fft=fft, decorrelate=True, seed=0)
    opt = tf.keras.optimizers.Adam(0.05)
    target = tf.constant(photo)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(p() - target))
        grads = tape.gradient(loss, p.trainable_variables)
        opt.apply_gradients(zip(grads, p.trainable_variables))
        return loss

    for _ in range(1000):
        step()
    mae = float(tf.reduce_mean(tf.abs(p() - target)))
    assert mae < 0.01, mae


@pytest.mark.parametrize("h,w", [(16, 16), (15, 13)])
def test_a_fourier_image_round_trips_and_enlarges(h, w):
    """Coarse-to-fine rendering enlarges a Fourier image: its variable maps to the raw image and
    back exactly, and the enlarged variable shows the raw image resized."""
    p = param.fft_image([2, h, w, 4], seed=0, decay_power=1.25)
    value = p.image_variable.numpy()
    raw = param.fourier_to_raw(value, h, w, 1.25).numpy()
    np.testing.assert_allclose(raw, p().numpy(), atol=1e-7)
    np.testing.assert_allclose(param.fourier_to_raw(param.raw_to_fourier(raw, 1.25), h, w, 1.25), raw, atol=1e-6)
    big = param.fourier_to_raw(param.enlarge_fourier(value, h, w, 2 * h, 2 * w, 1.25), 2 * h, 2 * w, 1.25).numpy()
    np.testing.assert_allclose(big, tf.image.resize(raw, (2 * h, 2 * w), "bicubic").numpy(), atol=1e-6)


@pytest.mark.parametrize("w,h", [(20, 16), (15, 13)])
def test_the_fused_fourier_image_equals_the_plain_one_in_a_graph(w, h):
    """Inside a traced step the compiled param (its scaled spectrum and finish as XLA kernels) gives
    the plain ops' image and gradient, odd widths included."""
    fused_p = param.image(w, h, batch=2, seed=3)
    plain = param.image(w, h, batch=2, seed=3, jit_compile=False)
    weights = tf.random.stateless_normal([2, h, w, 3], [1, 2])

    @tf.function
    def image_and_gradient(p):
        with tf.GradientTape() as tape:
            img = p()
            loss = tf.reduce_sum(img * weights)
        return img, tape.gradient(loss, p.image_variable)

    got = image_and_gradient(fused_p)
    for mine, want in zip(got, image_and_gradient(plain)):
        np.testing.assert_allclose(mine.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    assert np.abs(got[1].numpy()).max() > 0
