"""What a class relies on: class activation atlases and two-class comparison atlases.

Both start from a collection (stage 1 of the main atlas) and the rows' attributions to class
logits (:mod:`.attribution`). A class atlas keeps the rows most attributed to one class and lays
them out with t-SNE on an 8×8 grid; a comparison puts the attribution difference of two classes
on x (normalized by its 99th-percentile magnitude, clipped to ±1) and a 1-D t-SNE on y, on a
10×10 grid, and saves the cells most distinctive for each side as patch candidates.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..io import sheets, storage
from ..io.images import ImageSource
from . import assemble, collect, grid, layout
from .attribution import attribute
from .pipeline import draw_grid
from .render import IconSettings


@dataclass(frozen=True)
class ClassAtlasSettings:
    """What decides a class or comparison atlas (saved next to it)."""

    layer: str
    positions: int = 16
    mode: str = "random"
    top_k: int = 2000
    threshold: float = 0.0
    method: str = "tsne"
    grid: int = 8
    min_count: int = 2
    metric: str = "cosine"
    seed: int = 0
    shard_images: int = 256
    candidates: int = 4


def slug(text: str) -> str:
    """A file-name-safe version of a class name."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "class"


def collection(model, source: ImageSource, act_dir: str, s: ClassAtlasSettings, progress: bool = True):
    """The rows of ``act_dir``: an existing complete collection of ``s.layer`` is reused as is."""
    path = os.path.join(act_dir, collect.MANIFEST)
    if storage.exists(path):
        manifest = storage.read_json(path)
        if manifest.get("complete") and manifest["settings"]["layer"] == s.layer:
            return collect.load_activations(act_dir)
    collect.collect(model, s.layer, source, act_dir, positions=s.positions, mode=s.mode, seed=s.seed,
                    shard_images=s.shard_images,
                    progress=progress)
    return collect.load_activations(act_dir)


def select_rows(scores: np.ndarray, top_k: int, threshold: float = 0.0) -> np.ndarray:
    """Indices of the rows scoring above ``threshold``, at most ``top_k`` of them, best first."""
    order = np.argsort(-scores, kind="stable")
    order = order[scores[order] > threshold]
    return order[:top_k]


def comparison_x(a_first: np.ndarray, a_second: np.ndarray) -> np.ndarray:
    """The comparison's x in [-1, 1]: (second − first) / its 99th-percentile magnitude, clipped."""
    diff = np.asarray(a_second, np.float64) - np.asarray(a_first, np.float64)
    scale = np.percentile(np.abs(diff), 99)
    return np.clip(diff / max(scale, 1e-12), -1, 1).astype(np.float32)


def _icon_folder(stem: str, settings: ClassAtlasSettings, icons: IconSettings, rows: int) -> str:
    """Icon cache folder keyed to everything that decides the cells, so changed settings never reuse icons."""
    key = hashlib.sha1(json.dumps([asdict(settings), asdict(icons), rows], sort_keys=True).encode()).hexdigest()
    return f"icons_{stem}_{key[:8]}"


def _cell_means(xy: np.ndarray, values: np.ndarray, cells: list[grid.Cell], n: int) -> dict:
    rows, cols = grid.cell_of(xy, n)
    return {(c.row, c.col): float(values[(rows == c.row) & (cols == c.col)].mean()) for c in cells}


