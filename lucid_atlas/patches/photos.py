"""Natural-image patch candidates, the way the article found its patches.

The comparison atlas's most target-distinctive cells are made of collected rows; each row is a
position in one image. A candidate is a crop of such an image around that position (the region
the layer sees there, plus context, at a few sizes) or the whole image. Images of the source or
the target class are left out: pasting the target itself proves nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from PIL import Image

from ..atlas import collect
from ..io.images import ImageReadError, label_from_path, load_image, resolve_paths, to_array
from ..io.sheets import to_pil


@dataclass(frozen=True)
class PhotoSettings:
    """How photo candidates are cut: the ``images`` most distinctive images per direction, each
    cropped at ``crops`` (crop side / image side) around its ``peaks`` strongest positions and,
    with ``whole``, taken whole; ``load_size`` px is the side images are loaded at (fitted as the
    collection saw them)."""

    images: int = 8
    crops: tuple[float, ...] = (0.3, 0.5, 0.7)
    whole: bool = True
    load_size: int = 448
    peaks: int = 1  # crop centres per image: the strongest target-over-source positions, 2+ cells apart

    def __post_init__(self):
        if self.images < 0 or any(not 0 < c <= 1 for c in self.crops):
            raise ValueError("photo candidates: images must be ≥ 0 and crop sides in (0, 1]")


@dataclass
class Candidate:
    """A patch candidate: its name, pixels ([h, w, 3] in [0, 1]) and where it came from."""

    name: str
    patch: np.ndarray
    origin: dict = field(default_factory=dict)


def image_class(model, path: str, predicted: int) -> int:
    """The class of a collected image: its synset or folder name when the path says one, else the
    model's top-1 prediction."""
    named = label_from_path(path)
    if named:
        if named in model.synsets:
            return model.synsets.index(named)
        normalized = named.lower().replace("_", " ")
        for k, label in enumerate(model.labels):
            if label.lower() == normalized:
                return k
    return int(predicted)


def crop_around(image: np.ndarray, center: tuple[float, float], side: float) -> tuple[np.ndarray, tuple]:
    """A square crop of ``side`` (fraction of the image's short side) centred on ``center`` (y, x as
    fractions), moved inside the image; returns the crop and its box (top, left, bottom, right) px."""
    h, w = image.shape[:2]
    s = max(1, int(round(side * min(h, w))))
    top = int(np.clip(round(center[0] * h - s / 2), 0, h - s))
    left = int(np.clip(round(center[1] * w - s / 2), 0, w - s))
    return image[top:top + s, left:left + s], (top, left, top + s, left + s)


def _chosen_images(model, acts, rows_by_direction, excluded: set[int], per_direction: int) -> list[dict]:
    """Per direction, its first ``per_direction`` images (by row order) not of an excluded class and
    not chosen before: direction, row, image path and class."""
    chosen, used = [], set()
    for direction_name, rows in rows_by_direction:
        taken = 0
        for row in rows:
            if taken >= per_direction:
                break
            index = int(acts.image_index[row])
            path = acts.image_ids[index]
            if index in used or not os.path.isfile(path):
                continue
            cls = image_class(model, path, acts.top_classes[row, 0])
            if cls in excluded:
                continue
            used.add(index)
            taken += 1
            chosen.append({"direction": direction_name, "row": int(row), "image": path, "class": cls})
    return chosen


def peak_positions(diff: np.ndarray, k: int, min_gap: int = 2) -> list[tuple[int, int]]:
    """The ``k`` highest positions (y, x) of a map, each at least ``min_gap`` cells (Chebyshev) from
    those before it."""
    order = np.argsort(-diff, axis=None, kind="stable")
    peaks: list[tuple[int, int]] = []
    for flat in order:
        y, x = (int(v) for v in np.unravel_index(int(flat), diff.shape))
        if all(max(abs(y - py), abs(x - px)) >= min_gap for py, px in peaks):
            peaks.append((y, x))
            if len(peaks) == k:
                break
    return peaks


def _focus_positions(model, layer: str, images: np.ndarray, pair: tuple[int, int],
                     peaks: int) -> list[list[tuple[int, int]]]:
    """Per image, the positions where the layer's attribution favours the target over the source most."""
    from ..atlas.attribution import attribution_maps

    maps = attribution_maps(model, layer, list(pair))
    out = []
    for k in range(0, len(images), 16):
        a = maps(images[k:k + 16]).numpy()
        out += [peak_positions(d[..., 1] - d[..., 0], peaks) for d in a]
    return out


def photo_candidates(model, acts, rows_by_direction: Sequence[tuple[str, np.ndarray]], layer: str,
                     *, pair: tuple[int, int], settings: PhotoSettings = PhotoSettings()) -> list[Candidate]:
    """Crops and whole images behind each direction's rows (most distinctive first), never of the
    ``pair`` (source, target) classes. Crops are centred where, in that image, the layer's
    attribution favours the target over the source most (the collected row's own position is
    one random position of the image)."""
    chosen = _chosen_images(model, acts, rows_by_direction, set(pair), settings.images)
    if not chosen:
        return []
    h, w, _ = model.image_shape
    loaded = []
    for item in chosen:
        try:
            loaded.append((item, load_image(item["image"], settings.load_size)))
        except ImageReadError:
            continue
    small = np.stack([to_array(to_pil(image).resize((w, h), Image.BILINEAR)) for _, image in loaded])
    positions = _focus_positions(model, layer, small, pair, settings.peaks)
    fh, fw = collect.spatial_shape(model, layer) or (1, 1)
    out = []
    for (item, image), peaks in zip(loaded, positions):
        label = model.labels[item["class"]]
        stem = os.path.splitext(os.path.basename(item["image"]))[0]
        origin = {"image": item["image"], "class": label, "direction": item["direction"]}
        for y, x in peaks:
            for side in settings.crops:
                crop, box = crop_around(image, ((y + 0.5) / fh, (x + 0.5) / fw), side)
                out.append(Candidate(f"photo {stem} ({label}) at ({y},{x}), crop {side:g}", crop,
                                     {**origin, "position": [y, x], "crop": side, "box": list(box)}))
        if settings.whole:
            out.append(Candidate(f"photo {stem} ({label}), whole", image,
                                 {**origin, "position": list(peaks[0]), "crop": 1.0}))
    return out


def folder_candidates(folder: str, size: int = 448) -> list[Candidate]:
    """The user's own photos as whole-image candidates (unreadable files skipped)."""
    out = []
    for path in resolve_paths(folder):
        try:
            image = load_image(path, size)
        except ImageReadError:
            continue
        out.append(Candidate(f"your photo {os.path.basename(path)}", image, {"image": path, "crop": 1.0}))
    if not out:
        raise FileNotFoundError(f"no readable photos in '{folder}'")
    return out
