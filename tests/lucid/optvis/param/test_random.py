"""Lucid's tests/optvis/param/test_random.py, ported: image_sample draws a new image every time."""

from __future__ import annotations

import numpy as np

from lucid_atlas.lucid.optvis.param.random import image_sample
from lucid_atlas.lucid.optvis.render import make_t_image


def test_image_sample():
    shape = (1, 32, 32, 3)
    image_t = make_t_image(lambda: image_sample(shape))
    image1, image2 = [image_t().numpy() for _ in range(2)]
    distance = np.mean(np.absolute(image1 - image2))
    assert distance > 0
