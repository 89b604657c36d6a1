"""Lucid's ``lucid.misc.io.load``: read a file by its extension (local path or any tf.io.gfile URL)."""

from __future__ import annotations

import io
import json
import os

import numpy as np

from ....io import storage
from ....io.images import load_image

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def load(url_or_handle: str, **kwargs):
    """Images as float32 RGB arrays [H, W, 3] in [0, 1], ``.npy`` arrays, ``.npz`` dicts, ``.json`` data,
    ``.txt`` text (other extensions: the bytes)."""
    ext = os.path.splitext(url_or_handle)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return load_image(url_or_handle)  # RGB; an unreadable file raises ImageReadError naming it
    data = storage.read_bytes(url_or_handle)
    if ext == ".npy":
        return np.load(io.BytesIO(data), allow_pickle=False)
    if ext == ".npz":
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            return dict(arrays)
    if ext == ".json":
        return json.loads(data.decode("utf-8"))
    if ext == ".txt":
        return data.decode("utf-8")
    return data
