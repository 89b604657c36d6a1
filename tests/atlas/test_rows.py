"""Rows on disk: read shard by shard, picked by index, float16 read back as float32; chunked imports."""

from __future__ import annotations

import numpy as np

from lucid_atlas.atlas import collect, rows


def _sharded(tmp_path, arrays, dtype="float32"):
    paths = []
    for k, a in enumerate(arrays):
        paths.append(str(tmp_path / f"acts-{k:05d}.npy"))
        np.save(paths[-1], a.astype(dtype))
    return rows.ShardedRows(paths, [len(a) for a in arrays], arrays[0].shape[1])


def test_batches_take_and_whole_agree_with_the_array(tmp_path):
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(n, 5)).astype(np.float32) for n in (7, 1, 12)]
    whole = np.concatenate(parts)
    sharded = _sharded(tmp_path, parts)
    assert sharded.shape == (20, 5) and len(sharded) == 20
    np.testing.assert_array_equal(np.concatenate([b for _, b in rows.batches(sharded)]), whole)
    assert [start for start, _ in rows.batches(sharded)] == [0, 7, 8]
    picks = [19, 0, 7, 7, 8, 3]
    np.testing.assert_array_equal(sharded.take(picks), whole[picks])
    np.testing.assert_array_equal(rows.take(whole, picks), whole[picks])
    np.testing.assert_array_equal(sharded.to_array(), whole)


def test_float16_shards_read_as_float32_and_nonfinite_rows_are_counted(tmp_path):
    parts = [np.ones((3, 4), np.float32), np.array([[1, np.nan, 0, 0], [np.inf, 0, 0, 0]], np.float32)]
    sharded = _sharded(tmp_path, parts, "float16")
    assert sharded.shard(0).dtype == np.float32
    assert rows.count_nonfinite(sharded) == 2 and rows.count_nonfinite(parts[0]) == 0


def test_chunked_import_equals_the_array_import(lite0, tmp_path):
    """Vectors given as uneven chunks are regrouped into the same shards as the array."""
    layer = "block3_expanded"
    vectors = np.abs(np.random.default_rng(1).normal(size=(25, 144))).astype(np.float32)
    collect.import_vectors(lite0, layer, vectors, str(tmp_path / "array"), shard_rows=10)
    chunks = (vectors[i:j] for i, j in ((0, 3), (3, 17), (17, 25)))
    collect.import_vectors(lite0, layer, chunks, str(tmp_path / "chunks"), shard_rows=10, n_rows=25)
    a, b = collect.load_activations(str(tmp_path / "array")), collect.load_activations(str(tmp_path / "chunks"))
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert [s["rows"] for s in b.manifest["shards"]] == [10, 10, 5]
    assert len(b.image_ids) == 25 and (tmp_path / "chunks" / collect.IMAGE_IDS).exists()
    assert "image_ids" not in __import__("json").loads((tmp_path / "chunks" / collect.MANIFEST).read_text())


def test_rows_are_saved_as_taken(tmp_path, monkeypatch):
    """A block written for a worker holds the rows at its indices, from an array or from shards."""
    monkeypatch.setattr(rows, "SAVE_CHUNK", 3)  # gathered in several chunks
    x = np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32)
    indices = np.array([3, 19, 20, 21, 40, 49, 0, 34])
    for source in (x, _sharded(tmp_path, np.split(x, [20, 35]))):
        rows.save(source, indices, str(tmp_path / "block.npy"))
        np.testing.assert_array_equal(np.load(tmp_path / "block.npy"), x[indices])


def test_sorted_rows_are_saved_reading_each_shard_once(tmp_path, monkeypatch):
    """A layout's block (sorted indices) is written from one read of each shard it touches."""
    monkeypatch.setattr(rows, "SAVE_CHUNK", 3)  # chunks would read shards 0 and 1 twice
    x = np.random.default_rng(2).normal(size=(50, 3)).astype(np.float32)
    sharded = _sharded(tmp_path, np.split(x, [20, 35]))
    reads = []
    shard = sharded.shard
    monkeypatch.setattr(sharded, "shard", lambda k: reads.append(k) or shard(k))
    indices = np.array([0, 1, 2, 19, 22, 22, 34, 36, 49])
    rows.save(sharded, indices, str(tmp_path / "block.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "block.npy"), x[indices])
    assert reads == [0, 1, 2]
    rows.save(sharded, indices[2:6], str(tmp_path / "inner.npy"))  # within two shards
    np.testing.assert_array_equal(np.load(tmp_path / "inner.npy"), x[indices[2:6]])
    assert reads == [0, 1, 2, 0, 1]
    rows.save(sharded, np.array([], np.int64), str(tmp_path / "empty.npy"))
    assert np.load(tmp_path / "empty.npy").shape == (0, 3)
