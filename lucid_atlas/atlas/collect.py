"""Stage 1 of an activation atlas: collect activation vectors from many images, resumably.

For each image: K random spatial positions of the layer (seeded per image, away from the
border), or every position, or the spatial mean, or each channel's spatial maximum (with where
it is, per channel: the toolbox's top images); each row records the image, the position and
the model's top-5 predictions for that image. Rows stream to numbered shards (``.npy`` arrays
plus a small ``.npz`` of row metadata) and a ``manifest.json``, all through ``tf.io.gfile`` and
written atomically, so a run interrupted at any point resumes after its last complete shard
and memory stays bounded by one shard.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from ..io import storage
from ..io.images import (ImageSource, SkipCounter, is_tfds, iter_batches, iter_tfds_batches, resolve_paths,
                         tfds_ids)
from ..models.base import ModelError
from .executors import make_executor
from .rows import ShardedRows

MODES = ("random", "all", "mean", "max")
DTYPES = ("float32", "float16")  # float16 halves disk and memory; rows are read back as float32
MANIFEST = "manifest.json"
IMAGE_IDS = "image_ids.json"


@dataclass
class Activations:
    """Collected rows and, per row, image index, (y, x) and the image's top-5 classes.

    ``rows`` reads the vectors shard by shard (bounded memory at any size); ``vectors`` is all of
    them as one float32 array [N, C], loaded on first use (for collections that fit in memory).
    """

    rows: ShardedRows
    image_index: np.ndarray
    positions: np.ndarray
    top_classes: np.ndarray
    top_probs: np.ndarray
    image_ids: list[str]
    manifest: dict
    argmax: np.ndarray | None = None  # mode 'max': [N, C] flat (y * w + x) position of each channel's max
    _vectors: np.ndarray | None = field(default=None, init=False, repr=False)

    @property
    def vectors(self) -> np.ndarray:
        if self._vectors is None:
            self._vectors = self.rows.to_array()
        return self._vectors

    def __len__(self) -> int:
        return len(self.rows)


def _positions(h: int, w: int, k: int, mode: str, rng: np.random.Generator) -> np.ndarray:
    """(y, x) rows to take from an h×w map; y = x = -1 stands for the spatial mean (or max)."""
    if mode in ("mean", "max"):
        return np.array([[-1, -1]])
    if mode == "all":
        ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        return np.stack([ys.ravel(), xs.ravel()], 1)
    border = 1 if min(h, w) > 2 else 0
    cells = [(y, x) for y in range(border, h - border) for x in range(border, w - border)]
    picks = rng.choice(len(cells), size=min(k, len(cells)), replace=False)
    return np.array([cells[i] for i in sorted(picks)])


def read_manifest(out_dir: str) -> dict:
    """A collection's manifest, with its image ids (kept in their own file, written once)."""
    manifest = storage.read_json(os.path.join(out_dir, MANIFEST))
    if "image_ids" not in manifest:
        manifest["image_ids"] = storage.read_json(os.path.join(out_dir, IMAGE_IDS))
    return manifest


def _write_manifest(path: str, manifest: dict) -> None:
    """Save the manifest without the image ids: rewritten after every shard, it stays small at any size."""
    storage.write_json(path, {k: v for k, v in manifest.items() if k != "image_ids"})


def _open_manifest(out_dir: str, settings: dict, image_ids: list[str]) -> tuple[str, dict]:
    """(path, manifest) of a collection folder: the saved one if its settings match, else a new one."""
    path = os.path.join(out_dir, MANIFEST)
    manifest = read_manifest(out_dir) if storage.exists(path) else None
    if manifest is not None and manifest["settings"] != settings:
        raise ValueError(f"{out_dir} holds a collection with other settings {manifest['settings']}; "
                         "use another --out folder or delete it")
    ids_path = os.path.join(out_dir, IMAGE_IDS)
    if not storage.exists(ids_path):  # a new collection, or one from before the ids had their own file
        storage.write_json(ids_path, manifest["image_ids"] if manifest else image_ids)
    return path, manifest or {"settings": settings, "image_ids": image_ids, "shards": [], "skipped": []}


def _record_shard(manifest: dict, path: str, record: dict) -> None:
    """Add a finished shard to the manifest and save it, so a rerun skips that shard."""
    manifest["skipped"] += record.pop("skipped", [])
    manifest["shards"].append(record)
    manifest["shards"].sort(key=lambda s: s["index"])
    _write_manifest(path, manifest)


def _shard_names(index: int) -> tuple[str, str]:
    return f"acts-{index:05d}.npy", f"meta-{index:05d}.npz"


