"""Stage 4: feature-invert each grid cell's mean activation into an icon, many cells per batch.

Each cell maximizes its own whitened direction objective; :class:`IconSettings` names the
recipe (presets: :meth:`IconSettings.notebook`, the Activation Atlas notebook's; and
:meth:`IconSettings.published`, the Lucid recipe that rendered the published atlases). A batch
holds ``batch`` cells (× ``tries`` copies, the best final objective kept) in one compiled render.
Every icon's noise and transforms are keyed by (seed, its try) and, with ``seeding="cell"``, its
cell — by default not, so an icon is a function of its direction — and each image's gradient is its
own, so an icon is the same whatever batch it was rendered in: ``batch`` is a speed setting only.
Finished icons are written to disk as they complete, so a rerun or a resumed run never renders a
cell twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import uuid
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from PIL import Image
from tqdm.auto import tqdm

from ..io import sheets, storage
from ..optvis import objectives, optimizers, param, regularizers, transform
from ..optvis.render import Renderer
from . import layout
from .executors import make_executor
from .grid import Cell

ICON_TRANSFORMS = {
    "notebook": transform.atlas_transforms,     # the Activation Atlas notebook's list
    "published": transform.atlas_recipe_transforms,  # Lucid's recipe: pad 16, ..., crop back
    "wide": transform.wide_transforms,          # wider zoom and rotation
}
ICON_OBJECTIVES = ("cossim", "recipe")
# what keys an icon's initial noise and transforms: its cell and try, or its try alone (then every
# icon is a function of its direction: equal directions give equal icons, near ones near icons)
ICON_SEEDINGS = ("cell", "direction")
# named icon recipes: the fields each sets on top of IconSettings' defaults
# the defaults before annealed cos^0.75 icons in 256 steps, which every preset keeps
BEFORE_ANNEALING = dict(steps=512, views=1, cossim_pow=2.0, anneal=0.0, learning_rate=0.05)
OPAQUE = dict(BEFORE_ANNEALING, seeding="cell", boundary=0.0, blur=0.0, whitening_ridge=layout.WHITENING_EPSILON,
              alpha=0.0)
ICON_PRESETS = {
    "default": {},
    # the default before transparent icons: opaque, kept plain toward the corners by the border penalty
    "calm_opaque": dict(BEFORE_ANNEALING, boundary=50.0, alpha=0.0),
    # the default until the calm icons: vivid, filled edge to edge, the judge's favourite on Lite0
    "vivid": dict(OPAQUE),
    "notebook": dict(OPAQUE, size=64, steps=256, tries=1, cossim_pow=4.0, transforms="notebook", decay_power=1.0),
    # its border penalty weighed against the objective (Lucid's weight 1 was for InceptionV1's scale)
    "published": dict(OPAQUE, size=80, steps=1024, tries=4, cossim_pow=2.0, transforms="published",
                      objective="recipe", boundary=100.0, boundary_width=5, decay_power=1.0),
}


# fields added after icons were first cached: at these values they leave the cache key as it was
_LATER_FIELDS = {"views": 1, "alpha_centre": 0.25, "spectrum": "lucid", "coarse": 0.0, "coarse_scale": 0.6,
                 "anneal": 0.0}
ICON_SPECTRA = ("lucid", "natural")


@dataclass(frozen=True)
class IconSettings:
    """How icons are rendered.

    ``size`` (px), ``steps``, ``tries`` (best final objective kept), ``batch`` (cells per batch,
    speed only), ``cossim_pow``, ``seed``, ``transforms`` (``ICON_TRANSFORMS``), ``objective``
    (``cossim``: dot × max(0.1, cos)^pow; ``recipe``: Lucid's recipe formula), ``boundary``: the
    weight of Lucid's ``penalize_boundary_complexity`` (gray and smooth) relative to each icon's own
    objective (0 = off), over a ``boundary_width`` px border or, with width 0, over the whole icon
    weighed from ``boundary_centre`` at the middle to 1 at the corners; ``learning_rate`` (Adam),
    ``decay_power`` (the Fourier spectrum's 1/f^decay), ``seeding`` (``ICON_SEEDINGS``), ``alpha``
    (weight of an opacity penalty on an RGBA icon shown on gray; 0 = opaque), ``alpha_centre`` (that
    penalty's weight at the icon's middle, rising with the squared radius to 1 at the corners), ``blur`` (px, a
    Gaussian blur of the image every 4 steps), ``whitening_ridge`` (the whitening's regularization,
    relative to the mean eigenvalue: larger whitens less), ``views`` (transformed copies of each
    icon per step, their objective averaged: ``views`` × the model's work per step; on CPU, views > 1
    with an RGBA icon is not bit-reproducible from one process to the next — TensorFlow's concurrent
    op scheduling changes its sums — so the default keeps 1, which is), ``spectrum`` (``lucid``: the
    1/f^decay Fourier image; ``natural``: phase only, natural images' spectrum), ``coarse`` (the
    share of the steps taken first at ``coarse_scale`` × the size, then enlarged and refined at full
    size: Osinga's progressive up-scaling, most steps at a fraction of the pixels).
    """

    # the default: calm, centred icons that read as a map (README, bench_icons / bench_quality)
    size: int = 80
    steps: int = 256
    tries: int = 1
    batch: int = 32
    cossim_pow: float = 0.75
    seed: int = 0
    transforms: str = "wide"
    objective: str = "cossim"
    boundary: float = 0.0
    boundary_width: int = 0
    learning_rate: float = 0.075
    decay_power: float = 1.25
    seeding: str = "direction"
    boundary_centre: float = 0.1
    alpha: float = 1.5
    blur: float = 0.35
    whitening_ridge: float = 1.0
    views: int = 1
    alpha_centre: float = 0.25
    spectrum: str = "lucid"
    coarse: float = 0.0
    coarse_scale: float = 0.6
    anneal: float = 0.33

    def __post_init__(self):
        if self.transforms not in ICON_TRANSFORMS:
            raise ValueError(f"unknown icon transforms '{self.transforms}': {', '.join(ICON_TRANSFORMS)}")
        if self.objective not in ICON_OBJECTIVES:
            raise ValueError(f"unknown icon objective '{self.objective}': {', '.join(ICON_OBJECTIVES)}")
        if self.spectrum not in ICON_SPECTRA:
            raise ValueError(f"unknown icon spectrum '{self.spectrum}': {', '.join(ICON_SPECTRA)}")
        if self.seeding not in ICON_SEEDINGS:
            raise ValueError(f"unknown icon seeding '{self.seeding}': {', '.join(ICON_SEEDINGS)}")
        if min(self.size, self.steps, self.tries, self.batch, self.views) < 1:
            raise ValueError("icon size, steps, tries, batch and views must be positive")
        if not (0.0 <= self.coarse < 1.0 and 0.0 < self.coarse_scale <= 1.0):
            raise ValueError("icon coarse (the share of steps at the coarse size) must be in [0, 1) and "
                             "coarse_scale in (0, 1]")
        if not 0.0 <= self.anneal <= 1.0:
            raise ValueError("icon anneal (the share of steps with a falling learning rate) must be in [0, 1]")
        if self.coarse and self.spectrum != "lucid":
            raise ValueError("coarse-to-fine icons enlarge Lucid's Fourier image: use spectrum='lucid'")

    @classmethod
    def preset(cls, name: str, **changes) -> "IconSettings":
        """A named preset (``ICON_PRESETS``) with some fields changed."""
        if name not in ICON_PRESETS:
            raise ValueError(f"unknown icon preset '{name}': {', '.join(ICON_PRESETS)}")
        return cls(**{**ICON_PRESETS[name], **changes})

    @classmethod
    def notebook(cls, **changes) -> "IconSettings":
        """The Activation Atlas notebook's icons: cos⁴, its transforms, 64 px, 256 steps, one try."""
        return cls.preset("notebook", **changes)

    @classmethod
    def published(cls, **changes) -> "IconSettings":
        """The recipe that rendered the published atlases (Lucid ``recipes/activation_atlas``):
        80 px, 1024 steps, 4 tries, its objective with cos², its transforms, border penalty w=5
        (weighed against the objective: × 100 relative)."""
        return cls.preset("published", **changes)

    def key(self) -> str:
        """8 hex digits naming what decides the pixels (every field but ``batch``, a speed setting):
        icon caches are keyed by it, so changed settings never reuse icons."""
        fields = {k: v for k, v in dataclasses.asdict(self).items()
                  if k != "batch" and not (k in _LATER_FIELDS and v == _LATER_FIELDS[k])}
        return hashlib.sha1(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:8]

    def coarse_size(self) -> int:
        """The side (px, even) of the coarse steps' images."""
        return max(8, 2 * round(self.size * self.coarse_scale / 2))

    def coarse_steps(self) -> int:
        """How many of the steps are taken at the coarse size."""
        return round(self.steps * self.coarse) if self.coarse else 0

    def objective_for(self, layer: str, directions, whitening, size: int | None = None) -> objectives.Objective:
        """Each image's objective toward its own direction (one row of ``directions`` per image), for
        icons of ``size`` px (default ``self.size``)."""
        if self.objective == "recipe":
            direction = objectives.direction_recipe(layer, directions, self.cossim_pow, whitening)
        else:
            direction = objectives.direction_cossim(layer, directions, self.cossim_pow, whitening)
        obj = direction
        if self.alpha:
            # transparent surroundings, weighed against the direction objective as the border is
            opacity = objectives.penalize_opacity(self.alpha_centre)
            obj = obj + self.alpha * objectives.relative_to(opacity, direction)
        if self.boundary:
            # weighed against the direction objective's own current value: Lucid's weight was tuned
            # to InceptionV1's activation scale, and a fixed weight greys weak cells out entirely
            mask = None if self.boundary_width else radial_mask(size or self.size, self.boundary_centre)
            border = objectives.penalize_boundary_complexity(self.boundary_width, mask=mask, mean=True)
            obj = obj + self.boundary * objectives.relative_to(border, direction)
        return obj

    def param(self, batch: int, size: int | None = None) -> param.Param:
        """The icons' image parameterization for a batch of ``size`` px (default ``self.size``):
        Lucid's 1/f^decay Fourier image, or (``spectrum="natural"``) the phase-only image with
        natural images' spectrum (MACO)."""
        size = size or self.size
        if self.spectrum == "natural":
            return param.natural_image(size, batch=batch, alpha=bool(self.alpha), decay_power=self.decay_power)
        return param.image(size, batch=batch, decay_power=self.decay_power, alpha=bool(self.alpha))

    def schedule(self, fine: bool = False) -> optimizers.Schedule | None:
        """The learning rate by step when annealed (None: constant); ``fine``: for the full-size
        steps that follow the coarse ones."""
        if not self.anneal:
            return None
        offset = self.coarse_steps() if fine else 0
        return optimizers.anneal(self.learning_rate, self.steps, self.anneal, offset=offset)

    def optimizer(self, fine: bool = False) -> optimizers.Adam:
        """Adam at ``learning_rate``, annealed over the last ``anneal`` of the steps."""
        return optimizers.Adam(self.schedule(fine) or self.learning_rate)

    def image_ops(self, size: int | None = None, fine: bool = False) -> list:
        """Operators on the image between steps: a Gaussian blur of ``blur`` px (at full size) every 4
        steps, its variance falling with an annealed learning rate (so the last steps refine, not blur)."""
        if not self.blur:
            return []
        sigma = self.blur * (size or self.size) / self.size
        schedule = self.schedule(fine)
        strength = None if schedule is None else (lambda step: schedule(step - 1) / self.learning_rate)
        return [regularizers.gaussian_blur_every(4, sigma, strength)]

    def transform_list(self, size: int | None = None) -> list:
        """The transforms for icons of ``size`` px (default ``self.size``)."""
        return ICON_TRANSFORMS[self.transforms](size or self.size)


def radial_mask(size: int, centre: float) -> np.ndarray:
    """[1, size, size, 1] weights for the border penalty over the whole icon (``objectives.radial_weights``)."""
    return objectives.radial_weights(size, size, centre)[None, :, :, None]


ICON_GROUND = 0.5  # the grey a transparent icon is shown on


def on_ground(images: np.ndarray) -> np.ndarray:
    """RGB icons [N, h, w, 3]: RGBA ones composited over the grey ground, RGB ones as they are."""
    if images.shape[-1] != 4:
        return images
    alpha = images[..., 3:]
    return images[..., :3] * alpha + ICON_GROUND * (1.0 - alpha)


def icon_image_id(row: int, col: int, attempt: int) -> int:
    """The id that keys a cell's try's noise and transforms (independent of its batch)."""
    return (row * 4096 + col) * 256 + attempt


def icon_path(folder: str, cell: Cell) -> str:
    """Where a cell's icon PNG lives."""
    return os.path.join(folder, f"r{cell.row:03d}_c{cell.col:03d}.png")


def _load_icon(path: str) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), np.float32) / 255.0


@dataclass(frozen=True)
class IconJob:
    """One batch of cells to render (picklable); ``k`` is its place in the cell list."""

    k: int
    layer: str
    cells: tuple  # ((row, col, direction), ...)
    folder: str
    settings: IconSettings
    whitening: np.ndarray | None

    @property
    def key(self) -> int:
        return self.k


class _WhitenedDirections:
    """A batch's directions [B, depth] held whitened in a variable the objective reads."""

    def __init__(self, directions: np.ndarray, whitening: np.ndarray | None):
        self.whitening = None if whitening is None else tf.constant(whitening)
        self.variable = tf.Variable(objectives.whiten(directions, self.whitening), trainable=False)

    def assign(self, directions: np.ndarray) -> None:
        self.variable.assign(objectives.whiten(directions, self.whitening))


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

    def _renderer(self, model, job: IconJob, n: int, size: int | None = None, fine: bool = False):
        """The compiled renderer for ``n`` images of ``size`` px (default the icon's); ``fine``: the
        full-size steps after the coarse ones (no second redirected-ReLU start, the schedule's later part)."""
        s = job.settings
        size = size or s.size
        relu_gradient_steps = 0 if fine else 16
        white = None if job.whitening is None else np.asarray(job.whitening, np.float32)
        # what the compiled steps depend on: every setting but those a run sets (steps, seed, image ids);
        # an annealed learning rate depends on the steps too
        recipe = dataclasses.replace(s, steps=s.steps if s.anneal else 1, seed=0, tries=1, batch=1)
        key = (id(model), job.layer, n, size, fine, recipe,
               None if white is None else hash(white.tobytes()))
        if key not in self._renderers:
            white = None if white is None else layout.with_ridge(white, s.whitening_ridge)
            depth = model.layer(job.layer).depth
            # the batch's directions, stored whitened: whitening them at every step would read the
            # [depth, depth] matrix once per image per step (a fifth of a step at 1152 channels)
            directions = _WhitenedDirections(np.zeros((n, depth), np.float32), white)
            renderer = Renderer(model, s.objective_for(job.layer, directions.variable, None, size),
                                lambda: s.param(n, size),
                                s.optimizer(fine),
                                transforms=s.transform_list(size), image_ops=s.image_ops(size, fine), views=s.views,
                                relu_gradient_steps=relu_gradient_steps)
            self._renderers[key] = (renderer, directions)
        return self._renderers[key]

    def render(self, model, job: IconJob, directions: np.ndarray, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Each image's final pixels [B, size, size, 3 or 4] and objective value [B]: all steps at
        full size, or the first ``coarse_steps`` at the coarse size, enlarged, then the rest."""
        s = job.settings
        coarse_steps = s.coarse_steps()
        if not coarse_steps:
            renderer, variable = self._renderer(model, job, len(directions), s.size)
            variable.assign(directions)
            result = renderer.run(thresholds=(s.steps,), seed=s.seed, progress=False, image_ids=ids)
            return result.images[-1], result.values[-1]
        small, small_dirs = self._renderer(model, job, len(directions), s.coarse_size())
        small_dirs.assign(directions)
        small.run(thresholds=(coarse_steps,), seed=s.seed, progress=False, image_ids=ids)
        # the fine steps continue the same optimization: no second start of the redirected ReLU gradient
        fine, fine_dirs = self._renderer(model, job, len(directions), s.size, fine=True)
        fine_dirs.assign(directions)
        fine.restart(s.seed + 1, ids)
        variable = fine.param.image_variable
        variable.assign(param.enlarge_fourier(small.param.image_variable, s.coarse_size(), s.coarse_size(),
                                              s.size, s.size, s.decay_power))
        left = s.steps - coarse_steps
        for chunk in [16] * (left // 16) + ([left % 16] if left % 16 else []):  # few compiled lengths
            values = fine.step(chunk)
        return fine.param().numpy(), values

    def __call__(self, model, job: IconJob) -> list[str]:
        """Render one batch of cells (× tries, best final objective kept) and write each icon PNG."""
        s = job.settings
        directions = np.repeat(np.stack([d for _, _, d in job.cells]), s.tries, axis=0).astype(np.float32)
        ids = [icon_image_id(row, col, t) if s.seeding == "cell" else icon_image_id(0, 0, t)
               for row, col, _ in job.cells for t in range(s.tries)]
        images, values = self.render(model, job, directions, ids)
        images = on_ground(images)
        images = images.reshape(len(job.cells), s.tries, *images.shape[1:])
        values = values.reshape(len(job.cells), s.tries)
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


def _cells_per_batch(cells: int, most: int, streams: int) -> int:
    """Cells per batch: ``most``, or, when that makes fewer batches than ``streams``, one batch per
    stream (24 cells in 2 streams: 2 batches of 12, not one of 24 leaving a stream idle).
    An icon keeps its seed in any batch, but not its every pixel (a batch's size changes the zoom
    warp's float rounding, see docs/feature-visualization.md): with fewer full batches than streams
    the stream count changes some icons, as ``batch`` does."""
    if -(-cells // most) >= streams:
        return most
    return max(1, -(-cells // streams))


def render_cells(model, layer: str, cells: list[Cell], folder: str, settings: IconSettings = IconSettings(),
                 *, whitening: np.ndarray | None = None, progress: bool = True,
                 executor=None) -> dict[tuple[int, int], np.ndarray]:
    """Icons ([size, size, 3] in [0, 1]) for every cell, rendering only those not yet on disk.

    ``executor``: None/'local', 'ray', or an executor object (batches then render on workers).
    """
    storage.makedirs(folder)
    executor = make_executor(executor)
    per_batch = _cells_per_batch(len(cells), max(1, settings.batch // settings.tries),
                                 getattr(executor, "streams", 1))
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
    for job, _paths in executor.run(model, IconRenderer(), jobs):
        bar.update(len(job.cells))
    bar.close()
    return {(c.row, c.col): _load_icon(icon_path(folder, c)) for c in cells}
