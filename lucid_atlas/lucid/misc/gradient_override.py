"""Lucid's ``lucid.misc.gradient_override``: custom gradients without picking strings.

``use_gradient(grad_f)`` works everywhere (eager, ``tf.function``, graphs). ``gradient_override_map``
changes the gradient of ops *built* inside it, so it needs a graph: use it inside a
``tf.function`` or ``with tf.Graph().as_default()``; in eager code it raises instead of doing
nothing silently.
"""

from __future__ import annotations

import contextlib
import functools
import uuid

import tensorflow as tf


def register_to_random_name(grad_f) -> str:
    """Register ``grad_f(op, grad)`` under a new unique name, and return the name."""
    name = f"{getattr(grad_f, '__name__', 'grad')}_{uuid.uuid4()}"
    tf.RegisterGradient(name)(grad_f)
    return name


@contextlib.contextmanager
def gradient_override_map(override_dict):
    """Within the block, ops of each type (key) get the gradient function or registered name (value)."""
    if tf.executing_eagerly():
        raise RuntimeError("gradient_override_map changes the gradient of ops built inside it, and eager ops are "
                           "not built: use it inside a tf.function or `with tf.Graph().as_default():`")
    names = {op: f if isinstance(f, str) else register_to_random_name(f) for op, f in override_dict.items()}
    with tf.compat.v1.get_default_graph().gradient_override_map(names):
        yield


class _OpView:
    """What a Lucid gradient function reads of its op: ``inputs``, ``outputs``, ``type``."""

    def __init__(self, inputs, outputs, op_type: str):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.type = op_type


def use_gradient(grad_f):
    """Decorator: the decorated function's gradient is ``grad_f(op, grad)`` (one result per input)."""
    def decorate(f):
        @functools.wraps(f)
        def inner(*inputs):
            inputs = [tf.convert_to_tensor(x) for x in inputs]

            @tf.custom_gradient
            def wrapped(*xs):
                out = f(*xs)

                def grad(dy):
                    grads = grad_f(_OpView(xs, [out], f.__name__), dy)
                    grads = list(grads) if isinstance(grads, (list, tuple)) else [grads]
                    return [tf.cast(g, x.dtype) if g is not None else None for g, x in zip(grads, xs)]
                return out, grad
            return wrapped(*inputs)
        return inner
    return decorate
