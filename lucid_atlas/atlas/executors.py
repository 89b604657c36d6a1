"""Where the two heavy stages run: in this process, or on a Ray cluster.

A stage hands an executor a list of picklable *jobs* (one collection shard, or one batch of
cells) and a job function ``fn(model, job) -> result``. Every job writes its own output files
atomically through ``tf.io.gfile`` and is deterministic (fixed seeds per image and per batch),
so where it runs does not change what it writes; a job lost with its worker is simply run
again, and the driver records each result as it arrives, so a rerun resumes.
"""

from __future__ import annotations

import copy
import functools
import itertools
import queue
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Callable, Iterator, Protocol

JobFn = Callable[[Any, Any], Any]


class Executor(Protocol):
    """Runs ``fn(model, job)`` for every job (each has a unique ``key``); yields (job, result) as each finishes."""

    name: str

    def run(self, model, fn: JobFn, jobs: list) -> Iterator[tuple[Any, Any]]:
        ...


class LocalExecutor:
    """Jobs in this process, on the model already loaded here: one after another, or ``streams`` at
    a time in threads, each stream with its own copy of the job function (so compiled renders are
    not shared between them).

    Streams pay when TensorFlow runs each op on one thread (:func:`one_thread_per_op`): the small
    ops of an icon batch keep two cores busier as two side-by-side streams than as one stream whose
    every op is split over both (measured ~1.2× the image-steps/s on this 2-core CPU). Jobs are
    deterministic, so the files written are the same however many streams run.
    """

    name = "local"

    def __init__(self, streams: int = 1):
        if int(streams) < 1:
            raise ValueError(f"streams must be at least 1 (jobs run side by side), got {streams}")
        self.streams = int(streams)

    def run(self, model, fn: JobFn, jobs: list) -> Iterator[tuple[Any, Any]]:
        if self.streams == 1 or len(jobs) < 2:
            for job in jobs:
                yield job, fn(model, job)
            return
        yield from _side_by_side(model, fn, jobs, min(self.streams, len(jobs)))


def _side_by_side(model, fn: JobFn, jobs: list, streams: int) -> Iterator[tuple[Any, Any]]:
    """(job, result) as each finishes, ``streams`` jobs running at a time; the next job starts
    only when one finishes, so an interrupted run has started few jobs it did not finish."""
    copies: queue.SimpleQueue = queue.SimpleQueue()
    for _ in range(streams):
        copies.put(copy.deepcopy(fn))  # a job function keeping state (compiled renders) gets one per stream

    def work(job):
        own = copies.get()
        try:
            return own(model, job)
        finally:
            copies.put(own)

    waiting = iter(jobs)
    with ThreadPoolExecutor(streams, thread_name_prefix="lucid_atlas_stream") as pool:
        running = {pool.submit(work, job): job for job in itertools.islice(waiting, streams)}
        try:
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    yield job, future.result()
                    following = next(waiting, None)
                    if following is not None:
                        running[pool.submit(work, following)] = following
        finally:
            for future in running:
                future.cancel()


