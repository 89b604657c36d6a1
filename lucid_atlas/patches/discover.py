"""Automatic patch discovery: the article picked its patches by hand from comparison atlases.

Candidates are feature visualizations of the comparison's most target-distinctive cells,
rendered at patch resolution with one or more icon recipes (:class:`CandidateSettings`): the
judge-readable default icons and the notebook's texture-rich ones make different patches, and
which works better depends on the pair. Each is tried on the *discovery* half of the source variants;
the best one (dynamic rate, then static rate, then target probability) and its static corner
and size are then scored, with the noise baseline, on the *held-out* half only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..atlas.grid import Cell
from ..atlas.render import IconSettings, render_cells
from .composite import CORNERS, noise_patch
from .evaluate import DEFAULT_RATIOS, class_probabilities, run_patch, summarize


@dataclass
class Discovery:
    """The winner, every candidate's discovery-half score, and held-out rows (patch, noise)."""

    best: str
    best_patch: np.ndarray
    static_config: tuple[int, int]
    candidates: list[dict]
    held_out: list[dict]
    trials: dict


@dataclass(frozen=True)
class CandidateSettings:
    """How rendered patch candidates are made: sides in pixels, render steps, icon recipes
    (``IconSettings`` preset names) and renders per direction (each its own candidate)."""

    sizes: tuple[int, ...] = (64, 128)
    steps: int = 512
    recipes: tuple[str, ...] = ("default", "notebook")
    tries: int = 2

    def __post_init__(self):
        if not self.sizes or not self.recipes or min(*self.sizes, self.steps, self.tries) < 1:
            raise ValueError("candidate sizes, steps and tries must be positive, with at least one size and recipe")
        for recipe in self.recipes:
            IconSettings.preset(recipe)  # an unknown recipe fails here, naming the valid ones

    def icon_settings(self, recipe: str, size: int, seed: int) -> IconSettings:
        """One recipe's icon settings at one size (one try per render: tries are separate candidates)."""
        return IconSettings.preset(recipe, size=size, steps=self.steps, tries=1, seed=seed)


def render_candidates(model, layer: str, directions: np.ndarray, names: Sequence[str], folder: str,
                      whitening: np.ndarray | None, icons: IconSettings, tries: int = 2, label: str = "",
                      progress: bool = True) -> list[tuple[str, np.ndarray]]:
    """``tries`` feature visualizations (``icons.size``² px, [0, 1]) of each direction, each its own
    candidate named "<direction>, <label> <size> px, try <t>"; cached as PNGs in ``folder``."""
    cells = [Cell(t, k, 1, np.asarray(d, np.float32)) for t in range(tries) for k, d in enumerate(directions)]
    icons = dataclasses.replace(icons, tries=1, batch=max(1, min(len(cells), 32)))
    rendered = render_cells(model, layer, cells, folder, icons, whitening, progress)
    prefix = f"{label} " if label else ""
    return [(f"{names[c.col]}, {prefix}{icons.size} px, try {c.row}", rendered[(c.row, c.col)]) for c in cells]


def split_variants(images: np.ndarray, held_out_share: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(discovery, held-out) halves of the variants; variants are i.i.d., so the split is by index."""
    cut = int(round(len(images) * (1 - held_out_share)))
    if cut < 1 or cut >= len(images):
        raise ValueError(f"need at least 2 source images or variants to discover and then score a patch, "
                         f"got {len(images)}; use --augment N")
    return images[:cut], images[cut:]


def _score(row: dict) -> tuple:
    return row["dynamic_rate"], row["static_rate"], row["p_target_after_dynamic"]


def discover(model, images: np.ndarray, source: int, target: int, candidates: Sequence[tuple[str, np.ndarray]],
             ratios: Sequence[float] = DEFAULT_RATIOS, corners: Sequence[str] = CORNERS,
             held_out_share: float = 0.5, noise_seed: int = 0) -> Discovery:
    """Pick the best candidate on the discovery half; score it and the noise patch on the held-out half."""
    if not candidates:
        raise ValueError("no patch candidates to try")
    tune, test = split_variants(images, held_out_share)
    tune_before, test_before = class_probabilities(model, tune), class_probabilities(model, test)
    scored = []
    for name, patch in candidates:
        trial = run_patch(model, tune, patch, source, target, name, corners, ratios, before=tune_before)
        scored.append((summarize(trial, model.labels), name, patch))
    scored.sort(key=lambda item: _score(item[0]), reverse=True)
    best_row, best_name, best_patch = scored[0]
    config = best_row["static_config"]
    noise = noise_patch(best_patch.shape[0], noise_seed)
    patch_trial = run_patch(model, test, best_patch, source, target, best_name, corners, ratios, before=test_before)
    noise_trial = run_patch(model, test, noise, source, target, "random noise", corners, ratios, before=test_before)
    held_out = [summarize(patch_trial, model.labels, config), summarize(noise_trial, model.labels)]
    return Discovery(best_name, best_patch, config, [row for row, _, _ in scored], held_out,
                     {"patch": patch_trial, "noise": noise_trial, "held_out_images": test})
