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


WHOLE_HALF = "discovery half"  # a screen row's ``screened_on`` when every discovery variant was used


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
class ScreenSettings:
    """How candidates are narrowed down on the discovery half before the winner is picked: all of
    them on ``quick_variants`` of its variants, the best ``shortlist`` on all of them (both at the
    largest size, every corner), and the best ``finalists`` at every size."""

    quick_variants: int = 8
    shortlist: int = 48
    finalists: int = 12

    def __post_init__(self):
        if min(self.quick_variants, self.shortlist, self.finalists) < 1:
            raise ValueError("screen sizes (quick variants, shortlist, finalists) must be positive")


@dataclass(frozen=True)
class CandidateSettings:
    """Which patch candidates are tried: renderings (sides in pixels, render steps, icon recipes —
    ``IconSettings`` preset names — and renders per direction, each its own candidate), photos
    behind the distinctive cells, the user's photos, further layers whose comparisons add their
    own directions and photos, and how candidates are screened. With more than
    ``rendered_directions`` directions (several layers), each is first rendered once (first recipe,
    smallest size, try 0), and only the best ones on the discovery half get every rendering."""

    sizes: tuple[int, ...] = (64, 128)
    steps: int = 512
    recipes: tuple[str, ...] = ("vivid", "notebook")  # filled, vivid renderings flip more than calm icons
    tries: int = 2
    photos: PhotoSettings = PhotoSettings()  # natural-image candidates (photos.images = 0: none)
    photo_dir: str | None = None  # a folder of the user's own photos to try whole
    extra_layers: tuple[str, ...] = ()  # layers pooled with the comparison's own
    rendered_directions: int = 6  # directions that get every rendering (one layer's, by default)
    screen: ScreenSettings = ScreenSettings()

    def __post_init__(self):
        if (not self.sizes or not self.recipes
                or min(*self.sizes, self.steps, self.tries, self.rendered_directions) < 1):
            raise ValueError("candidate sizes, steps, tries and rendered directions must be positive, with at "
                             "least one size and recipe")
        for recipe in self.recipes:
            IconSettings.preset(recipe)  # an unknown recipe fails here, naming the valid ones

    def icon_settings(self, recipe: str, size: int, seed: int) -> IconSettings:
        """One recipe's icon settings at one size (one try per render: tries are separate candidates)."""
        return IconSettings.preset(recipe, size=size, steps=self.steps, tries=1, seed=seed)


