"""The toolbox's computations: inputs decoded or refused, a layer's tiles, a unit's gradients."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from lucid_atlas.toolbox import InputError, Toolbox, decode_image
from lucid_atlas.toolbox.engine import MAX_UPLOAD_BYTES
from lucid_atlas.toolbox.saliency import receptive_fraction


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def test_decode_accepts_images_and_refuses_the_rest():
    image = decode_image(_png(np.full((50, 70, 3), 200, np.uint8)), (32, 32))
    assert image.shape == (32, 32, 3) and image.dtype == np.float32
    assert image.max() == pytest.approx(200 / 255)
    with pytest.raises(InputError, match="not a readable image"):
        decode_image(b"hello, I am a text file", (32, 32))
    with pytest.raises(InputError, match="empty"):
        decode_image(b"", (32, 32))
    with pytest.raises(InputError, match="limit is 20 MB"):
        decode_image(b"\0" * (MAX_UPLOAD_BYTES + 1), (32, 32))


def test_layer_view_has_one_tile_per_channel_on_one_scale(tiny_classifier):
    toolbox = Toolbox(tiny_classifier)
    image = np.random.default_rng(1).random((32, 32, 3)).astype(np.float32)
    view = toolbox.layer_view(image, "conv2")
    assert view.tiles.shape == (12, 8, 8) and view.tiles.dtype == np.uint8
    assert view.tiles.max() == 255  # the layer's largest value is white
    strongest = int(np.argmax(view.maxima))
    assert view.strongest[0] == strongest and view.tiles[strongest].max() == 255
    assert len(view.top5) == 5 and sum(p for _, p in view.top5) <= 1.0001
    flat = np.full_like(image, 0.9)
    ties = toolbox.layer_view(flat, "conv2")
    acts = tiny_classifier.activations(flat[None], "conv2")["conv2"].numpy()[0]
    order = [(-acts[..., c].max(), -acts[..., c].mean()) for c in ties.strongest]
    assert order == sorted(order)  # by peak, then by mean (ties under a saturating ReLU)
    payload = view.to_json()
    assert payload["channels"] == 12 and len(payload["maxima"]) == 12
    other = toolbox.layer_view(np.ones_like(image) * 0.2, "conv2")
    assert not np.array_equal(other.tiles, view.tiles)


def test_bad_layer_and_channel_say_what_is_valid(tiny_classifier):
    toolbox = Toolbox(tiny_classifier)
    with pytest.raises(InputError, match="conv2"):
        toolbox.check_layer("conv3")
    with pytest.raises(InputError, match="no spatial map"):
        toolbox.check_layer("scores")
    with pytest.raises(InputError, match="12 channels"):
        toolbox.check_channel("conv2", 12)
    with pytest.raises(InputError, match="integer"):
        toolbox.check_channel("conv2", "x")
    assert toolbox.spatial_layers == ["conv1", "conv2"]


def test_unit_view_gradients_plain_and_guided(tiny_classifier):
    toolbox = Toolbox(tiny_classifier)
    image = np.random.default_rng(2).random((32, 32, 3)).astype(np.float32)
    channel = int(np.argmax(toolbox.layer_view(image, "conv2").maxima))
    plain = toolbox.gradients(image, "conv2", channel, guided=False)
    guided = toolbox.gradients(image, "conv2", channel, guided=True)
    assert plain.shape == image.shape and np.abs(plain).max() > 0
    assert np.abs(guided).max() > 0 and not np.allclose(plain, guided)
    unit = toolbox.unit_view(image, "conv2", channel)
    for key in ("overlay", "map", "gradient", "guided"):
        with Image.open(io.BytesIO(unit[key])) as png:
            assert png.size == (32, 32)
    assert unit["peak"] > 0


def test_receptive_fraction_grows_with_depth(tiny_classifier):
    first, second = receptive_fraction(tiny_classifier, "conv1"), receptive_fraction(tiny_classifier, "conv2")
    assert 0 < first < second <= 1.0


def test_a_frozen_graph_model_gets_tiles_and_guided_gradients(tmp_path):
    from lucid_atlas import models
    from tests.models.tiny_graphs import lucid_like_graph_def

    pb = tmp_path / "g.pb"
    pb.write_bytes(lucid_like_graph_def().SerializeToString())
    graph = models.load_inception_v1(path=str(pb), labels=[str(i) for i in range(5)])
    toolbox = Toolbox(graph)
    image = np.random.default_rng(3).random((64, 64, 3)).astype(np.float32)
    view = toolbox.layer_view(image, "mixed3a")
    assert view.tiles.shape[0] == 10 and len(view.top5) == 5
    channel = view.strongest[0]
    plain = toolbox.gradients(image, "mixed3a", channel, guided=False)
    guided = toolbox.gradients(image, "mixed3a", channel, guided=True)
    assert np.abs(plain).max() > 0 and np.abs(guided).max() > 0 and not np.allclose(plain, guided)
