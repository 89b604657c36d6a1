"""Lucid's ``lucid.misc.tfutil``. TensorFlow 2 runs eagerly: there are no sessions to create."""

from __future__ import annotations

import tensorflow as tf

SESSIONS_ARE_GONE = ("TensorFlow 2 has no sessions: drop the `with create_session():` block and call the code "
                     "directly (lucid_atlas.lucid's render_vis and make_vis_T run eagerly, compiled with tf.function)")


def create_session(target: str = "", timeout_sec: float = 10):
    """Lucid made an interactive TF1 session here; TensorFlow 2 runs without one (raises, saying so)."""
    raise RuntimeError(SESSIONS_ARE_GONE)


def forget_xy(t):
    """The tensor with its height and width forgotten (Lucid: lets early layers take smaller inputs).
    Eager tensors and our models' traced functions take any size already, so it returns ``t``."""
    return tf.convert_to_tensor(t)
