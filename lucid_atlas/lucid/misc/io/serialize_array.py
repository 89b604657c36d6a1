"""Lucid's ``lucid.misc.io.serialize_array``: arrays as encoded image bytes or JavaScript typed arrays."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from ....io.sheets import to_uint8

JS_ARRAY_TYPES = {"int8", "int16", "int32", "uint8", "uint16", "uint32", "float32", "float64"}


def _normalize_array(array, domain=(0, 1)) -> np.ndarray:
    """An image array as uint8 in 0–255: values mapped from ``domain`` (None: the array's own range)
    and clipped to it."""
    array = np.squeeze(np.array(array))
    if array.ndim > 3 or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"serialize_array takes one image (rank ≤ 3 after squeezing), got shape {np.shape(array)}")
    if np.isnan(array).any():
        raise ValueError("serialize_array: the array has NaN values")
    if not np.issubdtype(array.dtype, np.inexact):  # integers are pixel values already
        return array.clip(0, 255).astype(np.uint8)
    low, high = (float(array.min()), float(array.max())) if domain is None else map(float, domain)
    return to_uint8((array - low) / (high - low) if high != low else array - low)


def serialize_array(array, domain=(0, 1), fmt: str = "png", quality: int = 70) -> bytes:
    """The bytes of ``array`` (an image, pixels in ``domain``) encoded as ``fmt`` (png, jpeg, ...)."""
    buffer = io.BytesIO()
    Image.fromarray(_normalize_array(array, domain)).save(buffer, fmt, quality=quality)
    return buffer.getvalue()


def array_to_jsbuffer(array) -> str:
    """JavaScript that evaluates to a typed array holding a 1-d array (base64, not a JSON list)."""
    array = np.asarray(array)
    if array.ndim != 1:
        raise TypeError(f"array_to_jsbuffer takes a 1-d array, got shape {array.shape}")
    if array.dtype.name not in JS_ARRAY_TYPES:
        raise TypeError(f"array_to_jsbuffer: dtype {array.dtype.name} has no JS typed array "
                        f"(use one of {', '.join(sorted(JS_ARRAY_TYPES))})")
    kind = array.dtype.name.capitalize() + "Array"  # Float32Array, Uint8Array, ...
    data = base64.b64encode(array.astype(array.dtype.newbyteorder("<")).tobytes()).decode("ascii")
    return (f'(function() {{ const data = atob("{data}"); const bytes = new Uint8Array(data.length); '
            f"for (let i = 0; i < data.length; ++i) {{ bytes[i] = data.charCodeAt(i); }} "
            f"return new {kind}(bytes.buffer); }})()")
