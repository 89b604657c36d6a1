"""Attribution h·∇ₕ logit_c of collected rows, checked against finite differences on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas import models
from lucid_atlas.atlas import attribution, collect

keras = tf.keras


@pytest.fixture(scope="module")
def nonlinear():
    """A tiny classifier with a nonlinearity after the attributed layer, and its tail (feat -> logits)."""
    init = keras.initializers.RandomNormal(stddev=0.6, seed=3)
    inputs = keras.Input((12, 12, 3))
    feat = keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="feat", kernel_initializer=init)
    mid = keras.layers.Conv2D(4, 3, padding="same", activation="tanh", name="mid", kernel_initializer=init)
    pool = keras.layers.GlobalAveragePooling2D()
    head = keras.layers.Dense(6, name="scores", kernel_initializer=init)
    model = keras.Model(inputs, head(pool(mid(feat(inputs)))))
    tail_in = keras.Input((12, 12, 5))
    tail = keras.Model(tail_in, head(pool(mid(tail_in))))
    head_model = keras.Model(inputs, feat.output)
    vm = models.from_keras(model)
    vm.image_shape = (12, 12, 3)
    return vm, head_model, tail


def test_attribution_matches_finite_differences(nonlinear, tmp_path):
    vm, head_model, tail = nonlinear
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(5, 12, 12, 3)).astype(np.float32)
    act_dir = str(tmp_path / "acts")
    collect.collect(vm, "feat", images, act_dir, positions=3, shard_images=2, progress=False)
    acts = collect.load_activations(act_dir)
    classes = [1, 4]
    attr = attribution.attribute(vm, act_dir, classes, source=images, progress=False)
    assert attr.shape == (len(acts), 2)
    eps = 1e-3
    checked = 0
    for row in range(0, len(acts), 2):
        i, (y, x) = acts.image_index[row], acts.positions[row]
        h = head_model(images[i:i + 1]).numpy().astype(np.float64)
        np.testing.assert_allclose(h[0, y, x], acts.vectors[row], rtol=1e-4, atol=1e-5)
        up, down = h.copy(), h.copy()
        up[0, y, x] *= 1 + eps
        down[0, y, x] *= 1 - eps
        fd = (tail(up.astype(np.float32)).numpy() - tail(down.astype(np.float32)).numpy())[0] / (2 * eps)
        np.testing.assert_allclose(attr[row], fd[classes], rtol=2e-2, atol=1e-5)
        checked += 1
    assert checked >= 5
    assert np.abs(attr).max() > 1e-3  # not trivially zero


def test_attribution_resumes_from_saved_shards(nonlinear, tmp_path):
    vm, _, _ = nonlinear
    images = np.random.default_rng(1).uniform(size=(4, 12, 12, 3)).astype(np.float32)
    act_dir = str(tmp_path / "acts")
    collect.collect(vm, "feat", images, act_dir, positions=2, shard_images=2, progress=False)
    first = attribution.attribute(vm, act_dir, [0], source=images, progress=False)
    saved = sorted(p.name for p in (tmp_path / "acts").glob("attr-*.npy"))
    assert len(saved) == 2
    # A second call reads the shards: feeding other images proves nothing was recomputed.
    again = attribution.attribute(vm, act_dir, [0], source=images * 0, progress=False)
    np.testing.assert_array_equal(first, again)


def test_mean_rows_get_the_whole_map():
    maps = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    rows = attribution.rows_attribution(maps, np.array([[-1, -1], [1, 2]]))
    np.testing.assert_array_equal(rows[0], maps.sum(axis=(0, 1)))
    np.testing.assert_array_equal(rows[1], maps[1, 2])


def test_unknown_class_lists_close_matches(nonlinear, tmp_path):
    vm, _, _ = nonlinear
    with pytest.raises(models.ModelError):
        attribution.attribution_maps(vm, "feat", [99])
