"""Each channel's strongest images in a folder: one activation pass per layer, cached and resumable.

Per image and channel the pass keeps the largest activation and where it is, in shards of
``shard_images`` images written atomically beside a small manifest (the atlas collection's
pattern), so an interrupted pass resumes after its last complete shard and a finished one is
only read back. The top-k of a channel is then a sort of one column.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np
import tensorflow as tf

from ..io import storage
from ..io.images import ImageReadError, SkipCounter, iter_batches, load_image, resolve_paths
from ..patches.photos import crop_around

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TopImage:
    """One of a channel's strongest images: its path, the activation, and where (fractions y, x)."""

    path: str
    value: float
    center: tuple[float, float]


def _key(model_name: str, layer: str, paths: list[str], size: tuple[int, int]) -> str:
    digest = hashlib.sha1(json.dumps([model_name, layer, list(size), paths]).encode()).hexdigest()
    return f"{layer}-{digest[:12]}"


def ranking_layer(model, layer: str) -> str:
    """The layer whose values rank images for ``layer``: its ``_pre_relu`` twin when the model has one.

    After a ReLU6 many images tie at 6.0; before it they are still ordered.
    """
    twin = f"{layer}_pre_relu"
    return twin if twin in model.layer_names else layer


class LayerMaxima:
    """Largest activation of every channel in every image of a folder, for one layer.

    Images are ranked by the layer before its ReLU when the model names that (:func:`ranking_layer`).
    ``compute(progress)`` runs (or resumes) the pass; ``top(channel, k)`` ranks the images.
    """

    def __init__(self, model, layer: str, images: list[str], cache: str, shard_images: int = 128,
                 batch_size: int = 32):
        info = model.layer(layer)
        if info.kind != "conv":
            raise ValueError(f"layer '{layer}' has no spatial map ({info.kind}); top images need a conv layer")
        self.model, self.layer, self.paths = model, layer, list(images)
        self.ranked_by = ranking_layer(model, layer)
        self.size = tuple(model.image_shape[:2])
        self.folder = os.path.join(cache, "topk", model.name, _key(model.name, self.ranked_by, self.paths, self.size))
        self.shard_images, self.batch_size = shard_images, batch_size
        self._lock = threading.Lock()
        self._loaded: dict[str, np.ndarray] | None = None

    @property
    def n_shards(self) -> int:
        return -(-len(self.paths) // self.shard_images)

    def _shard_path(self, index: int) -> str:
        return os.path.join(self.folder, f"maxima-{index:05d}.npz")

    def done_shards(self) -> list[int]:
        """Shards already on disk (a rerun skips them)."""
        return [i for i in range(self.n_shards) if storage.exists(self._shard_path(i))]

    @property
    def complete(self) -> bool:
        return len(self.done_shards()) == self.n_shards

    def compute(self, progress: Progress | None = None) -> "LayerMaxima":
        """Run the pass over the images not yet done; ``progress(done, total)`` after each shard."""
        with self._lock:
            storage.makedirs(self.folder)
            fn = self.model.compiled_activations([self.ranked_by])
            done = set(self.done_shards())
            finished = sum(len(self._shard_range(i)) for i in done)
            if progress:
                progress(finished, len(self.paths))
            for index in range(self.n_shards):
                if index in done:
                    continue
                self._compute_shard(index, fn)
                finished += len(self._shard_range(index))
                if progress:
                    progress(finished, len(self.paths))
            return self

    def _shard_range(self, index: int) -> range:
        first = index * self.shard_images
        return range(first, min(first + self.shard_images, len(self.paths)))

    def _compute_shard(self, index: int, fn) -> None:
        rows = self._shard_range(index)
        paths = [self.paths[i] for i in rows]
        maxima, where, kept = [], [], []
        skips = SkipCounter()
        for batch in iter_batches(paths, self.size, self.batch_size, skips=skips):
            acts = fn(tf.constant(batch.images))[0].numpy()  # [B, h, w, C]
            flat = acts.reshape(len(acts), -1, acts.shape[-1])
            arg = flat.argmax(axis=1)
            maxima.append(np.take_along_axis(flat, arg[:, None], axis=1)[:, 0])
            where.append(arg.astype(np.int32))
            kept += [rows[paths.index(p)] for p in batch.ids]
            map_shape = acts.shape[1:3]
        depth = self.model.layer(self.layer).depth
        storage.atomic_save_npz(self._shard_path(index), {
            "maxima": np.concatenate(maxima).astype(np.float32) if maxima else np.zeros((0, depth), np.float32),
            "where": np.concatenate(where) if where else np.zeros((0, depth), np.int32),
            "image_index": np.asarray(kept, np.int32),
            "map_shape": np.asarray(map_shape if maxima else (0, 0), np.int32),
            "skipped": np.asarray(len(skips), np.int32)})

    def _arrays(self) -> dict[str, np.ndarray]:
        if self._loaded is None:
            if not self.complete:
                raise RuntimeError(f"the top-image pass for '{self.layer}' has not finished; call compute() first")
            shards = [storage.load_npz(self._shard_path(i)) for i in range(self.n_shards)]
            shapes = [tuple(s["map_shape"]) for s in shards if len(s["image_index"])]
            self._loaded = {k: np.concatenate([s[k] for s in shards]) for k in ("maxima", "where", "image_index")}
            self._loaded["map_shape"] = np.asarray(shapes[0] if shapes else (1, 1))
            self._loaded["skipped"] = np.asarray(sum(int(s["skipped"]) for s in shards))
        return self._loaded

    @property
    def skipped(self) -> int:
        """Unreadable images the pass skipped."""
        return int(self._arrays()["skipped"])

    def top(self, channel: int, k: int = 9) -> list[TopImage]:
        """The ``k`` images where ``channel`` fires most, strongest first."""
        self.model.check_channel(self.layer, channel)
        arrays = self._arrays()
        column = arrays["maxima"][:, channel]
        order = np.argsort(-column, kind="stable")[:k]
        mh, mw = (int(v) for v in arrays["map_shape"])
        result = []
        for row in order:
            y, x = divmod(int(arrays["where"][row, channel]), mw)
            result.append(TopImage(self.paths[int(arrays["image_index"][row])], float(column[row]),
                                   ((y + 0.5) / mh, (x + 0.5) / mw)))
        return result


def top_crops(maxima: LayerMaxima, channel: int, side: float, k: int = 9, scale: int = 2) -> list[tuple[TopImage, np.ndarray]]:
    """The channel's top-``k`` images cropped to ``side`` (fraction of the image side) around their peak.

    Images are loaded as the pass saw them (short side resized, centre crop) at ``scale`` × the
    model's size, so the crop shows the region that fired; unreadable ones are left out.
    """
    h, w = maxima.size
    out = []
    for item in maxima.top(channel, k):
        try:
            image = load_image(item.path, (h * scale, w * scale))
        except ImageReadError:
            continue
        out.append((item, crop_around(image, item.center, side)[0]))
    return out


def image_list(source) -> list[str]:
    """The image paths of a folder (or the embedded defaults), for the thumbnails and top images."""
    return resolve_paths(source)
