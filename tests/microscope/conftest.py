"""Fixtures for the microscope: a tiny real Keras classifier saved to disk, and labelled images."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

keras = tf.keras

CLASSES = ("apple", "pear", "plum")


def save_tiny(path: str) -> str:
    """A tiny two-conv classifier (conv1 8 units, conv2 12, a dense head), saved as .keras."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv1",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=1))(inputs)
    x = keras.layers.Conv2D(12, 3, strides=2, padding="same", activation="relu", name="conv2",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=2))(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(3, name="scores", kernel_initializer=keras.initializers.RandomNormal(seed=3))(x)
    keras.Model(inputs, out).save(path)
    return path


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory) -> str:
    return save_tiny(str(tmp_path_factory.mktemp("microscope_model") / "tiny.keras"))


@pytest.fixture(scope="session")
def labelled_images(tmp_path_factory) -> str:
    """15 images in class folders (apple, pear, plum) that differ in structure, and one broken file."""
    root = tmp_path_factory.mktemp("microscope_images")
    rng = np.random.default_rng(0)
    for i in range(15):
        folder = root / CLASSES[i % 3]
        folder.mkdir(exist_ok=True)
        image = rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)
        image[: 3 * i] = 255 - image[: 3 * i]
        image[..., i % 3] //= 1 + i % 4
        Image.fromarray(image).save(folder / f"img{i:02d}.png")
    (root / "pear" / "broken.png").write_bytes(b"not an image")
    return str(root)
