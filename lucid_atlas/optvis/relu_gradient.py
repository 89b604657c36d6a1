"""Lucid's redirected ReLU/ReLU6 gradient, registered with TensorFlow: for the first steps of a
render, where no gradient passes a ReLU for a whole image, the part that would lift the unit
passes, so units that start dead still get a signal. ``RELU_OVERRIDES`` maps op types to the
registered gradients (the models apply it through ``gradient_overrides``)."""

from __future__ import annotations

import tensorflow as tf

REDIRECTED_RELU = "LucidAtlasRedirectedRelu"
REDIRECTED_RELU6 = "LucidAtlasRedirectedRelu6"


def _keep_rows(mag: tf.Tensor, a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Per batch row: ``a`` where ``mag > 0`` else ``b``."""
    cond = tf.reshape(mag > 0.0, tf.concat([tf.shape(mag), tf.ones([tf.rank(a) - 1], tf.int32)], 0))
    return tf.where(cond, a, b)


def _redirected_relu_grad(op, grad):
    """Lucid: where no gradient passes a ReLU for a whole image, let through the part that lifts it."""
    x = op.inputs[0]
    relu_grad = tf.where(x < 0.0, tf.zeros_like(grad), grad)
    redirected = tf.where(tf.logical_and(x < 0.0, grad > 0.0), tf.zeros_like(grad), grad)
    mag = tf.norm(tf.reshape(relu_grad, [tf.shape(relu_grad)[0], -1]), axis=1)
    return _keep_rows(mag, relu_grad, redirected)


def _redirected_relu6_grad(op, grad):
    """The same for ReLU6, also refusing to push values above 6 higher."""
    x = op.inputs[0]
    relu_grad = tf.where(tf.logical_or(x < 0.0, x > 6.0), tf.zeros_like(grad), grad)
    blocked = tf.logical_or(tf.logical_and(x < 0.0, grad > 0.0), tf.logical_and(x > 6.0, grad < 0.0))
    redirected = tf.where(blocked, tf.zeros_like(grad), grad)
    mag = tf.norm(tf.reshape(relu_grad, [tf.shape(relu_grad)[0], -1]), axis=1)
    return _keep_rows(mag, relu_grad, redirected)


def _register_gradients() -> None:
    for name, fn in ((REDIRECTED_RELU, _redirected_relu_grad), (REDIRECTED_RELU6, _redirected_relu6_grad)):
        try:
            tf.RegisterGradient(name)(fn)
        except KeyError:  # already registered (module reloaded)
            pass


_register_gradients()
RELU_OVERRIDES = {"Relu": REDIRECTED_RELU, "Relu6": REDIRECTED_RELU6}