def class_atlas(model, source: ImageSource, out_dir: str, target, settings: ClassAtlasSettings,
                icons: IconSettings = IconSettings(), *, act_dir: str | None = None, progress: bool = True,
                executor=None) -> dict:
    """Class activation atlas of ``target`` under ``out_dir``: the rows that most raise its logit, laid out.

    :param model: a zoo model with class labels.
    :param source: images (as :func:`~lucid_atlas.atlas.pipeline.build_atlas`; None: the embedded photos).
    :param out_dir: where the atlas PNGs and JSON are written.
    :param target: the class: a name, a synset or an index (an unknown name gets the closest matches).
    :param settings: layer, rows kept, layout, grid size.
    :param icons: how the icons are rendered.
    :param act_dir: a collection to reuse (default ``out_dir/activations``).
    :param progress: show tqdm bars.
    :param executor: where the icons render (``'local'``, ``'ray'`` or an executor object, such as
        ``LocalExecutor(streams=2)``).
    :returns: a summary with the atlas's paths (``atlas``, ``labelled``, ``json``) and figures.
    """
    started = time.perf_counter()
    c = model.class_index(target)
    act_dir = act_dir or os.path.join(out_dir, "activations")
    acts = collection(model, source, act_dir, settings, progress)
    attr = attribute(model, act_dir, [c], source=source, progress=progress)[:, 0]
    keep = select_rows(attr, settings.top_k, settings.threshold)
    if len(keep) < max(5, settings.min_count * 2):
        raise ValueError(f"only {len(keep)} rows attribute positively to '{model.labels[c]}' in this "
                         "collection; give more images (ideally some of that class) or --positions")
    whitening = layout.whitening_matrix(acts.vectors)
    xy = layout.layout(acts.vectors[keep], settings.method, metric=settings.metric, seed=settings.seed)
    cells = grid.make_grid(xy, acts.vectors[keep], settings.grid, settings.min_count,
                           top_classes=acts.top_classes[keep], image_index=acts.image_index[keep])
    stem = f"class_{slug(model.labels[c])}"
    drawn = draw_grid(model, settings.layer, cells, settings.grid, out_dir=out_dir, stem=stem, icons=icons,
                      whitening=whitening,
                      image_ids=acts.image_ids, progress=progress, executor=executor,
                      icon_folder=_icon_folder(stem, settings, icons, len(acts)))
    means = _cell_means(xy, attr[keep], cells, settings.grid)
    for row, cell in zip(drawn["cells"], cells):
        row["mean_attribution"] = round(means[(cell.row, cell.col)], 5)
    description = {"model": model.name, "layer": settings.layer, "class": model.labels[c], "class_index": c,
                   "settings": asdict(settings), "icons": asdict(icons), "rows": len(acts),
                   "rows_kept": len(keep), "attribution_kept_min": float(attr[keep].min()),
                   "cells": drawn["cells"]}
    json_path = os.path.join(out_dir, f"{stem}.json")
    storage.write_json(json_path, description)
    return {"model": model.name, "layer": settings.layer, "class": model.labels[c], "class_index": c,
            "rows": len(acts), "rows_kept": len(keep), "cells": len(cells), "atlas": drawn["atlas"],
            "labelled": drawn["labelled"], "json": json_path,
            "seconds": round(time.perf_counter() - started, 1)}


def compare_classes(model, source: ImageSource, out_dir: str, first, second, settings: ClassAtlasSettings,
                    icons: IconSettings = IconSettings(), *, act_dir: str | None = None,
                    progress: bool = True, draw: bool = True, executor=None) -> dict:
    """Two-class comparison atlas (``first`` on the left, ``second`` on the right) and patch candidates.

    :param model: a zoo model with class labels.
    :param source: images (None: the embedded photos).
    :param out_dir: where the atlas, its JSON and ``candidates/`` are written.
    :param first: the class on the left (name, synset or index).
    :param second: the class on the right.
    :param settings: layer, rows kept, layout, grid size.
    :param icons: how the icons are rendered.
    :param act_dir: a collection to reuse (default ``out_dir/activations``).
    :param progress: show tqdm bars.
    :param draw: False makes only the layout, cells and candidate directions (no icons, no picture:
        ``atlas`` is None), for callers that only need the directions.
    :param executor: where the icons render (as :func:`class_atlas`).
    :returns: a summary with the picture's path (``atlas``) and the candidates file.
    """
    started = time.perf_counter()
    a, b = model.class_index(first), model.class_index(second)
    if a == b:
        raise ValueError("compare two different classes")
    act_dir = act_dir or os.path.join(out_dir, "activations")
    acts = collection(model, source, act_dir, settings, progress)
    attr = attribute(model, act_dir, [a, b], source=source, progress=progress)
    keep = select_rows(attr.max(axis=1), settings.top_k, settings.threshold)
    if len(keep) < max(5, settings.min_count * 2):
        raise ValueError(f"only {len(keep)} rows attribute positively to '{model.labels[a]}' or "
                         f"'{model.labels[b]}'; give more images or --positions")
    x = comparison_x(attr[keep, 0], attr[keep, 1])
    y = layout.embed_1d(acts.vectors[keep], settings.metric, seed=settings.seed)
    xy = np.stack([(x + 1) / 2, y], axis=1)
    n = settings.grid
    cells = grid.make_grid(xy, acts.vectors[keep], n, settings.min_count, top_classes=acts.top_classes[keep],
                           image_index=acts.image_index[keep])
    whitening = layout.whitening_matrix(acts.vectors)
    stem = f"compare_{slug(model.labels[a])}_vs_{slug(model.labels[b])}"
    if draw:
        drawn = draw_grid(model, settings.layer, cells, n, out_dir=out_dir, stem=stem, icons=icons,
                          whitening=whitening, image_ids=acts.image_ids,
                          progress=progress, decorate=lambda img: assemble.with_sides(img, model.labels[a],
                                                                                      model.labels[b]),
                          icon_folder=_icon_folder(stem, settings, icons, len(acts)), executor=executor)
    else:
        drawn = {"atlas": None, "labelled": None, "icons": {},
                 "cells": [{**c.summary(model.labels), "example_images": [acts.image_ids[i] for i in c.examples]}
                           for c in cells]}
    means = _cell_means(xy, x, cells, n)
    for row, cell in zip(drawn["cells"], cells):
        row["mean_x"] = round(means[(cell.row, cell.col)], 4)
    cell_rows, cell_cols = grid.cell_of(xy, n)
    members = {(c.row, c.col): keep[(cell_rows == c.row) & (cell_cols == c.col)] for c in cells}
    candidates = _save_candidates(model, cells, drawn, means, (a, b), settings, out_dir, stem,
                                  attr[:, 1] - attr[:, 0], acts.vectors, whitening, members)
    description = {"model": model.name, "layer": settings.layer, "classes": [model.labels[a], model.labels[b]],
                   "class_indices": [a, b], "settings": asdict(settings), "icons": asdict(icons),
                   "rows": len(acts), "rows_kept": len(keep), "cells": drawn["cells"], "candidates": candidates}
    json_path = os.path.join(out_dir, f"{stem}.json")
    storage.write_json(json_path, description)
    return {"model": model.name, "layer": settings.layer, "classes": [model.labels[a], model.labels[b]],
            "rows": len(acts), "rows_kept": len(keep), "cells": len(cells), "atlas": drawn["atlas"],
            "labelled": drawn["labelled"], "json": json_path, "candidates": candidates,
            "directions": os.path.join(out_dir, f"{stem}_candidates.npz"),
            "seconds": round(time.perf_counter() - started, 1)}


