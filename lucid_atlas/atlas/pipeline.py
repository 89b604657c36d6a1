"""The whole atlas in one call: collect → whiten → layout → grid → render → assemble, resumable.

Every stage saves its output under ``out_dir`` (activations shards, ``layout.npy``, icons per
grid, PNGs and ``atlas_<n>.json``) and is skipped when its output is already there.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from ..io import storage
from ..io.images import ImageSource
from . import assemble, collect, grid, layout
from . import rows as rows_lib
from .executors import make_executor
from .render import IconSettings, icon_path, render_cells
from .rows import Rows


@dataclass(frozen=True)
class AtlasSettings:
    """Everything that decides an atlas (saved next to it)."""

    layer: str
    grids: tuple[int, ...] = (8,)
    positions: int = 8
    mode: str = "random"
    min_count: int = 3
    method: str = "umap"
    n_neighbors: int = 50
    min_dist: float = 0.05
    metric: str = "cosine"
    fit_sample: int = 20000
    whiten: bool = True
    seed: int = 0
    shard_images: int = 256
    dtype: str = "float32"  # of the stored rows; float16 halves disk and memory
    in_memory_rows: int = 262144  # up to this many rows are loaded at once; more are streamed shard by shard
    layout_workers: int = 0  # processes placing rows outside UMAP's fit sample (0: one per core)


def _layout(vectors: Rows, s: AtlasSettings, out_dir: str, progress: bool) -> np.ndarray:
    path = os.path.join(out_dir, f"layout_{s.method}.npy")
    if storage.exists(path):
        xy = storage.load_npy(path)
        if len(xy) == len(vectors):
            return xy
    workers = s.layout_workers or os.cpu_count() or 1
    xy = layout.layout(vectors, s.method, n_neighbors=s.n_neighbors, min_dist=s.min_dist, metric=s.metric,
                       fit_sample=s.fit_sample, seed=s.seed,
                       progress=progress, parts_dir=os.path.join(out_dir, f"layout_{s.method}_parts"),
                       workers=workers)
    storage.atomic_save_npy(path, xy)
    return xy


def _whitening(vectors: Rows, out_dir: str, progress: bool) -> np.ndarray:
    """Lucid's whitening matrix, cached beside the layout (with the row count it was made from)."""
    path = os.path.join(out_dir, "whitening.npz")
    if storage.exists(path):
        saved = storage.load_npz(path)
        if int(saved["rows"]) == len(vectors):
            return saved["S"]
    S = layout.whitening_matrix(vectors, progress=progress)
    storage.atomic_save_npz(path, {"S": S, "rows": np.int64(len(vectors))})
    return S


def _grid(xy: np.ndarray, vectors: Rows, n: int, s: AtlasSettings, top_classes, image_index, out_dir: str,
          progress: bool) -> list:
    """The n × n grid's cells; their mean directions are saved, and read back on a rerun."""
    path = os.path.join(out_dir, f"atlas_{n}_directions.npz")
    means = None
    if storage.exists(path):
        saved = storage.load_npz(path)
        if "n_rows" in saved and int(saved["n_rows"]) == len(vectors):
            means = {int(r) * n + int(c): d for r, c, d in zip(saved["rows"], saved["cols"], saved["directions"])}
    cells = grid.make_grid(xy, vectors, n, s.min_count, top_classes=top_classes, image_index=image_index,
                           progress=progress, means=means)
    if means is None:
        storage.atomic_save_npz(path, {
            "rows": np.array([c.row for c in cells], np.int32), "cols": np.array([c.col for c in cells], np.int32),
            "directions": np.stack([c.direction for c in cells]).astype(np.float32) if cells
            else np.zeros((0, vectors.shape[1]), np.float32), "n_rows": np.int64(len(vectors))})
    return cells


