"""Fixtures for patch tests: a tiny real classifier whose answer a red square flips."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas import models

keras = tf.keras


@pytest.fixture(scope="session")
def red_detector():
    """A tiny classifier: class 0 ("red") when any pixel is strongly red, else class 1 ("plain")."""
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(2, 1, name="feat", use_bias=False)(inputs)
    x = keras.layers.GlobalMaxPooling2D()(x)
    out = keras.layers.Dense(2, name="scores")(x)
    model = keras.Model(inputs, out)
    model.get_layer("feat").set_weights([np.array([[[[1.0, 0.0], [-1.0, 0.2], [-1.0, 0.2]]]], np.float32)])
    model.get_layer("scores").set_weights([np.array([[4.0, -4.0], [0.0, 0.0]], np.float32),
                                           np.array([0.0, 1.0], np.float32)])
    return models.from_keras(model, labels=("red", "plain"))
