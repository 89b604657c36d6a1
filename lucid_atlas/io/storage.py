"""Files through tf.io.gfile (local paths, gs:// and other URLs), written atomically, and our cache."""

from __future__ import annotations

import io
import json
import os
import uuid
from typing import Any

import numpy as np
import tensorflow as tf

CACHE_ENV = "LUCID_ATLAS_CACHE"


def cache_dir(override: str | None = None) -> str:
    """Where converted weights and downloads live: ``override``, $LUCID_ATLAS_CACHE, or ~/.cache."""
    path = override or os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache")), "lucid_atlas")
    makedirs(path)
    return path


def makedirs(path: str) -> None:
    """Create a folder (and parents) if missing, on any gfile filesystem."""
    if path and not tf.io.gfile.exists(path):
        tf.io.gfile.makedirs(path)


def exists(path: str) -> bool:
    """Whether a file or folder exists, on any gfile filesystem."""
    return tf.io.gfile.exists(path)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write a file so readers see either nothing or the whole content (temp file + rename)."""
    makedirs(os.path.dirname(path))
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        with tf.io.gfile.GFile(tmp, "wb") as f:
            f.write(data)
        tf.io.gfile.rename(tmp, path, overwrite=True)
    except BaseException:  # a full disk or a kill: leave no partial file behind
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.remove(tmp)
        raise


def read_bytes(path: str) -> bytes:
    """The whole content of a file, on any gfile filesystem."""
    with tf.io.gfile.GFile(path, "rb") as f:
        return f.read()


def atomic_save_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Save named arrays as one ``.npz``, atomically."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_npz(path: str) -> dict[str, np.ndarray]:
    """The named arrays of an ``.npz`` on any gfile filesystem (pickles refused)."""
    with np.load(io.BytesIO(read_bytes(path)), allow_pickle=False) as arrays:
        return {k: arrays[k] for k in arrays.files}


def atomic_save_npy(path: str, array: np.ndarray) -> None:
    """Save one array as ``.npy``, atomically."""
    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write_bytes(path, buf.getvalue())


def load_npy(path: str) -> np.ndarray:
    """Load a ``.npy`` file from any gfile filesystem."""
    return np.load(io.BytesIO(read_bytes(path)))


def write_json(path: str, obj: Any) -> None:
    """Write JSON (indented, UTF-8), atomically."""
    atomic_write_bytes(path, json.dumps(obj, indent=2, default=_jsonable).encode("utf-8"))


def read_json(path: str) -> Any:
    """Read a JSON file from any gfile filesystem."""
    return json.loads(read_bytes(path).decode("utf-8"))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


class DownloadError(OSError):
    """A file could not be fetched; the message says where to put it by hand."""


def fetch(url: str, filename: str, cache: str | None = None) -> str:
    """Local path of ``url``, downloaded once into the cache (atomically)."""
    path = os.path.join(cache_dir(cache), filename)
    if exists(path):
        return path
    import urllib.request

    try:
        if url.startswith("gs://"):
            data = read_bytes(url)
        else:
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - fixed URLs
                data = response.read()
    except Exception as exc:  # any network or filesystem failure gets the same advice
        raise DownloadError(
            f"could not download {url} ({exc.__class__.__name__}: {exc}). If this machine is "
            f"offline, download it elsewhere and place it at {path} (or set ${CACHE_ENV} to a "
            "folder that holds it)."
        ) from None
    atomic_write_bytes(path, data)
    return path