def render_candidates(model, layer: str, directions: np.ndarray, names: Sequence[str], *, folder: str,
                      whitening: np.ndarray | None, icons: IconSettings, tries: int = 2, label: str = "",
                      progress: bool = True, only: Sequence[int] | None = None,
                      origin: dict | None = None) -> list[Candidate]:
    """``tries`` feature visualizations (``icons.size``² px, [0, 1]) of each direction (or of the
    directions at indices ``only``), each its own candidate named "<direction>, <label> <size> px,
    try <t>"; cached as PNGs in ``folder``. A direction's try starts from the same noise and draws
    the same transforms whichever others are rendered with it (keyed to its index in
    ``directions`` and the try); see docs/feature-visualization.md, "Render loop", for what batch
    size still changes."""
    chosen = range(len(directions)) if only is None else sorted(set(only))
    cells = [Cell(t, k, 1, np.asarray(directions[k], np.float32)) for t in range(tries) for k in chosen]
    if not cells:
        return []
    # a try is a cell row here, so the noise is keyed by the cell (a recipe seeded by direction alone
    # would give every try the same picture)
    icons = dataclasses.replace(icons, tries=1, batch=max(1, min(len(cells), 32)), seeding="cell")
    rendered = render_cells(model, layer, cells, folder, icons, whitening=whitening, progress=progress)
    prefix = f"{label} " if label else ""
    return [Candidate(f"{names[c.col]}, {prefix}{icons.size} px, try {c.row}", rendered[(c.row, c.col)],
                      {**(origin or {}), "direction": names[c.col], "recipe": label, "size": icons.size,
                       "try": c.row})
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


def screen(model, images: np.ndarray, candidates: Sequence[Candidate], source: int, target: int,
           ratio: float, *, corners: Sequence[str] = CORNERS, before: np.ndarray | None = None,
           desc: str = "screen patch candidates", progress: bool = True) -> list[tuple[dict, Candidate]]:
    """Every candidate on ``images`` at one size (every corner), best first (ties keep their order)."""
    before = class_probabilities(model, images) if before is None else before
    rows = []
    for k, c in enumerate(tqdm(candidates, desc=desc, unit="patch", disable=not progress)):
        trial = run_patch(model, images, c.patch, source, target, c.name, corners=corners, ratios=[ratio],
                          before=before)
        rows.append((summarize(trial, model.labels), k, c))
    rows.sort(key=lambda item: (rank_key(item[0]), -item[1]), reverse=True)
    return [(row, c) for row, _, c in rows]


def quick_subset(images: np.ndarray, n: int) -> np.ndarray:
    """``n`` of the variants spread evenly over them (variants come grouped by source image)."""
    if n >= len(images):
        return images
    return images[np.linspace(0, len(images) - 1, n).round().astype(int)]


def discover(model, images: np.ndarray, source: int, target: int, *, candidates: Sequence,
             ratios: Sequence[float] = DEFAULT_RATIOS, corners: Sequence[str] = CORNERS,
             held_out_share: float = 0.5, noise_seed: int = 0, screen_settings: ScreenSettings = ScreenSettings(),
             progress: bool = True) -> Discovery:
    """Pick the best candidate on the discovery half; score it and the noise patch on the held-out half.

    ``candidates``: :class:`~.photos.Candidate` or (name, patch) pairs. With more than
    ``finalists`` of them, they are screened at the largest size only (every corner) — first all on a
    few discovery variants when there are more than the ``shortlist``, then the shortlist on all —
    and the best ``finalists`` are tried at every size; every round uses the discovery half only.
    """
    candidates = [_as_candidate(c) for c in candidates]
    if not candidates:
        raise ValueError("no patch candidates to try")
    s = screen_settings
    tune, test = split_variants(images, held_out_share)
    tune_before, test_before = class_probabilities(model, tune), class_probabilities(model, test)
    screened, screen_rows = candidates, []
    if len(candidates) > s.shortlist and s.quick_variants < len(tune):
        quick = screen(model, quick_subset(tune, s.quick_variants), candidates, source, target, max(ratios),
                       corners=corners, desc=f"screen patch candidates on {s.quick_variants} variants",
                       progress=progress)
        screen_rows = [_screen_row(row, c, f"{s.quick_variants} variants") for row, c in quick]
        screened = [c for _, c in quick[:s.shortlist]]
    if len(screened) > s.finalists:
        first = screen(model, tune, screened, source, target, max(ratios), corners=corners, before=tune_before,
                       progress=progress)
        screen_rows = [_screen_row(row, c, WHOLE_HALF) for row, c in first] + screen_rows[len(first):]
        screened = [c for _, c in first[:s.finalists]]
    scored = []
    for c in tqdm(screened, desc="try finalists at every size", unit="patch", disable=not progress):
        trial = run_patch(model, tune, c.patch, source, target, c.name, corners=corners, ratios=ratios,
                          before=tune_before)
        scored.append((summarize(trial, model.labels), c))
    scored.sort(key=lambda item: rank_key(item[0]), reverse=True)
    best_row, best = scored[0]
    config = best_row["static_config"]
    noise = noise_patch(best.patch.shape[0], noise_seed)
    patch_trial = run_patch(model, test, best.patch, source, target, best.name, corners=corners, ratios=ratios,
                            before=test_before)
    noise_trial = run_patch(model, test, noise, source, target, "random noise", corners=corners, ratios=ratios,
                            before=test_before)
    held_out = [summarize(patch_trial, model.labels, config), summarize(noise_trial, model.labels)]
    rows = [{**row, "origin": c.origin} for row, c in scored]
    return Discovery(best.name, best.patch, config, rows, held_out,
                     {"patch": patch_trial, "noise": noise_trial, "held_out_images": test,
                      "screen": screen_rows, "origin": best.origin})


def _screen_row(row: dict, c: Candidate, screened_on: str) -> dict:
    """A candidate's screen result as saved in ``candidates.json``."""
    return {"patch": c.name, "dynamic_rate_at_largest": row["dynamic_rate"],
            "p_target_after_dynamic": row["p_target_after_dynamic"], "screened_on": screened_on,
            "origin": c.origin}
