"""Executors: Ray gives the same activations and atlas as the local one (2 workers); local streams side by side."""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas import models
from lucid_atlas.atlas import collect, executors
from lucid_atlas.atlas.pipeline import AtlasSettings, build_atlas
from lucid_atlas.atlas.render import IconSettings

from .conftest import save_tiny_classifier, write_random_images

keras = tf.keras


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'lucid-atlas[distributed]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray")
    path = save_tiny_classifier(str(root / "tiny.keras"))
    images = write_random_images(root / "images", 40)
    (root / "images" / "broken.png").write_bytes(b"not an image")
    return path, images, root


def test_ray_atlas_equals_local_atlas(ray_cluster, setup):
    path, images, root = setup
    model = models.load(path, image_shape=(32, 32, 3))
    settings = AtlasSettings(layer="feat", grids=(4,), positions=4, min_count=1, n_neighbors=10, shard_images=8)
    icons = IconSettings(size=24, steps=30, batch=3)
    local = build_atlas(model, images, str(root / "local"), settings, icons, progress=False)
    executor = executors.RayExecutor(workers=2)
    try:
        remote = build_atlas(model, images, str(root / "ray"), settings, icons, progress=False, executor=executor)
    finally:
        executor.shutdown()
    a, b = collect.load_activations(str(root / "local" / "activations")), \
        collect.load_activations(str(root / "ray" / "activations"))
    np.testing.assert_array_equal(a.vectors, b.vectors)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.top_classes, b.top_classes)
    assert len(b.manifest["skipped"]) == 1 and b.manifest["complete"]
    with open(local["grids"]["4"]["atlas"], "rb") as f1, open(remote["grids"]["4"]["atlas"], "rb") as f2:
        assert f1.read() == f2.read()
    assert remote["rows"] == local["rows"] == 160


def _die_once(model, job, marker_dir):
    """A job function whose worker process dies the first time it sees job 1."""
    marker = os.path.join(marker_dir, f"died-{job.key}")
    if job.key == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return job.key * 10


class _Job:
    def __init__(self, key):
        self.key = key


def test_a_dead_worker_loses_only_its_job_which_is_redone(ray_cluster, setup, tmp_path):
    path, _, _ = setup
    executor = executors.RayExecutor(model_factory=functools.partial(models.load, path), workers=2)
    try:
        results = dict((job.key, r) for job, r in executor.run(
            None, functools.partial(_die_once, marker_dir=str(tmp_path)), [_Job(k) for k in range(4)]))
    finally:
        executor.shutdown()
    assert results == {0: 0, 1: 10, 2: 20, 3: 30}
    assert os.path.exists(tmp_path / "died-1")


def test_executor_names_are_checked():
    with pytest.raises(ValueError, match="'local' or 'ray'"):
        executors.make_executor("spark")
    assert executors.make_executor(None).name == "local"


def test_models_not_from_load_need_a_factory():
    inputs = keras.Input((8, 8, 3))
    out = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(inputs))
    model = models.from_keras(keras.Model(inputs, out))
    with pytest.raises(ValueError, match="model_factory"):
        executors.model_factory_of(model)


def test_missing_ray_says_how_to_install(monkeypatch, capsys):
    import sys

    from lucid_atlas import cli

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'lucid-atlas\[distributed\]'"):
        executors.require_ray()
    assert cli.main(["atlas", "--executor", "ray", "--out", "/tmp/never", "--json"]) == 2
    assert "lucid-atlas[distributed]" in capsys.readouterr().err


def test_workers_keep_job_functions_that_ask_to_be_reused():
    """Ray sends the job function with each job; a worker keeps one with a reuse_key (and its state)."""
    import pickle
    from types import SimpleNamespace

    from lucid_atlas.atlas.render import IconRenderer

    class Counting:
        def __init__(self):
            self.reuse_key, self.calls = "same", 0

        def __call__(self, model, job):
            self.calls += 1
            return self.calls

    worker = executors._Worker(lambda: "model")
    first, second = Counting(), Counting()
    job = SimpleNamespace(key=0)
    assert worker.run(first, job) == (0, 1)
    assert worker.run(second, job) == (0, 2) and second.calls == 0
    renderer = IconRenderer()
    renderer._renderers["compiled"] = object()
    copy = pickle.loads(pickle.dumps(renderer))
    assert copy.reuse_key == renderer.reuse_key and copy._renderers == {}


