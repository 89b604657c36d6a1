"""Layout and grid: clusters stay together, cells summarize their members, purity beats random."""

from __future__ import annotations

import os

import numpy as np
import pytest

from lucid_atlas.atlas import grid, layout


def _clusters(n_per=60, k=4, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, dim)) * 4
    x = np.concatenate([c + rng.normal(size=(n_per, dim)) for c in centers]).astype(np.float32)
    labels = np.repeat(np.arange(k), n_per)
    return x, labels


def test_normalize_layout_range_and_clipping():
    xy = np.random.default_rng(0).normal(size=(500, 2))
    xy[0] = [1000, -1000]
    out = layout.normalize_layout(xy, margin=0.05)
    assert out.min() >= 0.05 - 1e-6 and out.max() <= 0.95 + 1e-6
    assert np.ptp(out[1:, 0]) > 0.8  # the outlier did not squash everyone else


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_layout_keeps_clusters(method):
    from sklearn.manifold import trustworthiness

    x, labels = _clusters()
    xy = layout.layout(x, method=method, n_neighbors=15, metric="euclidean", seed=0)
    assert xy.shape == (len(x), 2) and xy.min() >= 0 and xy.max() <= 1
    assert trustworthiness(x, xy, n_neighbors=10) > 0.85
    assert grid.class_purity(xy, labels, 6) > 0.95


def test_umap_fit_sample_places_the_rest():
    x, _ = _clusters(n_per=50)
    xy = layout.layout(x, method="umap", n_neighbors=10, metric="euclidean", fit_sample=120, seed=1)
    assert np.isfinite(xy).all() and len(np.unique(xy.round(4), axis=0)) > 150


def test_grid_cells_sum_and_summaries():
    x, labels = _clusters(n_per=30, k=3)
    xy = np.random.default_rng(2).uniform(0.01, 0.99, size=(len(x), 2)).astype(np.float32)
    top = np.stack([labels] * 5, 1)
    cells = grid.make_grid(xy, x, 4, min_count=1, top_classes=top, image_index=np.arange(len(x)))
    assert sum(c.count for c in cells) == len(x)
    c = cells[0]
    rows, cols = grid.cell_of(xy, 4)
    members = (rows == c.row) & (cols == c.col)
    np.testing.assert_allclose(c.direction, x[members].mean(0), rtol=1e-5)
    assert abs(sum(s for _, s in c.top_classes) - 1) < 1e-6 or len(c.top_classes) == 3
    assert c.summary(["a", "b", "c"])["top_classes"][0]["label"] in "abc"
    dense = grid.make_grid(xy, x, 4, min_count=10)
    assert all(cell.count >= 10 for cell in dense)


def test_random_layout_purity_is_lower():
    x, labels = _clusters(n_per=100, k=8)
    rand = np.random.default_rng(3).uniform(size=(len(x), 2))
    assert grid.class_purity(rand, labels, 6) < 0.8


def test_whitening_inverts_covariance():
    x, _ = _clusters(n_per=200, dim=5)
    S = layout.whitening_matrix(x, epsilon=0.0)
    np.testing.assert_allclose(S @ (x.T @ x / len(x)), np.eye(5), atol=1e-3)


def test_umap_places_rows_in_blocks_the_same_with_workers_and_after_a_kill(tmp_path, monkeypatch):
    """Rows outside the fit sample are placed in fixed blocks: two worker processes give the one-process
    coordinates, and a run that lost a finished block's file redoes only that block."""
    monkeypatch.setattr(layout, "TRANSFORM_BLOCK", 60)
    x = np.random.default_rng(0).normal(size=(260, 8)).astype(np.float32)
    options = dict(n_neighbors=10, metric="euclidean", fit_sample=100, seed=0, normalize=False)
    one = layout.layout(x, parts_dir=str(tmp_path / "one"), workers=1, **options)
    parts = sorted((tmp_path / "one").glob("part-*.npy"))
    assert len(parts) == 3  # 160 rows outside the sample, in blocks of 60
    two = layout.layout(x, parts_dir=str(tmp_path / "two"), workers=2, **options)
    np.testing.assert_array_equal(one, two)
    parts[1].unlink()
    again = layout.layout(x, parts_dir=str(tmp_path / "one"), workers=1, **options)
    np.testing.assert_array_equal(one, again)


def test_a_larger_whitening_ridge_equals_whitening_with_it_from_the_start():
    from lucid_atlas.atlas import layout

    x = np.random.default_rng(0).normal(size=(400, 12)) * np.linspace(0.05, 3, 12)
    S = layout.whitening_matrix(x)
    np.testing.assert_allclose(layout.with_ridge(S, 0.3), layout.whitening_matrix(x, epsilon=0.3), atol=1e-5)
    assert layout.with_ridge(S, layout.WHITENING_EPSILON) is S
    # whitening less: the noisiest (smallest-variance) direction is amplified less
    assert np.abs(layout.with_ridge(S, 1.0)).max() < np.abs(S).max()


def test_layout_workers_are_light_and_report_errors(tmp_path):
    """The processes that fit UMAP and place rows load no TensorFlow (0.25 GB each, not 0.75), fit and
    place as this process would, and a failure in one comes back as a clear error naming it."""
    import psutil

    from lucid_atlas.atlas import place_worker

    x = np.random.default_rng(0).normal(size=(120, 6)).astype(np.float32)
    options = dict(n_components=2, n_neighbors=10, min_dist=0.1, metric="euclidean", random_state=0)
    reducer, fit_xy = place_worker.fit(x[:80], options)
    placer, xy = layout._Placer.fitted(x, np.arange(80), options, 1)
    try:
        np.testing.assert_array_equal(xy, fit_xy)
        np.testing.assert_array_equal(placer.place(0, x, np.arange(80, 120)),
                                      layout._transform_block(reducer, x, np.arange(80, 120)))
        maps = [m.path for m in psutil.Process(placer.processes[0].pid).memory_maps()]
        assert not [path for path in maps if "tensorflow" in path.lower()]
        with pytest.raises(RuntimeError, match="placing rows with UMAP failed in a worker: error: ValueError"):
            placer.place(1, np.full((5, 6), np.nan, np.float32), np.arange(5))  # rows UMAP refuses
    finally:
        placer.close()
    assert not os.path.exists(placer.folder)
    with pytest.raises(RuntimeError, match="fitting UMAP failed in a worker: .*ValueError"):
        layout._Placer.fitted(np.full((40, 6), np.nan, np.float32), np.arange(30), options, 1)


def test_a_layout_turns_on_numbas_disk_cache_for_umap():
    """After the first layout on a machine, umap's compiled functions load from numba's disk cache
    instead of compiling again in every process (and in every placement worker)."""
    import umap
    from numba.core.caching import NullCache

    from lucid_atlas.atlas import umap_cache

    x, _ = _clusters(n_per=40)
    layout.layout(x, method="umap", n_neighbors=10, metric="euclidean", seed=3)
    epoch = umap.layouts._nb_optimize_layout_euclidean_single_epoch  # a layout epoch, compiled
    assert not isinstance(epoch._cache, NullCache)
    assert os.path.isdir(epoch._cache.cache_path)  # where its machine code was saved
    assert umap_cache.cache_umap_compilation() == 0  # every function numba can cache has it on already