@dataclass(frozen=True)
class ShardJob:
    """One shard of a collection: everything a worker needs, picklable (paths, an array slice or a
    (tfds source, start, ids) tuple as ``items``)."""

    index: int
    first: int
    items: object
    layer: str
    mode: str
    positions: int
    seed: int
    batch_size: int
    out_dir: str
    dtype: str = "float32"

    @property
    def key(self) -> int:
        return self.index


def run_shard(model, job: ShardJob) -> dict:
    """Compute one shard and write its two files atomically; returns its manifest record."""
    fn = model.compiled_activations([job.layer, model.logits_layer])
    skips = SkipCounter()
    vectors, meta = _collect_shard(model, job, fn, skips)
    acts_name, meta_name = _shard_names(job.index)
    storage.atomic_save_npy(os.path.join(job.out_dir, acts_name), vectors.astype(job.dtype))
    storage.atomic_save_npz(os.path.join(job.out_dir, meta_name), meta)
    n_images = len(job.items[2]) if isinstance(job.items, tuple) else len(job.items)
    return {"index": job.index, "acts": acts_name, "meta": meta_name, "rows": len(vectors), "images": n_images,
            "skipped": [{"image": item, "reason": reason} for item, reason in skips.skipped]}


def _collect_shard(model, job: ShardJob, fn, skips: SkipCounter) -> tuple[np.ndarray, dict]:
    """Rows for one shard; ``job.items``: paths, an array slice in [0, 1], or (tfds source, start, ids)."""
    items, first_index, mode, batch_size = job.items, job.first, job.mode, job.batch_size
    h, w, _ = model.image_shape
    vectors, meta = [], {"image_index": [], "positions": [], "top_classes": [], "top_probs": []}
    if mode == "max":
        meta["argmax"] = []
    ids = [f"array[{first_index + i}]" for i in range(len(items))] if isinstance(items, np.ndarray) else items
    offset = 0
    if isinstance(items, tuple):  # (tfds source, start, shard ids)
        source, start, ids = items
        batches = iter_tfds_batches(source, (h, w), batch_size, start=start, stop=start + len(ids))
    else:
        batches = iter_batches(items, (h, w), batch_size, skips=skips)
    for batch in batches:
        acts, logits = fn(tf.constant(batch.images))
        acts, probs = acts.numpy(), tf.nn.softmax(logits).numpy()
        batch_ids = ids[offset:offset + len(batch.ids)] if isinstance(items, np.ndarray) else batch.ids
        for image_id, a, p in zip(batch_ids, acts, probs):
            position_in_shard = ids.index(image_id, offset)
            image_index = first_index + position_in_shard
            offset = position_in_shard + 1
            rng = np.random.default_rng([job.seed, image_index])
            if a.ndim == 1:  # dense layer: one vector per image (mode 'mean' only, checked above)
                a = a[None, None]
            pos = _positions(a.shape[0], a.shape[1], job.positions, mode, rng)
            if mode == "max":
                flat = a.reshape(-1, a.shape[-1])
                where = flat.argmax(axis=0)
                rows = flat[where, np.arange(flat.shape[1])][None]
                meta["argmax"].append(where[None].astype(np.int32))
            else:
                rows = a.mean(axis=(0, 1))[None] if mode == "mean" else a[pos[:, 0], pos[:, 1]]
            top = np.argsort(-p)[:5]
            vectors.append(rows.astype(np.float32))
            meta["image_index"].append(np.full(len(rows), image_index, np.int32))
            meta["positions"].append(pos.astype(np.int16))
            meta["top_classes"].append(np.tile(top.astype(np.int16), (len(rows), 1)))
            meta["top_probs"].append(np.tile(p[top].astype(np.float16), (len(rows), 1)))
    depth = model.layer(job.layer).depth
    if not vectors:
        return np.zeros((0, depth), np.float32), {
            "image_index": np.zeros(0, np.int32), "positions": np.zeros((0, 2), np.int16),
            "top_classes": np.zeros((0, 5), np.int16), "top_probs": np.zeros((0, 5), np.float16),
            **({"argmax": np.zeros((0, depth), np.int32)} if mode == "max" else {})}
    return np.concatenate(vectors), {k: np.concatenate(v) for k, v in meta.items()}