def test_streams_write_the_same_atlas_as_one_stream(setup):
    """Jobs run side by side (collection shards, icon batches) write the same files as one by one."""
    path, images, root = setup
    model = models.load(path, image_shape=(32, 32, 3))
    settings = AtlasSettings(layer="feat", grids=(4,), positions=4, min_count=1, n_neighbors=10, shard_images=8)
    icons = IconSettings(size=24, steps=30, batch=3)
    one = build_atlas(model, images, str(root / "one"), settings, icons, progress=False)
    two = build_atlas(model, images, str(root / "two"), settings, icons, progress=False,
                      executor=executors.LocalExecutor(streams=2))
    a, b = (collect.load_activations(str(root / name / "activations")) for name in ("one", "two"))
    np.testing.assert_array_equal(a.vectors, b.vectors)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert [s["index"] for s in b.manifest["shards"]] == [s["index"] for s in a.manifest["shards"]] == list(range(6))
    assert len(b.manifest["skipped"]) == 1
    with open(one["grids"]["4"]["atlas"], "rb") as f1, open(two["grids"]["4"]["atlas"], "rb") as f2:
        assert f1.read() == f2.read()


def test_streams_run_every_job_once_each_with_its_own_copy_of_a_stateful_function():
    import threading
    from types import SimpleNamespace

    class Stateful:
        def __init__(self):
            self.seen, self.threads = [], set()

        def __call__(self, model, job):
            self.seen.append(job.key)
            self.threads.add(threading.get_ident())
            return (model, job.key, id(self))

    fn = Stateful()
    results = list(executors.LocalExecutor(streams=3).run("model", fn, [SimpleNamespace(key=k) for k in range(7)]))
    assert sorted(job.key for job, _ in results) == list(range(7))
    assert all(r[:2] == ("model", job.key) for job, r in results)
    assert fn.seen == []  # the caller's function is never run by a stream: each has a copy
    assert 1 < len({r[2] for _, r in results}) <= 3


def test_stream_counts_are_checked_and_a_running_tensorflow_keeps_its_threads():
    from argparse import Namespace

    from lucid_atlas.cli.common import executor_from_args

    with pytest.raises(ValueError, match="streams must be at least 1"):
        executors.LocalExecutor(streams=0)
    tf.constant(1.0) + 1.0  # TensorFlow's runtime has started in this process: its pools are fixed
    assert executors.one_thread_per_op(2) is False
    assert executor_from_args(Namespace(executor="local", streams=2)).streams == 1
    assert executor_from_args(Namespace(executor="local", streams=1)).streams == 1


def test_icon_batches_are_shared_evenly_among_streams():
    from lucid_atlas.atlas.render import _cells_per_batch

    assert _cells_per_batch(24, 32, 2) == 12  # one batch of 24 would leave a stream idle
    assert _cells_per_batch(314, 32, 2) == 32  # 10 batches already share evenly
    assert _cells_per_batch(65, 32, 1) == 32  # one stream: the batches --batch asks for
    assert _cells_per_batch(57, 32, 2) == 32  # two batches for two streams: as asked too
    assert _cells_per_batch(1, 32, 4) == 1


def test_rgba_icon_batches_traced_at_once_in_two_streams(lite0, tmp_path):
    """Two batches of the default (RGBA) icons traced and rendered side by side, as the atlas's
    streams run them, both finish: no XLA function of the alpha composite or the opacity penalty is
    shared between their graphs (a shared one broke their gradients while both traced)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from lucid_atlas.atlas.render import IconJob, IconRenderer

    layer = "block12_expanded"
    rng = np.random.default_rng(0)
    settings = IconSettings(size=32, batch=2, steps=18)
    start = threading.Barrier(2)

    def batch(k):
        cells = tuple((k, i, rng.normal(size=lite0.layer(layer).depth).astype(np.float32)) for i in range(2))
        job = IconJob(k, layer, cells, str(tmp_path / f"batch{k}"), settings, None)
        start.wait()  # both trace their render at once
        return IconRenderer()(lite0, job)

    for attempt in range(2):
        with ThreadPoolExecutor(2) as threads:
            assert [len(paths) for paths in threads.map(batch, [2 * attempt, 2 * attempt + 1])] == [2, 2]
