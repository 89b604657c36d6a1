"""A lean Adam for the render loop: one fused kernel per variable (TF's ResourceApplyAdam).

Feature visualization updates one small image variable per step, where the per-op dispatch of a
general-purpose optimizer is a visible share of the step time on CPU. This optimizer has the
two methods the render loop uses (``build`` and ``apply_gradients``) and the same update rule
as Keras' Adam (epsilon-hat form). Any Keras optimizer can be passed instead.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import tensorflow as tf


class Adam:
    """Adam(learning_rate, beta_1, beta_2, epsilon) with fused per-variable updates."""

    def __init__(self, learning_rate: float = 0.05, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7):
        self.learning_rate = float(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self._slots: dict[int, tuple[tf.Variable, tf.Variable]] = {}
        self._beta_powers: tuple[tf.Variable, tf.Variable] | None = None

    def build(self, variables: Sequence[tf.Variable]) -> None:
        """Create the moment slots (outside tf.function, once)."""
        if self._beta_powers is None:
            self._beta_powers = (tf.Variable(1.0, trainable=False), tf.Variable(1.0, trainable=False))
        for v in variables:
            if id(v) not in self._slots:
                self._slots[id(v)] = (tf.Variable(tf.zeros_like(v), trainable=False),
                                      tf.Variable(tf.zeros_like(v), trainable=False))

    def reset(self) -> None:
        """Back to the state of a fresh optimizer (zero moments, step count zero)."""
        if self._beta_powers is not None:
            for power in self._beta_powers:
                power.assign(1.0)
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
        for g, v in pairs:
            m, s = self._slots[id(v)]
            tf.raw_ops.ResourceApplyAdam(
                var=v.handle, m=m.handle, v=s.handle, beta1_power=b1_power.read_value(),
                beta2_power=b2_power.read_value(), lr=self.learning_rate, beta1=self.beta_1,
                beta2=self.beta_2, epsilon=self.epsilon, grad=g)
