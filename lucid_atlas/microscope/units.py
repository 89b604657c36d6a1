"""A microscope layer's renders: every unit's visualization, many units a batch, written as they finish.

Each batch is a picklable :class:`UnitJob`; :class:`UnitJobRenderer` renders it (locally or on a
Ray worker, which keeps its compiled renders between jobs) and writes each unit's PNG into the
toolbox's cache — so ``lucid-atlas toolbox`` shows these very pictures; :func:`write_unit_files`
then copies it into the site with a small WebP thumbnail. Batches are fixed slices of the unit list
with fixed seeds: a resumed or distributed build writes the same files as an uninterrupted one.
"""

from __future__ import annotations

import io
import os
import re
import uuid
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..io import storage
from ..io.sheets import to_pil
from ..optvis import objectives, param
from ..optvis.gallery import UnitRenderer
from ..optvis.optimizers import Adam
from ..optvis.render import render
from ..toolbox import vis
from ..toolbox.engine import image_bytes


@dataclass(frozen=True)
class UnitFiles:
    """Where one unit's pictures live in the site (paths relative to the site folder)."""

    image: str     # the visualization, full size, PNG
    thumb: str     # the layer page's thumbnail, WebP
    negative: str  # the image that drives the unit down, PNG (on request)
    diversity: str  # a row of diverse visualizations, PNG (on request)

    def crop(self, rank: int) -> str:
        """The ``rank``-th top image's crop (WebP)."""
        return self.image[:-4] + f"_top{rank}.webp"


def layer_folder(layer: str) -> str:
    """The site folder of a layer's unit files (layer names made file-safe)."""
    return "units/" + re.sub(r"[^A-Za-z0-9_.-]", "_", layer)


def unit_files(layer: str, channel: int) -> UnitFiles:
    """The site paths of a unit's files."""
    stem = f"{layer_folder(layer)}/u{channel:05d}"
    return UnitFiles(f"{stem}.png", f"{stem}.webp", f"{stem}_neg.png", f"{stem}_div.png")


def small_bytes(image: np.ndarray | Image.Image, side: int, quality: int = 75) -> bytes:
    """An image ([h, w, 3] in [0, 1], or PIL) resized to ``side`` px square, as lossy WebP bytes
    (about two thirds of a JPEG's size at the same quality: a 1152-unit layer's site stays small)."""
    picture = image if isinstance(image, Image.Image) else to_pil(image)
    buf = io.BytesIO()
    picture.convert("RGB").resize((side, side), Image.LANCZOS).save(buf, format="WEBP", quality=quality, method=4)
    return buf.getvalue()


@dataclass(frozen=True)
class UnitJob:
    """One batch of units of a layer to render (picklable); ``k`` is its place in the unit list."""

    k: int
    layer: str
    channels: tuple[int, ...]
    site: str
    cache: str
    settings: object  # MicroscopeSettings

    @property
    def key(self) -> int:
        return self.k


def missing(site: str, cache: str, model_name: str, layer: str, channel: int, settings) -> bool:
    """Whether any render the settings ask for is not yet written for this unit (the visualization in
    the toolbox's cache; the negative and the diversity set in the site)."""
    files = unit_files(layer, channel)
    wanted = [vis.vis_path(cache, model_name, layer, channel, settings.preset)]
    if settings.negative:
        wanted.append(os.path.join(site, files.negative))
    if settings.diversity:
        wanted.append(os.path.join(site, files.diversity))
    return not all(storage.exists(p) for p in wanted)


def write_unit_files(site: str, cache: str, model_name: str, layer: str, channel: int, settings) -> None:
    """The unit's visualization in the site: its PNG as rendered into the cache, and a thumbnail."""
    files = unit_files(layer, channel)
    image, thumb = os.path.join(site, files.image), os.path.join(site, files.thumb)
    if storage.exists(image) and storage.exists(thumb):
        return
    png = storage.read_bytes(vis.vis_path(cache, model_name, layer, channel, settings.preset))
    with Image.open(io.BytesIO(png)) as picture:
        storage.atomic_write_bytes(thumb, small_bytes(picture, settings.thumb, quality=80))
    storage.atomic_write_bytes(image, png)


class UnitJobRenderer:
    """The job function ``fn(model, job)``: renders a batch of units and writes their files.

    Keeps one :class:`~lucid_atlas.optvis.gallery.UnitRenderer` per layer, so only a layer's first
    batch (and a smaller last one) traces the model.
    """

    def __init__(self):
        self._renderers: dict = {}
        self.reuse_key = uuid.uuid4().hex  # lets a Ray worker keep this renderer between jobs

    def __getstate__(self):  # sent to workers without the compiled renders
        return {"_renderers": {}, "reuse_key": self.reuse_key}

    def _renderer(self, model, layer: str, settings) -> UnitRenderer:
        key = (id(model), layer, settings.size, settings.steps, settings.seed)
        if key not in self._renderers:
            self._renderers[key] = UnitRenderer(model, layer, size=settings.size, steps=settings.steps,
                                                seed=settings.seed)
        return self._renderers[key]

    def __call__(self, model, job: UnitJob) -> list[int]:
        """Render the job's units (and, on request, their negatives and diversity sets); their channels."""
        s, renderer = job.settings, self._renderer(model, job.layer, job.settings)
        if any(not storage.exists(vis.vis_path(job.cache, model.name, job.layer, c, s.preset)) for c in job.channels):
            for channel, image in zip(job.channels, renderer.render(job.channels)):
                vis.save_unit(job.cache, model.name, job.layer, channel, s.preset, image)
        negatives = [os.path.join(job.site, unit_files(job.layer, c).negative) for c in job.channels]
        if s.negative and not all(storage.exists(p) for p in negatives):
            for path, image in zip(negatives, renderer.render(job.channels, negative=True)):
                storage.atomic_write_bytes(path, image_bytes(image))
        for channel in job.channels if s.diversity else ():
            path = os.path.join(job.site, unit_files(job.layer, channel).diversity)
            if not storage.exists(path):
                row = diversity_set(model, job.layer, channel, s)
                storage.atomic_write_bytes(path, image_bytes(np.concatenate(list(row), axis=1)))
        return list(job.channels)


def diversity_set(model, layer: str, channel: int, settings) -> np.ndarray:
    """[diversity, size, size, 3]: the unit's channel with a diversity reward over one batch (Lucid's
    ``channel + diversity`` figure), seeded as the unit's own render is."""
    objective = objectives.channel(layer, channel) + settings.diversity_weight * objectives.diversity(layer)
    result = render(model, objective, lambda: param.image(settings.size, batch=settings.diversity),
                    Adam(0.05), thresholds=(settings.steps,), seed=settings.seed, progress=False)
    return result.images[-1]
