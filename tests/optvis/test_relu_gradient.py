"""Lucid's redirected ReLU gradient, value by value against a plain numpy statement of its rule."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas.optvis import relu_gradient


def _lucid_rule(x: np.ndarray, grad: np.ndarray, top: float | None) -> np.ndarray:
    """Per image: the ReLU's own gradient if any of it passes, else the gradient with only the
    directions that would push a value further outside the linear range zeroed."""
    outside = (x < 0) | ((x > top) if top is not None else False)
    relu_grad = np.where(outside, 0.0, grad)
    blocked = ((x < 0) & (grad > 0)) | (((x > top) & (grad < 0)) if top is not None else False)
    redirected = np.where(blocked, 0.0, grad)
    alive = np.abs(relu_grad).reshape(len(x), -1).max(axis=1) > 0
    return np.where(alive[:, None, None, None], relu_grad, redirected).astype(np.float32)


class _Op:
    def __init__(self, x):
        self.inputs = [tf.constant(x)]


@pytest.mark.parametrize("top", [None, 6.0])
def test_redirected_gradient_follows_lucids_rule(top):
    rng = np.random.default_rng(1)
    fn = relu_gradient._redirected_relu6_grad if top else relu_gradient._redirected_relu_grad
    for _ in range(20):
        x = (rng.normal(size=(4, 5, 6, 3)) * 4 + rng.choice([-6.0, 0.0, 3.0, 8.0])).astype(np.float32)
        x[0] = -np.abs(x[0]) - 0.1  # an image whose units are all dead
        grad = rng.normal(size=x.shape).astype(np.float32)
        grad[rng.random(x.shape) < 0.3] = 0.0
        got = fn(_Op(x), tf.constant(grad)).numpy()
        want = _lucid_rule(x, grad, top)
        np.testing.assert_array_equal(got, want)
        assert np.abs(got[0]).max() > 0  # the dead image still gets a signal
