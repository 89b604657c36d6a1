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

from ..io.images import ImageReadError, label_from_path, load_image, resolve_paths


@dataclass(frozen=True)
class PhotoSettings:
    """How photo candidates are cut: the ``images`` most distinctive images per direction, each
    cropped around its row's position at ``crops`` (crop side / image side) and, with ``whole``,
    taken whole; ``load_size`` px is the side images are loaded at (as the collection saw them)."""

    images: int = 3
    crops: tuple[float, ...] = (0.3, 0.5)
    whole: bool = True
    load_size: int = 448

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


def photo_candidates(model, acts, rows_by_direction: Sequence[tuple[str, np.ndarray]], map_shape: tuple[int, int],
                     excluded: set[int], settings: PhotoSettings = PhotoSettings()) -> list[Candidate]:
    """Crops and whole images behind each direction's rows (most distinctive first), skipping images
    of ``excluded`` classes and images already used; ``map_shape`` is the layer's (height, width)."""
    out, used = [], set()
    fh, fw = map_shape
    for direction_name, rows in rows_by_direction:
        taken = 0
        for row in rows:
            if taken >= settings.images:
                break
            index = int(acts.image_index[row])
            path = acts.image_ids[index]
            if index in used or not os.path.isfile(path):
                continue
            cls = image_class(model, path, acts.top_classes[row, 0])
            if cls in excluded:
                continue
            try:
                image = load_image(path, settings.load_size)
            except ImageReadError:
                continue
            used.add(index)
            taken += 1
            y, x = (int(v) for v in acts.positions[row])
            center = (0.5, 0.5) if y < 0 else ((y + 0.5) / fh, (x + 0.5) / fw)
            origin = {"image": path, "class": model.labels[cls], "position": [y, x], "direction": direction_name}
            stem = os.path.splitext(os.path.basename(path))[0]
            for side in settings.crops:
                crop, box = crop_around(image, center, side)
                out.append(Candidate(f"photo {stem} ({model.labels[cls]}) at ({y},{x}), crop {side:g}", crop,
                                     {**origin, "crop": side, "box": list(box)}))
            if settings.whole:
                out.append(Candidate(f"photo {stem} ({model.labels[cls]}), whole", image,
                                     {**origin, "crop": 1.0}))
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