def collect(model, layer: str, source: ImageSource, out_dir: str, *, positions: int = 4, mode: str = "random",
            seed: int = 0, shard_images: int = 256, batch_size: int = 32, progress: bool = True,
            max_shards: int | None = None, executor=None, dtype: str = "float32",
            callback: Callable[[int, int], None] | None = None) -> dict:
    """Collect activations of ``layer`` over ``source`` into ``out_dir``; returns the manifest.

    Rerunning with the same arguments resumes: complete shards are kept, the rest is computed.
    ``max_shards`` stops after that many new shards (for bounded runs and tests). ``executor``:
    None/'local', 'ray', or an executor object (shards then run on a pool of workers).
    ``dtype`` 'float16' stores the rows at half the size. ``callback(images done, images in all)``
    is called at the start and after each shard (progress for pages and other non-terminal UIs).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got '{mode}'")
    _check_dtype(dtype)
    info = model.layer(layer)
    if info.kind != "conv" and mode != "mean":
        raise ValueError(f"layer '{layer}' has no spatial dimensions ({info.kind}, {info.depth} values per "
                         "image); collect it with mode='mean' (--mode mean), one vector per image")
    if positions < 1:
        raise ValueError(f"positions must be at least 1, got {positions}")
    if model.logits_layer is None:
        raise ValueError(f"model '{model.name}' has no logits layer; collection records top classes")
    if isinstance(source, np.ndarray):
        h, w, _ = model.image_shape
        if source.ndim != 4 or source.shape[1:3] != (h, w):
            raise ValueError(f"image arrays must be (N, {h}, {w}, 3) in [0, 1] for {model.name}, "
                             f"got {source.shape}")
        paths = [f"array[{i}]" for i in range(len(source))]
    elif is_tfds(source):
        paths = tfds_ids(source)
    else:
        paths = resolve_paths(source)
    if not paths:
        raise FileNotFoundError(f"no images found in {source!r}")
    settings = {"model": model.name, "layer": layer, "depth": info.depth, "mode": mode,
                "positions": positions, "seed": seed, "shard_images": shard_images, "n_images": len(paths),
                **({} if dtype == "float32" else {"dtype": dtype})}
    manifest_path, manifest = _open_manifest(out_dir, settings, paths)
    done = {s["index"] for s in manifest["shards"]}
    n_shards = -(-len(paths) // shard_images)
    jobs = []
    for index in range(n_shards):
        if index in done:
            continue
        if max_shards is not None and len(jobs) >= max_shards:
            break
        first = index * shard_images
        shard_paths = paths[first:first + shard_images]
        if isinstance(source, np.ndarray):
            items = source[first:first + shard_images]
        elif is_tfds(source):
            items = (source, first, shard_paths)
        else:
            items = shard_paths
        jobs.append(ShardJob(index, first, items, layer, mode, positions, seed, batch_size, out_dir, dtype))
    done_images = sum(s["images"] for s in manifest["shards"])
    bar = tqdm(total=len(paths), initial=done_images, unit="img", desc=f"collect {layer}", disable=not progress)
    if callback:
        callback(done_images, len(paths))
    for _job, record in make_executor(executor).run(model, run_shard, jobs):
        _record_shard(manifest, manifest_path, record)
        bar.update(record["images"])
        done_images += record["images"]
        if callback:
            callback(done_images, len(paths))
        bar.set_postfix(rows=sum(s["rows"] for s in manifest["shards"]), skipped=len(manifest["skipped"]))
    bar.close()
    manifest["complete"] = len(manifest["shards"]) == n_shards
    _write_manifest(manifest_path, manifest)
    return manifest


def load_activations(out_dir: str) -> Activations:
    """A collection folder (local or ``gs://``): its row metadata now, its vectors when read."""
    manifest = read_manifest(out_dir)
    meta = []
    for shard in manifest["shards"]:
        meta.append(storage.load_npz(os.path.join(out_dir, shard["meta"])))

    def cat(key, shape, dtype):
        return np.concatenate([m[key] for m in meta]) if meta else np.zeros(shape, dtype)
    return Activations(
        rows=ShardedRows.from_manifest(out_dir, manifest),
        image_index=cat("image_index", (0,), np.int32), positions=cat("positions", (0, 2), np.int16),
        top_classes=cat("top_classes", (0, 5), np.int16), top_probs=cat("top_probs", (0, 5), np.float16),
        image_ids=manifest["image_ids"], manifest=manifest,
        argmax=cat("argmax", (0, 0), np.int32) if meta and "argmax" in meta[0] else None)


def _check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got '{dtype}'")


def spatial_shape(model, layer: str) -> tuple:
    """The layer's (h, w) at the model's input size; () for a dense layer."""
    h, w, _ = model.image_shape
    probe = model.compiled_activations([layer])(tf.zeros((1, h, w, 3)))[0]
    return tuple(probe.shape[1:3]) if probe.shape.rank == 4 else ()


def _classify_vectors(model, layer: str, vectors: np.ndarray, shape: tuple,
                      batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Top-5 classes and probabilities of each vector, tiled over the layer's ``shape`` map and fed in
    its place (graph models); (-1, 0) rows when the model cannot run from an inner layer."""
    try:
        tops, probs = [], []
        for i in range(0, len(vectors), batch):
            v = vectors[i:i + batch]
            maps = np.broadcast_to(v[:, None, None, :], (len(v), *shape, v.shape[1])) if shape else v
            p = tf.nn.softmax(model.logits_from_layer(layer, np.ascontiguousarray(maps))).numpy()
            top = np.argsort(-p, axis=1)[:, :5]
            tops.append(top.astype(np.int16))
            probs.append(np.take_along_axis(p, top, 1).astype(np.float16))
        return np.concatenate(tops), np.concatenate(probs)
    except ModelError:
        return np.full((len(vectors), 5), -1, np.int16), np.zeros((len(vectors), 5), np.float16)


def import_vectors(model, layer: str, vectors: np.ndarray | Iterable[np.ndarray], out_dir: str,
                   *, shard_rows: int = 10000, source: str = "imported", n_rows: int | None = None,
                   dtype: str = "float32", progress: bool = False) -> dict:
    """Store given activation vectors [N, C] of ``layer`` (e.g. Lucid's published aligned activations) as a
    collection, so the rest of the pipeline runs on them; rows have no image or position (-1), and their
    classes come from the model's head fed with each vector when the model allows it. Resumable.

    ``vectors`` may also be an iterable of [rows, C] chunks (``n_rows`` in all), so collections larger
    than memory can be written; ``dtype`` 'float16' stores them at half the size."""
    _check_dtype(dtype)
    info = model.layer(layer)
    if isinstance(vectors, np.ndarray) or n_rows is None:
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != info.depth:
            raise ValueError(f"vectors must be [N, {info.depth}] for layer '{layer}' of {model.name}, "
                             f"got {vectors.shape}")
        n_rows = len(vectors)
        chunks: Iterable[np.ndarray] = (vectors[i:i + shard_rows] for i in range(0, n_rows, shard_rows))
    else:
        chunks = _rechunk(vectors, shard_rows, info.depth)
    settings = {"model": model.name, "layer": layer, "depth": info.depth, "mode": "imported", "source": source,
                "n_images": n_rows, "shard_images": shard_rows, **({} if dtype == "float32" else {"dtype": dtype})}
    manifest_path, manifest = _open_manifest(out_dir, settings, [f"vector[{i}]" for i in range(n_rows)])
    done = {s["index"] for s in manifest["shards"]}
    n_shards = -(-n_rows // shard_rows)
    if len(done) == n_shards:  # finished before: nothing to read again
        return manifest
    spatial = None
    for index, rows in enumerate(tqdm(chunks, total=n_shards, desc="import rows", disable=not progress)):
        if index in done:
            continue
        if spatial is None:
            spatial = spatial_shape(model, layer)
        top, probs = _classify_vectors(model, layer, rows, spatial)
        acts_name, meta_name = _shard_names(index)
        storage.atomic_save_npy(os.path.join(out_dir, acts_name), rows.astype(dtype))
        storage.atomic_save_npz(os.path.join(out_dir, meta_name), {
            "image_index": np.arange(index * shard_rows, index * shard_rows + len(rows), dtype=np.int32),
            "positions": np.full((len(rows), 2), -1, np.int16), "top_classes": top, "top_probs": probs})
        _record_shard(manifest, manifest_path, {"index": index, "acts": acts_name, "meta": meta_name,
                                                "rows": len(rows), "images": len(rows)})
    manifest["complete"] = len(manifest["shards"]) == n_shards
    _write_manifest(manifest_path, manifest)
    return manifest


def _rechunk(chunks: Iterable[np.ndarray], size: int, depth: int) -> Iterable[np.ndarray]:
    """The rows of ``chunks`` regrouped into float32 blocks of ``size`` rows (the last may be shorter)."""
    pending: list[np.ndarray] = []
    held = 0
    for chunk in chunks:
        chunk = np.asarray(chunk, np.float32)
        if chunk.ndim != 2 or chunk.shape[1] != depth:
            raise ValueError(f"vector chunks must be [rows, {depth}], got {chunk.shape}")
        pending.append(chunk)
        held += len(chunk)
        while held >= size:
            block = np.concatenate(pending)
            yield block[:size]
            pending, held = [block[size:]], held - size
    if held:
        yield np.concatenate(pending)
