"""Lucid's tests/misc/test_gradient_override.py, ported.

Changed from Lucid's file: the imports, and TF1 calls spelled with ``tf.compat.v1`` inside an
explicit ``tf.Graph`` (``gradient_override_map`` changes ops as they are built, which needs a
graph; in eager code it raises). The gradient tables and the 16-step shutoff are Lucid's.
"""

from __future__ import annotations

import pytest
import tensorflow as tf

from lucid_atlas.lucid.misc.gradient_override import gradient_override_map, use_gradient
from lucid_atlas.lucid.misc.redirected_relu_grad import redirected_relu6_grad, redirected_relu_grad

v1 = tf.compat.v1


def test_use_gradient():
    def foo_grad(op, grad):
        return tf.constant(42), tf.constant(43)

    @use_gradient(foo_grad)
    def foo(x, y):
        return x + y

    with tf.Graph().as_default(), v1.Session() as sess:
        x = tf.constant(1.)
        y = tf.constant(2.)
        z = foo(x, y)
        grad_wrt_x = v1.gradients(z, x, [1.])[0]
        grad_wrt_y = v1.gradients(z, y, [1.])[0]
        assert sess.run(grad_wrt_x) == 42
        assert sess.run(grad_wrt_y) == 43


def test_use_gradient_eagerly():
    """Not in Lucid: the same decorator works in eager code, with a GradientTape."""
    @use_gradient(lambda op, grad: (tf.constant(42), tf.constant(43)))
    def foo(x, y):
        return x + y

    x, y = tf.constant(1.), tf.constant(2.)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, y])
        z = foo(x, y)
    assert float(tape.gradient(z, x)) == 42 and float(tape.gradient(z, y)) == 43


def test_gradient_override_map():
    def gradient_override(op, grad):
        return tf.constant(42)

    with tf.Graph().as_default(), v1.Session() as sess:
        global_step = v1.train.get_or_create_global_step()
        init_global_step = v1.variables_initializer([global_step])
        sess.run(init_global_step)

        a = tf.constant(1.)
        standard_relu = tf.nn.relu(a)
        grad_wrt_a = v1.gradients(standard_relu, a, [1.])[0]
        with gradient_override_map({"Relu": gradient_override}):
            overriden_relu = tf.nn.relu(a)
            overriden_grad_wrt_a = v1.gradients(overriden_relu, a, [1.])[0]
        assert sess.run(grad_wrt_a) != sess.run(overriden_grad_wrt_a)
        assert sess.run(overriden_grad_wrt_a) == 42


def test_gradient_override_map_refuses_eager_code():
    """Not in Lucid (TF1 had no eager mode): in eager code the override could not apply, so it says so."""
    with pytest.raises(RuntimeError, match="tf.function"):
        with gradient_override_map({"Relu": redirected_relu_grad}):
            pass


relu_examples = [
    (1., -1., 0.), (-1., -1., -1.),
    (1., 1., 1.), (-1., 1., -1.),
]
relu6_examples = relu_examples + [
    (1., 7., 1.), (-1., 7., 0.),
]
nonls = [("Relu", tf.nn.relu, redirected_relu_grad, relu_examples),
         ("Relu6", tf.nn.relu6, redirected_relu6_grad, relu6_examples)]


@pytest.mark.parametrize("nonl_name,nonl,nonl_grad_override, examples", nonls)
def test_gradient_override_relu6_directionality(nonl_name, nonl, nonl_grad_override, examples):
    for incoming_grad, input, grad in examples:
        with tf.Graph().as_default(), v1.Session() as sess:
            global_step = v1.train.get_or_create_global_step()
            init_global_step = v1.variables_initializer([global_step])
            sess.run(init_global_step)

            batched_shape = [1, 1]
            incoming_grad_t = tf.constant(incoming_grad, shape=batched_shape)
            input_t = tf.constant(input, shape=batched_shape)
            with gradient_override_map({nonl_name: nonl_grad_override}):
                nonl_t = nonl(input_t)
                grad_wrt_input = v1.gradients(nonl_t, input_t, [incoming_grad_t])[0]
            assert (sess.run(grad_wrt_input) == grad).all()


@pytest.mark.parametrize("nonl_name,nonl,nonl_grad_override, examples", nonls)
def test_gradient_override_shutoff(nonl_name, nonl, nonl_grad_override, examples):
    for incoming_grad, input, grad in examples:
        with tf.Graph().as_default(), v1.Session() as sess:
            global_step_t = v1.train.get_or_create_global_step()
            global_step_init_op = v1.variables_initializer([global_step_t])
            sess.run(global_step_init_op)
            global_step_assign_t = v1.assign(global_step_t, 17)
            sess.run(global_step_assign_t)

            # similar setup to test_gradient_override_relu6_directionality,
            # but we test that the gradient is *not* what we're expecting as after 16
            # steps the override is shut off
            batched_shape = [1, 1]
            incoming_grad_t = tf.constant(incoming_grad, shape=batched_shape)
            input_t = tf.constant(input, shape=batched_shape)
            with gradient_override_map({nonl_name: nonl_grad_override}):
                nonl_t = nonl(input_t)
                grad_wrt_input = v1.gradients(nonl_t, input_t, [incoming_grad_t])[0]
            nonl_t_no_override = nonl(input_t)
            grad_wrt_input_no_override = v1.gradients(nonl_t_no_override, input_t, [incoming_grad_t])[0]
            assert (sess.run(grad_wrt_input) == sess.run(grad_wrt_input_no_override)).all()
