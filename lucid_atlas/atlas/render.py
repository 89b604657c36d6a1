"""Stage 4: feature-invert each grid cell's mean activation into an icon, many cells per batch.

Each cell maximizes ``direction_cossim`` (dot × max(0.1, cos)^4, whitened) toward its own
direction; a batch holds ``batch`` cells (× ``tries`` copies, the best final objective kept) in
one compiled render. Finished icons are written to disk as they complete, so a rerun or a
resumed run never renders a cell twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from ..io import sheets, storage
from ..optvis import objectives, param, transform
from ..optvis.render import render
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


def render_cells(model, layer: str, cells: list[Cell], folder: str, settings: IconSettings = IconSettings(),
                 whitening: np.ndarray | None = None, progress: bool = True) -> dict[tuple[int, int], np.ndarray]:
    """Icons ([size, size, 3] in [0, 1]) for every cell, rendering only those not yet on disk."""
    storage.makedirs(folder)
    per_batch = max(1, settings.batch // settings.tries)
    icons = {}
    bar = tqdm(total=len(cells), unit="cell", desc=f"render {layer} icons", disable=not progress)
    # Batches are fixed slices of the cell list with fixed seeds, so a resumed run renders a
    # batch exactly as the uninterrupted run would have (transforms are shared within a batch).
    for k, start in enumerate(range(0, len(cells), per_batch)):
        group = cells[start:start + per_batch]
        paths = [icon_path(folder, c) for c in group]
        if all(storage.exists(p) for p in paths):
            for cell, p in zip(group, paths):
                icons[(cell.row, cell.col)] = _load_icon(p)
            bar.update(len(group))
            continue
        directions = np.repeat(np.stack([c.direction for c in group]), settings.tries, axis=0)
        objective = objectives.direction_cossim(layer, directions, settings.cossim_pow, whitening)
        result = render(model, objective, lambda n=len(directions): param.image(settings.size, batch=n),
                        transforms=transform.atlas_transforms(settings.size), thresholds=(settings.steps,),
                        seed=settings.seed + k, progress=False)
        images = result.images[-1].reshape(len(group), settings.tries, *result.images[-1].shape[1:])
        values = result.values[-1].reshape(len(group), settings.tries)
        for cell, path, tries, vals in zip(group, paths, images, values):
            best = tries[int(np.argmax(vals))]
            if not storage.exists(path):
                sheets.save_png(best, path)
            icons[(cell.row, cell.col)] = _load_icon(path)
        bar.update(len(group))
    bar.close()
    return icons
