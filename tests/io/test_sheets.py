"""PNGs and contact sheets: the pictures people look at."""

from __future__ import annotations

import numpy as np
from PIL import Image

from lucid_atlas.io import sheets


def test_png_round_trip(tmp_path):
    img = np.random.default_rng(0).uniform(size=(10, 12, 3))
    path = sheets.save_png(img, str(tmp_path / "sub" / "a.png"))
    back = np.asarray(Image.open(path)) / 255.0
    assert back.shape == (10, 12, 3) and np.abs(back - img).max() <= 1 / 255 + 1e-6


def test_contact_sheet_layout_and_captions(tmp_path):
    tiles = [np.full((32, 32, 3), v) for v in (0.0, 0.5, 1.0, 0.25, 0.75)]
    plain = sheets.contact_sheet(tiles, columns=3, pad=2)
    assert plain.size == (3 * 34 + 2, 2 * 34 + 2)
    captioned = sheets.contact_sheet(tiles, captions=["a", "b", "c", "d", "e"], columns=3, pad=2,
                                     title="five tiles")
    assert captioned.size[1] > plain.size[1]
    arr = np.asarray(captioned)
    assert (arr < 128).any()  # text was drawn
