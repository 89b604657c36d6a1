"""Fixtures for the toolbox: a tiny real Keras classifier with ReLUs and a folder of images (one broken)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from lucid_atlas import models

keras = tf.keras


def two_conv_classifier(classes: int, size: int | None = 32) -> keras.Model:
    """A tiny seeded classifier: conv1 (8 ReLU units, stride 2), conv2 (12), pooled, a dense head."""
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv1",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=1))(inputs)
    x = keras.layers.Conv2D(12, 3, strides=2, padding="same", activation="relu", name="conv2",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=2))(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(classes, name="scores", kernel_initializer=keras.initializers.RandomNormal(seed=3))(x)
    return keras.Model(inputs, out)


@pytest.fixture(scope="session")
def tiny_classifier():
    return models.from_keras(two_conv_classifier(6), name="tiny_toolbox",
                             labels=[f"class{i}" for i in range(6)], image_shape=(32, 32, 3))


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toolbox_images")
    rng = np.random.default_rng(0)
    for i in range(13):
        image = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
        image[: 4 * i] = 255 - image[: 4 * i]  # images differ in structure, not only in noise
        Image.fromarray(image).save(folder / f"img{i:02d}.png")
    (folder / "img05b.png").write_bytes(b"not an image")
    return str(folder)
