"""Benchmark: the toolbox's live layer view and its first top-image pass.

1. Server time per frame: 224 px JPEG frames (the ImageNet samples, as a camera would send them)
   go through a real WebSocket to the running server, which decodes them, runs the model to the
   layer and the logits, scales every channel's map and answers; ``handled_ms`` is the server's
   time from receiving a frame to its reply (median and 90th percentile over ``--frames``).
2. End-to-end frames per second in headless Chromium with its fake camera
   (``--use-fake-device-for-media-stream``): the page grabs, encodes and sends a frame, waits for
   the answer and draws the tiles (skipped without Playwright or Chromium).
3. The first top-9 of a layer: one pass over ``--images`` (timed from an empty cache), then the
   same request served from the cache.

    python benchmarks/bench_toolbox.py --json
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import aiohttp  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from lucid_atlas import models  # noqa: E402
from lucid_atlas.io.images import load_image, resolve_paths  # noqa: E402
from lucid_atlas.toolbox import LayerMaxima, Toolbox, ToolboxServer, ToolboxSettings, start, top_crops  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "imagenet-samples")


def jpeg_frames(paths: list[str], n: int, size: int = 224) -> list[bytes]:
    """``n`` JPEG frames of ``size`` px, as the page's canvas sends them."""
    frames = []
    for path in paths[:n]:
        buf = io.BytesIO()
        Image.fromarray((load_image(path, size) * 255).astype(np.uint8)).save(buf, format="JPEG", quality=85)
        frames.append(buf.getvalue())
    return frames


async def socket_frames(url: str, frames: list[bytes], layer: str) -> list[float]:
    """Each frame's server time (ms), sent one at a time as the page does."""
    times = []
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url + "ws", max_msg_size=0) as ws:
            await ws.send_str(json.dumps({"type": "layer", "layer": layer}))
            for frame in frames:
                await ws.send_bytes(b"\1" + frame)
                while True:
                    msg = json.loads((await ws.receive()).data)
                    if msg["type"] == "layer":
                        times.append(msg["handled_ms"])
                        break
                    if msg["type"] == "error":
                        raise RuntimeError(msg["message"])
    return times


def browser_fps(url: str, seconds: float) -> dict:
    """Frames per second the page reaches with Chromium's fake camera (None without a browser)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"fps": None, "reason": "Playwright not installed"}
    if chromium is None:
        return {"fps": None, "reason": "Chromium not installed"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(url)
        page.wait_for_function("window.toolbox.state.layerViews > 0", timeout=120_000)
        page.click("#camera")
        page.wait_for_function("window.toolbox.state.frames >= 5", timeout=120_000)
        first, t0 = page.evaluate("window.toolbox.state.frames"), time.perf_counter()
        time.sleep(seconds)
        frames, elapsed = page.evaluate("window.toolbox.state.frames") - first, time.perf_counter() - t0
        browser.close()
    return {"fps": round(frames / elapsed, 2), "frames": frames, "seconds": round(elapsed, 1)}


def top_images(model, toolbox: Toolbox, layer: str, paths: list[str], cache: str, channel: int) -> dict:
    """Seconds for the first top-9 (the pass plus the crops) and for the same request again."""
    t0 = time.perf_counter()
    side = toolbox.receptive_fraction(layer)
    maxima = LayerMaxima(model, layer, paths, cache).compute()
    first = len(top_crops(maxima, channel, side))
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = LayerMaxima(model, layer, paths, cache)  # a new request: read from disk
    second = len(top_crops(again, channel, side))
    return {"images": len(paths), "skipped": again.skipped, "first_s": round(first_s, 1),
            "cached_s": round(time.perf_counter() - t0, 3), "crops": [first, second]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--layer", default="block12_expanded")
    parser.add_argument("--images", default=SHARED if os.path.isdir(SHARED) else "default")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--browser-seconds", type=float, default=15.0)
    parser.add_argument("--channel", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    model = models.load(args.model)
    paths = resolve_paths(args.images)
    toolbox = Toolbox(model)
    summary = {"model": model.name, "layer": args.layer, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as cache:
        running = start(ToolboxServer(toolbox, ToolboxSettings(tuple(paths[:32]), args.layer, cache)))
        try:
            frames = jpeg_frames(paths, args.frames)
            asyncio.run(socket_frames(running.url, frames[:5], args.layer))  # trace once
            times = asyncio.run(socket_frames(running.url, frames, args.layer))
            summary["frame_ms"] = {"median": round(statistics.median(times), 1),
                                   "p90": round(float(np.percentile(times, 90)), 1), "frames": len(times)}
            summary["browser"] = browser_fps(running.url, args.browser_seconds)
        finally:
            running.stop()
        summary["top9"] = top_images(model, toolbox, args.layer, paths, cache, args.channel)
    if args.json:
        print(json.dumps(summary))
    else:
        print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
