"""Fixtures for the microscope: a tiny real Keras classifier saved to disk, and labelled images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ..toolbox.conftest import two_conv_classifier

CLASSES = ("apple", "pear", "plum")


def save_tiny(path: str) -> str:
    """The toolbox tests' tiny two-conv classifier (conv1 8 units, conv2 12), any input size, saved as .keras."""
    two_conv_classifier(3, size=None).save(path)
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
