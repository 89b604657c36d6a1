"""The faster convolution input gradients (1×1 ones and those of the image itself): same values, used by every
render step."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tensorflow import keras

from lucid_atlas import models
from lucid_atlas.optvis import objectives, param, render
from lucid_atlas.optvis.conv_gradient import CONV_OVERRIDES


def _mixed_convs_model():
    """An image convolution and pointwise ones between ones the fast gradients must leave alone (strided 1×1
    and dilated, on more than 4 channels)."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", name="stem")(inputs)
    x = keras.layers.Conv2D(16, 1, name="expand", activation="relu")(x)
    x = keras.layers.Conv2D(12, 1, strides=2, name="strided")(x)
    x = keras.layers.Conv2D(12, 3, dilation_rate=2, padding="same", name="dilated")(x)
    x = keras.layers.Conv2D(6, 1, padding="same", name="project")(x)
    return models.from_keras(keras.Model(inputs, x), logits_layer=None)


def _graph_ops(concrete) -> list[str]:
    """Every op type in a traced function, its nested functions (while-loop bodies) included."""
    graph_def = concrete.graph.as_graph_def()
    ops = [node.op for node in graph_def.node]
    for function in graph_def.library.function:
        ops += [node.op for node in function.node_def]
    return ops


def test_fast_gradients_equal_tensorflows_and_replace_only_their_convolutions():
    model = _mixed_convs_model()
    images = tf.constant(np.random.default_rng(0).random((2, 20, 20, 3)), tf.float32)

    def gradient(overrides):
        @tf.function
        def run(x):
            act = model.activations(x, ["project"], gradient_overrides=overrides)["project"]
            return tf.gradients(tf.reduce_sum(act * tf.range(6.0)), x)[0]
        return run.get_concrete_function(images), run(images).numpy()

    stock_fn, stock = gradient({})
    fast_fn, fast = gradient(CONV_OVERRIDES)
    np.testing.assert_allclose(fast, stock, rtol=1e-5, atol=1e-6 * np.abs(stock).max())
    # stock: all five convolutions have an input gradient op; fast: the strided and dilated ones
    assert _graph_ops(stock_fn).count("Conv2DBackpropInput") == 5
    assert _graph_ops(fast_fn).count("Conv2DBackpropInput") == 2


@pytest.mark.parametrize("size,kernel,stride,padding,channels", [
    ((224, 224), 3, 2, "SAME", 3), ((94, 95), 3, 2, "SAME", 3), ((33, 31), 7, 2, "SAME", 3),
    ((31, 31), 5, 3, "VALID", 3), ((30, 29), 3, 1, "SAME", 4), ((33, 32), 4, 2, "VALID", 1),
    ((32, 32), 2, 2, "SAME", 3), ((17, 20), 1, 2, "VALID", 2)])
def test_image_convolution_gradient_equals_tensorflows(size, kernel, stride, padding, channels):
    """Strides, kernel sizes, odd sizes and both paddings: the overlap-added patches equal the stock gradient."""
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(size=(2, *size, channels)), tf.float32)
    weights = tf.constant(rng.normal(size=(kernel, kernel, channels, 8)), tf.float32)

    def gradient(overrides):
        @tf.function
        def run(x):
            with tf.compat.v1.get_default_graph().gradient_override_map(overrides):
                y = tf.nn.conv2d(x, weights, stride, padding)
            return tf.gradients(tf.reduce_sum(y * tf.sin(y)), x)[0]
        return run.get_concrete_function(x), run(x).numpy()

    stock_fn, stock = gradient({})
    fast_fn, fast = gradient(CONV_OVERRIDES)
    np.testing.assert_allclose(fast, stock, rtol=1e-5, atol=1e-5 * np.abs(stock).max())
    assert _graph_ops(fast_fn).count("Conv2DBackpropInput") == 0 < _graph_ops(stock_fn).count("Conv2DBackpropInput")


@pytest.mark.parametrize("kernel,groups", [(1, 2), (3, 4)])
def test_grouped_convolutions_keep_tensorflows_gradient(kernel, groups):
    """A grouped convolution's kernel reads a group's channels (here 4 and 2): not a matrix product over all of
    them, nor an image convolution, so TensorFlow's own gradient (it was a shape error before)."""
    rng = np.random.default_rng(4)
    x = tf.constant(rng.normal(size=(1, 8, 8, 8)), tf.float32)
    weights = tf.constant(rng.normal(size=(kernel, kernel, 8 // groups, 8)), tf.float32)

    def gradient(overrides):
        @tf.function
        def run(x):
            with tf.compat.v1.get_default_graph().gradient_override_map(overrides):
                y = tf.nn.conv2d(x, weights, 1, "SAME")
            return tf.gradients(tf.reduce_sum(y * y), x)[0]
        return run(x).numpy()

    np.testing.assert_array_equal(gradient(CONV_OVERRIDES), gradient({}))


def test_render_steps_use_the_fast_gradients():
    model = _mixed_convs_model()
    p = param.image(16, fft=False, decorrelate=False, seed=0)
    opt = tf.keras.optimizers.Adam(0.05)
    opt.build(p.trainable_variables)
    for redirect in (False, True):
        step = render.make_step(model, objectives.as_objective("project:1"), p, opt, [], redirect_relu=redirect)
        assert _graph_ops(step._fn.get_concrete_function(tf.constant(1))).count("Conv2DBackpropInput") == 2
