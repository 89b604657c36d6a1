"""A lean Adam for the render loop: one fused kernel per variable (TF's ResourceApplyAdam).

Feature visualization updates one small image variable per step, where the per-op dispatch of a
general-purpose optimizer is a visible share of the step time on CPU. This optimizer has the
two methods the render loop uses (``build`` and ``apply_gradients``) and the update rule of the
Adam paper: ε is added to the bias-corrected √v̂, not to √v (Keras' and TF1's "epsilon hat"
form, where at step 1 ε weighs ~30× more). With ε = 1e-8 the update is then invariant to the
objective's scale for every gradient above ~1e-6 — feature-visualization gradients are often
1e-7..1e-4 — so neither the batch size nor a constant factor changes a render. The learning rate
may be a schedule of the step (such as :func:`anneal`, or a Keras ``LearningRateSchedule``). Any
Keras optimizer can be passed instead.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import tensorflow as tf


Schedule = Callable[[tf.Tensor], tf.Tensor]


def anneal(learning_rate: float, steps: int, share: float, floor: float = 0.1, offset: int = 0) -> Schedule:
    """A learning rate constant until the last ``share`` of ``steps``, then falling along a half cosine
    to ``floor`` × itself at the last step: the image settles instead of ending on one transform's jolt.
    ``offset``: steps already taken elsewhere (a schedule for the later part of one optimization)."""
    if not 0.0 <= share <= 1.0 or not 0.0 <= floor <= 1.0:
        raise ValueError(f"anneal share and floor must be in [0, 1], got {share} and {floor}")
    start = steps * (1.0 - share)
    length = max(1.0, steps - 1 - start)

    def schedule(step: tf.Tensor) -> tf.Tensor:
        progress = tf.clip_by_value((tf.cast(step, tf.float32) + offset - start) / length, 0.0, 1.0)
        return learning_rate * (floor + (1.0 - floor) * 0.5 * (1.0 + tf.cos(math.pi * progress)))
    return schedule


class Adam:
    """Adam(learning_rate, beta_1, beta_2, epsilon) with fused per-variable updates; ``learning_rate``
    a number or a schedule: a function of the step (0 at the first update since ``reset``)."""

    def __init__(self, learning_rate: float | Schedule = 0.05, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8):
        self.learning_rate = learning_rate if callable(learning_rate) else float(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self._slots: dict[int, tuple[tf.Variable, tf.Variable]] = {}
        self._beta_powers: tuple[tf.Variable, tf.Variable] | None = None

    def build(self, variables: Sequence[tf.Variable]) -> None:
        """Create the moment slots (outside tf.function, once)."""
        if self._beta_powers is None:
            self._beta_powers = (tf.Variable(1.0, trainable=False), tf.Variable(1.0, trainable=False))
            self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False)
        for v in variables:
            if id(v) not in self._slots:
                self._slots[id(v)] = (tf.Variable(tf.zeros_like(v), trainable=False),
                                      tf.Variable(tf.zeros_like(v), trainable=False))

    def reset(self) -> None:
        """Back to the state of a fresh optimizer (zero moments, step count zero)."""
        if self._beta_powers is not None:
            for power in self._beta_powers:
                power.assign(1.0)
            self.iterations.assign(0)
        for m, v in self._slots.values():
            m.assign(tf.zeros_like(m))
            v.assign(tf.zeros_like(v))

    def apply_gradients(self, grads_and_vars: Iterable[tuple[tf.Tensor, tf.Variable]]) -> None:
        """One Adam step for every (gradient, variable) pair; None gradients are skipped."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        self.build([v for _, v in pairs])
        b1_power, b2_power = self._beta_powers
        b1_power.assign(b1_power * self.beta_1)
        b2_power.assign(b2_power * self.beta_2)
        # ResourceApplyAdam adds its ε to √v; ε·√(1 − β2^t) there is ε added to √v̂ (the paper's form)
        epsilon_hat = self.epsilon * tf.sqrt(1.0 - b2_power.read_value())
        lr = self.learning_rate(self.iterations.read_value()) if callable(self.learning_rate) else self.learning_rate
        self.iterations.assign_add(1)
        for g, v in pairs:
            m, s = self._slots[id(v)]
            tf.raw_ops.ResourceApplyAdam(
                var=v.handle, m=m.handle, v=s.handle, beta1_power=b1_power.read_value(),
                beta2_power=b2_power.read_value(), lr=lr, beta1=self.beta_1,
                beta2=self.beta_2, epsilon=epsilon_hat, grad=g)
