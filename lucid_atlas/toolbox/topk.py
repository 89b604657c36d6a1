"""Each channel's strongest images in a folder: one activation pass per layer, cached and resumable.

The pass is an atlas collection in mode 'max' (:func:`lucid_atlas.atlas.collect.collect`): one
row per image holding every channel's spatial maximum, and where each one is. It is written in
shards beside a manifest, so an interrupted pass resumes after its last complete shard and a
finished one is only read back; the top-k of a channel is then a sort of one column.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..atlas import collect
from ..io import storage
from ..io.images import ImageReadError, load_image, resolve_paths
from ..patches.photos import crop_around

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TopImage:
    """One of a channel's strongest images: its path, the activation, and where (fractions y, x)."""

    path: str
    value: float
    center: tuple[float, float]


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
        # local paths count as absolute: ../imgs and /work/imgs share one pass
        named = [p if "://" in p else os.path.abspath(p) for p in self.paths]
        digest = hashlib.sha1(json.dumps([model.name, self.ranked_by, list(self.size), named]).encode())
        self.folder = os.path.join(cache, "topk", model.name, f"{self.ranked_by}-{digest.hexdigest()[:12]}")
        self.shard_images, self.batch_size = shard_images, batch_size
        self._acts: collect.Activations | None = None
        self._map_shape: tuple[int, int] | None = None

    @property
    def complete(self) -> bool:
        """Whether the pass has finished (then ``top`` reads it from disk)."""
        if self._acts is not None:
            return True
        path = os.path.join(self.folder, collect.MANIFEST)
        return storage.exists(path) and bool(collect.read_manifest(self.folder).get("complete"))

    def compute(self, progress: Progress | None = None) -> "LayerMaxima":
        """Run the pass over the images not yet done; ``progress(done, total)`` at the start and after each shard."""
        if not self.complete:
            collect.collect(self.model, self.ranked_by, self.paths, self.folder, mode="max",
                            shard_images=self.shard_images, batch_size=self.batch_size, progress=False,
                            callback=progress)
        return self

    def _activations(self) -> collect.Activations:
        if self._acts is None:
            if not self.complete:
                raise RuntimeError(f"the top-image pass for '{self.layer}' has not finished; call compute() first")
            self._acts = collect.load_activations(self.folder)
            self._map_shape = collect.spatial_shape(self.model, self.ranked_by)
        return self._acts

    def strength(self, k: int = 9) -> np.ndarray:
        """[depth]: how strongly the images excite each channel, the mean of its ``k`` largest maxima."""
        vectors = self._activations().vectors
        k = min(max(1, k), len(vectors))
        return np.partition(vectors, len(vectors) - k, axis=0)[len(vectors) - k:].mean(axis=0)

    @property
    def skipped(self) -> int:
        """Unreadable images the pass skipped."""
        return len(self._activations().manifest["skipped"])

    def top(self, channel: int, k: int = 9) -> list[TopImage]:
        """The ``k`` images where ``channel`` fires most, strongest first."""
        self.model.check_channel(self.layer, channel)
        acts = self._activations()
        column = acts.vectors[:, channel]
        mh, mw = self._map_shape
        result = []
        for row in np.argsort(-column, kind="stable")[:k]:
            y, x = divmod(int(acts.argmax[row, channel]), mw)
            result.append(TopImage(acts.image_ids[int(acts.image_index[row])], float(column[row]),
                                   ((y + 0.5) / mh, (x + 0.5) / mw)))
        return result


def crop_side(receptive: float, context: float = 1.0, min_crop: float = 0.12) -> float:
    """The side of a top image's crop (fraction of the image side): ``context`` × the receptive field
    of one position of the layer (``saliency.receptive_fraction``), at least ``min_crop``, at most 1."""
    return float(np.clip(receptive * context, min_crop, 1.0))


def top_crops(maxima: LayerMaxima, channel: int, side: float, k: int = 9,
              scale: int = 2) -> list[tuple[TopImage, np.ndarray]]:
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
