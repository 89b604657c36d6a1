"""Class activation atlases and two-class comparisons on a tiny real model, end to end."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from lucid_atlas.atlas import attribution, classes, collect
from lucid_atlas.atlas.render import IconSettings

ICONS = IconSettings(size=16, steps=4, batch=8)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(5).uniform(size=(30, 16, 16, 3)).astype(np.float32)


def test_select_rows_keeps_the_top_positive_rows():
    scores = np.array([0.5, -1.0, 2.0, 0.0, 1.0])
    np.testing.assert_array_equal(classes.select_rows(scores, top_k=2), [2, 4])
    np.testing.assert_array_equal(classes.select_rows(scores, top_k=10), [2, 4, 0])
    np.testing.assert_array_equal(classes.select_rows(scores, top_k=10, threshold=0.8), [2, 4])


def test_comparison_x_is_normalized_by_the_99th_percentile_and_clipped():
    first = np.zeros(200)
    second = np.linspace(-1, 1, 200) * 3
    second[0] = -100  # an outlier: clipped, not the scale
    x = classes.comparison_x(first, second)
    assert x.min() == -1 and x.max() <= 1
    scale = np.percentile(np.abs(second), 99)
    np.testing.assert_allclose(x[1:], np.clip(second[1:] / scale, -1, 1), rtol=1e-6)


def test_class_atlas_keeps_rows_attributed_to_the_class(tiny_model, images, tmp_path):
    s = classes.ClassAtlasSettings(layer="feat", positions=4, top_k=60, grid=4, min_count=2)
    out = str(tmp_path / "class")
    summary = classes.class_atlas(tiny_model, images, out, 3, s, ICONS, progress=False)
    assert summary["class"] == "class 3" and summary["rows"] == 120 and 5 <= summary["rows_kept"] <= 60
    desc = json.load(open(summary["json"]))
    attr = attribution.attribute(tiny_model, os.path.join(out, "activations"), [3], source=images, progress=False)[:, 0]
    assert desc["attribution_kept_min"] > 0
    assert desc["attribution_kept_min"] >= np.sort(attr)[-summary["rows_kept"]] - 1e-6
    with Image.open(summary["atlas"]) as img:
        assert img.size == (4 * 16, 4 * 16)
    assert sum(c["count"] for c in desc["cells"]) <= summary["rows_kept"]


def test_compare_classes_writes_atlas_and_candidates_for_each_side(tiny_model, images, tmp_path):
    s = classes.ClassAtlasSettings(layer="feat", positions=4, top_k=80, grid=5, min_count=2, candidates=2)
    summary = classes.compare_classes(tiny_model, images, str(tmp_path / "cmp"), 1, 4, s, ICONS,
                                      progress=False)
    assert summary["classes"] == ["class 1", "class 4"]
    sides = [c["side"] for c in summary["candidates"]]
    assert sides.count("class 1") == 2 and sides.count("class 4") == 2
    left = [c["mean_x"] for c in summary["candidates"] if c["side"] == "class 1"]
    right = [c["mean_x"] for c in summary["candidates"] if c["side"] == "class 4"]
    assert max(left) < min(right)  # the first class's candidates sit left of the second's
    assert all(os.path.exists(c["icon"]) for c in summary["candidates"])
    with np.load(summary["directions"]) as d:
        assert d["directions"].shape[1] == 6 and set(d["side"].tolist()) == {1, 4}
    with Image.open(summary["atlas"]) as img:
        assert img.width == 5 * 16 and img.height > 5 * 16  # the header naming the sides


def test_same_class_twice_is_refused(tiny_model, images, tmp_path):
    s = classes.ClassAtlasSettings(layer="feat", positions=4)
    with pytest.raises(ValueError, match="two different classes"):
        classes.compare_classes(tiny_model, images, str(tmp_path), 2, "class 2", s, ICONS, progress=False)


def test_reused_collection_is_not_recollected(tiny_model, images, tmp_path):
    act_dir = str(tmp_path / "acts")
    collect.collect(tiny_model, "feat", images, act_dir, positions=4, progress=False)
    before = os.path.getmtime(os.path.join(act_dir, "acts-00000.npy"))
    s = classes.ClassAtlasSettings(layer="feat", positions=99, top_k=50, grid=3)
    summary = classes.class_atlas(tiny_model, images, str(tmp_path / "c"), 3, s, ICONS, act_dir=act_dir,
                                  progress=False)
    assert summary["rows"] == 120 and os.path.getmtime(os.path.join(act_dir, "acts-00000.npy")) == before


def test_class_atlases_render_the_same_in_streams(tiny_model, images, tmp_path):
    from lucid_atlas.atlas.executors import LocalExecutor

    s = classes.ClassAtlasSettings(layer="feat", positions=4, top_k=60, grid=4, min_count=2)
    icons = IconSettings(size=16, steps=4, batch=2)  # several icon batches, so both streams render
    one = classes.class_atlas(tiny_model, images, str(tmp_path / "one"), 3, s, icons, progress=False)
    two = classes.class_atlas(tiny_model, images, str(tmp_path / "two"), 3, s, icons, progress=False,
                              executor=LocalExecutor(streams=2))
    assert one["cells"] >= 4
    with open(one["atlas"], "rb") as a, open(two["atlas"], "rb") as b:
        assert a.read() == b.read()
