"""A unit's feature visualizations for the toolbox: ours and a Yosinski et al. preset, cached as PNGs.

'ours' renders through :class:`~lucid_atlas.optvis.gallery.UnitRenderer`, whose pictures do not
depend on their batch: the microscope renders whole layers into this same cache, and the toolbox
then shows those very files.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from ..io import storage
from ..optvis import objectives
from ..optvis.gallery import UnitRenderer, render_deep_visualization
from .engine import image_bytes

# (name, recipe, size px, steps): 'ours' is the decorrelated Fourier image with the standard
# transforms; 'yosinski' is the paper's regularization set 1 (blur, small-norm clipping) on plain
# pixels, contrast-stretched.
Preset = tuple[str, str, int, int]
DEFAULT_PRESETS: tuple[Preset, ...] = (("ours", "lucid", 128, 256), ("yosinski", "1", 128, 256))


def vis_path(cache: str, model_name: str, layer: str, channel: int, preset: Preset) -> str:
    """Where a unit's visualization is cached."""
    name, recipe, size, steps = preset
    return os.path.join(cache, "vis", model_name, layer, f"c{channel:05d}-{name}-{recipe}-{size}px-{steps}.png")


def render_unit(model, layer: str, channel: int, preset: Preset, *, cache: str,
                progress: Callable[[int, int], None] | None = None) -> bytes:
    """The channel's visualization as PNG bytes, rendered once and then read from the cache."""
    model.check_channel(layer, channel)
    path = vis_path(cache, model.name, layer, channel, preset)
    if storage.exists(path):
        return storage.read_bytes(path)
    _name, recipe, size, steps = preset
    if recipe == "lucid":
        image = UnitRenderer(model, layer, size=size, steps=steps).render([channel], callback=progress)[0]
    else:
        report = (lambda step, _images: progress(step, steps)) if progress else None
        image, _ = render_deep_visualization(model, objectives.channel(layer, channel), recipe, size=size,
                                             steps=steps, progress=False, callback=report, every=16)
    return save_unit(cache, model.name, layer, channel, preset, image)


def save_unit(cache: str, model_name: str, layer: str, channel: int, preset: Preset, image: np.ndarray) -> bytes:
    """Write a unit's visualization ([h, w, 3] in [0, 1]) where the toolbox looks for it; its PNG bytes."""
    png = image_bytes(np.asarray(image), optimize=True)
    path = vis_path(cache, model_name, layer, channel, preset)
    storage.makedirs(os.path.dirname(path))
    storage.atomic_write_bytes(path, png)
    return png
