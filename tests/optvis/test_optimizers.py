"""The render loop's Adam: a learning-rate schedule that lets an image settle."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas.optvis import optimizers


def _rates(schedule, steps):
    return np.array([float(schedule(tf.constant(t, tf.int64))) for t in range(steps)])


def test_anneal_keeps_the_rate_then_falls_to_its_floor():
    rates = _rates(optimizers.anneal(0.05, 100, 0.25, floor=0.1), 100)
    np.testing.assert_allclose(rates[:76], 0.05, rtol=1e-6)
    assert np.all(np.diff(rates[75:]) < 0)
    assert rates[-1] == pytest.approx(0.005, rel=1e-5)
    # the later part of one optimization (fine steps after coarse ones) continues the same curve
    tail = _rates(optimizers.anneal(0.05, 100, 0.25, offset=60), 40)
    np.testing.assert_allclose(tail, rates[60:], rtol=1e-6)
    with pytest.raises(ValueError, match="share"):
        optimizers.anneal(0.05, 100, 1.5)


def _noisy_descent(learning_rate, steps=400, seed=0):
    """Adam on |v - target|² with noisy gradients; the final distance to the target."""
    rng = np.random.default_rng(seed)
    v = tf.Variable(np.zeros(64, np.float32))
    target = np.ones(64, np.float32)
    opt = optimizers.Adam(learning_rate)

    @tf.function
    def step(noise):
        opt.apply_gradients([(2.0 * (v - target) + noise, v)])
    for _ in range(steps):
        step(tf.constant(rng.normal(scale=2.0, size=64).astype(np.float32)))
    return float(np.linalg.norm(v.numpy() - target)), opt


def test_an_annealed_adam_settles_closer_than_a_constant_rate_and_resets():
    constant, _ = _noisy_descent(0.05)
    annealed, opt = _noisy_descent(optimizers.anneal(0.05, 400, 0.5))
    assert annealed < 0.7 * constant
    assert int(opt.iterations.numpy()) == 400
    opt.reset()
    assert int(opt.iterations.numpy()) == 0
    # a schedule that never falls is the constant rate, step for step
    same, _ = _noisy_descent(optimizers.anneal(0.05, 400, 0.0))
    assert same == pytest.approx(constant, rel=1e-5)
