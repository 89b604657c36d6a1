"""Compare two atlases of the same model and layer, e.g. ours (from the published activations) vs
the published grid: align the layouts (the 8 flips and rotations of the square, as the article's
loader allows), then per-cell top-class agreement, cosine of cell directions where both atlases
have them, and agreement of the class neighborhoods; a side-by-side picture and a report.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from ..io import sheets, storage
from .published import read_web_grid

TRANSFORMS = ("identity", "rot90", "rot180", "rot270", "flip_x", "flip_y", "transpose", "anti_transpose")


@dataclass
class GridView:
    """What a comparison needs of one atlas grid: cells (row, col) -> count, top classes, direction."""

    n: int
    cells: dict = field(default_factory=dict)
    picture: str | None = None
    name: str = ""


def transform_cell(row: int, col: int, n: int, name: str) -> tuple[int, int]:
    """Where cell (row, col) of an n×n grid lands under one of the 8 symmetries of the square."""
    m = n - 1
    return {"identity": (row, col), "rot90": (col, m - row), "rot180": (m - row, m - col),
            "rot270": (m - col, row), "flip_x": (row, m - col), "flip_y": (m - row, col),
            "transpose": (col, row), "anti_transpose": (m - col, m - row)}[name]


def load_grid(path: str, grid: int | None = None) -> GridView:
    """An atlas folder (``atlas_<n>.json``, with ``grid`` or the largest), one of its JSON files, or a
    published web JSON grid."""
    if os.path.isdir(path):
        sizes = sorted(int(f[6:-5]) for f in os.listdir(path) if f.startswith("atlas_") and f.endswith(".json")
                       and f[6:-5].isdigit())
        if not sizes:
            raise FileNotFoundError(f"no atlas_<n>.json in {path}")
        n = grid or sizes[-1]
        if n not in sizes:
            raise ValueError(f"{path} has grids {sizes}, not {n}")
        path = os.path.join(path, f"atlas_{n}.json")
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, list):
        published = read_web_grid(path, grid)
        return GridView(published.n, {k: {"count": v["count"], "top": v["top"], "direction": None}
                                       for k, v in published.cells.items()}, None, os.path.basename(path))
    n = int(data["grid"])
    view = GridView(n, {}, None, os.path.basename(os.path.dirname(os.path.abspath(path))) + f" ({n}×{n})")
    directions = {}
    dir_path = path[:-5] + "_directions.npz"
    if os.path.exists(dir_path):
        with np.load(dir_path) as d:
            directions = {(int(r), int(c)): v for r, c, v in zip(d["rows"], d["cols"], d["directions"])}
    for cell in data["cells"]:
        key = (cell["row"], cell["col"])
        view.cells[key] = {"count": cell["count"], "top": [t["index"] for t in cell.get("top_classes", [])],
                           "direction": directions.get(key)}
    picture = path[:-5] + ".png"
    view.picture = picture if os.path.exists(picture) else None
    return view


def _agreement(a: GridView, b: GridView, name: str) -> tuple[int, int, float]:
    """(matched cells, cells whose top-1 classes agree, mean direction cosine) with b moved by ``name``."""
    moved = {transform_cell(r, c, b.n, name): cell for (r, c), cell in b.cells.items()}
    matched = agree = 0
    cosines = []
    for key, cell in a.cells.items():
        other = moved.get(key)
        if other is None:
            continue
        matched += 1
        agree += bool(cell["top"] and other["top"] and cell["top"][0] == other["top"][0])
        if cell["direction"] is not None and other["direction"] is not None:
            u, v = cell["direction"], other["direction"]
            cosines.append(float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-12)))
    return matched, agree, float(np.mean(cosines)) if cosines else float("nan")


def _centroids(view: GridView, name: str = "identity") -> dict[int, np.ndarray]:
    """Mean (row, col) of the cells whose top-1 is each class, weighted by counts."""
    sums: dict[int, np.ndarray] = {}
    weights: dict[int, float] = {}
    for (r, c), cell in view.cells.items():
        if not cell["top"]:
            continue
        k = cell["top"][0]
        r, c = transform_cell(r, c, view.n, name)
        sums[k] = sums.get(k, 0) + cell["count"] * np.array([r, c], np.float64) / view.n
        weights[k] = weights.get(k, 0) + cell["count"]
    return {k: sums[k] / weights[k] for k in sums if weights[k] > 0}


def neighborhood_agreement(a: GridView, b: GridView, name: str = "identity", k: int = 5) -> float:
    """Mean overlap of each shared class's k nearest classes (by centroid) in both atlases, in [0, 1]."""
    ca, cb = _centroids(a), _centroids(b, name)
    shared = sorted(set(ca) & set(cb))
    if len(shared) <= k:
        return float("nan")
    pa, pb = np.stack([ca[s] for s in shared]), np.stack([cb[s] for s in shared])

    def knn(p):
        d = np.linalg.norm(p[:, None] - p[None], axis=-1)
        np.fill_diagonal(d, np.inf)
        return np.argsort(d, axis=1)[:, :k]
    na, nb = knn(pa), knn(pb)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(na, nb)]))


