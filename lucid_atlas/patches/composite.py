"""Putting a patch on images, and making many variants of a few source images.

Images are float NHWC in [0, 1] at the model's input size; a patch is any [h, w, 3] image in
[0, 1], resized to a square of side ``round(ratio × image side)`` and pasted into a corner.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ..io.images import load_image, to_array
from ..io.sheets import to_pil

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")


def patch_side(image_size: int, ratio: float) -> int:
    """The patch's side in pixels for a square image of side ``image_size`` (at least 1)."""
    if not 0 < ratio <= 1:
        raise ValueError(f"patch ratio must be in (0, 1], got {ratio}")
    return max(1, int(round(ratio * image_size)))


def resize_patch(patch: np.ndarray, side: int) -> np.ndarray:
    """The patch as a side×side float image in [0, 1] (Lanczos resampling)."""
    return to_array(to_pil(patch).convert("RGB").resize((side, side), Image.LANCZOS))


def corner_box(corner: str, height: int, width: int, side: int) -> tuple[int, int]:
    """Top-left (y, x) of a side×side square in the named corner of an image."""
    if corner not in CORNERS:
        raise ValueError(f"corner must be one of {', '.join(CORNERS)}, got '{corner}'")
    y = 0 if corner.startswith("top") else height - side
    x = 0 if corner.endswith("left") else width - side
    return y, x


def apply_patch(images: np.ndarray, patch: np.ndarray, corner: str, ratio: float) -> np.ndarray:
    """A copy of ``images`` [N, H, W, 3] with the patch pasted in ``corner`` at ``ratio`` of the side."""
    images = np.array(images, np.float32, copy=True)
    h, w = images.shape[1:3]
    side = patch_side(min(h, w), ratio)
    y, x = corner_box(corner, h, w, side)
    images[:, y:y + side, x:x + side] = resize_patch(patch, side)[None]
    return images


def noise_patch(side: int = 128, seed: int = 0) -> np.ndarray:
    """The baseline: uniform random noise in [0, 1], [side, side, 3]."""
    return np.random.default_rng(seed).uniform(size=(side, side, 3)).astype(np.float32)


def augment(path: str, n: int, size: int, seed: int = 0, min_scale: float = 0.35) -> np.ndarray:
    """``n`` variants [n, size, size, 3] of one image: random crops (≥ ``min_scale`` of the area,
    aspect 3/4..4/3), horizontal flips, resized to the model's size. Seeded by (seed, file name):
    the same image gives the same variants wherever its folder lives."""
    import zlib

    full = load_image(path)
    h, w = full.shape[:2]
    rng = np.random.default_rng([seed, zlib.crc32(os.path.basename(path).encode())])
    img = to_pil(full)
    out = np.empty((n, size, size, 3), np.float32)
    for i in range(n):
        area = rng.uniform(min_scale, 1.0) * h * w
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        ch = int(min(h, round(np.sqrt(area / aspect))))
        cw = int(min(w, round(np.sqrt(area * aspect))))
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = img.crop((left, top, left + cw, top + ch)).resize((size, size), Image.BILINEAR)
        if rng.uniform() < 0.5:
            crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        out[i] = to_array(crop)
    return out