def one_thread_per_op(streams: int) -> bool:
    """Make TensorFlow run each op on one thread, with ``streams`` ops at a time, for a
    :class:`LocalExecutor` of that many streams. Call it before TensorFlow runs anything (a
    command's start); returns False, changing nothing, if its runtime has already started."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(int(streams))
    except RuntimeError:  # TensorFlow's context exists already: its pools are fixed
        return False
    return True


def model_factory_of(model) -> Callable[[], Any]:
    """A picklable way to build ``model`` again in a worker (models from ``lucid_atlas.models.load``)."""
    spec = model.info.get("load_spec")
    if spec is None:
        raise ValueError(f"model '{model.name}' was not made by lucid_atlas.models.load, so Ray workers "
                         "cannot rebuild it: pass RayExecutor(model_factory=<picklable function returning "
                         "the VisionModel>)")
    from .. import models

    name, options = spec
    return functools.partial(models.load, name, **options)


class _Worker:
    """A Ray actor that holds one model and runs jobs on it."""

    def __init__(self, factory: Callable[[], Any]):
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.model = factory()
        self.kept: dict = {}  # job functions that keep state between jobs, by their reuse_key

    def run(self, fn: JobFn, job):
        # Ray sends the job function with every job; one with a ``reuse_key`` (e.g. an icon
        # renderer holding compiled renders) is kept, so later jobs reuse what it built.
        key = getattr(fn, "reuse_key", None)
        if key is not None:
            fn = self.kept.setdefault(key, fn)
        return job.key, fn(self.model, job)


class RayExecutor:
    """Jobs spread over a pool of model-holding Ray actors (one per worker; GPUs when asked).

    ``address`` is passed to ``ray.init`` (None: start or join a local cluster). Workers take one
    GPU each when the cluster has GPUs, unless ``gpus_per_worker`` says otherwise. A worker that
    dies loses only its in-flight job, which is resubmitted (``max_task_retries``).
    """

    name = "ray"

    def __init__(self, model_factory: Callable[[], Any] | None = None, workers: int | None = None,
                 address: str | None = None, gpus_per_worker: float | None = None, cpus_per_worker: float = 1.0,
                 max_retries: int = 3):
        self.ray = require_ray()
        self.model_factory = model_factory
        self.workers = workers
        self.address = address
        self.gpus_per_worker = gpus_per_worker
        self.cpus_per_worker = cpus_per_worker
        self.max_retries = max_retries
        self._actors: list = []
        self._factory_used = None

    def _pool(self, model) -> list:
        ray = self.ray
        if not ray.is_initialized():
            ray.init(address=self.address, ignore_reinit_error=True, log_to_driver=False,
                     include_dashboard=False)
        factory = self.model_factory or model_factory_of(model)
        if self._actors and _same_factory(self._factory_used, factory):
            return self._actors
        self.shutdown()
        resources = ray.cluster_resources()
        gpus = self.gpus_per_worker if self.gpus_per_worker is not None else (1.0 if resources.get("GPU") else 0.0)
        if self.workers:
            n = self.workers
        elif gpus:
            n = max(1, int(resources["GPU"] // gpus))
        else:
            n = max(1, int(resources.get("CPU", 1) // self.cpus_per_worker))
        remote = ray.remote(num_cpus=self.cpus_per_worker, num_gpus=gpus,
                            max_restarts=self.max_retries, max_task_retries=self.max_retries)(_Worker)
        self._actors = [remote.remote(factory) for _ in range(n)]
        self._factory_used = factory
        return self._actors

    def run(self, model, fn: JobFn, jobs: list) -> Iterator[tuple[Any, Any]]:
        if not jobs:
            return
        from ray.util import ActorPool

        pool = ActorPool(self._pool(model))
        for job in jobs:
            pool.submit(lambda actor, j: actor.run.remote(fn, j), job)
        # Results come back in completion order; each carries its job's key.
        by_key = {job.key: job for job in jobs}
        while pool.has_next():
            key, result = pool.get_next_unordered()
            yield by_key[key], result

    def shutdown(self) -> None:
        """Stop this executor's actors (the cluster itself stays up)."""
        for actor in self._actors:
            self.ray.kill(actor)
        self._actors = []


def _same_factory(a, b) -> bool:
    """Whether two model factories build the same model (equal partials count as the same)."""
    if isinstance(a, functools.partial) and isinstance(b, functools.partial):
        return (a.func, a.args, a.keywords) == (b.func, b.args, b.keywords)
    return a is b


def require_ray():
    """The ``ray`` module, or an error that says how to install it."""
    try:
        import ray
    except ImportError:
        raise ImportError("the ray executor needs Ray: pip install 'lucid-atlas[distributed]' "
                          "(or pip install ray)") from None
    return ray


def make_executor(executor: "str | Executor | None", **options) -> Executor:
    """``'local'``/None → LocalExecutor(**options); ``'ray'`` → RayExecutor(**options); an executor as is."""
    if executor is None or executor == "local":
        return LocalExecutor(**options)
    if executor == "ray":
        return RayExecutor(**options)
    if isinstance(executor, str):
        raise ValueError(f"executor must be 'local' or 'ray', got '{executor}'")
    return executor