def build_atlas(model, source: ImageSource | None, out_dir: str, settings: AtlasSettings,
                icons: IconSettings = IconSettings(), *, progress: bool = True, density: bool = False,
                executor=None, vectors: np.ndarray | None = None,
                on_stage: Callable[[str], None] | None = None, collected: bool = False) -> dict:
    """Build (or finish) an atlas under ``out_dir``; returns a summary with paths and figures.

    Every stage saves its output under ``out_dir``, so a rerun resumes where a killed one stopped.
    Collections of more than ``settings.in_memory_rows`` rows are streamed shard by shard.

    :param model: a zoo model.
    :param source: images: a folder, a list of paths, an array [N, h, w, 3] in [0, 1], ``"tfds:NAME/SPLIT"``,
        or None for the embedded photos.
    :param out_dir: where the stages write (a local path or ``gs://``).
    :param settings: what decides the atlas (layer, grid sizes, positions per image, layout).
    :param icons: how each cell's icon is rendered (:class:`~lucid_atlas.atlas.render.IconSettings`).
    :param progress: show tqdm bars.
    :param density: fade the icons of sparse cells in the PNGs (the labelled one too).
    :param executor: ``'local'``, ``'ray'`` or an executor object, for collection and rendering (layout stays here).
    :param vectors: [N, C] rows (e.g. published activations) used instead of collecting from ``source``.
    :param on_stage: called with each stage's name as it starts (collect, whitening, layout,
        grid_<n>, render_<n>, assemble_<n>).
    :param collected: use the collection already under ``out_dir/activations`` (e.g. written page
        by page with ``collect.import_vectors``).
    :returns: a summary: rows, trustworthiness, per-grid paths and purity, seconds per stage.
    """
    started = time.perf_counter()
    stage = on_stage or (lambda name: None)
    model.layer(settings.layer)
    if not settings.grids or min(settings.grids) < 1:
        raise ValueError(f"grid sizes must be positive, e.g. 20 or 8,20,40; got {settings.grids}")
    seconds = {}
    act_dir = os.path.join(out_dir, "activations")
    executor = make_executor(executor)
    stage("collect")
    if collected:
        if not storage.exists(os.path.join(act_dir, collect.MANIFEST)):
            raise FileNotFoundError(f"collected=True but there is no collection at {act_dir}")
    else:
        _collect(model, source, vectors, act_dir, settings, progress, executor)
    acts = collect.load_activations(act_dir)
    rows = acts.vectors if len(acts) <= settings.in_memory_rows else acts.rows
    seconds["collect"] = time.perf_counter() - started
    _check_rows(rows, settings)
    mark = time.perf_counter()
    stage("whitening")
    S = _whitening(rows, out_dir, progress) if settings.whiten else None
    seconds["whitening"] = time.perf_counter() - mark
    mark = time.perf_counter()
    stage("layout")
    xy = _layout(rows, settings, out_dir, progress)
    seconds["layout"] = time.perf_counter() - mark
    known = bool((acts.top_classes[:, 0] >= 0).any())
    top_classes = acts.top_classes if known else None
    top1 = acts.top_classes[:, 0]
    summary = {"model": model.name, "layer": settings.layer, "rows": len(acts),
               "images": len(acts.image_ids), "skipped": len(acts.manifest["skipped"]),
               "trustworthiness": _trustworthiness(rows, xy, settings, out_dir), "grids": {}}
    seconds["render"] = seconds["assemble"] = 0.0
    imported = acts.manifest["settings"].get("mode") == "imported"
    for n in settings.grids:
        mark = time.perf_counter()
        stage(f"grid_{n}")
        cells = _grid(xy, rows, n, settings, top_classes, None if imported else acts.image_index, out_dir, progress)
        seconds[f"grid_{n}"] = time.perf_counter() - mark
        stage(f"render_{n}")
        drawn = draw_grid(model, settings.layer, cells, n, out_dir=out_dir, stem=f"atlas_{n}", icons=icons,
                          whitening=S, image_ids=acts.image_ids,
                          progress=progress, density=density, executor=executor)
        seconds["render"] += drawn.pop("render_seconds")
        stage(f"assemble_{n}")
        mark = time.perf_counter()
        purity, purity_random = _purities(xy, top1, n, settings) if known else (float("nan"), float("nan"))
        description = {
            "model": model.name, "layer": settings.layer, "grid": n, "icon_size": icons.size,
            "settings": asdict(settings), "icons": asdict(icons), "rows": len(acts),
            "images": len(acts.image_ids), "class_purity": purity, "class_purity_random_layout": purity_random,
            "cells": drawn["cells"],
        }
        storage.write_json(os.path.join(out_dir, f"atlas_{n}.json"), description)
        summary["grids"][str(n)] = {"atlas": drawn["atlas"], "labelled": drawn["labelled"], "json": os.path.join(
            out_dir, f"atlas_{n}.json"), "cells": len(cells), "purity": round(purity, 4),
            "purity_random": round(description["class_purity_random_layout"], 4)}
        seconds["assemble"] += time.perf_counter() - mark + drawn["assemble_seconds"]
    summary["stage_seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary


def _collect(model, source: ImageSource | None, vectors: np.ndarray | None, act_dir: str, settings: AtlasSettings,
             progress: bool, executor) -> None:
    """The collection stage: rows from the images (resumable), or the given vectors stored as one."""
    if vectors is not None:
        collect.import_vectors(model, settings.layer, vectors, act_dir, dtype=settings.dtype)
    else:
        collect.collect(model, settings.layer, source, act_dir, positions=settings.positions, mode=settings.mode,
                        seed=settings.seed, shard_images=settings.shard_images, progress=progress, executor=executor,
                        dtype=settings.dtype)


def _purities(xy: np.ndarray, top1: np.ndarray, n: int, settings: AtlasSettings) -> tuple[float, float]:
    """Class purity of the n×n grid, and of a seeded random layout of the same rows (the chance level)."""
    random_xy = np.random.default_rng(settings.seed).uniform(size=xy.shape)
    return (grid.class_purity(xy, top1, n, settings.min_count),
            grid.class_purity(random_xy, top1, n, settings.min_count))


def draw_grid(model, layer: str, cells: list, n: int, *, out_dir: str, stem: str, icons: IconSettings,
              whitening: np.ndarray | None, image_ids: list[str], progress: bool = True,
              density: bool = False, decorate=None, icon_folder: str | None = None, executor=None) -> dict:
    """Render the cells' icons (cached under ``icons_<stem>_<settings key>``) and write ``<stem>.png``
    and its labelled twin.

    ``decorate`` (PIL image -> PIL image) is applied to both pictures before saving (e.g. a header);
    ``icon_folder`` overrides the icon cache folder's name (callers key it to their settings).

    Returns the two paths, per-cell JSON rows (icon path, examples) and the stage times.
    """
    mark = time.perf_counter()
    icon_dir = os.path.join(out_dir, icon_folder or f"icons_{stem.removeprefix('atlas_')}_{icons.key()}")
    rendered = render_cells(model, layer, cells, icon_dir, icons, whitening=whitening, progress=progress,
                            executor=executor)
    render_seconds = time.perf_counter() - mark
    mark = time.perf_counter()
    image = assemble.atlas_image(cells, rendered, n, icons.size, density)
    decorate = decorate or (lambda img: img)
    png = assemble.save_image(decorate(image), os.path.join(out_dir, f"{stem}.png"))
    labelled_png = assemble.save_image(decorate(assemble.labelled(image, cells, model.labels, n)),
                                       os.path.join(out_dir, f"{stem}_labelled.png"))
    rows = [{**c.summary(model.labels), "icon": os.path.relpath(icon_path(icon_dir, c), out_dir),
             "example_images": [image_ids[i] for i in c.examples]} for c in cells]
    return {"atlas": png, "labelled": labelled_png, "cells": rows, "icons": rendered,
            "render_seconds": render_seconds, "assemble_seconds": time.perf_counter() - mark}


def _check_rows(vectors: Rows, s: AtlasSettings) -> None:
    """Clear errors for too few rows or non-finite activations, before any layout work."""
    bad = rows_lib.count_nonfinite(vectors)
    if bad:
        raise ValueError(f"{bad} collected activation rows contain NaN or inf: check the model's "
                         "preprocessing and input value range")
    needed = max(5, s.min_count * 2)
    if len(vectors) < needed:
        raise ValueError(f"only {len(vectors)} activation rows were collected; a grid needs at least "
                         f"{needed}. Give more images or --positions")


def _trustworthiness(vectors: Rows, xy: np.ndarray, s: AtlasSettings, out_dir: str,
                     sample: int = 5000) -> float:
    """scikit-learn's trustworthiness (k=10) of the layout on a seeded sample, cached with the layout.

    Neighbors in activation space use the layout's own metric (cosine by default), the
    similarity the layout was asked to preserve.
    """
    path = os.path.join(out_dir, f"layout_{s.method}_trustworthiness.json")
    if storage.exists(path):
        cached = storage.read_json(path)
        if cached.get("rows") == len(vectors) and cached.get("metric") == s.metric:
            return cached["trustworthiness"]
    from sklearn.manifold import trustworthiness

    idx = np.random.default_rng(s.seed).choice(len(vectors), min(sample, len(vectors)), replace=False)
    k = min(10, max(1, len(idx) // 2 - 1))
    value = round(float(trustworthiness(rows_lib.take(vectors, idx), xy[idx], n_neighbors=k, metric=s.metric)), 4)
    storage.write_json(path, {"rows": len(vectors), "sample": len(idx), "k": k, "metric": s.metric,
                              "trustworthiness": value})
    return value