def distinctive_directions(diff: np.ndarray, vectors: np.ndarray, sign: float,
                           counts: tuple[int, ...] = (50, 200, 800)) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, mean direction, row indices) of the rows with the largest ``sign × diff`` (attribution
    difference), at a few depths: the sharpest few rows and broader, steadier averages."""
    order = np.argsort(-sign * np.asarray(diff), kind="stable")
    return [(f"top {k} rows", vectors[order[:k]].mean(axis=0), order[:k]) for k in counts if k <= len(order)]


def _save_candidates(model, cells, drawn, means, pair, s: ClassAtlasSettings, out_dir: str, stem: str,
                     diff: np.ndarray, vectors: np.ndarray, whitening: np.ndarray, members: dict) -> list:
    """Patch candidates of each side: its ``s.candidates`` most distinctive cells (icon PNGs when drawn) and the mean
    directions of the collection's most distinctive rows by attribution difference ``diff``
    (second − first, all rows); every direction, the rows behind it (most distinctive first, as
    ``members`` split at ``member_offsets``) and the whitening to render them with go to
    ``<stem>_candidates.npz``."""
    order = sorted(cells, key=lambda c: means[(c.row, c.col)])
    sides = {pair[0]: (order[:s.candidates], -1.0), pair[1]: (order[::-1][:s.candidates], 1.0)}
    listed, directions, owners, kinds, rows = [], [], [], [], []
    for cls, (chosen, sign) in sides.items():
        for rank, cell in enumerate(chosen):
            path = None
            if (cell.row, cell.col) in drawn["icons"]:
                path = os.path.join(out_dir, "candidates", f"{slug(model.labels[cls])}_{rank}_r{cell.row:03d}"
                                    f"_c{cell.col:03d}.png")
                sheets.save_png(drawn["icons"][(cell.row, cell.col)], path)
            listed.append({"side": model.labels[cls], "class_index": cls, "rank": rank, "row": cell.row,
                           "col": cell.col, "count": cell.count, "mean_x": round(means[(cell.row, cell.col)], 4),
                           "icon": path})
            directions.append(cell.direction)
            owners.append(cls)
            kinds.append(f"cell r{cell.row} c{cell.col}")
            inside = members[(cell.row, cell.col)]
            rows.append(inside[np.argsort(-sign * diff[inside], kind="stable")])
        for kind, direction, top in distinctive_directions(diff, vectors, sign):
            directions.append(direction)
            owners.append(cls)
            kinds.append(kind)
            rows.append(top)
    storage.atomic_save_npz(os.path.join(out_dir, f"{stem}_candidates.npz"),
                            {"directions": np.stack(directions).astype(np.float32),
                             "side": np.array(owners, np.int32), "kind": np.array(kinds),
                             "whitening": whitening, "members": np.concatenate(rows).astype(np.int64),
                             "member_offsets": np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)})
    return listed
