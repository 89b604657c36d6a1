"""Benchmark: build a microscope site, then time it in headless Chromium.

1. The build: ``lucid_atlas.microscope.build`` for ``--layers`` (default ``block12_expanded``, all
   units, 128 px, 256 steps) over ``--images`` (default ``../shared/imagenet-samples``): seconds per
   layer, peak memory of the process, the site's size, and a second run's time (a rerun renders
   nothing).
2. In Chromium (skipped without Playwright/Chromium), served from a local HTTP server: a unit's
   deep link until its page, its visualization and its 9 crops are shown; the layer page until its
   first screen of thumbnails has loaded, and how many thumbnails have loaded before and after
   scrolling to the end (lazy loading).

    python benchmarks/bench_microscope.py --out out/microscope --json
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import resource
import shutil
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from lucid_atlas import microscope, models  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "imagenet-samples")


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (GB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args):
        pass


def browse(site: str, layer: str, unit: int) -> dict:
    """Deep-link and layer-page timings in headless Chromium (ms), from a local server."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "Playwright is not installed"}
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return {"skipped": "Chromium is not installed"}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    loaded = "[...document.querySelectorAll('#units img')].filter(i => i.complete && i.naturalWidth).length"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            start = time.perf_counter()
            page.goto(f"{url}#/layer/{layer}/unit/{unit}")
            page.wait_for_function("window.microscope && window.microscope.ready && "
                                   "[...document.querySelectorAll('#crops img, #vis')].every(i => i.complete "
                                   "&& i.naturalWidth)")
            unit_ms = (time.perf_counter() - start) * 1000
            crops = page.locator("#crops img").count()
            page2 = browser.new_page(viewport={"width": 1280, "height": 800})
            start = time.perf_counter()
            page2.goto(f"{url}#/layer/{layer}")
            page2.wait_for_function("window.microscope && window.microscope.ready")
            page2.wait_for_function("[...document.querySelectorAll('#units img')].filter(i => "
                                    "i.getBoundingClientRect().top < innerHeight).every(i => i.complete "
                                    "&& i.naturalWidth)")
            first_screen_ms = (time.perf_counter() - start) * 1000
            total = page2.locator("#units img").count()
            before = page2.evaluate(loaded)
            for _ in range(60):
                page2.mouse.wheel(0, 2000)
                page2.wait_for_timeout(50)
            page2.wait_for_timeout(500)
            after = page2.evaluate(loaded)
            browser.close()
    finally:
        server.shutdown()
    return {"unit_page_ms": round(unit_ms), "unit_crops": crops, "layer_first_screen_ms": round(first_screen_ms),
            "thumbnails": total, "loaded_before_scroll": before, "loaded_after_scroll": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--layers", default="block12_expanded")
    parser.add_argument("--units", help="e.g. 0:64 (default: every unit)")
    parser.add_argument("--images", default=SHARED)
    parser.add_argument("--out", default="out/microscope")
    parser.add_argument("--cache", default="out/toolbox")
    parser.add_argument("--atlas", action="append", default=[])
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not os.path.isdir(args.images):
        sys.exit(f"no images at {args.images} (../shared/imagenet-samples is expected beside the repository)")
    model = models.load(args.model)
    layers = args.layers.split(",")
    start = time.perf_counter()
    first = microscope.build(model, layers, args.images, args.out, units=args.units, cache=args.cache,
                             atlases=args.atlas)
    built_s = time.perf_counter() - start
    start = time.perf_counter()
    again = microscope.build(model, layers, args.images, args.out, units=args.units, cache=args.cache,
                             atlases=args.atlas, progress=False)
    result = {"model": model.name, "layers": first["layers"], "build_s": round(built_s, 1),
              "rerun_s": round(time.perf_counter() - start, 1),
              "rerun_rendered": sum(v["rendered"] for v in again["layers"].values()),
              "peak_rss_gb": round(peak_rss_gb(), 2), "site_mb": again["site_mb"]}
    if not args.no_browser:
        unit = microscope.parse_units(args.units, 1 << 16)[0] if args.units else 0
        result["browser"] = browse(args.out, layers[-1], unit)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
