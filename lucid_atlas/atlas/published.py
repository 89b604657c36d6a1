"""Readers for the published Activation Atlas data, so downloaded files can be used directly.

* Lucid's *aligned activations*: ``.npy`` pages of 10 000 InceptionV1 activation vectors of one
  layer each (10 pages, 100 000 rows), at
  ``https://storage.googleapis.com/modelzoo/aligned-activations/InceptionV1/<layer>-0000k-of-01000.npy``.
* The article app's per-grid *web JSON*: a list of cells ``{x, y, n, i, v, f}`` — grid column and
  row, number of activations, top class indices and their values, and (optionally) the values of
  all kept classes — at ``https://storage.googleapis.com/activation-atlas/build/<id>/web/web--grid_size=<n>--
  layout=<layout>--class_filter=None--filter=None--layer=<layer>--model=InceptionV1--
  sample_images=1000000--sample_type=random.json`` with the build config in ``<id>/<id>.json``.
* Layout data: [N, 2] coordinates, as ``.npy`` or a JSON list of pairs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from ..io import storage

ALIGNED_ACTIVATIONS_URL = ("https://storage.googleapis.com/modelzoo/aligned-activations/"
                           "{model}/{layer}-{page:05d}-of-01000.npy")
ALIGNED_PAGES = 10
ATLAS_BUILD_ROOT = "https://storage.googleapis.com/activation-atlas/build"
WEB_GRID_TEMPLATE = ("{root}/{id}/web/web--grid_size={grid}--layout={layout}--class_filter={class_filter}"
                     "--filter={filter}--layer={layer}--model={model}--sample_images={sample_images}"
                     "--sample_type={sample_type}.json")


@dataclass
class PublishedGrid:
    """A grid read from the article app's web JSON: cells keyed by (row, col)."""

    n: int
    cells: dict = field(default_factory=dict)  # (row, col) -> {"count", "top", "values"}
    source: str = ""


def aligned_activation_urls(layer: str, model: str = "InceptionV1", pages: int = ALIGNED_PAGES) -> list[str]:
    """The URLs of Lucid's aligned activation pages of one layer (e.g. ``mixed4c``)."""
    return [ALIGNED_ACTIVATIONS_URL.format(model=model, layer=layer, page=p) for p in range(pages)]


def web_grid_url(config: dict, grid: int, layer: str | None = None, layout_index: int = 0,
                 root: str = ATLAS_BUILD_ROOT) -> str:
    """The web JSON URL of one grid size of a published build config (``<id>/<id>.json``)."""
    def first(value, index=0):
        return value[index] if isinstance(value, list) else value

    return WEB_GRID_TEMPLATE.format(
        root=root, id=config["id"], grid=grid, layout=first(config["layout"], layout_index),
        class_filter=first(config.get("class_filter")) or "None", filter=first(config.get("filter")) or "None",
        layer=layer or first(config["layer"]), model=config["model"], sample_images=config["sample_images"],
        sample_type=config["sample_type"])


def _local(path_or_url: str, cache: str | None) -> str:
    if path_or_url.startswith(("http://", "https://")):
        return storage.fetch(path_or_url, os.path.basename(path_or_url), cache)
    return path_or_url


def aligned_activation_pages(paths: Sequence[str], cache: str | None = None) -> tuple[int, Iterator[np.ndarray]]:
    """(rows in all, the pages one at a time as float32 [rows, C]): pages read lazily, so any
    number of them fits in memory. Their shapes are checked up front (local, downloaded once)."""
    if not paths:
        raise ValueError("no activation pages given")
    local = [_local(path, cache) for path in paths]
    shapes = [_page_shape(path) for path in local]
    for path, shape in zip(paths, shapes):
        if len(shape) != 2:
            raise ValueError(f"{path}: expected a 2-D page of activation vectors, got shape {shape}")
        if shape[1] != shapes[0][1]:
            raise ValueError(f"{path}: {shape[1]} channels, but earlier pages have {shapes[0][1]}")
    pages = (storage.load_npy(path).astype(np.float32, copy=False) for path in local)
    return sum(shape[0] for shape in shapes), pages


def _page_shape(path: str) -> tuple:
    """An .npy page's shape without reading its data (whole read for remote files)."""
    if "://" in path:
        return storage.load_npy(path).shape
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False).shape
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable .npy page of activation vectors ({err})") from None


def load_aligned_activations(paths: Sequence[str], cache: str | None = None) -> np.ndarray:
    """All rows [N, C] of the given pages (local paths, gs:// paths or URLs, downloaded once)."""
    _, pages = aligned_activation_pages(paths, cache)
    return np.concatenate(list(pages))


def read_web_grid(path: str, grid: int | None = None, cache: str | None = None) -> PublishedGrid:
    """A published web JSON grid; x is the column, y the row. ``grid`` defaults to max(x, y) + 1."""
    with open(_local(path, cache), encoding="utf-8") as f:
        cells = json.load(f)
    if not isinstance(cells, list):
        raise ValueError(f"{path}: expected a list of cells with x, y, n, i, v")
    out = PublishedGrid(n=0, source=path)
    for raw in cells:
        if raw is None:
            continue
        x, y = raw.get("x", raw.get("grid_x")), raw.get("y", raw.get("grid_y"))
        if x is None or y is None:
            raise ValueError(f"{path}: a cell without x/y: {str(raw)[:80]}")
        top = list(raw.get("i", raw.get("top_class_indices", [])))
        values = list(raw.get("v", raw.get("top_class_values", [])))
        out.cells[(int(y), int(x))] = {"count": int(raw.get("n", raw.get("num_activations", 0))),
                                       "top": [int(c) for c in top], "values": [float(v) for v in values]}
    out.n = grid or (max(max(r, c) for r, c in out.cells) + 1 if out.cells else 0)
    return out


def read_layout(path: str) -> np.ndarray:
    """Layout coordinates [N, 2] from ``.npy`` or a JSON list of pairs."""
    if path.endswith(".npy"):
        xy = storage.load_npy(path)
    else:
        with open(path, encoding="utf-8") as f:
            xy = np.asarray(json.load(f), np.float32)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"{path}: expected [N, 2] layout coordinates, got shape {xy.shape}")
    return xy.astype(np.float32)
