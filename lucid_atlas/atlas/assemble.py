"""Stage 5: put icons on the grid: the atlas PNG, a labelled version, and a JSON description."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..io import storage
from ..io.sheets import to_pil
from .grid import Cell


def atlas_image(cells: list[Cell], icons: dict, n: int, icon: int, density: bool = False) -> Image.Image:
    """An (n·icon)² white canvas with each cell's icon at its row and column.

    With ``density`` icons of sparse cells fade toward white (opacity ∝ log count).
    """
    canvas = Image.new("RGB", (n * icon, n * icon), (255, 255, 255))
    top = max((c.count for c in cells), default=1)
    for cell in cells:
        img = to_pil(icons[(cell.row, cell.col)]).convert("RGB").resize((icon, icon), Image.LANCZOS)
        if density:
            alpha = 0.25 + 0.75 * np.log1p(cell.count) / np.log1p(top)
            img = Image.blend(Image.new("RGB", img.size, (255, 255, 255)), img, float(alpha))
        canvas.paste(img, (cell.col * icon, cell.row * icon))
    return canvas


def labelled(image: Image.Image, cells: list[Cell], labels, n: int, share: float = 0.1) -> Image.Image:
    """The atlas with the top class written on cells where that class holds at least ``share``."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    icon = image.width // n
    try:
        font = ImageFont.load_default(size=max(9, icon // 6))
    except TypeError:
        font = ImageFont.load_default()
    for cell in cells:
        if not cell.top_classes or cell.top_classes[0][1] < share:
            continue
        text = str(labels[cell.top_classes[0][0]])
        while text and draw.textlength(text, font=font) > icon - 2:
            text = text[:-1]
        x, y = cell.col * icon + 1, cell.row * icon + icon - max(9, icon // 6) - 3
        box = draw.textbbox((x, y), text, font=font)
        draw.rectangle(box, fill=(255, 255, 255))
        draw.text((x, y), text, fill=(0, 0, 0), font=font)
    return out


def save_image(image: Image.Image, path: str) -> str:
    """PNG to any gfile path, atomically."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    storage.atomic_write_bytes(path, buf.getvalue())
    return path


def with_sides(image: Image.Image, left: str, right: str) -> Image.Image:
    """The comparison atlas with a header naming its two sides: "< left" and "right >"."""
    height = max(18, image.width // 40)
    try:
        font = ImageFont.load_default(size=height - 4)
    except TypeError:
        font = ImageFont.load_default()
    out = Image.new("RGB", (image.width, image.height + height + 4), (255, 255, 255))
    out.paste(image, (0, height + 4))
    draw = ImageDraw.Draw(out)
    draw.text((4, 2), f"< {left}", fill=(0, 0, 0), font=font)
    text = f"{right} >"
    draw.text((image.width - 4 - draw.textlength(text, font=font), 2), text, fill=(0, 0, 0), font=font)
    return out
