"""Pictures out: PNGs and labelled contact sheets from arrays in [0, 1]."""

from __future__ import annotations

import io
import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .storage import atomic_write_bytes


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float pixels in [0, 1] (HxWxC or HxW) to uint8, clipping anything outside."""
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        return arr
    return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_pil(image: np.ndarray) -> Image.Image:
    """A [0, 1] HxW, HxWx1, HxWx3 or HxWx4 array as a PIL image."""
    arr = to_uint8(image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    return Image.fromarray(arr)


def save_png(image: np.ndarray | Image.Image, path: str) -> str:
    """Write one image as PNG (any gfile path), atomically; returns the path."""
    img = image if isinstance(image, Image.Image) else to_pil(image)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return path


def load_font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def fit_text(draw: ImageDraw.ImageDraw, text: str, font, width: int, keep_end: bool = False) -> str:
    """The text, shortened with an ellipsis to fit ``width`` (dropping the start if ``keep_end``)."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[1:] if keep_end else text[:-1]
    return "…" + text if keep_end else text + "…"


def contact_sheet(images: Sequence[np.ndarray], captions: Sequence[str] | None = None,
                  *, columns: int | None = None, pad: int = 4, cell: int | None = None,
                  title: str | None = None, background: int = 255) -> Image.Image:
    """A grid of images with optional one-line captions under each and a title on top."""
    if len(images) == 0:
        raise ValueError("contact_sheet needs at least one image")
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    cell = cell or max(max(np.asarray(im).shape[:2]) for im in images)
    font_size = max(10, min(16, cell // 10))
    font = load_font(font_size)
    small = load_font(max(9, font_size - 3)) if captions and any(len(str(c)) * font_size * 0.55 > cell
                                                           for c in captions) else font
    cap_h = font_size + 6 if captions else 0
    title_h = font_size + 12 if title else 0
    sheet = Image.new("RGB", (columns * (cell + pad) + pad, title_h + rows * (cell + cap_h + pad) + pad),
                      (background,) * 3)
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, pad), fit_text(draw, title, font, sheet.width - 2 * pad), fill=(0, 0, 0), font=font)
    for i, im in enumerate(images):
        r, c = divmod(i, columns)
        x, y = pad + c * (cell + pad), title_h + pad + r * (cell + cap_h + pad)
        tile = to_pil(im).convert("RGB")
        if max(tile.size) != cell:
            scale = cell / max(tile.size)
            resample = Image.LANCZOS if scale < 1 else Image.NEAREST
            tile = tile.resize((max(1, round(tile.width * scale)), max(1, round(tile.height * scale))), resample)
        sheet.paste(tile, (x + (cell - tile.width) // 2, y + (cell - tile.height) // 2))
        if captions and i < len(captions) and captions[i]:
            text = fit_text(draw, str(captions[i]), small, cell, keep_end=True)
            draw.text((x, y + cell + 2), text, fill=(0, 0, 0), font=small)
    return sheet


def save_contact_sheet(images: Sequence[np.ndarray], path: str, **options) -> str:
    """Write :func:`contact_sheet` to a PNG path; returns the path."""
    return save_png(contact_sheet(images, **options), path)
