"""Lucid's ``misc.io.reading``, ``misc.io.serialize_array``, ``misc.tfutil`` and ``modelzoo.util``
as its notebooks use them."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from lucid_atlas.lucid.misc import tfutil
from lucid_atlas.lucid.misc.io import reading, serialize_array
from lucid_atlas.lucid.modelzoo import util


def test_read_gives_bytes_or_text(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("tench\ngoldfish\n")
    assert reading.read(str(path)) == b"tench\ngoldfish\n"
    assert reading.read(str(path), encoding="utf-8") == "tench\ngoldfish\n"
    assert reading.read(str(path), mode="r") == "tench\ngoldfish\n"
    with reading.read_handle(str(path)) as handle:
        assert handle.read() == b"tench\ngoldfish\n"
    assert util.load_text_labels(str(path)) == ["tench", "goldfish"]
    with pytest.raises(FileNotFoundError, match="no file at"):
        reading.read(str(tmp_path / "missing.txt"))


def test_web_reads_are_downloaded_once_and_cached(monkeypatch, tmp_path):
    import functools
    import http.server
    import threading

    monkeypatch.setenv("LUCID_ATLAS_CACHE", str(tmp_path / "cache"))
    served = tmp_path / "site"
    served.mkdir()
    (served / "labels.txt").write_text("tench\ngoldfish\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/labels.txt"
    try:
        assert reading.read(url, encoding="utf-8") == "tench\ngoldfish\n"
    finally:
        server.shutdown()
        server.server_close()
    path = reading.local_cache_path(url)
    assert path.startswith(str(tmp_path / "cache")) and path.endswith("_labels.txt")
    assert util.load_text_labels(url) == ["tench", "goldfish"]  # the server is gone: from the cache


def test_serialize_array_encodes_the_image_in_its_domain():
    array = np.linspace(-1, 1, 8 * 8 * 3, dtype=np.float32).reshape(8, 8, 3)
    decoded = np.asarray(Image.open(io.BytesIO(serialize_array.serialize_array(array, domain=(-1, 1)))))
    assert decoded.shape == (8, 8, 3) and decoded.min() == 0 and decoded.max() == 255
    clipped = np.asarray(Image.open(io.BytesIO(serialize_array.serialize_array(array))))  # (0, 1): negatives clip
    assert (clipped[:4] == 0).all()
    js = serialize_array.array_to_jsbuffer(np.arange(4, dtype=np.float32))
    assert "Float32Array" in js and "atob" in js
    with pytest.raises(TypeError, match="1-d"):
        serialize_array.array_to_jsbuffer(np.zeros((2, 2), np.float32))


def test_graph_metadata_round_trips_and_graphdefs_load(tmp_path):
    graph = tf.Graph()
    with graph.as_default():
        tf.constant(1.0, name="one")
    graph_def = graph.as_graph_def()
    util.infuse_metadata(graph_def, {"image_shape": [224, 224, 3], "layers": ["mixed4c"]})
    path = tmp_path / "model.pb"
    path.write_bytes(graph_def.SerializeToString())
    loaded = util.load_graphdef(str(path))
    assert util.extract_metadata(loaded) == {"image_shape": [224, 224, 3], "layers": ["mixed4c"]}
    assert util.extract_metadata(graph.as_graph_def()) is None


def test_sessions_say_the_tensorflow_2_way():
    with pytest.raises(RuntimeError, match="no sessions"):
        tfutil.create_session()
    with pytest.raises(RuntimeError, match="from_keras"):
        util.frozen_default_graph_def(["input"], ["output"])
