"""Transforms: shapes, seeded reproducibility, and that they really perturb the image."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas.optvis import transform as T
from lucid_atlas.optvis.transform import warp as W


def _img(b=2, h=32, w=32):
    return tf.constant(np.random.default_rng(0).uniform(size=(b, h, w, 3)).astype(np.float32))


def seed(a, b=0):
    return tf.constant([a, b], tf.int32)


def test_shapes():
    x = _img()
    assert T.pad(4)(x, seed(0)).shape == (2, 40, 40, 3)
    assert T.jitter(6)(x, seed(0)).shape == (2, 26, 26, 3)
    assert T.crop_or_pad_to(20, 24)(x, seed(0)).shape == (2, 20, 24, 3)
    scaled = T.random_scale([2.0])(x, seed(0))
    assert scaled.shape[1:3] == (64, 64)
    assert T.collapse_alpha_random()(tf.concat([x, tf.zeros_like(x[..., :1])], -1), seed(0)).shape == (2, 32, 32, 3)


def test_constant_pad_value():
    out = T.pad(3, mode="constant", constant_value=0.5)(_img(), seed(0)).numpy()
    assert np.all(out[:, :3] == 0.5)


def test_standard_transforms_seeded_and_random():
    f = T.compose(*T.standard_transforms())
    x = _img()
    a, b = f(x, seed(1)).numpy(), f(x, seed(1)).numpy()
    np.testing.assert_array_equal(a, b)
    c = f(x, seed(2)).numpy()
    assert np.abs(a - c).mean() > 1e-3  # another seed, another draw
    assert np.abs(a[0] - a[1]).mean() > 1e-3  # each image draws its own jitter, scale and angle


def test_an_image_is_transformed_the_same_alone_or_in_a_batch():
    """Image i's draws come from (seed, i): the same alone (given per-image seeds) or among others."""
    from lucid_atlas.optvis import rng

    f = T.compose(*T.standard_transforms(), T.collapse_alpha_random(), T.uniform_noise(0.05))
    x = tf.concat([_img(5), tf.ones([5, 32, 32, 1]) * 0.5], -1)  # RGBA
    seeds = rng.batch_seeds(seed(4, 2), 5)
    batch = f(x, seeds).numpy()
    alone = f(x[3:4], seeds[3:4]).numpy()
    np.testing.assert_allclose(batch[3:4], alone, atol=1e-6)
    np.testing.assert_allclose(f(x, seed(4, 2)).numpy(), batch, atol=1e-6)  # [2] seed = per-image seeds


def test_random_scale_zooms_each_image_on_a_common_canvas():
    x = _img(8, 40, 40)
    out = T.random_scale([0.5, 1.0, 2.0])(x, seed(3)).numpy()
    assert out.shape == (8, 40, 40, 3)  # the median factor keeps the size
    differs = [np.abs(out[i] - x.numpy()[i]).mean() > 1e-3 for i in range(8)]
    assert any(differs) and not all(differs)  # some images drew factor 1, others zoomed


def test_rotate_zero_is_identity_and_ninety_turns():
    x = _img(1, 9, 9)
    np.testing.assert_allclose(T.rotate(x, tf.constant(0.0)).numpy(), x.numpy(), atol=1e-5)
    turned = T.rotate(x, tf.constant(np.pi / 2)).numpy()
    np.testing.assert_allclose(turned[0, 4, 4], x.numpy()[0, 4, 4], atol=1e-5)  # center stays
    assert not np.allclose(turned, x.numpy(), atol=1e-3)


def test_random_rotate_units_in_any_case():
    x = _img(2, 9, 9)
    s = tf.constant([[1, 2], [3, 4]], tf.int64)
    degrees = T.random_rotate([90])(x, s).numpy()
    np.testing.assert_allclose(T.random_rotate([90], units="Degrees")(x, s).numpy(), degrees)
    np.testing.assert_allclose(T.random_rotate([np.pi / 2], units="RADIANS")(x, s).numpy(), degrees, atol=1e-5)
    with pytest.raises(ValueError, match="degrees"):
        T.random_rotate([1], units="turns")


def test_transforms_are_differentiable_in_tf_function():
    v = tf.Variable(_img())
    f = T.compose(T.standard_transforms())

    @tf.function
    def grad():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(f(v, seed(3)))
        return tape.gradient(loss, v)

    g = grad()
    assert g is not None and float(tf.reduce_sum(tf.abs(g))) > 0


def test_collapse_alpha_opaque_keeps_rgb():
    x = _img()
    rgba = tf.concat([x, tf.ones_like(x[..., :1])], -1)
    np.testing.assert_allclose(T.collapse_alpha_random()(rgba, seed(0)).numpy(), x.numpy(), atol=1e-6)


