"""Fixtures for atlas tests: a tiny real Keras model and a folder of images with one broken file."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from lucid_atlas import models

keras = tf.keras


@pytest.fixture(scope="session")
def tiny_model():
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="feat",
                            kernel_initializer=keras.initializers.RandomNormal(seed=1))(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(7, name="scores", kernel_initializer=keras.initializers.RandomNormal(seed=2))(x)
    model = models.from_keras(keras.Model(inputs, out))
    model.image_shape = (16, 16, 3)
    return model


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    for i in range(9):
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(folder / f"img{i:02d}.png")
    (folder / "img04b.png").write_bytes(b"broken")
    return str(folder)


def save_tiny_classifier(path: str) -> str:
    """A tiny strided-conv classifier with a 'feat' layer, saved as a .keras file (for subprocesses and workers)."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, strides=4, padding="same", activation="relu", name="feat",
                            kernel_initializer=keras.initializers.RandomNormal(seed=1))(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(5, name="scores", kernel_initializer=keras.initializers.RandomNormal(seed=2))(x)
    keras.Model(inputs, out).save(path)
    return path


def write_random_images(folder, n: int, size: int = 40) -> str:
    """``n`` seeded random PNGs (size × size) in a new folder."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    return str(folder)