def compare(a: GridView, b: GridView) -> dict:
    """Align b to a over the 8 symmetries (most top-1 agreements, then direction cosine) and measure."""
    if a.n != b.n:
        raise ValueError(f"grids differ in size ({a.n} vs {b.n}); compare grids of the same size (--grid)")
    scored = []
    for name in TRANSFORMS:
        matched, agree, cosine = _agreement(a, b, name)
        scored.append((agree, -np.inf if np.isnan(cosine) else cosine, matched, name))
    agree, cosine, matched, best = max(scored)
    identity = next(s for s in scored if s[3] == "identity")
    return {"grid": a.n, "cells_a": len(a.cells), "cells_b": len(b.cells), "alignment": best,
            "matched_cells": matched, "top1_agreement": agree / matched if matched else float("nan"),
            "top1_agreement_unaligned": identity[0] / identity[2] if identity[2] else float("nan"),
            "direction_cosine": None if cosine == -np.inf else round(cosine, 4),
            "neighborhood_agreement": neighborhood_agreement(a, b, best),
            "chance_top1_agreement": _chance(a, b)}


def _chance(a: GridView, b: GridView) -> float:
    """Top-1 agreement expected if b's cells were shuffled: Σ_c p_a(c) p_b(c)."""
    ta = [c["top"][0] for c in a.cells.values() if c["top"]]
    tb = [c["top"][0] for c in b.cells.values() if c["top"]]
    if not ta or not tb:
        return float("nan")
    classes = set(ta) | set(tb)
    return float(sum(ta.count(k) / len(ta) * tb.count(k) / len(tb) for k in classes))


def _picture(view: GridView, name: str, size: int, labels=None) -> Image.Image:
    """The atlas PNG when there is one, else a grid of top-class labels; moved by ``name``."""
    if view.picture:
        with Image.open(view.picture) as img:
            img = img.convert("RGB").resize((size, size))
    else:
        img = Image.new("RGB", (size, size), "white")
        draw = ImageDraw.Draw(img)
        step = size / view.n
        font = sheets.load_font(max(8, int(step / 4)))
        top = max((c["count"] for c in view.cells.values()), default=1)
        for (r, c), cell in view.cells.items():
            shade = int(235 - 120 * np.log1p(cell["count"]) / np.log1p(top))
            box = [c * step, r * step, (c + 1) * step - 1, (r + 1) * step - 1]
            draw.rectangle(box, fill=(shade, shade, 255))
            if cell["top"]:
                text = str(labels[cell["top"][0]]) if labels is not None and cell["top"][0] < len(labels) \
                    else str(cell["top"][0])
                draw.text((box[0] + 2, box[1] + 2), text[:10], fill="black", font=font)
    # transform_cell's "rot90" sends (r, c) to (c, m - r): PIL's ROTATE_270 (clockwise) does that.
    ops = {"identity": [], "rot90": [Image.Transpose.ROTATE_270], "rot180": [Image.Transpose.ROTATE_180],
           "rot270": [Image.Transpose.ROTATE_90], "flip_x": [Image.Transpose.FLIP_LEFT_RIGHT],
           "flip_y": [Image.Transpose.FLIP_TOP_BOTTOM], "transpose": [Image.Transpose.TRANSPOSE],
           "anti_transpose": [Image.Transpose.TRANSVERSE]}[name]
    for op in ops:
        img = img.transpose(op)
    return img


def side_by_side(a: GridView, b: GridView, alignment: str, *, path: str, size: int = 640, labels=None) -> str:
    """PNG: atlas a, and atlas b moved by the alignment, with their names."""
    canvas = Image.new("RGB", (2 * size + 30, size + 30), "white")
    canvas.paste(_picture(a, "identity", size, labels), (10, 25))
    canvas.paste(_picture(b, alignment, size, labels), (size + 20, 25))
    draw = ImageDraw.Draw(canvas)
    font = sheets.load_font(14)
    draw.text((10, 5), a.name, fill="black", font=font)
    draw.text((size + 20, 5), f"{b.name} ({alignment})", fill="black", font=font)
    return sheets.save_png(np.asarray(canvas, np.float32) / 255.0, path)


def compare_atlases(path_a: str, path_b: str, out_dir: str, grid: int | None = None, labels=None) -> dict:
    """Load, align, measure; write ``compare.png`` and ``compare.json`` under ``out_dir``."""
    a, b = load_grid(path_a, grid), load_grid(path_b, grid or None)
    report = compare(a, b)
    report.update({"a": path_a, "b": path_b})
    report["picture"] = side_by_side(a, b, report["alignment"], path=os.path.join(out_dir, "compare.png"),
                                     labels=labels)
    storage.write_json(os.path.join(out_dir, "compare.json"), report)
    return report
