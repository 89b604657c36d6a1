"""Stage 4: feature-invert each grid cell's mean activation into an icon, many cells per batch.

Each cell maximizes ``direction_cossim`` (dot × max(0.1, cos)^4, whitened) toward its own
direction; a batch holds ``batch`` cells (× ``tries`` copies, the best final objective kept) in
one compiled render. Finished icons are written to disk as they complete, so a rerun or a
resumed run never renders a cell twice.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from PIL import Image
from tqdm.auto import tqdm

from ..io import sheets, storage
from ..optvis import objectives, param, transform
from ..optvis.render import Renderer
from .executors import make_executor
from .grid import Cell


@dataclass(frozen=True)
class IconSettings:
    """How icons are rendered: size in pixels, steps, tries, cells per batch, cosine power."""

    size: int = 64
    steps: int = 512
    tries: int = 1
    batch: int = 16
    cossim_pow: float = 4.0
    seed: int = 0


def icon_path(folder: str, cell: Cell) -> str:
    """Where a cell's icon PNG lives."""
    return os.path.join(folder, f"r{cell.row:03d}_c{cell.col:03d}.png")


def _load_icon(path: str) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), np.float32) / 255.0


@dataclass(frozen=True)
class IconJob:
    """One batch of cells to render (picklable): its index ``k`` seeds the transforms."""

    k: int
    layer: str
    cells: tuple  # ((row, col, direction), ...)
    folder: str
    settings: IconSettings
    whitening: np.ndarray | None

    @property
    def key(self) -> int:
        return self.k


class IconRenderer:
    """The job function ``fn(model, job)`` that renders icon batches, keeping compiled renders.

    Batches of the same shape share one :class:`~lucid_atlas.optvis.render.Renderer` whose
    objective reads the batch's directions from a variable, so only the first batch (and a
    smaller last one) traces the model. A reused renderer restarts from the batch's own seed,
    so every batch renders exactly as it would alone (resumed and distributed runs match).
    """

    def __init__(self):
        self._renderers: dict = {}
        self.reuse_key = uuid.uuid4().hex  # lets a Ray worker keep this renderer between jobs

    def __getstate__(self):  # sent to workers without the compiled renders
        return {"_renderers": {}, "reuse_key": self.reuse_key}

    def _renderer(self, model, job: IconJob, n: int):
        s = job.settings
        white = None if job.whitening is None else np.asarray(job.whitening, np.float32)
        # what the compiled steps depend on (steps and seed are per run)
        key = (id(model), job.layer, n, s.size, s.cossim_pow, None if white is None else hash(white.tobytes()))
        if key not in self._renderers:
            depth = model.layer(job.layer).depth
            directions = tf.Variable(np.zeros((n, depth), np.float32), trainable=False)
            objective = objectives.direction_cossim(job.layer, directions, s.cossim_pow, white)
            renderer = Renderer(model, objective, lambda: param.image(s.size, batch=n),
                                transforms=transform.atlas_transforms(s.size))
            self._renderers[key] = (renderer, directions)
        return self._renderers[key]

    def __call__(self, model, job: IconJob) -> list[str]:
        """Render one batch of cells (× tries, best final objective kept) and write each icon PNG."""
        s = job.settings
        directions = np.repeat(np.stack([d for _, _, d in job.cells]), s.tries, axis=0).astype(np.float32)
        renderer, variable = self._renderer(model, job, len(directions))
        variable.assign(directions)
        result = renderer.run(thresholds=(s.steps,), seed=s.seed + job.k, progress=False)
        images = result.images[-1].reshape(len(job.cells), s.tries, *result.images[-1].shape[1:])
        values = result.values[-1].reshape(len(job.cells), s.tries)
        paths = []
        for (row, col, _), tries, vals in zip(job.cells, images, values):
            path = os.path.join(job.folder, f"r{row:03d}_c{col:03d}.png")
            if not storage.exists(path):
                sheets.save_png(tries[int(np.argmax(vals))], path)
            paths.append(path)
        return paths


def run_icons(model, job: IconJob) -> list[str]:
    """Render one batch of cells and write each icon PNG (a one-off :class:`IconRenderer`)."""
    return IconRenderer()(model, job)


def render_cells(model, layer: str, cells: list[Cell], folder: str, settings: IconSettings = IconSettings(),
                 whitening: np.ndarray | None = None, progress: bool = True,
                 executor=None) -> dict[tuple[int, int], np.ndarray]:
    """Icons ([size, size, 3] in [0, 1]) for every cell, rendering only those not yet on disk.

    ``executor``: None/'local', 'ray', or an executor object (batches then render on workers).
    """
    storage.makedirs(folder)
    per_batch = max(1, settings.batch // settings.tries)
    bar = tqdm(total=len(cells), unit="cell", desc=f"render {layer} icons", disable=not progress)
    # Batches are fixed slices of the cell list with fixed seeds, so a resumed run (or another
    # executor) renders a batch exactly as the uninterrupted local run would have.
    jobs = []
    for k, start in enumerate(range(0, len(cells), per_batch)):
        group = cells[start:start + per_batch]
        if all(storage.exists(icon_path(folder, c)) for c in group):
            bar.update(len(group))
            continue
        jobs.append(IconJob(k, layer, tuple((c.row, c.col, c.direction) for c in group), folder, settings,
                            whitening))
    for job, _paths in make_executor(executor).run(model, IconRenderer(), jobs):
        bar.update(len(job.cells))
    bar.close()
    return {(c.row, c.col): _load_icon(icon_path(folder, c)) for c in cells}
