"""Published-format readers and atlas comparison, on small synthetic files of the same formats."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from lucid_atlas.atlas import compare, published


def _web_grid(path, cells):
    with open(path, "w") as f:
        json.dump([{"x": c, "y": r, "n": n, "i": top, "v": [1.0] * len(top)} for (r, c), (n, top) in cells.items()]
                  + [None], f)


def test_aligned_activation_pages_are_stacked(tmp_path):
    pages = []
    for p in range(3):
        path = str(tmp_path / f"mixed4c-{p:05d}-of-01000.npy")
        np.save(path, np.full((4, 6), p, np.float32))
        pages.append(path)
    rows = published.load_aligned_activations(pages)
    assert rows.shape == (12, 6) and rows[4, 0] == 1 and rows[-1, 0] == 2
    np.save(str(tmp_path / "bad.npy"), np.zeros((4, 5), np.float32))
    with pytest.raises(ValueError, match="5 channels"):
        published.load_aligned_activations(pages + [str(tmp_path / "bad.npy")])
    assert published.aligned_activation_urls("mixed4c")[3].endswith("InceptionV1/mixed4c-00003-of-01000.npy")


def test_web_grid_and_config_url(tmp_path):
    path = str(tmp_path / "web.json")
    _web_grid(path, {(0, 1): (5, [3, 7]), (2, 0): (9, [1])})
    grid = published.read_web_grid(path)
    assert grid.n == 3 and grid.cells[(0, 1)] == {"count": 5, "top": [3, 7], "values": [1.0, 1.0]}
    config = {"id": "inceptionv1_mixed4c", "model": "InceptionV1", "layer": ["mixed4c"], "layout": "50_0.05_cosine",
              "class_filter": None, "filter": None, "sample_images": 1000000, "sample_type": "random"}
    url = published.web_grid_url(config, 40)
    assert url == ("https://storage.googleapis.com/activation-atlas/build/inceptionv1_mixed4c/web/web--grid_size=40"
                   "--layout=50_0.05_cosine--class_filter=None--filter=None--layer=mixed4c--model=InceptionV1"
                   "--sample_images=1000000--sample_type=random.json")


def test_layout_reader(tmp_path):
    np.save(str(tmp_path / "xy.npy"), np.zeros((5, 2)))
    assert published.read_layout(str(tmp_path / "xy.npy")).shape == (5, 2)
    (tmp_path / "xy.json").write_text("[[0, 1], [2, 3]]")
    assert published.read_layout(str(tmp_path / "xy.json")).tolist() == [[0, 1], [2, 3]]
    (tmp_path / "bad.json").write_text("[1, 2, 3]")
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        published.read_layout(str(tmp_path / "bad.json"))


def _atlas_dir(folder, n, cells, directions):
    """An atlas folder as the pipeline writes it: atlas_<n>.json, directions, PNG."""
    os.makedirs(folder, exist_ok=True)
    desc = {"grid": n, "cells": [{"row": r, "col": c, "count": cnt, "top_classes": [{"index": k, "share": 0.5}
                                  for k in top]} for (r, c), (cnt, top) in cells.items()]}
    with open(os.path.join(folder, f"atlas_{n}.json"), "w") as f:
        json.dump(desc, f)
    keys = list(cells)
    np.savez(os.path.join(folder, f"atlas_{n}_directions.npz"), rows=np.array([k[0] for k in keys]),
             cols=np.array([k[1] for k in keys]), directions=np.stack([directions[k] for k in keys]))
    img = np.full((n * 8, n * 8, 3), 255, np.uint8)
    for (r, c), (_count, top) in cells.items():
        img[r * 8:(r + 1) * 8, c * 8:(c + 1) * 8] = [(top[0] * 37) % 255, (top[0] * 91) % 255, 40]
    Image.fromarray(img).save(os.path.join(folder, f"atlas_{n}.png"))


@pytest.mark.parametrize("name", compare.TRANSFORMS)
def test_comparison_finds_the_flip_or_rotation(tmp_path, name):
    n, rng = 6, np.random.default_rng(0)
    cells = {(r, c): (int(rng.integers(1, 20)), [int(rng.integers(0, 50))]) for r in range(n) for c in range(n)
             if rng.uniform() < 0.7}
    dirs = {k: rng.normal(size=8) for k in cells}
    moved = {compare.transform_cell(r, c, n, name): v for (r, c), v in cells.items()}
    moved_dirs = {compare.transform_cell(r, c, n, name): v for (r, c), v in dirs.items()}
    inverse = next(t for t in compare.TRANSFORMS
                   if all(compare.transform_cell(*compare.transform_cell(r, c, n, name), n, t) == (r, c)
                          for r, c in cells))
    _atlas_dir(str(tmp_path / "a"), n, cells, dirs)
    _atlas_dir(str(tmp_path / "b"), n, moved, moved_dirs)
    report = compare.compare_atlases(str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "out"))
    assert report["alignment"] == inverse
    assert report["top1_agreement"] == 1.0 and report["direction_cosine"] == pytest.approx(1.0)
    assert report["matched_cells"] == len(cells) and report["chance_top1_agreement"] < 0.2
    assert report["neighborhood_agreement"] == 1.0 or np.isnan(report["neighborhood_agreement"])
    with Image.open(report["picture"]) as pic:
        arr = np.asarray(pic.convert("RGB"))
    left, right = arr[25:25 + 640, 10:10 + 640], arr[25:25 + 640, 660:660 + 640]
    assert np.abs(left.astype(int) - right.astype(int)).mean() < 3  # b, moved back, looks like a


def test_our_atlas_against_a_published_grid(tmp_path):
    n = 4
    cells = {(0, 0): (5, [1]), (0, 3): (3, [2]), (2, 1): (8, [3]), (3, 3): (2, [4])}
    _atlas_dir(str(tmp_path / "ours"), n, cells, {k: np.ones(3) for k in cells})
    _web_grid(str(tmp_path / "web.json"), {(c, r): v for (r, c), v in cells.items()})  # published transposed
    report = compare.compare_atlases(str(tmp_path / "ours"), str(tmp_path / "web.json"), str(tmp_path / "out"),
                                     grid=4)
    assert report["alignment"] == "transpose" and report["top1_agreement"] == 1.0
    assert report["direction_cosine"] is None  # the published grid has no directions
    assert os.path.exists(tmp_path / "out" / "compare.json")


def test_different_grid_sizes_are_refused(tmp_path):
    _atlas_dir(str(tmp_path / "a"), 4, {(0, 0): (1, [1])}, {(0, 0): np.ones(2)})
    _atlas_dir(str(tmp_path / "b"), 5, {(0, 0): (1, [1])}, {(0, 0): np.ones(2)})
    with pytest.raises(ValueError, match="same size"):
        compare.compare_atlases(str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "out"))
