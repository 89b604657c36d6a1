"""Loading images: folders, lists, arrays, defaults; unreadable files are skipped and counted."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lucid_atlas.io import images


def _write(path, size=(40, 30), color=(255, 0, 0), fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, format=fmt)
    return path


def test_folder_is_recursive_and_skips_broken_files(tmp_path):
    _write(tmp_path / "a" / "n01440764_tench.jpg")
    _write(tmp_path / "b" / "deep" / "two.png", color=(0, 255, 0))
    _write(tmp_path / "three.webp", color=(0, 0, 255), fmt="WEBP")
    (tmp_path / "broken.jpg").write_bytes(b"not an image at all")
    (tmp_path / "notes.txt").write_text("ignored")
    skips = images.SkipCounter()
    with pytest.warns(UserWarning, match="broken.jpg"):
        batch = images.load_images(str(tmp_path), size=16, skips=skips)
    assert batch.images.shape == (3, 16, 16, 3)
    assert len(skips) == 1 and "broken.jpg" in skips.skipped[0][0]
    assert batch.images.min() >= 0 and batch.images.max() <= 1


def test_center_crop_keeps_the_middle(tmp_path):
    img = np.zeros((20, 60, 3), np.uint8)
    img[:, 20:40] = 255  # white middle third
    Image.fromarray(img).save(tmp_path / "wide.png")
    out = images.load_image(str(tmp_path / "wide.png"), size=20)
    assert out.shape == (20, 20, 3) and out.mean() > 0.95


def test_arrays_and_path_lists(tmp_path):
    arr = np.random.default_rng(0).uniform(size=(5, 8, 8, 3)).astype(np.float32)
    batches = list(images.iter_batches(arr, batch_size=2))
    assert [len(b.ids) for b in batches] == [2, 2, 1]
    p = _write(tmp_path / "x.png")
    assert images.load_images([str(p)], size=8).images.shape == (1, 8, 8, 3)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        list(images.iter_batches(np.zeros((4, 4)), batch_size=2))


def test_missing_folder_is_clear():
    with pytest.raises(FileNotFoundError, match="no image folder or file"):
        images.load_images("/no/such/folder")


def test_embedded_default_images_need_no_download():
    batch = images.load_images("default", size=64)
    assert len(batch.ids) >= 10
    assert batch.images.std() > 0.1


def test_label_from_synset_file_or_folder():
    assert images.label_from_path("/x/n01440764_tench.JPEG") == "n01440764"
    assert images.label_from_path("/data/train/goldfish/img_001.jpg") == "goldfish"
