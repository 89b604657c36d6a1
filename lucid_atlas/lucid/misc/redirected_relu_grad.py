"""Lucid's ``lucid.misc.redirected_relu_grad``: ReLU gradients that let a dead unit start moving.

Where no gradient passes a ReLU (ReLU6) for a whole image, the part that pushes its input back
into the live range passes. As in Lucid, this stops once the graph's global step is past 16
(``tf.compat.v1.train.get_or_create_global_step()``); without a global step it always applies.
``render_vis`` does not need these: it switches the override off after 17 steps itself.
"""

from __future__ import annotations

import tensorflow as tf

from ...optvis import relu_gradient as ours


def _past_16_steps():
    step = tf.compat.v1.train.get_global_step()
    return None if step is None else tf.greater(step, tf.constant(16, tf.int64))


def _gated(op, grad, redirected, plain):
    stop = _past_16_steps()
    return redirected if stop is None else tf.where(stop, plain, redirected)


def redirected_relu_grad(op, grad):
    """The redirected ReLU gradient (register it with ``gradient_override_map({"Relu": ...})``)."""
    assert op.type == "Relu"
    plain = tf.where(op.inputs[0] < 0.0, tf.zeros_like(grad), grad)
    return _gated(op, grad, ours._redirected_relu_grad(op, grad), plain)


def redirected_relu6_grad(op, grad):
    """The redirected ReLU6 gradient (``{"Relu6": redirected_relu6_grad}``)."""
    assert op.type == "Relu6"
    x = op.inputs[0]
    plain = tf.where(tf.logical_or(x < 0.0, x > 6.0), tf.zeros_like(grad), grad)
    return _gated(op, grad, ours._redirected_relu6_grad(op, grad), plain)
