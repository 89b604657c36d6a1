"""Lucid's ``lucid.misc.io.save``: write a value by the file's extension (local path or gfile URL)."""

from __future__ import annotations

import io
import json
import os

import numpy as np
from PIL import Image

from ....io import storage
from ....io.sheets import to_pil


def save(thing, url_or_handle: str, **kwargs) -> None:
    """Arrays in [0, 1] as ``.png``/``.jpg``, arrays as ``.npy``, dicts of arrays as ``.npz``, data as
    ``.json``, strings as ``.txt``."""
    ext = os.path.splitext(url_or_handle)[1].lower()
    buf = io.BytesIO()
    if ext in (".png", ".jpg", ".jpeg"):
        img = thing if isinstance(thing, Image.Image) else to_pil(np.asarray(thing))
        img.convert("RGB" if ext != ".png" else img.mode).save(buf, format="PNG" if ext == ".png" else "JPEG",
                                                               quality=kwargs.get("quality", 95))
    elif ext == ".npy":
        np.save(buf, np.asarray(thing), allow_pickle=False)
    elif ext == ".npz":
        np.savez(buf, **{k: np.asarray(v) for k, v in dict(thing).items()})
    elif ext == ".json":
        buf.write(json.dumps(thing).encode("utf-8"))
    elif ext == ".txt":
        buf.write(str(thing).encode("utf-8"))
    else:
        raise ValueError(f"save does not know the extension '{ext}' of {url_or_handle}: use .png, .jpg, .npy, .npz, "
                         ".json or .txt")
    storage.atomic_write_bytes(url_or_handle, buf.getvalue())
