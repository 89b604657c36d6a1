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
from tqdm.auto import tqdm

from ..atlas.grid import Cell
from ..atlas.render import IconSettings, render_cells
from .composite import CORNERS, noise_patch
from .evaluate import DEFAULT_RATIOS, class_probabilities, rank_key, run_patch, summarize
from .photos import Candidate, PhotoSettings


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
    """Which patch candidates are tried: renderings (sides in pixels, render steps, icon recipes —
    ``IconSettings`` preset names — and renders per direction, each its own candidate), photos
    behind the distinctive cells, the user's photos, and how many reach the full size sweep."""

    sizes: tuple[int, ...] = (64, 128)
    steps: int = 512
    recipes: tuple[str, ...] = ("default", "notebook")
    tries: int = 2
    photos: PhotoSettings = PhotoSettings()  # natural-image candidates (photos.images = 0: none)
    photo_dir: str | None = None  # a folder of the user's own photos to try whole
    finalists: int = 12  # candidates tried at every size after a screen at the largest

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
                      progress: bool = True) -> list[Candidate]:
    """``tries`` feature visualizations (``icons.size``² px, [0, 1]) of each direction, each its own
    candidate named "<direction>, <label> <size> px, try <t>"; cached as PNGs in ``folder``."""
    cells = [Cell(t, k, 1, np.asarray(d, np.float32)) for t in range(tries) for k, d in enumerate(directions)]
    icons = dataclasses.replace(icons, tries=1, batch=max(1, min(len(cells), 32)))
    rendered = render_cells(model, layer, cells, folder, icons, whitening, progress)
    prefix = f"{label} " if label else ""
    return [Candidate(f"{names[c.col]}, {prefix}{icons.size} px, try {c.row}", rendered[(c.row, c.col)],
                      {"direction": names[c.col], "recipe": label, "size": icons.size, "try": c.row})
            for c in cells]


def split_variants(images: np.ndarray, held_out_share: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(discovery, held-out) halves of the variants; variants are i.i.d., so the split is by index."""
    cut = int(round(len(images) * (1 - held_out_share)))
    if cut < 1 or cut >= len(images):
        raise ValueError(f"need at least 2 source images or variants to discover and then score a patch, "
                         f"got {len(images)}; use --augment N")
    return images[:cut], images[cut:]


def _as_candidate(item) -> Candidate:
    return item if isinstance(item, Candidate) else Candidate(item[0], item[1])


def discover(model, images: np.ndarray, source: int, target: int, candidates: Sequence,
             ratios: Sequence[float] = DEFAULT_RATIOS, corners: Sequence[str] = CORNERS,
             held_out_share: float = 0.5, noise_seed: int = 0, finalists: int = 12,
             progress: bool = True) -> Discovery:
    """Pick the best candidate on the discovery half; score it and the noise patch on the held-out half.

    ``candidates``: :class:`~.photos.Candidate` or (name, patch) pairs. With more than
    ``finalists`` of them, all are first screened at the largest size only (every corner), and the
    best ``finalists`` are tried at every size; both rounds use the discovery half only.
    """
    candidates = [_as_candidate(c) for c in candidates]
    if not candidates:
        raise ValueError("no patch candidates to try")
    tune, test = split_variants(images, held_out_share)
    tune_before, test_before = class_probabilities(model, tune), class_probabilities(model, test)
    screened, screen_rows = candidates, []
    if len(candidates) > finalists:
        first = []
        for k, c in enumerate(tqdm(candidates, desc="screen patch candidates", unit="patch", disable=not progress)):
            trial = run_patch(model, tune, c.patch, source, target, c.name, corners, [max(ratios)],
                              before=tune_before)
            first.append((summarize(trial, model.labels), k, c))
        first.sort(key=lambda item: (rank_key(item[0]), -item[1]), reverse=True)
        screened = [c for _, _, c in first[:finalists]]
        screen_rows = [{"patch": c.name, "dynamic_rate_at_largest": row["dynamic_rate"],
                        "p_target_after_dynamic": row["p_target_after_dynamic"], "origin": c.origin}
                       for row, _, c in first]
    scored = []
    for c in tqdm(screened, desc="try finalists at every size", unit="patch", disable=not progress):
        trial = run_patch(model, tune, c.patch, source, target, c.name, corners, ratios, before=tune_before)
        scored.append((summarize(trial, model.labels), c))
    scored.sort(key=lambda item: rank_key(item[0]), reverse=True)
    best_row, best = scored[0]
    config = best_row["static_config"]
    noise = noise_patch(best.patch.shape[0], noise_seed)
    patch_trial = run_patch(model, test, best.patch, source, target, best.name, corners, ratios, before=test_before)
    noise_trial = run_patch(model, test, noise, source, target, "random noise", corners, ratios, before=test_before)
    held_out = [summarize(patch_trial, model.labels, config), summarize(noise_trial, model.labels)]
    rows = [{**row, "origin": c.origin} for row, c in scored]
    return Discovery(best.name, best.patch, config, rows, held_out,
                     {"patch": patch_trial, "noise": noise_trial, "held_out_images": test,
                      "screen": screen_rows, "origin": best.origin})
