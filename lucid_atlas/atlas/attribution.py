"""Attribution of collected activation vectors to class logits: a = h · ∇ₕ logit_c.

The gradient at a row's spatial position depends on the whole image, so attributions are
computed afterwards from a collection's stored rows (image id + position) by running the images
again, one backward pass per class, batched. Results are stored per shard next to the
activations (``attr-<key>-<shard>.npy``), written atomically, so the stage resumes and a
second class atlas over the same classes costs nothing.
"""

from __future__ import annotations

import hashlib
import os
from typing import Sequence

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from ..io import storage
from ..io.images import ImageSource, is_tfds, iter_batches, iter_tfds_batches
from ..models.base import ModelError
from .collect import read_manifest


def attribution_maps(model, layer: str, classes: Sequence[int]):
    """A compiled ``images [B,H,W,3] in [0,1] -> [B, h, w, K]`` map of h·∇ₕ logit_c per class.

    For a dense layer the map is [B, 1, 1, K]. Raises a clear error when the model cannot
    differentiate its logits with respect to the layer (e.g. a frozen graph wrapped as one op).
    """
    if model.logits_layer is None:
        raise ModelError(f"model '{model.name}' has no logits layer to attribute to")
    model.layer(layer)
    classes = [int(c) for c in classes]
    for c in classes:
        model.class_index(c)

    @tf.function(reduce_retracing=True)
    def maps(x):
        # Symbolic gradients: they also reach through ops imported from a frozen graph.
        out = model.activations(x, [layer, model.logits_layer])
        h, logits = out[layer], out[model.logits_layer]
        per_class = []
        for c in classes:
            grad = tf.gradients(tf.reduce_sum(logits[:, c]), h)[0]
            if grad is None:
                raise ModelError(f"model '{model.name}' gives no gradient from its logits to layer "
                                 f"'{layer}'; attribution needs a differentiable path between them")
            per_class.append(tf.reduce_sum(h * grad, axis=-1))
        a = tf.stack(per_class, axis=-1)
        return a[:, None, None, :] if a.shape.rank == 2 else a

    return maps


def rows_attribution(maps: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Per-row attributions [R, K] from one image's map [h, w, K] and row positions (y, x).

    A row at (-1, -1) (the spatial mean) gets the whole map's sum: the attribution of the layer.
    """
    out = np.empty((len(positions), maps.shape[-1]), np.float32)
    for i, (y, x) in enumerate(positions):
        out[i] = maps.sum(axis=(0, 1)) if y < 0 else maps[y, x]
    return out


def classes_key(layer: str, classes: Sequence[int]) -> str:
    """A short stable file key for a (layer, class list) pair."""
    text = layer + ":" + ",".join(str(int(c)) for c in classes)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def _images_of(source: ImageSource, ids: list[str], indices: list[int], size, batch_size: int):
    """Batches (images, image indices) of exactly the collected images ``indices``."""
    if isinstance(source, np.ndarray):
        for i in range(0, len(indices), batch_size):
            chunk = indices[i:i + batch_size]
            yield source[chunk].astype(np.float32), chunk
        return
    if is_tfds(source):
        wanted = set(indices)
        lo, hi = min(indices), max(indices) + 1
        for batch in iter_tfds_batches(source, size, batch_size, start=lo, stop=hi):
            keep = [k for k, image_id in enumerate(batch.ids) if int(image_id.rsplit("#", 1)[1]) in wanted]
            yield batch.images[keep], [int(batch.ids[k].rsplit("#", 1)[1]) for k in keep]
        return
    if any(ids[i].startswith("array[") for i in indices[:1]):
        raise ValueError("this collection was made from an image array: pass the same array as source")
    paths = [ids[i] for i in indices]
    by_path = dict(zip(paths, indices))
    for batch in iter_batches(paths, size, batch_size):
        yield batch.images, [by_path[p] for p in batch.ids]


def attribute(model, act_dir: str, classes: Sequence[int], *, source: ImageSource = None, batch_size: int = 16,
              progress: bool = True) -> np.ndarray:
    """Attributions [N, K] of every collected row of ``act_dir`` to each class in ``classes``.

    ``source`` is needed only when the collection came from an array or TFDS (paths are stored).
    """
    manifest = read_manifest(act_dir)
    layer = manifest["settings"]["layer"]
    if manifest["settings"]["model"] != model.name:
        raise ValueError(f"{act_dir} was collected with model '{manifest['settings']['model']}', "
                         f"not '{model.name}'")
    classes = [model.class_index(c) for c in classes]
    key = classes_key(layer, classes)
    maps_fn = None
    h, w, _ = model.image_shape
    parts = []
    bar = tqdm(total=sum(s["images"] for s in manifest["shards"]), unit="img",
               desc=f"attribute {layer}", disable=not progress)
    for shard in manifest["shards"]:
        path = os.path.join(act_dir, f"attr-{key}-{shard['index']:05d}.npy")
        if storage.exists(path):
            parts.append(storage.load_npy(path))
            bar.update(shard["images"])
            continue
        meta = storage.load_npz(os.path.join(act_dir, shard["meta"]))
        image_index, positions = meta["image_index"], meta["positions"]
        maps_fn = maps_fn or attribution_maps(model, layer, classes)
        out = np.zeros((len(image_index), len(classes)), np.float32)
        indices = list(dict.fromkeys(image_index.tolist()))
        for images, idx in _images_of(source, manifest["image_ids"], indices, (h, w), batch_size):
            maps = maps_fn(tf.constant(images)).numpy()
            for m, i in zip(maps, idx):
                rows = np.flatnonzero(image_index == i)
                out[rows] = rows_attribution(m, positions[rows])
            bar.update(len(idx))
        bar.update(max(0, shard["images"] - len(indices)))
        storage.atomic_save_npy(path, out)
        parts.append(out)
    bar.close()
    return np.concatenate(parts) if parts else np.zeros((0, len(classes)), np.float32)
