"""Activation rows on disk, read one shard at a time: atlases of a million rows in bounded memory.

A collection is a list of shards (``.npy`` files of [rows, depth], float32 or float16). A
:class:`ShardedRows` reads them in order (:meth:`~ShardedRows.batches`), picks given rows
(:meth:`~ShardedRows.take`) or, for small collections, loads them all (:meth:`~ShardedRows.to_array`);
rows always come out as float32. :func:`batches` treats an in-memory array the same way, so the
atlas stages take either.
"""

from __future__ import annotations

import os
from typing import Iterator, Sequence, Union

import numpy as np
from tqdm.auto import tqdm

from ..io import storage

ARRAY_BATCH = 65536  # rows per batch when an in-memory array is read as batches


class ShardedRows:
    """The rows [N, depth] of a collection's shards, never all in memory unless asked."""

    def __init__(self, paths: Sequence[str], counts: Sequence[int], depth: int):
        self.paths = list(paths)
        self.offsets = np.concatenate([[0], np.cumsum(np.asarray(counts, np.int64))])
        self.depth = int(depth)

    @classmethod
    def from_manifest(cls, out_dir: str, manifest: dict) -> "ShardedRows":
        shards = manifest["shards"]
        return cls([os.path.join(out_dir, s["acts"]) for s in shards], [s["rows"] for s in shards],
                   manifest["settings"]["depth"])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @property
    def shape(self) -> tuple[int, int]:
        return len(self), self.depth

    def shard(self, k: int) -> np.ndarray:
        """Shard ``k``'s rows as float32."""
        return storage.load_npy(self.paths[k]).astype(np.float32, copy=False)

    def batches(self, progress: bool = False, desc: str = "rows") -> Iterator[tuple[int, np.ndarray]]:
        """(first row index, rows float32) for each shard in order."""
        with tqdm(total=len(self), unit="row", unit_scale=True, desc=desc, disable=not progress) as bar:
            for k in range(len(self.paths)):
                rows = self.shard(k)
                yield int(self.offsets[k]), rows
                bar.update(len(rows))

    def take(self, indices) -> np.ndarray:
        """The rows at ``indices`` (any order, repeats allowed), float32, reading only their shards."""
        indices = np.asarray(indices, np.int64)
        out = np.empty((len(indices), self.depth), np.float32)
        shard_of = np.searchsorted(self.offsets, indices, side="right") - 1
        for k in np.unique(shard_of):
            where = np.flatnonzero(shard_of == k)
            out[where] = self.shard(int(k))[indices[where] - self.offsets[k]]
        return out

    def to_array(self) -> np.ndarray:
        """Every row in one float32 array (for collections that fit in memory)."""
        if not self.paths:
            return np.zeros((0, self.depth), np.float32)
        return np.concatenate([self.shard(k) for k in range(len(self.paths))])


Rows = Union[np.ndarray, ShardedRows]


def batches(rows: Rows, progress: bool = False, desc: str = "rows") -> Iterator[tuple[int, np.ndarray]]:
    """(first row index, float32 rows) batches of an array or a :class:`ShardedRows`."""
    if isinstance(rows, ShardedRows):
        yield from rows.batches(progress, desc)
        return
    for start in range(0, len(rows), ARRAY_BATCH):
        yield start, np.asarray(rows[start:start + ARRAY_BATCH], np.float32)


def take(rows: Rows, indices) -> np.ndarray:
    """The rows at ``indices`` of an array or a :class:`ShardedRows`, float32."""
    return rows.take(indices) if isinstance(rows, ShardedRows) else np.asarray(rows[indices], np.float32)


SAVE_CHUNK = 16384  # rows gathered at a time when rows are written to a file


def save(rows: Rows, indices, path: str) -> None:
    """Write the rows at ``indices`` (float32 [len(indices), depth]) to a local ``.npy`` file,
    gathered a shard or a chunk at a time: a block of a sharded collection is never whole in memory.
    Sorted indices (a layout's blocks) read each shard they touch once."""
    indices = np.asarray(indices, np.int64)
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
              "shape": (len(indices), rows.shape[1])}
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        for part in _saved_parts(rows, indices):
            f.write(np.ascontiguousarray(part).data)


def _saved_parts(rows: Rows, indices: np.ndarray) -> Iterator[np.ndarray]:
    """The rows at ``indices`` in order, as consecutive float32 parts: one per shard touched when
    the indices of a sharded collection are sorted, else chunks of ``SAVE_CHUNK`` rows."""
    if isinstance(rows, ShardedRows) and np.all(indices[1:] >= indices[:-1]):
        shard_of = np.searchsorted(rows.offsets, indices, side="right") - 1
        cuts = np.flatnonzero(np.diff(shard_of)) + 1
        for run in np.split(np.arange(len(indices)), cuts):
            if len(run):
                k = int(shard_of[run[0]])
                yield rows.shard(k)[indices[run] - rows.offsets[k]]
        return
    for start in range(0, len(indices), SAVE_CHUNK):
        yield take(rows, indices[start:start + SAVE_CHUNK])


def count_nonfinite(rows: Rows) -> int:
    """How many rows hold a NaN or an infinity."""
    return sum(int((~np.isfinite(b)).any(axis=1).sum()) for _, b in batches(rows))
