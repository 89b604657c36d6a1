"""The toolbox page in a real headless Chromium: tiles, a unit's crops and visualizations, uploads,
the fake camera and a video driving the live view, errors shown in the page, two pages side by side."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from lucid_atlas.io.images import default_image_paths
from lucid_atlas.toolbox import Toolbox, ToolboxServer, ToolboxSettings, start

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS = os.path.join(REPO, "out", "test-artifacts")
FAST = (("ours", "lucid", 48, 16), ("yosinski", "1", 48, 16))
LAYER = "block12_expanded"


@pytest.fixture(scope="module")
def toolbox_url(lite0, tmp_path_factory):
    cache = tmp_path_factory.mktemp("toolbox_cache")
    settings = ToolboxSettings(tuple(default_image_paths()), LAYER, str(cache), presets=FAST)
    running = start(ToolboxServer(Toolbox(lite0), settings))
    yield running.url
    running.stop()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.toolbox.state.layerViews > 0", timeout=120_000)
    return page, errors


def _state(page, expr: str):
    return page.evaluate(f"window.toolbox.state.{expr}")


def _upload(page, tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    page.set_input_files("#upload", str(path))


def _photo(seed: int) -> bytes:
    buf = io.BytesIO()
    with Image.open(default_image_paths()[seed]) as img:
        img.convert("RGB").save(buf, format="JPEG")
    return buf.getvalue()


@pytest.mark.browser
@pytest.mark.slow
def test_toolbox_in_chromium(browser, toolbox_url, tmp_path):
    page, errors = _open(browser, toolbox_url)
    # The layer view: one tile per channel of the layer.
    assert _state(page, "view.channels") == 1152 and _state(page, "view.layer") == LAYER
    tiles = page.evaluate("[document.getElementById('layer').width, document.getElementById('layer').height]")
    assert tiles[0] >= 32 * page.evaluate("window.toolbox.state.tile")  # 1152 tiles fit the canvas

    # Clicking a tile: the unit view, nine crops and a visualization image.
    strongest, cols, tile = _state(page, "view.strongest[0]"), _state(page, "cols"), _state(page, "tile")
    box = page.locator("#layer").bounding_box()
    page.mouse.click(box["x"] + (strongest % cols + 0.5) * tile, box["y"] + (strongest // cols + 0.5) * tile)
    page.wait_for_function("window.toolbox.state.unit !== null", timeout=60_000)
    assert _state(page, "channel") == strongest and _state(page, "unit.peak") > 0
    page.wait_for_function("window.toolbox.state.top !== null", timeout=120_000)
    assert page.locator("#top9 img").count() == 9
    page.wait_for_function("Object.keys(window.toolbox.state.vis).length === 2", timeout=120_000)
    assert page.evaluate("document.getElementById('vis-ours').naturalWidth") == 48
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "toolbox.png"), full_page=True)

    # An upload changes the top-5 and the tiles.
    before_top5, before_tiles = _state(page, "view.top5"), _state(page, "view.tiles")
    views = _state(page, "layerViews")
    _upload(page, tmp_path, "coffee.jpg", _photo(2))
    page.wait_for_function(f"window.toolbox.state.layerViews > {views}", timeout=60_000)
    assert _state(page, "view.source") == "upload"
    assert _state(page, "view.top5") != before_top5 and _state(page, "view.tiles") != before_tiles

    # A text file uploaded as an image: an error in the page; the next upload still works.
    _upload(page, tmp_path, "notes.jpg", b"this is text, not a JPEG")
    page.wait_for_function("window.toolbox.state.errors.length > 0", timeout=30_000)
    assert "not a readable image" in page.inner_text("#error")
    _upload(page, tmp_path, "huge.jpg", b"\xff" * (21 * 2 ** 20))  # refused before it is sent
    page.wait_for_function("window.toolbox.state.errors.length > 1", timeout=30_000)
    assert "the limit is 20 MB" in page.inner_text("#error")
    views = _state(page, "layerViews")
    _upload(page, tmp_path, "rocket.jpg", _photo(3))
    page.wait_for_function(f"window.toolbox.state.layerViews > {views}", timeout=60_000)
    assert page.inner_text("#error") == ""

    # The fake camera drives the live view.
    page.click("#camera")
    page.wait_for_function("window.toolbox.state.frames >= 10", timeout=120_000)
    assert _state(page, "live") == "camera" and _state(page, "fps") > 0
    page.click("#stop")

    # A video file works the same way.
    video = _video(tmp_path / "clip.webm")
    frames = _state(page, "frames")
    page.set_input_files("#video-file", video)
    page.wait_for_function(f"window.toolbox.state.frames >= {frames + 5}", timeout=120_000)
    assert _state(page, "live") == "video"
    page.click("#stop")
    assert errors == []
    page.close()


def _video(path) -> str:
    """A 3-second VP8 clip of the embedded photos (Chromium plays WebM without extra codecs)."""
    import imageio.v2 as imageio

    with imageio.get_writer(str(path), fps=10, codec="libvpx", quality=8, macro_block_size=16) as writer:
        for k in range(30):
            with Image.open(default_image_paths()[k % 5]) as img:
                writer.append_data(np.asarray(img.convert("RGB").resize((160, 160))))
    return str(path)


@pytest.mark.browser
@pytest.mark.slow
def test_two_pages_keep_their_own_inputs(browser, toolbox_url):
    first, _ = _open(browser, toolbox_url)
    second, _ = _open(browser, toolbox_url)
    views = _state(second, "layerViews")
    second.locator("#thumbs img").nth(4).click()
    second.wait_for_function(f"window.toolbox.state.layerViews > {views}", timeout=60_000)
    first.select_option("#layer-picker", "block5_expanded")
    first.wait_for_function("window.toolbox.state.view.layer === 'block5_expanded'", timeout=60_000)
    assert _state(first, "view.top5") != _state(second, "view.top5")  # image 0 vs image 4
    assert _state(second, "view.layer") == LAYER
    first.close()
    second.close()
