"""Lucid's ``param.cppn``: a compositional pattern-producing network as the image."""

from __future__ import annotations

import tensorflow as tf

from ....optvis import param as ours


def _composite_activation(x, biased=True):
    """atan(x) and its square, scaled to unit RMS (``biased``) or to zero mean and unit deviation."""
    if biased:
        return ours.composite_activation(x)
    a = tf.atan(x)
    return tf.concat([a / 0.67, (a * a - 0.45) / 0.396], -1)


def _relu_normalized_activation(x):
    """ReLU shifted and scaled to zero mean and unit deviation for unit-normal inputs."""
    return (tf.nn.relu(x) - 0.40) / 0.58


def cppn(width, batch=1, num_output_channels=3, num_hidden_channels=24, num_layers=8,
         activation_func=_composite_activation, normalize=False):
    """A [batch, width, width, num_output_channels] image in [0, 1] from one CPPN shared by the batch."""
    net = ours.cppn(width, 1, num_output_channels, num_hidden_channels, num_layers,
                    activation=activation_func, normalize=normalize)
    return tf.tile(net(), [batch, 1, 1, 1])
