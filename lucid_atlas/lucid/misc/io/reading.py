"""Lucid's ``lucid.misc.io.reading``: ``read`` bytes (or text) from a local path, a gfile URL
(``gs://``...) or a web URL; web resources are downloaded once into the model cache."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from urllib.parse import urlparse

from ....io import storage

def _cache_name(remote_url: str) -> str:
    """A remote resource's file inside the cache folder: a hash of the URL and its file name."""
    name = os.path.basename(urlparse(remote_url).path) or "resource"
    return os.path.join("lucid_reads", f"{hashlib.sha1(remote_url.encode()).hexdigest()[:12]}_{name}")


def local_cache_path(remote_url: str) -> str:
    """Where a remote resource is cached."""
    return os.path.join(storage.cache_dir(), _cache_name(remote_url))


def _read_bytes(url: str, cache) -> bytes:
    scheme = urlparse(url).scheme
    if cache == "purge":
        path = local_cache_path(url)
        if os.path.exists(path):
            os.remove(path)
        cache = None
    if scheme in ("http", "https"):
        if cache is False:
            import urllib.request

            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - the user's URL
                return response.read()
        return storage.read_bytes(storage.fetch(url, _cache_name(url)))
    if not scheme and not os.path.exists(url):
        raise FileNotFoundError(f"no file at '{url}' (read takes a local path, a gs:// path or an http(s) URL)")
    return storage.read_bytes(url)


def read(url: str, encoding: str | None = None, cache=None, mode: str = "rb"):
    """All bytes of ``url``, or the text they decode to with ``encoding`` (text ``mode`` "r" means
    UTF-8). ``cache``: None (web URLs are cached), False (never), "purge" (download again)."""
    data = _read_bytes(url, cache)
    if encoding is None and "b" not in mode:
        encoding = "utf-8"
    return data.decode(encoding) if encoding else data


@contextlib.contextmanager
def read_handle(url: str, cache=None, mode: str = "rb"):
    """``with read_handle(url) as handle:`` a file object over the resource's contents."""
    data = _read_bytes(url, cache)
    handle = io.StringIO(data.decode("utf-8")) if "b" not in mode else io.BytesIO(data)
    try:
        yield handle
    finally:
        handle.close()
