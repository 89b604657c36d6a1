"""Compositing puts the patch exactly where and as large as asked; variants are seeded crops."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lucid_atlas.patches import composite


@pytest.mark.parametrize("corner", composite.CORNERS)
@pytest.mark.parametrize("ratio", [0.1, 0.25, 0.5])
def test_patch_lands_in_the_corner_at_the_asked_size(corner, ratio):
    images = np.full((2, 40, 40, 3), 0.5, np.float32)
    patch = np.zeros((7, 7, 3), np.float32)
    patch[..., 0] = 1.0  # pure red
    out = composite.apply_patch(images, patch, corner, ratio)
    side = round(ratio * 40)
    changed = np.argwhere(np.any(out[0] != 0.5, axis=-1))
    (y0, x0), (y1, x1) = changed.min(0), changed.max(0)
    assert (y1 - y0 + 1, x1 - x0 + 1) == (side, side)
    assert y0 == (0 if corner.startswith("top") else 40 - side)
    assert x0 == (0 if corner.endswith("left") else 40 - side)
    np.testing.assert_allclose(out[1, y0:y1 + 1, x0:x1 + 1], np.broadcast_to([1, 0, 0], (side, side, 3)), atol=1e-6)
    assert np.all(images == 0.5)  # the inputs are untouched


def test_bad_corner_and_ratio_say_what_is_allowed():
    img = np.zeros((1, 8, 8, 3), np.float32)
    with pytest.raises(ValueError, match="top-left"):
        composite.apply_patch(img, img[0], "middle", 0.2)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        composite.apply_patch(img, img[0], "top-left", 1.5)


def test_augment_gives_seeded_distinct_variants(tmp_path):
    rng = np.random.default_rng(0)
    path = str(tmp_path / "n04251144_snorkel.png")
    Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(path)
    a = composite.augment(path, 6, 32, seed=1)
    b = composite.augment(path, 6, 32, seed=1)
    c = composite.augment(path, 6, 32, seed=2)
    assert a.shape == (6, 32, 32, 3) and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len({v.tobytes() for v in a}) == 6


def test_noise_patch_is_uniform_noise():
    noise = composite.noise_patch(64, seed=3)
    assert noise.shape == (64, 64, 3) and abs(noise.mean() - 0.5) < 0.02 and noise.std() > 0.25
