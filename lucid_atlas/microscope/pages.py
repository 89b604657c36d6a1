"""What a microscope site shows: top-image crops, class counts, atlas cells, and the pages' data.

The site is static: ``index.html`` with ``microscope.js``/``.css``, one data script per layer
(``data/layer_<name>.js``) and one for the model (``data/model.js``), loaded as scripts so the
site opens from ``file://`` as well as from any static server. Data scripts are written last and
atomically: a layer appears on the model page only once all of its files are there.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter, defaultdict
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from ..atlas import viewer
from ..io import sheets, storage
from ..io.images import ImageReadError, label_from_path, load_image
from ..patches.photos import crop_around
from ..toolbox.topk import LayerMaxima
from .units import layer_folder, small_bytes, unit_files

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
ASSET_FILES = ("index.html", "microscope.js", "microscope.css")


def image_label(model, path: str) -> str:
    """The class an image's path names, as the model calls it (``tabby``), else the name as it is."""
    named = label_from_path(path)
    if not named:
        return "?"
    synsets = list(getattr(model, "synsets", None) or ())
    if named in synsets:
        return str(model.labels[synsets.index(named)])
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem.startswith(named + "_"):  # a synset the model does not know: the name after it
        return stem[len(named) + 1:].replace("_", " ")
    return named.replace("_", " ")


def write_crops(maxima: LayerMaxima, channels: Sequence[int], side: float, site: str, settings,
                progress: Callable[[int], None] | None = None) -> int:
    """Each unit's top-``top_k`` crops as ``crop`` px WebPs, each image read once; returns how many images
    were unreadable. The crops are the toolbox's (:func:`~lucid_atlas.toolbox.topk.top_crops`): the
    same images cut around the same peaks, at ``scale`` × the model's size, then resized."""
    h, w = maxima.size
    wanted: dict[str, list] = defaultdict(list)  # path -> [(channel, rank, centre)]
    for channel in channels:
        files = unit_files(maxima.layer, channel)
        if all(storage.exists(os.path.join(site, files.crop(r))) for r in range(settings.top_k)):
            continue
        for rank, item in enumerate(maxima.top(channel, settings.top_k)):
            wanted[item.path].append((channel, rank, item.center))
    unreadable = 0
    for path, uses in wanted.items():
        try:
            image = load_image(path, (h * settings.crop_scale, w * settings.crop_scale))
        except ImageReadError:
            unreadable += 1
            continue
        for channel, rank, centre in uses:
            crop = crop_around(image, centre, side)[0]
            target = os.path.join(site, unit_files(maxima.layer, channel).crop(rank))
            storage.atomic_write_bytes(target, small_bytes(crop, settings.crop))
        if progress:
            progress(1)
    return unreadable


def class_counts(labels: Sequence[str]) -> list[tuple[str, int]]:
    """The classes most represented among a unit's top images' labels, most frequent first."""
    return Counter(labels).most_common(5)


def atlas_cells(atlas_dir: str, layer: str) -> dict | None:
    """The layer's atlas as the unit pages use it: the grid's cells, their directions and the viewer's
    sprite (written under ``atlas/<layer>/`` by :func:`write_atlas`); None if it is another layer's."""
    stem, desc = viewer.atlas_descriptions(atlas_dir)[0]
    if desc.get("layer") != layer:
        return None
    npz = os.path.join(atlas_dir, f"{stem}_directions.npz")
    if not os.path.exists(npz):
        raise FileNotFoundError(f"{npz} is missing: rebuild the atlas in {atlas_dir} with lucid-atlas atlas")
    data = storage.load_npz(npz)
    return {"stem": stem, "grid": int(desc.get("grid") or desc["settings"]["grid"]),
            "icon": int(desc.get("icon_size") or (desc.get("icons") or {}).get("size") or 64),
            "rows": np.asarray(data["rows"]), "cols": np.asarray(data["cols"]),
            "directions": np.asarray(data["directions"], np.float32), "dir": atlas_dir}


def write_atlas(atlas: dict, site: str, layer: str) -> str:
    """The atlas viewer for the layer under ``atlas/<layer>/``; its index path relative to the site."""
    rel = "atlas/" + layer_folder(layer).split("/", 1)[1]
    viewer.write_site([atlas["dir"]], os.path.join(site, rel))
    return f"{rel}/index.html"


def strongest_cells(atlas: dict, channel: int, k: int = 3) -> list[dict]:
    """The ``k`` cells whose direction weighs the unit most (its share of each unit-length direction)."""
    d = atlas["directions"]
    weight = d[:, channel] / (np.linalg.norm(d, axis=1) + 1e-9)
    order = np.argsort(-weight, kind="stable")[:k]
    return [{"row": int(atlas["rows"][i]), "col": int(atlas["cols"][i]), "weight": round(float(weight[i]), 3)}
            for i in order if weight[i] > 0]


def write_script(path: str, target: str, key: str | None, data) -> None:
    """``data`` as a script assigning it to ``window.MICROSCOPE[target]`` (``[key]``), written atomically."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("</", "<\\/")
    lhs = f"MICROSCOPE.{target}" + (f"[{json.dumps(key)}]" if key is not None else "")
    script = f"window.MICROSCOPE = window.MICROSCOPE || {{layers: {{}}}};\n{lhs} = {text};\n"
    storage.atomic_write_bytes(path, script.encode("utf-8"))


def read_script(path: str):
    """The data a script from :func:`write_script` assigns."""
    text = storage.read_bytes(path).decode("utf-8")
    return json.loads(text.rstrip().rsplit("\n", 1)[-1].split(" = ", 1)[1].rstrip(";"))


def layer_script(layer: str) -> str:
    """The data script of a layer, relative to the site."""
    return "data/layer_" + layer_folder(layer).split("/", 1)[1] + ".js"


def depth_sheet(site: str, entries: Sequence[dict], per_layer: int = 8) -> Image.Image:
    """The most excited units of each built layer, a row per layer in the given order (shallow to deep):
    what changes with depth, on one labelled sheet."""
    images, captions = [], []
    for entry in entries:
        for unit in entry["strip"][:per_layer]:
            with Image.open(os.path.join(site, unit_files(entry["name"], unit["n"]).image)) as picture:
                images.append(np.asarray(picture.convert("RGB"), np.float32) / 255.0)
            captions.append(f"{entry['name']} {unit['n']}")
    return sheets.contact_sheet(images, captions, columns=per_layer,
                                title="the most excited units of each layer, shallow to deep")


def copy_assets(site: str) -> None:
    """The page, its script and its style into the site folder."""
    storage.makedirs(site)
    for name in ASSET_FILES:
        shutil.copyfile(os.path.join(ASSETS, name), os.path.join(site, name))
