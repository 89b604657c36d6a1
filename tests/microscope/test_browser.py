"""The microscope site in headless Chromium: a unit's deep link, its layer, class search, back to the model."""

from __future__ import annotations

import os
import threading

import pytest

from lucid_atlas import models
from lucid_atlas.atlas import viewer
from lucid_atlas.microscope import MicroscopeSettings, build
from lucid_atlas.microscope.pages import read_script

EVIL = "<img src=x onerror=\"window.pwned = 1\">"


@pytest.fixture(scope="module")
def served(tiny_path, labelled_images, tmp_path_factory):
    root = tmp_path_factory.mktemp("browse")
    images = root / "images"
    os.symlink(labelled_images, images)
    model = models.load(tiny_path, image_shape=(32, 32, 3))
    site = str(root / "site")
    build(model, ["conv1", "conv2"], str(images), site, cache=str(root / "cache"), progress=False,
          settings=MicroscopeSettings(size=24, steps=4, batch=6, crop=24, thumb=16))
    server = viewer.serve(site, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


def _ready(page):
    # drawn for the current location: after a click, hashchange fires later, and the page before
    # it was ready too
    page.wait_for_function("window.microscope && window.microscope.ready && window.microscope.hash === location.hash")


@pytest.mark.browser
def test_deep_link_layer_search_and_back(browser, served):
    site, url = served
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(url + "#/layer/conv2/unit/5")
    _ready(page)
    assert page.evaluate("window.microscope.route") == "unit"
    assert page.evaluate("window.microscope.readyAt") < 1000  # ms from navigation to the page drawn
    page.wait_for_function("[...document.querySelectorAll('#crops img')].every(i => i.complete && i.naturalWidth)")
    assert page.locator("#crops img").count() == 9
    assert page.evaluate("document.getElementById('vis').naturalWidth") == 24
    assert "conv2 · unit 5" in page.inner_text("h1")

    page.click("text=all units of conv2")
    _ready(page)
    assert page.evaluate("window.microscope.route") == "layer"
    assert page.locator("#units a").count() == 12
    assert page.get_attribute("#units img >> nth=0", "loading") == "lazy"
    scores = [u["score"] for u in read_script(os.path.join(site, "data", "layer_conv2.js"))["units"]]
    first = int(page.get_attribute("#units a >> nth=0", "data-unit"))
    assert scores[first] == max(scores)  # strongest first
    page.click("#sort-index")
    assert page.get_attribute("#units a >> nth=0", "data-unit") == "0"

    page.fill("#search", "plum")
    shown = [int(a) for a in page.eval_on_selector_all("#units a", "as => as.map(a => a.dataset.unit)")]
    units = read_script(os.path.join(site, "data", "layer_conv2.js"))["units"]
    expected = {u["n"] for u in units if any(name == "plum" for name, _ in u["classes"])}
    assert shown and set(shown) == expected
    page.fill("#search", EVIL)
    assert page.locator("#units a").count() == 0 and page.evaluate("window.pwned") is None

    page.click("#crumbs a >> nth=0")
    _ready(page)
    assert page.evaluate("window.microscope.route") == "model"
    assert page.locator("#layers tr[data-layer]").count() == 2
    page.click("#layers a >> text=conv1")
    _ready(page)
    assert page.locator("#units a").count() == 8
    page.go_back()
    _ready(page)
    assert page.evaluate("window.microscope.route") == "model"
    assert errors == []
