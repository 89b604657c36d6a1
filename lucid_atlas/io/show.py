"""Look at pictures where you work: inline in Jupyter, a PNG file and a message elsewhere.

:func:`show` takes what the library hands out — an image array ([H, W, C] or a batch
[B, H, W, C], pixels in [0, 1]), a list of them, a PIL image, a picture file, or a render result
(anything with an ``images`` list: its last threshold is shown) — and lays several images out
as one labelled row, as Lucid's ``lucid.misc.io.show`` does.
"""

from __future__ import annotations

import io
import os
import tempfile
import uuid
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from .sheets import contact_sheet, fit_text, load_font, save_png, to_pil


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where pictures can be displayed inline)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _as_list(images) -> list:
    if isinstance(images, (str, os.PathLike)):
        if not os.path.isfile(images):
            raise FileNotFoundError(f"show: no picture at '{images}'")
        with Image.open(images) as img:
            return [img.convert("RGB")]
    if isinstance(images, Image.Image):
        return [images]
    if hasattr(images, "images") and isinstance(images.images, list):  # a render result
        return _as_list(images.images[-1])
    if isinstance(images, (list, tuple)):
        return [item for part in images for item in _as_list(part)]
    arr = np.asarray(images)
    if arr.ndim == 4:
        return list(arr)
    if arr.ndim in (2, 3):
        return [arr]
    raise ValueError(f"show: expected an image [H, W, C], a batch [B, H, W, C] or a list, got shape {arr.shape}")


def picture(images, labels: Sequence[str] | None = None, min_size: int = 128, title: str | None = None
            ) -> Image.Image:
    """One picture of ``images``: a single image as it is (small ones enlarged without smoothing to
    ``min_size`` px), several as one row (wrapped after 8) with ``labels`` under them."""
    items = _as_list(images)
    if not items:
        raise ValueError("show: nothing to show")
    if labels is not None and len(labels) != len(items):
        raise ValueError(f"show: {len(items)} images but {len(labels)} labels")
    if len(items) == 1 and not labels:
        img = items[0] if isinstance(items[0], Image.Image) else to_pil(items[0])
        if max(img.size) < min_size:
            scale = min_size / max(img.size)
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.NEAREST)
        return _titled(img.convert("RGB"), title) if title else img
    arrays = [np.asarray(i.convert("RGB")) if isinstance(i, Image.Image) else i for i in items]
    cell = max(min_size, max(max(np.asarray(a).shape[:2]) for a in arrays))
    return contact_sheet(arrays, [str(label) for label in labels] if labels else None,
                         columns=min(len(arrays), 8), cell=cell, title=title)


def _titled(img: Image.Image, title: str) -> Image.Image:
    """``img`` under a one-line title, at its own aspect (a wide strip stays a wide strip)."""
    font = load_font(14)
    pad, title_h = 4, 14 + 12
    out = Image.new("RGB", (max(img.width, 160) + 2 * pad, img.height + title_h + pad), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    draw.text((pad, pad), fit_text(draw, title, font, out.width - 2 * pad), fill=(0, 0, 0), font=font)
    out.paste(img, (pad, title_h))
    return out


def show(images, labels: Sequence[str] | None = None, path: str | None = None, min_size: int = 128,
         title: str | None = None) -> str | None:
    """Display ``images`` inline in Jupyter; elsewhere (or when ``path`` is given) write a PNG and
    say where. Returns the PNG's path, or None when only displayed inline."""
    img = picture(images, labels, min_size, title)
    if path is None and in_notebook():
        from IPython.display import Image as IPythonImage, display

        buf = io.BytesIO()
        img.save(buf, format="PNG")
        display(IPythonImage(data=buf.getvalue(), format="png"))
        return None
    if path is None:
        folder = os.path.join(tempfile.gettempdir(), "lucid_atlas_show")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{uuid.uuid4().hex[:12]}.png")
    save_png(img, path)
    print(f"picture written to {path} (not in a notebook: open it with an image viewer)")
    return path
