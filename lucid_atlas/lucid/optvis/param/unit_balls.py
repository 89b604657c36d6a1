"""Lucid's ``param.unit_balls``: variables kept inside an L2 or L∞ unit ball while optimized."""

from __future__ import annotations

import tensorflow as tf

from ....optvis import param as ours


def constrain_L2(x):
    """``x`` scaled into the L2 unit ball; on the boundary the outward gradient is removed."""
    return ours.constrain_L2(x)


def constrain_L_inf(x):
    """``x`` clipped into [-1, 1]; at the edge the outward gradient is removed."""
    return ours.constrain_L_inf(x)


def constrain_L_inf_precondition(x):
    """As :func:`constrain_L_inf`, with the gradient replaced by its sign (L∞ steepest descent)."""
    return ours.constrain_L_inf(x, precondition=True)


def unit_ball_L2(shape):
    """A variable (starting at 0) seen through :func:`constrain_L2`."""
    return constrain_L2(tf.Variable(tf.zeros(shape)))


def unit_ball_L_inf(shape, precondition=True):
    """A variable (starting at 0) seen through :func:`constrain_L_inf` (preconditioned by default)."""
    x = tf.Variable(tf.zeros(shape))
    return constrain_L_inf_precondition(x) if precondition else constrain_L_inf(x)
