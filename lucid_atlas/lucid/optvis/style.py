"""Lucid's ``lucid.optvis.style``: the style half of neural style transfer (Gatys et al. 2015).

Lucid builds the loss from graph tensors and fills its targets from a session; in TensorFlow 2
``StyleLoss`` takes the style layers' *names*, ``set_style(model, style_image)`` computes the
targets, and ``style_loss`` is an objective to *minimize* (use ``-style_loss.style_loss`` in a
``render_vis`` objective, which maximizes).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from . import objectives


def gram_style(a: tf.Tensor) -> tf.Tensor:
    """The [C, C] Gram matrix of activations [..., C], averaged over all other positions."""
    channels = int(a.shape[-1])
    flat = tf.reshape(a, [-1, channels])
    return tf.matmul(flat, flat, transpose_a=True) / tf.cast(tf.shape(flat)[0], tf.float32)


def mean_l1_loss(g1, g2) -> tf.Tensor:
    """Mean absolute difference."""
    return tf.reduce_mean(tf.abs(g1 - g2))


def mean_l2_loss(g1, g2) -> tf.Tensor:
    """Root mean squared difference."""
    return tf.sqrt(tf.reduce_mean(tf.square(g1 - g2)))


class StyleLoss:
    """A style loss over ``style_layers`` (layer names): ``loss_func`` between ``style_func`` of the
    rendered image's activations and of the style image's (``set_style``).

    ``ema_decay`` (in [0, 1]): compare moving averages of the rendered statistics instead (gradients
    still flow through the current ones), for renders whose every step sees part of the image.
    """

    def __init__(self, style_layers: Sequence[str], ema_decay: float | None = None,
                 style_func: Callable = gram_style, loss_func: Callable = mean_l1_loss):
        if any(not isinstance(name, str) for name in style_layers):
            raise TypeError("StyleLoss takes the style layers' names here (TensorFlow 2 has no graph tensors to "
                            "pass): StyleLoss(['block2_expanded', 'block4_expanded'])")
        self.style_layers = list(style_layers)
        self.ema_decay = ema_decay
        self.style_func, self.loss_func = style_func, loss_func
        self.target_vars: list[tf.Variable] = []
        self._averages: list[tf.Variable] = []
        self._started: list[tf.Variable] = []  # per layer: has its average begun

    def set_style(self, model, style_image) -> None:
        """Targets from ``style_image`` ([H, W, 3] or a batch, pixels in [0, 1]) on ``model``."""
        images = np.asarray(style_image, np.float32)
        images = images[None] if images.ndim == 3 else images
        acts = model.activations(tf.constant(images[..., :3]), self.style_layers)
        targets = [self.style_func(acts[name]) for name in self.style_layers]
        if not self.target_vars:
            self.target_vars = [tf.Variable(t, trainable=False) for t in targets]
            self._averages = [tf.Variable(tf.zeros_like(t), trainable=False) for t in targets]
            self._started = [tf.Variable(False, trainable=False) for _ in targets]
        else:
            for variable, target in zip(self.target_vars, targets):
                variable.assign(target)
        for started in self._started:
            started.assign(False)

    def _effective(self, k: int, statistic: tf.Tensor) -> tf.Tensor:
        if self.ema_decay is None:
            return statistic
        average, started = self._averages[k], self._started[k]
        decay = tf.cast(started, tf.float32) * float(self.ema_decay)  # the first call starts at the statistic
        average.assign(decay * average + (1.0 - decay) * tf.stop_gradient(statistic))
        started.assign(True)
        return statistic + tf.stop_gradient(average - statistic)

    def _loss(self, k: int, T) -> tf.Tensor:
        if not self.target_vars:
            raise RuntimeError("StyleLoss has no style yet: call style_loss.set_style(model, style_image) first")
        statistic = self._effective(k, self.style_func(T(self.style_layers[k])))
        return self.loss_func(statistic, self.target_vars[k])

    @property
    def style_losses(self) -> list[objectives.Objective]:
        """One loss per style layer, as objectives (to minimize)."""
        return [objectives.Objective(lambda T, k=k: self._loss(k, T), "style_loss",
                                     f"Style loss [{name}]", [name]) for k, name in enumerate(self.style_layers)]

    @property
    def style_loss(self) -> objectives.Objective:
        """The sum of the layers' losses, as an objective (to minimize)."""
        return objectives.Objective(lambda T: tf.add_n([self._loss(k, T) for k in range(len(self.style_layers))]),
                                    "style_loss", "Style loss", list(self.style_layers))
