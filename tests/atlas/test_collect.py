"""Collecting activations: rows, metadata, skipped files, and resume equal to an uninterrupted run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from lucid_atlas.atlas.collect import collect, load_activations


def test_rows_and_metadata(tiny_model, image_dir, tmp_path):
    with pytest.warns(UserWarning, match="img04b"):
        manifest = collect(tiny_model, "feat", image_dir, str(tmp_path), positions=3, shard_images=4,
                           progress=False)
    acts = load_activations(str(tmp_path))
    assert manifest["complete"] and len(manifest["skipped"]) == 1
    assert acts.vectors.shape == (27, 6)  # 9 readable images x 3 positions
    assert acts.top_classes.shape == (27, 5) and acts.top_probs.max() <= 1.0
    assert set(acts.image_index.tolist()) == set(range(10)) - {5}  # the broken file is index 5
    assert acts.positions.min() >= 1 and acts.positions.max() <= 6  # 8x8 map, border avoided
    x = Image.open(acts.image_ids[acts.image_index[0]])
    assert x.size == (24, 20)


def test_values_match_the_model(tiny_model, image_dir, tmp_path):
    collect(tiny_model, "feat", image_dir, str(tmp_path), mode="mean", progress=False)
    acts = load_activations(str(tmp_path))
    from lucid_atlas.io.images import load_image

    img = load_image(acts.image_ids[0], (16, 16))
    expected = tiny_model.activations(img[None], ["feat"])["feat"].numpy().mean(axis=(1, 2))[0]
    np.testing.assert_allclose(acts.vectors[0], expected, rtol=1e-5, atol=1e-6)


def test_resume_equals_uninterrupted(tiny_model, image_dir, tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    collect(tiny_model, "feat", image_dir, str(whole), shard_images=3, progress=False, seed=4)
    first = collect(tiny_model, "feat", image_dir, str(parts), shard_images=3, progress=False, seed=4,
                    max_shards=2)
    assert not first["complete"] and len(first["shards"]) == 2
    collect(tiny_model, "feat", image_dir, str(parts), shard_images=3, progress=False, seed=4)
    a, b = load_activations(str(whole)), load_activations(str(parts))
    np.testing.assert_array_equal(a.vectors, b.vectors)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert json.loads((parts / "manifest.json").read_text())["complete"]


def test_other_settings_in_same_folder_refused(tiny_model, image_dir, tmp_path):
    collect(tiny_model, "feat", image_dir, str(tmp_path), progress=False)
    with pytest.raises(ValueError, match="other settings"):
        collect(tiny_model, "feat", image_dir, str(tmp_path), positions=9, progress=False)


def test_numpy_arrays_as_source(tiny_model, tmp_path):
    images = np.random.default_rng(5).uniform(size=(7, 16, 16, 3)).astype(np.float32)
    collect(tiny_model, "feat", images, str(tmp_path), positions=2, shard_images=3, progress=False)
    acts = load_activations(str(tmp_path))
    assert acts.vectors.shape == (14, 6) and acts.image_ids[6] == "array[6]"
    assert acts.image_index.tolist() == [i for i in range(7) for _ in range(2)]
    with pytest.raises(ValueError, match=r"\(N, 16, 16, 3\)"):
        collect(tiny_model, "feat", images[:, :8], str(tmp_path / "x"), progress=False)


def test_tensorflow_datasets_source(tiny_model, tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets", reason="tensorflow-datasets not installed (extra 'tfds')")
    with tfds.testing.mock_data(num_examples=7):
        collect(tiny_model, "feat", "tfds:imagenette/validation", str(tmp_path), positions=2, shard_images=3,
                progress=False)
        acts = load_activations(str(tmp_path))
    assert acts.vectors.shape == (14, 6)
    assert acts.image_ids[0] == "tfds:imagenette/validation#0" and acts.image_index.max() == 6


def test_unknown_tfds_dataset_is_clear(tiny_model, tmp_path):
    pytest.importorskip("tensorflow_datasets", reason="tensorflow-datasets not installed (extra 'tfds')")
    with pytest.raises(FileNotFoundError, match="could not load TensorFlow Datasets 'no_such_dataset_xyz'"):
        collect(tiny_model, "feat", "tfds:no_such_dataset_xyz", str(tmp_path), progress=False)
