"""The atlas viewer: a static site written from atlas JSON, driven in a real headless Chromium."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest
from PIL import Image

from lucid_atlas.atlas import viewer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS = os.path.join(REPO, "out", "test-artifacts")
EVIL = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">"


def _fake_atlas(folder, n=4, icon=32, layer="block12_expanded", labels=("tabby", "golf ball", EVIL)):
    """An atlas folder as the pipeline writes it: atlas_<n>.json, icon PNGs, example images."""
    os.makedirs(os.path.join(folder, f"icons_{n}"), exist_ok=True)
    rng = np.random.default_rng(n)
    example = os.path.join(folder, "example.jpg")
    Image.fromarray(rng.integers(0, 255, (50, 60, 3), dtype=np.uint8)).save(example)
    cells = []
    for k, (row, col) in enumerate([(0, 0), (0, 3), (1, 1), (2, 2), (3, 0)]):
        color = np.zeros((icon, icon, 3), np.uint8)
        color[..., k % 3] = 200
        rel = f"icons_{n}/r{row:03d}_c{col:03d}.png"
        Image.fromarray(color).save(os.path.join(folder, rel))
        label = labels[k % len(labels)]
        cells.append({"row": row, "col": col, "count": 10 + k, "icon": rel,
                      "top_classes": [{"index": k, "share": 0.6, "label": label},
                                      {"index": 99, "share": 0.2, "label": "espresso"}],
                      "example_images": [example, os.path.join(folder, "missing.jpg")]})
    desc = {"model": "tiny", "layer": layer, "grid": n, "icon_size": icon, "rows": 55, "images": 7,
            "settings": {"positions": 4, "method": "umap", "min_count": 1}, "icons": {"steps": 64, "size": icon},
            "cells": cells}
    with open(os.path.join(folder, f"atlas_{n}.json"), "w") as f:
        json.dump(desc, f)
    return desc


def test_site_is_self_contained_and_lists_every_grid(tmp_path):
    atlas = str(tmp_path / "atlas")
    _fake_atlas(atlas, n=4)
    _fake_atlas(atlas, n=6)
    index = viewer.write_site(atlas)
    site = os.path.dirname(index)
    assert sorted(os.listdir(site)) == ["assets", "data.js", "index.html", "viewer.css", "viewer.js"]
    html = open(index).read()
    assert "http://" not in html and "https://" not in html  # no CDN
    data = json.loads(open(os.path.join(site, "data.js")).read().split("=", 1)[1].rstrip(";\n"))
    grids = data["layers"][0]["grids"]
    assert [g["n"] for g in grids] == [4, 6]
    with Image.open(os.path.join(site, grids[0]["sprite"])) as sprite:
        assert sprite.size == (4 * 32, 4 * 32)
        assert sprite.getpixel((3 * 32 + 5, 5)) != (255, 255, 255)  # the cell at row 0, col 3
        assert sprite.getpixel((2 * 32 + 5, 5)) == (255, 255, 255)  # an empty cell
    examples = grids[0]["cells"][0]["examples"]
    assert examples[0]["thumb"] and examples[1]["thumb"] is None  # unreadable example: no thumbnail
    assert "<\\/script>" in open(os.path.join(site, "data.js")).read()


def test_no_atlas_json_says_what_to_build(tmp_path):
    with pytest.raises(FileNotFoundError, match="lucid-atlas atlas"):
        viewer.write_site(str(tmp_path))


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.viewer && window.viewer.state.spriteReady")
    return page, errors


def _cell_center(page, row, col):
    return page.evaluate("""([row, col]) => {
        const v = window.viewer, g = v.current(), r = document.getElementById('map').getBoundingClientRect();
        return [r.left + v.state.ox + (col + 0.5) * g.icon * v.state.scale,
                r.top + v.state.oy + (row + 0.5) * g.icon * v.state.scale]; }""", [row, col])


@pytest.mark.browser
def test_viewer_in_chromium(browser, tmp_path):
    first, second = str(tmp_path / "a"), str(tmp_path / "b")
    _fake_atlas(first, n=4)
    _fake_atlas(second, n=4, layer="head_pre_relu", labels=("wok", "frying pan"))
    index = viewer.write_site([first, second])
    page, errors = _open(browser, "file://" + index)

    # Icons appear: the canvas shows the sprite's colors.
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = os.path.join(ARTIFACTS, "viewer.png")
    page.screenshot(path=shot)
    with Image.open(shot) as img:
        colors = {c for _, c in img.convert("RGB").getcolors(1 << 20)}
    assert any(r > 150 and g < 60 and b < 60 for r, g, b in colors)  # the red icons

    # Zoom changes the visible scale, around the cursor.
    before = page.evaluate("window.viewer.state.scale")
    x, y = _cell_center(page, 1, 1)
    page.mouse.move(x, y)
    page.mouse.wheel(0, -400)
    page.wait_for_function(f"window.viewer.state.scale > {before} * 1.5")
    assert _cell_center(page, 1, 1) == pytest.approx([x, y], abs=2)

    # Hovering a known cell shows its metadata; the hostile label is shown as text.
    page.evaluate("window.viewer.fit()")
    x, y = _cell_center(page, 1, 1)  # k = 2 → label EVIL, count 12
    page.mouse.move(x, y)
    text = page.inner_text("#cell")
    assert "12 activations" in text and EVIL in text and "espresso" in text
    assert page.evaluate("document.querySelectorAll('#cell script, #cell img[src=x]').length") == 0
    assert page.evaluate("window.pwned") is None
    x, y = _cell_center(page, 0, 0)
    page.mouse.move(x, y)
    assert "10 activations" in page.inner_text("#cell") and "tabby" in page.inner_text("#cell")

    # Class search highlights exactly the cells whose top classes match.
    page.fill("#search", "GOLF")
    assert page.evaluate("window.viewer.highlightedKeys()") == ["0,3", "3,0"]  # k = 1 and k = 4
    assert page.inner_text("#matches") == "2 cells"
    page.fill("#search", "espresso")
    assert len(page.evaluate("window.viewer.highlightedKeys()")) == 5

    # Layer switch: the second folder is the second layer.
    page.select_option("#layer", "1")
    page.wait_for_function("window.viewer.state.spriteReady")
    assert "head_pre_relu" in page.inner_text("#legend")
    page.screenshot(path=os.path.join(ARTIFACTS, "viewer_layer2.png"))
    assert errors == []


@pytest.mark.browser
def test_viewer_over_http(browser, tmp_path):
    atlas = str(tmp_path / "atlas")
    _fake_atlas(atlas)
    site = os.path.dirname(viewer.write_site(atlas))
    server = viewer.serve(site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page, errors = _open(browser, f"http://127.0.0.1:{server.server_address[1]}/index.html")
        x, y = _cell_center(page, 3, 0)
        page.mouse.move(x, y)
        assert "14 activations" in page.inner_text("#cell")
        assert errors == []
    finally:
        server.shutdown()
        server.server_close()
