"""Build a microscope site: for each layer, the top-image pass, the units' renders, their crops, the pages.

Every stage saves what it finishes (the pass in shards, each unit's pictures as its batch
completes, each crop), so a killed build resumes where it stopped and a rerun of a finished one
renders nothing. A layer's data script is written only after all of its files, so the site never
shows a half-built layer as complete.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from typing import Sequence

import tensorflow as tf
from tqdm.auto import tqdm

from ..atlas import viewer
from ..atlas.collect import spatial_shape
from ..atlas.executors import make_executor
from ..io import sheets, storage
from ..io.images import resolve_paths
from ..toolbox.saliency import receptive_fraction
from ..toolbox.topk import LayerMaxima, crop_side
from . import pages
from .units import UnitJob, UnitJobRenderer, missing, unit_files, write_unit_files


class MicroscopeError(ValueError):
    """A build that cannot go on, said in one line (bad layer, no images, a full disk)."""


@dataclass(frozen=True)
class MicroscopeSettings:
    """How a site is built. ``size`` (px), ``steps``, ``seed``: a unit's render, as the toolbox renders a
    unit; ``batch``: units per render batch (speed; a unit's picture equals its toolbox render up to
    the floating-point rounding of the batch's kernels); ``top_k`` crops per unit, cut to ``crop_context``
    × the layer's receptive field (at least ``min_crop`` of the image side) from the image at
    ``crop_scale`` × the model's size, saved at ``crop`` px; ``class_k`` top images whose classes are
    counted; ``thumb`` px thumbnails; ``diversity``: images of a diversity set per unit (0 = none),
    with ``diversity_weight``; ``negative``: also the image that drives each unit down."""

    size: int = 128
    steps: int = 256
    seed: int = 0
    batch: int = 32
    top_k: int = 9
    class_k: int = 32
    crop: int = 64
    crop_scale: int = 2
    crop_context: float = 1.0
    min_crop: float = 0.12
    thumb: int = 64
    diversity: int = 0
    diversity_weight: float = 1.0
    negative: bool = False

    @property
    def preset(self) -> tuple[str, str, int, int]:
        """The toolbox's name for this render (its cache key): ours, at this size and step count."""
        return ("ours", "lucid", self.size, self.steps)


def parse_units(spec: str | None, depth: int) -> list[int]:
    """``"0:64"``, ``"5"``, ``"0:8,100,200:210"`` (None: every unit) as sorted channels below ``depth``."""
    if not spec:
        return list(range(depth))
    chosen: set[int] = set()
    for part in str(spec).split(","):
        try:
            if ":" in part:
                a, b = part.split(":", 1)
                chosen.update(range(int(a or 0), min(int(b) if b else depth, depth)))
            else:
                chosen.add(int(part))
        except ValueError:
            raise MicroscopeError(f"--units '{spec}': use a range like 0:64, a unit like 5, "
                                  "or a list 0:8,100") from None
    bad = sorted(c for c in chosen if not 0 <= c < depth)
    if bad:
        raise MicroscopeError(f"--units {bad[0]} is out of range: the layer has {depth} units (0..{depth - 1})")
    if not chosen:
        raise MicroscopeError(f"--units '{spec}' selects no unit (the layer has {depth})")
    return sorted(chosen)


def check_layers(model, layers: Sequence[str]) -> list[str]:
    """The layers, each known to the model and spatial (a unit needs a map to crop its top images)."""
    if not layers:
        raise MicroscopeError("name at least one layer (--layers a,b,c); see lucid-atlas layers")
    spatial = [info.name for info in model.layers if info.kind == "conv"]
    for layer in layers:
        info = model.layer(layer)  # unknown: a ModelError naming the valid layers
        if info.kind != "conv":
            raise MicroscopeError(f"layer '{layer}' has no spatial map ({info.kind}); a microscope needs conv "
                                  f"layers, e.g. {', '.join(spatial[-3:])}")
    return list(dict.fromkeys(layers))


def _disk_full(exc: BaseException) -> bool:
    return getattr(exc, "errno", None) == errno.ENOSPC or "No space left" in str(exc)


def build(model, layers: Sequence[str], images, out: str, *, units: str | None = None,
          settings: MicroscopeSettings = MicroscopeSettings(), cache: str = os.path.join("out", "toolbox"),
          atlases: Sequence[str] = (), executor=None, progress: bool = True) -> dict:
    """Build (or resume) the site in ``out`` for ``layers`` of ``model``; a summary of what was done.

    :param images: the folder whose images rank the units and give their top crops.
    :param units: which units of each layer (``parse_units``), default all.
    :param cache: the top-image pass and the renders live here, shared with ``lucid-atlas toolbox --out``.
    :param atlases: atlas folders; a layer with one gets a link to its viewer and each unit its strongest cells.
    :param executor: None/'local' or 'ray' (the renders spread over a Ray cluster, same files).
    """
    layers = check_layers(model, layers)
    for layer in layers:  # before any work: a bad --units is said at once
        parse_units(units, model.layer(layer).depth)
    paths = resolve_paths(images)
    if not paths:
        raise MicroscopeError(f"no images in '{images}': point --images at a folder of JPEG/PNG files")
    site = _Site(out, cache, str(images), tuple(paths), units, settings)
    try:
        return _build(model, layers, site, atlases, executor, progress)
    except (OSError, tf.errors.OpError) as exc:
        if _disk_full(exc):
            raise MicroscopeError(f"the disk is full ({exc.__class__.__name__}); every file written so far is "
                                  "complete and kept: free some space and run the same command to resume") from None
        raise


@dataclass(frozen=True)
class _Site:
    """What one build writes where: the site and cache folders, the images, the units, the settings."""

    out: str
    cache: str
    images: str
    paths: tuple[str, ...]
    units: str | None
    settings: MicroscopeSettings


def _build(model, layers: list[str], site: _Site, atlases: Sequence[str], executor, progress: bool) -> dict:
    out, settings = site.out, site.settings
    pages.copy_assets(out)
    atlas_of = _atlases_by_layer(atlases, layers)
    summary = {"model": model.name, "site": os.path.abspath(out), "index": os.path.join(out, "index.html"),
               "images": len(site.paths), "layers": {}}
    built = _built_layers(out, model.name)
    runner, jobs_fn = make_executor(executor), UnitJobRenderer()
    for layer in layers:
        start = time.perf_counter()
        maxima = _top_pass(model, layer, list(site.paths), site.cache, progress)
        if maxima.skipped >= len(site.paths):
            raise MicroscopeError(f"none of the {len(site.paths)} files in '{site.images}' could be read as an image")
        channels = parse_units(site.units, model.layer(layer).depth)
        rendered = _render(model, layer, channels, site, runner, jobs_fn, progress)
        side = crop_side(receptive_fraction(model, layer), settings.crop_context, settings.min_crop)
        bar = tqdm(total=None, desc=f"{layer}: top crops", unit="img", disable=not progress)
        pages.write_crops(maxima, channels, side, out, settings, progress=bar.update)
        bar.close()
        data = _layer_data(model, layer, channels, maxima, settings, atlas_of.get(layer), out)
        pages.write_script(os.path.join(out, pages.layer_script(layer)), "layers", layer, data)
        built[layer] = _layer_entry(layer, data)
        _write_model(model, site, built)
        summary["layers"][layer] = {"units": len(channels), "rendered": rendered, "skipped_images": maxima.skipped,
                                    "seconds": round(time.perf_counter() - start, 1)}
    entries = [built[name] for name in _depth_order(model, built)]
    summary["sheet"] = sheets.save_png(pages.depth_sheet(out, entries), os.path.join(out, "layers.png"))
    summary["site_mb"] = round(_folder_bytes(out) / 1e6, 1)
    return summary


def _depth_order(model, built: dict) -> list[str]:
    """The built layers in the model's order, shallow to deep."""
    order = {info.name: k for k, info in enumerate(model.layers)}
    return sorted(built, key=lambda name: order.get(name, len(order)))


def _top_pass(model, layer: str, paths: list[str], cache: str, progress: bool) -> LayerMaxima:
    """The layer's top-image pass (the toolbox's, cached and resumable), run or read back."""
    maxima = LayerMaxima(model, layer, paths, cache)
    bar = tqdm(total=len(paths), desc=f"{layer}: top images", unit="img", disable=not progress)
    maxima.compute(lambda done, _total: bar.update(done - bar.n))
    bar.close()
    return maxima


def _render(model, layer: str, channels: list[int], site: _Site, runner, jobs_fn, progress: bool) -> int:
    """Render the units whose pictures are missing, a batch at a time; how many units were rendered."""
    out, cache, settings = site.out, site.cache, site.settings
    jobs = []
    for k, start in enumerate(range(0, len(channels), settings.batch)):
        group = tuple(channels[start:start + settings.batch])
        if any(missing(out, cache, model.name, layer, c, settings) for c in group):
            jobs.append(UnitJob(k, layer, group, out, cache, settings))
    todo = sum(len(j.channels) for j in jobs)
    bar = tqdm(total=len(channels), initial=len(channels) - todo, desc=f"{layer}: renders", unit="unit",
               disable=not progress)
    for job, _ in runner.run(model, jobs_fn, jobs):
        for channel in job.channels:
            write_unit_files(out, cache, model.name, layer, channel, settings)
        bar.update(len(job.channels))
    bar.close()
    for channel in channels:  # units rendered before (by the toolbox, or a build killed in between)
        write_unit_files(out, cache, model.name, layer, channel, settings)
    return todo


def _layer_data(model, layer, channels, maxima, settings, atlas, out) -> dict:
    """Everything the layer and unit pages show, by unit."""
    strength = maxima.strength(settings.top_k)
    info = model.layer(layer)
    atlas_link = pages.write_atlas(atlas, out, layer) if atlas else None
    label = {path: pages.image_label(model, path) for path in maxima.paths}
    units = []
    for c in channels:
        files = unit_files(layer, c)
        ranked = maxima.top(c, max(settings.top_k, settings.class_k))
        unit = {"n": c, "score": round(float(strength[c]), 4), "image": files.image, "thumb": files.thumb,
                "top": [{"src": files.crop(r), "label": label[t.path],
                         "file": os.path.basename(t.path), "value": round(t.value, 3)}
                        for r, t in enumerate(ranked[:settings.top_k])
                        if os.path.exists(os.path.join(out, files.crop(r)))],
                "classes": pages.class_counts([label[t.path] for t in ranked[:settings.class_k]])}
        if settings.negative:
            unit["negative"] = files.negative
        if settings.diversity:
            unit["diversity"] = files.diversity
        if atlas:
            unit["cells"] = pages.strongest_cells(atlas, c)
        units.append(unit)
    return {"name": layer, "depth": info.depth, "shape": list(spatial_shape(model, layer)), "units": units,
            "ranked_by": maxima.ranked_by, "top_k": settings.top_k, "images": len(maxima.paths),
            "skipped_images": maxima.skipped,
            "render": {"size": settings.size, "steps": settings.steps},
            "atlas": None if not atlas else {
                "index": atlas_link, "grid": atlas["grid"], "icon": atlas["icon"],
                "sprite": f"{os.path.dirname(atlas_link)}/{viewer.sprite_path(0, atlas['stem'])}"}}


def _layer_entry(layer: str, data: dict) -> dict:
    """The model page's line for a built layer: its size and a strip of its most excited units."""
    strongest = sorted(data["units"], key=lambda u: -u["score"])[:8]
    return {"name": layer, "depth": data["depth"], "shape": data["shape"], "units": len(data["units"]),
            "script": pages.layer_script(layer), "strip": [{"n": u["n"], "thumb": u["thumb"]} for u in strongest]}


def _write_model(model, site: _Site, built: dict) -> None:
    out, settings = site.out, site.settings
    spatial = [{"name": i.name, "depth": i.depth} for i in model.layers if i.kind == "conv"]
    data = {"name": model.name, "input": list(model.image_shape), "images": site.images,
            "n_images": len(site.paths), "layers": spatial, "built": built,
            "render": {"size": settings.size, "steps": settings.steps}}
    pages.write_script(os.path.join(out, "data", "model.js"), "model", None, data)
    storage.write_json(os.path.join(out, "microscope.json"), {"model": model.name, "layers": sorted(built)})


def _built_layers(out: str, model_name: str) -> dict:
    """The layers an earlier build of this site finished for this model (kept on the model page)."""
    path = os.path.join(out, "data", "model.js")
    if not os.path.exists(path):
        return {}
    data = pages.read_script(path)
    return dict(data.get("built", {})) if data.get("name") == model_name else {}


def _atlases_by_layer(atlas_dirs: Sequence[str], layers: Sequence[str]) -> dict:
    found = {}
    for d in atlas_dirs:
        for layer in layers:
            atlas = pages.atlas_cells(d, layer)
            if atlas is not None:
                found[layer] = atlas
    return found


def _folder_bytes(folder: str) -> int:
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(folder) for f in files)


__all__ = ["MicroscopeError", "MicroscopeSettings", "build", "check_layers", "parse_units"]
