"""Natural-image candidates: which images, which crops, and never the source or target class."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from PIL import Image

from lucid_atlas.patches.photos import _chosen_images, crop_around, folder_candidates, image_class

MODEL = SimpleNamespace(labels=("tench", "snorkel", "scuba diver", "steam locomotive"),
                        synsets=("n01440764", "n04251144", "n10565667", "n04310018"))


def test_a_crop_is_centred_on_the_position_and_stays_inside():
    image = np.arange(100 * 200 * 3, dtype=np.float32).reshape(100, 200, 3)
    crop, box = crop_around(image, (0.5, 0.5), 0.4)
    assert crop.shape == (40, 40, 3) and box == (30, 80, 70, 120)
    crop, box = crop_around(image, (0.0, 1.0), 0.5)  # a corner position: moved inside
    assert crop.shape == (50, 50, 3) and box == (0, 150, 50, 200)


def test_an_images_class_comes_from_its_name_or_the_models_guess():
    assert image_class(MODEL, "x/n04310018_steam_locomotive.JPEG", predicted=0) == 3
    assert image_class(MODEL, "photos/scuba_diver/a.png", predicted=0) == 2
    assert image_class(MODEL, "photos/holiday/a.png", predicted=1) == 1


def test_chosen_images_skip_the_source_and_target_and_repeat_no_image(tmp_path):
    paths = []
    for name in ("n04251144_snorkel", "n10565667_scuba", "n04310018_loco", "n01440764_tench"):
        path = tmp_path / f"{name}.png"
        Image.new("RGB", (8, 8)).save(path)
        paths.append(str(path))
    acts = SimpleNamespace(image_index=np.array([0, 1, 2, 3, 2]), image_ids=paths,
                           top_classes=np.zeros((5, 5), np.int16))
    chosen = _chosen_images(MODEL, acts, [("cell a", np.array([0, 1, 2, 4])), ("cell b", np.array([4, 3]))],
                            excluded={1, 2}, per_direction=2)
    assert [(c["direction"], c["class"]) for c in chosen] == [("cell a", 3), ("cell b", 0)]


def test_your_own_photos_are_tried_whole(tmp_path):
    Image.new("RGB", (30, 20), (0, 0, 255)).save(tmp_path / "blue.png")
    (tmp_path / "broken.jpg").write_bytes(b"no")
    found = folder_candidates(str(tmp_path), size=64)
    assert [c.name for c in found] == ["your photo blue.png"] and found[0].patch.shape == (64, 64, 3)


def test_peaks_are_the_highest_positions_kept_apart():
    from lucid_atlas.patches.photos import peak_positions

    diff = np.zeros((6, 6))
    diff[1, 1], diff[1, 2], diff[4, 4], diff[0, 5] = 5, 4, 3, 2
    assert peak_positions(diff, 1) == [(1, 1)]
    assert peak_positions(diff, 3) == [(1, 1), (4, 4), (0, 5)]  # (1, 2) is next to (1, 1)
