"""Stage 2: whitening and a 2-D layout (UMAP or t-SNE) of activation vectors, normalized to [0, 1]."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from tqdm.auto import tqdm

from ..io import storage
from . import place_worker
from . import rows as rows_lib
from .rows import Rows

METHODS = ("umap", "tsne")


WHITENING_EPSILON = 1e-3  # Lucid's regularization of the covariance, relative to its mean eigenvalue


def with_ridge(whitening: np.ndarray, ridge: float, epsilon: float = WHITENING_EPSILON) -> np.ndarray:
    """The whitening matrix a ``ridge`` (relative to the covariance's mean eigenvalue) gives, from one
    :func:`whitening_matrix` made with ``epsilon``. A larger ridge whitens less: cell directions
    estimated from few rows stop being dominated by the covariance's noisiest directions."""
    if ridge == epsilon:
        return whitening
    regularized = np.linalg.inv(np.asarray(whitening, np.float64))  # cov + epsilon·m·I
    mean_eig = np.trace(regularized) / len(regularized) / (1.0 + epsilon)
    regularized += (ridge - epsilon) * mean_eig * np.eye(len(regularized))
    return np.linalg.inv(regularized).astype(np.float32)


def whitening_matrix(vectors: Rows, epsilon: float = WHITENING_EPSILON, progress: bool = False) -> np.ndarray:
    """Lucid's S: the inverse of the (uncentered) activation covariance, regularized by ``epsilon``.

    ``vectors`` is an array or a :class:`~lucid_atlas.atlas.rows.ShardedRows`, summed batch by batch."""
    depth = vectors.shape[1]
    gram, n = np.zeros((depth, depth), np.float64), 0
    for _, batch in rows_lib.batches(vectors, progress, "whitening"):
        b = batch.astype(np.float64)
        gram += b.T @ b
        n += len(b)
    cov = gram / max(1, n)
    cov += epsilon * np.trace(cov) / len(cov) * np.eye(len(cov))
    return np.linalg.inv(cov).astype(np.float32)


def normalize_layout(xy: np.ndarray, clip_percentile: float = 1.0, margin: float = 0.02) -> np.ndarray:
    """Scale a layout into [margin, 1 - margin]², clipping outliers to the 1st–99th percentiles."""
    xy = np.asarray(xy, np.float64)
    lo = np.percentile(xy, clip_percentile, axis=0)
    hi = np.percentile(xy, 100 - clip_percentile, axis=0)
    unit = (np.clip(xy, lo, hi) - lo) / np.maximum(hi - lo, 1e-12)
    return (margin + unit * (1 - 2 * margin)).astype(np.float32)


def layout(vectors: Rows, method: str = "umap", *, n_neighbors: int = 50, min_dist: float = 0.05,
           metric: str = "cosine", perplexity: float = 30.0, fit_sample: int | None = 20000,
           seed: int = 0, normalize: bool = True, progress: bool = False, parts_dir: str | None = None,
           workers: int = 1) -> np.ndarray:
    """2-D coordinates for each vector ([N, 2], in [0, 1] when ``normalize``).

    UMAP (the article's choice: 50 neighbors, min_dist 0.05, cosine) is fitted on at most
    ``fit_sample`` rows and places the rest with ``transform`` in fixed blocks of rows (the same
    result however they are run), saved under ``parts_dir`` when given so a killed run resumes,
    and, with ``workers`` > 1, run by that many light processes after a light process of its own
    fitted UMAP (this process then never holds UMAP's working memory). t-SNE (scikit-learn) embeds
    all rows, so keep N moderate with it. ``vectors``: an array or a :class:`~lucid_atlas.atlas.rows.ShardedRows`.
    """
    if method not in METHODS:
        raise ValueError(f"layout method must be one of {', '.join(METHODS)}, got '{method}'")
    n = len(vectors)
    if n < 5:
        raise ValueError(f"need at least 5 vectors for a layout, got {n}")
    if method == "umap":
        xy = _umap_layout(vectors, n_neighbors, min_dist, metric, fit_sample, seed, progress, parts_dir, workers)
    else:
        from sklearn.manifold import TSNE

        xy = TSNE(n_components=2, perplexity=min(perplexity, (n - 1) / 3), metric=metric,
                  init="pca", random_state=seed).fit_transform(rows_lib.take(vectors, np.arange(n)))
    return normalize_layout(xy) if normalize else xy.astype(np.float32)


TRANSFORM_BLOCK = 50000  # rows placed per UMAP transform call (fixed, so results do not depend on workers)


def _umap_layout(vectors: Rows, n_neighbors: int, min_dist: float, metric: str, fit_sample: int | None,
                 seed: int, progress: bool, parts_dir: str | None, workers: int) -> np.ndarray:
    n = len(vectors)
    rng = np.random.default_rng(seed)
    fit_idx = np.sort(rng.choice(n, fit_sample, replace=False)) if fit_sample and n > fit_sample else np.arange(n)
    # plain Python values: a fit in a light process reads them as JSON
    options = dict(n_components=2, n_neighbors=int(min(n_neighbors, len(fit_idx) - 1)), min_dist=float(min_dist),
                   metric=str(metric), random_state=int(seed))
    rest = np.setdiff1d(np.arange(n), fit_idx)
    blocks = [rest[i:i + TRANSFORM_BLOCK] for i in range(0, len(rest), TRANSFORM_BLOCK)]
    todo = []  # (block, its saved file or None) for each block not placed in an earlier run
    xy = np.zeros((n, 2), np.float32)
    for k, block in enumerate(blocks):
        part = os.path.join(parts_dir, f"part-{k:05d}.npy") if parts_dir else None
        if part and storage.exists(part):
            xy[block] = storage.load_npy(part)
        else:
            todo.append((block, part))
    if workers > 1 and len(todo) > 1:
        # the fit and the placing in light processes: this one (often with TensorFlow and a model
        # loaded) never holds UMAP's working memory or a copy of the fitted model
        placer, xy[fit_idx] = _Placer.fitted(vectors, fit_idx, options, min(workers, len(todo)))
        placements = placer.blocks(vectors, [b for b, _ in todo])
    else:
        reducer, xy[fit_idx] = place_worker.fit(rows_lib.take(vectors, fit_idx), options)
        placements = (_transform_block(reducer, vectors, b) for b, _ in todo)
    bar = tqdm(total=len(rest), initial=len(rest) - sum(len(b) for b, _ in todo), unit="row", unit_scale=True,
               desc="layout: place rows", disable=not progress or not blocks)
    for (block, part), placed in zip(todo, placements):
        xy[block] = placed
        if part:
            storage.atomic_save_npy(part, placed)
        bar.update(len(block))
    bar.close()
    return xy


def _transform_block(reducer, vectors: Rows, block: np.ndarray) -> np.ndarray:
    return place_worker.place(reducer, rows_lib.take(vectors, block))


class _Placer:
    """``workers`` light processes (:mod:`place_worker`) that place blocks of rows with the UMAP a
    light process fitted; rows, the fitted model and coordinates pass through files in a private
    temporary folder, and rows are written a chunk at a time (this process never holds a block)."""

    def __init__(self, folder: str, workers: int):
        self.folder = folder
        self.idle: queue.Queue = queue.Queue()
        self.processes = [subprocess.Popen(_worker_command(folder), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           text=True, env=_worker_env()) for _ in range(workers)]
        for process in self.processes:
            self.idle.put(process)

    @classmethod
    def fitted(cls, vectors: Rows, fit_idx: np.ndarray, options: dict, workers: int) -> tuple["_Placer", np.ndarray]:
        """(placers for a UMAP with ``options`` fitted in a light process on the rows at ``fit_idx``,
        those rows' coordinates)."""
        folder = tempfile.mkdtemp(prefix="lucid_atlas_place_")
        try:
            rows_lib.save(vectors, fit_idx, os.path.join(folder, place_worker.FIT_ROWS))
            with open(os.path.join(folder, place_worker.FIT_OPTIONS), "w") as f:
                json.dump(options, f)
            done = subprocess.run(_worker_command(folder) + ["--fit"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, env=_worker_env())
            if done.returncode:
                last = (done.stderr.strip().splitlines() or ["it exited"])[-1]
                raise RuntimeError(f"fitting UMAP failed in a worker: {last}")
            xy = np.load(os.path.join(folder, place_worker.FIT_XY))
            os.remove(os.path.join(folder, place_worker.FIT_ROWS))
            return cls(folder, workers), xy
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def place(self, k: int, vectors: Rows, block: np.ndarray) -> np.ndarray:
        """The coordinates of the rows at ``block``, placed by the next idle worker as block ``k``
        (call from several threads)."""
        source, target = (os.path.join(self.folder, f"{name}-{k}.npy") for name in ("rows", "xy"))
        rows_lib.save(vectors, block, source)
        process = self.idle.get()
        try:
            process.stdin.write(f"{source} {target}\n")
            process.stdin.flush()
            reply = process.stdout.readline().strip()
            if reply != "done":
                raise RuntimeError(f"placing rows with UMAP failed in a worker: {reply or 'it exited'}")
            return np.load(target)
        finally:
            for path in (source, target):
                if os.path.exists(path):
                    os.remove(path)
            self.idle.put(process)

    def blocks(self, vectors: Rows, blocks: list):
        """The coordinates of each block of row indices, in order; the workers are closed at the end."""
        from concurrent.futures import ThreadPoolExecutor

        try:
            # a thread a block writes its rows for a worker and waits for an idle one and its reply;
            # one thread more than workers has the next block's rows ready on disk
            with ThreadPoolExecutor(len(self.processes) + 1) as threads:
                pending = []
                for k, block in enumerate(blocks):
                    pending.append(threads.submit(self.place, k, vectors, block))
                    if len(pending) > len(self.processes):
                        yield pending.pop(0).result()
                for future in pending:
                    yield future.result()
        finally:
            self.close()

    def close(self) -> None:
        for process in self.processes:
            if process.stdin and not process.stdin.closed:
                process.stdin.close()
        for process in self.processes:
            process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _worker_command(folder: str) -> list[str]:
    return [sys.executable, "-m", "lucid_atlas.atlas.place_worker", folder]


def _worker_env() -> dict:
    """This environment, with this very package first on the path (installed or not)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}


def embed_1d(vectors: np.ndarray, metric: str = "cosine", perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """A 1-D t-SNE of the vectors, normalized to [0, 1] (the comparison atlas's vertical axis)."""
    from sklearn.manifold import TSNE

    x = np.asarray(vectors, np.float32)
    if len(x) < 5:
        raise ValueError(f"need at least 5 vectors for a layout, got {len(x)}")
    y = TSNE(n_components=1, perplexity=min(perplexity, (len(x) - 1) / 3), metric=metric, init="pca",
             random_state=seed).fit_transform(x)
    return normalize_layout(y)[:, 0]