@pytest.mark.parametrize("interpolation", ["BILINEAR", "NEAREST"])
def test_gather_warp_matches_the_projective_transform_op(interpolation):
    """The XLA-compatible warp reproduces ImageProjectiveTransformV3 (constant fill)."""
    from lucid_atlas.optvis import transform as T

    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(size=(2, 20, 24, 3)), tf.float32)
    a = 0.3
    flat = tf.constant([[np.cos(a) * 1.1, -np.sin(a), 3.2, np.sin(a), np.cos(a) * 0.9, -2.7, 0.0, 0.0],
                        [0.8, 0.1, -1.5, 0.05, 1.2, 4.1, 0.0, 0.0]], tf.float32)
    shape = tf.constant([18, 22])
    expected = tf.raw_ops.ImageProjectiveTransformV3(images=images, transforms=flat, output_shape=shape,
                                                     fill_value=0.5, interpolation=interpolation, fill_mode="CONSTANT")
    got = T.gather_warp(images, flat, shape, 0.5, interpolation)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-5)


def test_jit_compiled_render_step_runs(tiny_model_for_xla):
    from lucid_atlas.optvis import objectives, param, render

    result = render.render(tiny_model_for_xla, objectives.channel("feat", 1), lambda: param.image(24),
                           thresholds=(3,), progress=False, jit_compile=True)
    assert result.images[-1].shape == (1, 24, 24, 3) and np.isfinite(result.images[-1]).all()


@pytest.fixture(scope="module")
def tiny_model_for_xla():
    from lucid_atlas import models

    inputs = tf.keras.Input((32, 32, 3))
    x = tf.keras.layers.Conv2D(4, 3, activation="relu", name="feat")(inputs)
    out = tf.keras.layers.Dense(3, name="scores")(tf.keras.layers.GlobalAveragePooling2D()(x))
    return models.from_keras(tf.keras.Model(inputs, out))


def _warp_and_input_gradient(warp, images, weights):
    """A warp's output and the gradient of sum(output · weights) with respect to its input."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = warp(images)
        value = tf.reduce_sum(out * weights)
    return out.numpy(), tape.gradient(value, images).numpy()


def _op(flat, shape, interpolation):
    return lambda x: tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=flat, output_shape=shape, fill_value=0.5, interpolation=interpolation,
        fill_mode="CONSTANT")


@pytest.mark.parametrize("interpolation", ["BILINEAR", "NEAREST"])
def test_banded_warp_matches_the_op_and_its_gradient(interpolation):
    """Warps run as row bands (in parallel on CPU) with the same values and gradients as one op."""
    rng = np.random.default_rng(1)
    images = tf.constant(rng.uniform(size=(2, 21, 17, 3)), tf.float32)
    weights = tf.constant(rng.normal(size=(2, 19, 23, 3)), tf.float32)
    a = 0.2
    flat = tf.constant([[np.cos(a) * 0.9, -np.sin(a), 1.3, np.sin(a), np.cos(a) * 0.95, -0.7, 0.0, 0.0],
                        [1.1, 0.05, -2.0, 0.0, 0.9, 1.4, 0.001, 0.002]], tf.float32)
    shape = tf.constant([19, 23])
    want = _warp_and_input_gradient(_op(flat, shape, interpolation), images, weights)
    for bands in (1, 2, 3):
        got = _warp_and_input_gradient(lambda x, bands=bands: W._banded_warp(x, flat, shape, 0.5, interpolation, bands),
                                       images, weights)
        np.testing.assert_allclose(got[0], want[0], atol=1e-4)
        np.testing.assert_allclose(got[1], want[1], atol=1e-4)


@pytest.mark.parametrize("interpolation,xla", [("NEAREST", False), ("NEAREST", True), ("BILINEAR", True)])
def test_gather_warps_have_the_ops_values_and_gradient(interpolation, xla):
    """Warps by gathers (nearest, and everything under XLA): the op's values and gradient rule."""
    rng = np.random.default_rng(2)
    images = tf.constant(rng.uniform(size=(1, 20, 18, 3)), tf.float32)
    weights = tf.constant(rng.normal(size=(1, 16, 22, 3)), tf.float32)
    a = 0.15
    flat = tf.constant([[np.cos(a) * 1.05, -np.sin(a), 1.37, np.sin(a), np.cos(a) * 0.97, -0.61, 0.0, 0.0]], tf.float32)
    shape = tf.constant([16, 22])
    want = _warp_and_input_gradient(_op(flat, shape, interpolation), images, weights)

    def warp(x):
        with T.xla_compatible(xla):
            return W._projective(x, flat, shape, 0.5, interpolation)

    got = _warp_and_input_gradient(tf.function(warp, jit_compile=xla), images, weights)
    np.testing.assert_allclose(got[0], want[0], atol=1e-5)
    np.testing.assert_allclose(got[1], want[1], atol=1e-4)


def test_standard_transforms_as_lucid_list_or_our_function():
    assert len(T.standard_transforms) == 5 and len(T.standard_transforms()) == 5
    extended = T.standard_transforms + [T.jitter(2)]  # Lucid code extends the list
    assert len(extended) == 6 and len(T.standard_transforms) == 5
