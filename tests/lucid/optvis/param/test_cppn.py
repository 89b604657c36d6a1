"""Lucid's tests/optvis/param/test_cppn.py, ported: a CPPN learns XOR of its corners.

Changed from Lucid's file: the imports, and the session loop written with ``make_t_image``
(TensorFlow 2 has no sessions); ``cppn(16, num_output_channels=1)[0]``, Adam(0.01), 3 tries
of 200 steps and the thresholds are Lucid's.
"""

from __future__ import annotations

import pytest
import tensorflow as tf

from lucid_atlas.lucid.optvis.param.cppn import cppn
from lucid_atlas.lucid.optvis.render import make_t_image


@pytest.mark.slow
def test_cppn_fits_xor():
    def xor_objective(a):
        return -(
            tf.square(a[0, 0])
            + tf.square(a[-1, -1])
            + tf.square(1.0 - a[-1, 0])
            + tf.square(1.0 - a[0, -1])
        )

    for try_i in range(3):
        cppn_param = make_t_image(lambda: cppn(16, num_output_channels=1)[0])  # fresh variables each try
        optimizer = tf.compat.v1.train.AdamOptimizer(0.01)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss_t = xor_objective(cppn_param())
            variables = cppn_param.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss_t, variables), variables))
            return cppn_param()

        for i in range(200):
            vis = step().numpy()
            close_enough = (
                vis[0, 0] > .99
                and vis[-1, -1] > .99
                and vis[-1, 0] < .01
                and vis[0, -1] < .01
            )
            if close_enough:
                return
    assert False, "fitting XOR took more than 200 steps, failing test"
