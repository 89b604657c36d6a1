"""Where ``--patch auto``'s candidates come from: each layer's source-vs-target comparison, renderings
of its most target-distinctive directions, and photos behind them.

One layer gives a comparison atlas and every rendering of its directions. Several layers are
pooled: their comparisons give directions and photos only (no atlas icons), every direction gets
one sketch (first recipe, smallest size, try 0), and only the directions whose sketches do best on
the discovery variants get every rendering — so three layers cost about one layer's renderings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..atlas import collect
from ..atlas.classes import ClassAtlasSettings, compare_classes, slug
from ..atlas.render import IconSettings
from ..io.images import ImageSource
from .discover import CandidateSettings, render_candidates
from .photos import Candidate, photo_candidates

Ranker = Callable[[list[Candidate]], list[Candidate]]  # candidates best first (on the discovery half)


@dataclass
class LayerComparison:
    """One layer's comparison: its directions toward the target (names, rows behind each, most
    distinctive first), the whitening they are rendered with, and where its collection lives."""

    layer: str
    summary: dict
    directions: np.ndarray
    names: list[str]
    rows: list[tuple[str, np.ndarray]]
    whitening: np.ndarray
    act_dir: str


def activation_dirs(act_dir: str | Sequence[str] | None, layers: Sequence[str], out_dir: str) -> list[str]:
    """One collection folder per layer: the given ones (one per layer, in order) or under ``out_dir``."""
    if act_dir is None:
        return [os.path.join(out_dir, comparison_folder(layer, len(layers)), "activations") for layer in layers]
    dirs = [act_dir] if isinstance(act_dir, (str, os.PathLike)) else list(act_dir)
    if len(dirs) != len(layers):
        raise ValueError(f"give one --activations folder per layer, in --layer order: {len(layers)} layer(s) "
                         f"({', '.join(layers)}), {len(dirs)} folder(s)")
    return [os.fspath(d) for d in dirs]


def comparison_folder(layer: str, n_layers: int) -> str:
    """The comparison's sub-folder: ``comparison`` for one layer, ``comparison_<layer>`` when pooled."""
    return "comparison" if n_layers == 1 else f"comparison_{slug(layer)}"


def compare_layers(model, images: ImageSource, pair: tuple[int, int], out_dir: str, *, settings: ClassAtlasSettings,
                   icons: IconSettings, layers: Sequence[str], act_dirs: Sequence[str],
                   progress: bool = True) -> list[LayerComparison]:
    """Each layer's source-vs-target comparison (its atlas drawn only when there is one layer)."""
    out = []
    for layer, act_dir in zip(layers, act_dirs):
        folder = os.path.join(out_dir, comparison_folder(layer, len(layers)))
        summary = compare_classes(model, images, folder, pair[0], pair[1], dataclasses.replace(settings, layer=layer),
                                  icons, act_dir=act_dir, progress=progress, draw=len(layers) == 1)
        with np.load(summary["directions"]) as d:
            mine = np.flatnonzero(d["side"] == pair[1])
            offsets = d["member_offsets"]
            names = [layer_named(str(d["kind"][i]), layer, len(layers)) for i in mine]
            rows = [(name, d["members"][offsets[i]:offsets[i + 1]]) for name, i in zip(names, mine)]
            out.append(LayerComparison(layer, summary, d["directions"][mine], names, rows, d["whitening"], act_dir))
    return out


def layer_named(name: str, layer: str, n_layers: int) -> str:
    """A direction's or candidate's name: prefixed with its layer when several layers are pooled."""
    return name if n_layers == 1 else f"{layer} {name}"


def sketches_needed(comparisons: Sequence[LayerComparison], settings: CandidateSettings) -> bool:
    """Whether there are more directions than get every rendering (then each is sketched first)."""
    return sum(len(c.directions) for c in comparisons) > settings.rendered_directions


def rendered_candidates(model, comparisons: Sequence[LayerComparison], out_dir: str, target_label: str,
                        *, settings: CandidateSettings, seed: int, rank: Ranker,
                        progress: bool = True) -> list[Candidate]:
    """Renderings of the directions with every recipe at every size, ``tries`` each; with more
    directions than ``settings.rendered_directions``, only those whose sketches ``rank`` best."""
    chosen = {c.layer: list(range(len(c.directions))) for c in comparisons}
    sketches: list[Candidate] = []
    if sketches_needed(comparisons, settings):
        recipe, size = settings.recipes[0], min(settings.sizes)
        for comp in comparisons:
            sketches += _render(model, comp, out_dir, target_label, settings, recipe, size, 1, seed, progress)
        best = rank(sketches)[:settings.rendered_directions]
        chosen = {c.layer: [c.names.index(s.origin["direction"]) for s in best if s.origin["layer"] == c.layer]
                  for c in comparisons}
    out = []
    for recipe in settings.recipes:
        for size in settings.sizes:  # several scales: a patch is seen at 0.1–0.4 of the image
            for comp in comparisons:
                out += _render(model, comp, out_dir, target_label, settings, recipe, size, settings.tries, seed,
                               progress, chosen[comp.layer])
    names = {c.name for c in out}
    return out + [s for s in sketches if s.name not in names]  # the other sketches stay candidates


def _render(model, comp: LayerComparison, out_dir: str, target_label: str, settings: CandidateSettings,
            recipe: str, size: int, tries: int, seed: int, progress: bool,
            only: Sequence[int] | None = None) -> list[Candidate]:
    """One recipe at one size for one layer's directions, cached per (layer, directions, recipe
    settings): a direction's sketch is its try 0 and is not rendered again."""
    icon_settings = settings.icon_settings(recipe, size, seed)
    key = hashlib.sha1(comp.directions.tobytes() + repr((comp.layer, icon_settings)).encode()).hexdigest()[:8]
    folder = os.path.join(out_dir, f"candidates_{slug(target_label)}_{recipe}_{key}")
    return render_candidates(model, comp.layer, comp.directions, comp.names, folder=folder, whitening=comp.whitening,
                             icons=icon_settings,
                             tries=tries, label=recipe, progress=progress, only=only, origin={"layer": comp.layer})


def layer_photos(model, comparisons: Sequence[LayerComparison], pair: tuple[int, int],
                 settings: CandidateSettings) -> list[Candidate]:
    """Photo candidates behind every layer's directions; a crop (or whole photo) two layers point at
    is tried once, under the first layer's name."""
    out, seen = [], set()
    for comp in comparisons:
        acts = collect.load_activations(comp.act_dir)
        for c in photo_candidates(model, acts, comp.rows, comp.layer, pair=pair, settings=settings.photos):
            key = (c.origin["image"], tuple(c.origin.get("box", ())), c.origin["crop"])
            if key in seen:
                continue
            seen.add(key)
            c.origin["layer"] = comp.layer
            c.name = layer_named(c.name, comp.layer, len(comparisons))
            out.append(c)
    return out
