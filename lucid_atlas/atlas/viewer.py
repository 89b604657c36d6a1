"""A self-contained static site to explore atlases in the browser: pan, zoom, hover, search.

The site (HTML + JS + CSS, one icon sprite per grid, example thumbnails, and the data as a
``data.js`` script so it opens from ``file://``) is written next to the atlas; no build step and
nothing fetched from the network. Every atlas-like JSON of a folder (``atlas_<n>.json``,
``class_*.json``, ``compare_*.json``) becomes one entry of the grid menu; several folders
become several layers.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import shutil
from typing import Sequence

from PIL import Image

from ..io import storage
from ..io.images import ImageReadError, load_image
from ..io.sheets import to_pil

ASSETS = os.path.join(os.path.dirname(__file__), "viewer_assets")
THUMB = 96


def atlas_descriptions(atlas_dir: str) -> list[tuple[str, dict]]:
    """(stem, JSON) of every atlas-like description in a folder: main grids first, by size."""
    found = []
    for name in sorted(os.listdir(atlas_dir)):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(atlas_dir, name), encoding="utf-8") as f:
                desc = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(desc, dict) and isinstance(desc.get("cells"), list) and _grid_size(desc):
            found.append((name[:-5], desc))
    found.sort(key=lambda item: (not item[0].startswith("atlas_"), _grid_size(item[1]), item[0]))
    if not found:
        raise FileNotFoundError(f"no atlas JSON (atlas_<n>.json, class_*.json, compare_*.json) in {atlas_dir}; "
                                "build one with lucid-atlas atlas / class-atlas / compare-classes first")
    return found


def _grid_size(desc: dict) -> int:
    return int(desc.get("grid") or (desc.get("settings") or {}).get("grid") or 0)


def _icon_size(desc: dict) -> int:
    return int(desc.get("icon_size") or (desc.get("icons") or {}).get("size") or 64)


def _sprite(atlas_dir: str, desc: dict, n: int, icon: int) -> Image.Image:
    """All icons of a grid on one n·icon square canvas (white where a cell is empty)."""
    sheet = Image.new("RGB", (n * icon, n * icon), (255, 255, 255))
    for cell in desc["cells"]:
        path = os.path.join(atlas_dir, cell["icon"])
        if os.path.exists(path):
            with Image.open(path) as img:
                sheet.paste(img.convert("RGB").resize((icon, icon), Image.LANCZOS),
                            (cell["col"] * icon, cell["row"] * icon))
    return sheet


def _thumbnail(path: str, out_dir: str) -> str | None:
    """A small JPEG of an example image under ``assets/examples``; None if it cannot be read."""
    key = hashlib.sha1(path.encode()).hexdigest()[:16]
    rel = f"assets/examples/{key}.jpg"
    target = os.path.join(out_dir, rel)
    if not os.path.exists(target):
        try:
            img = to_pil(load_image(path, THUMB))
        except (ImageReadError, FileNotFoundError):
            return None
        buf = io.BytesIO()
        img.convert("RGB").save(buf, format="JPEG", quality=85)
        storage.atomic_write_bytes(target, buf.getvalue())
    return rel


def _title(stem: str, desc: dict) -> str:
    if "classes" in desc and len(desc["classes"]) == 2:
        return f"{desc['classes'][0]} vs {desc['classes'][1]} ({_grid_size(desc)}×{_grid_size(desc)})"
    if "class" in desc:
        return f"class: {desc['class']} ({_grid_size(desc)}×{_grid_size(desc)})"
    return f"{_grid_size(desc)} × {_grid_size(desc)}"


def _params(desc: dict) -> dict:
    s, icons = desc.get("settings") or {}, desc.get("icons") or {}
    keep = {"positions": s.get("positions"), "layout": s.get("method"), "min count": s.get("min_count"),
            "steps": icons.get("steps"), "class purity": desc.get("class_purity"),
            "rows kept": desc.get("rows_kept")}
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in keep.items() if v is not None}


def sprite_path(layer_index: int, stem: str) -> str:
    """Where the viewer writes a grid's icon sprite, relative to its site folder."""
    return f"assets/{layer_index}/{stem}.png"


def site_data(atlas_dirs: Sequence[str], out_dir: str) -> dict:
    """The viewer's data (also written as ``data.js``); writes sprites and thumbnails as it goes."""
    layers = []
    for k, atlas_dir in enumerate(atlas_dirs):
        grids, head = [], None
        for stem, desc in atlas_descriptions(atlas_dir):
            head = head or desc
            n, icon = _grid_size(desc), _icon_size(desc)
            sprite_rel = sprite_path(k, stem)
            buf = io.BytesIO()
            _sprite(atlas_dir, desc, n, icon).save(buf, format="PNG")
            storage.atomic_write_bytes(os.path.join(out_dir, sprite_rel), buf.getvalue())
            cells = []
            for cell in desc["cells"]:
                examples = []
                for path in cell.get("example_images", [])[:4]:
                    examples.append({"name": os.path.basename(str(path)), "thumb": _thumbnail(str(path), out_dir)})
                cells.append({"row": cell["row"], "col": cell["col"], "count": cell["count"],
                              "top": [{"label": str(t.get("label", t.get("index"))), "share": t["share"]}
                                      for t in cell.get("top_classes", [])],
                              "examples": examples})
            grids.append({"title": _title(stem, desc), "stem": stem, "n": n, "icon": icon, "sprite": sprite_rel,
                          "cells": cells, "params": _params(desc)})
        layers.append({"model": head.get("model"), "layer": head.get("layer"), "rows": head.get("rows"),
                       "images": head.get("images"), "source": os.path.abspath(atlas_dir), "grids": grids})
    return {"layers": layers}


def write_site(atlas_dirs: Sequence[str] | str, out_dir: str | None = None) -> str:
    """Write the viewer for one or more atlas folders; returns the path of its ``index.html``."""
    atlas_dirs = [atlas_dirs] if isinstance(atlas_dirs, str) else list(atlas_dirs)
    for d in atlas_dirs:
        if not os.path.isdir(d):
            raise FileNotFoundError(f"atlas folder '{d}' does not exist")
    out_dir = out_dir or os.path.join(atlas_dirs[0], "viewer")
    os.makedirs(out_dir, exist_ok=True)
    data = site_data(atlas_dirs, out_dir)
    # ensure_ascii keeps U+2028/2029 and any non-ASCII label safe inside a JS file.
    script = "window.ATLAS_DATA = " + json.dumps(data, ensure_ascii=True).replace("</", "<\\/") + ";\n"
    storage.atomic_write_bytes(os.path.join(out_dir, "data.js"), script.encode())
    for name in ("index.html", "viewer.js", "viewer.css"):
        shutil.copyfile(os.path.join(ASSETS, name), os.path.join(out_dir, name))
    return os.path.join(out_dir, "index.html")


def serve(site_dir: str, port: int = 8000, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """An HTTP server for the site folder (call ``serve_forever()``; ``port=0`` picks a free port)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=site_dir)
    return http.server.ThreadingHTTPServer((host, port), handler)
