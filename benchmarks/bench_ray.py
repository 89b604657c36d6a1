"""Benchmark: the Ray executor vs the local one for collection and icon rendering, on this machine,
and an estimate of the article-scale atlas on N GPU workers from the measured per-item costs.

Same model, layer, images, shards and cells for both executors, in one process; Ray runs a
local cluster with one model-holding worker per CPU. Worker start-up (a Python process that
imports TensorFlow and loads the model) is timed separately from the work.

    python benchmarks/bench_ray.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from lucid_atlas import models  # noqa: E402
from lucid_atlas.atlas import collect, executors  # noqa: E402
from lucid_atlas.atlas.grid import Cell  # noqa: E402
from lucid_atlas.atlas.render import IconSettings, render_cells  # noqa: E402
from lucid_atlas.io.images import resolve_paths  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_IMAGES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "imagenet-samples")


def timed_collect(model, layer, paths, executor, shard_images, positions) -> float:
    folder = tempfile.mkdtemp()
    try:
        start = time.perf_counter()
        collect.collect(model, layer, paths, folder, positions=positions, shard_images=shard_images, progress=False,
                        executor=executor)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def timed_render(model, layer, directions, executor, settings) -> float:
    folder = tempfile.mkdtemp()
    try:
        cells = [Cell(0, k, 1, d) for k, d in enumerate(directions)]
        start = time.perf_counter()
        render_cells(model, layer, cells, folder, settings, progress=False, executor=executor)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def article_estimate(collect_s_per_image: float, render_s_per_cell_step: float, icon_size: int,
                     gpu_speedup: float, price_per_gpu_hour: float, flops_ratio: float,
                     workers=(1, 8, 32, 128)) -> dict:
    """Wall time and cost of the article's mixed4c atlas (1M images, 40×40 grid, 80 px icons, 4 tries,
    1024 steps) on N GPU workers.

    Per-item CPU costs are measured here (EfficientNet-Lite0, ``icon_size`` px icons); render cost is
    scaled by pixel count to 80 px and by 4 tries; ``flops_ratio`` scales both to InceptionV1;
    ``gpu_speedup`` (one GPU worker vs this 2-core CPU) and the price are assumptions. Layout (UMAP
    on a 20 000-row sample + transform) stays on one node and is not included.
    """
    cells = int(40 * 40 * 0.8)  # our 20×20 atlases fill ~80 % of cells
    collect_gpu_s = 1_000_000 * collect_s_per_image * flops_ratio / gpu_speedup
    render_gpu_s = (cells * 4 * 1024 * render_s_per_cell_step * (80 / icon_size) ** 2 * flops_ratio
                    / gpu_speedup)
    rows = []
    for n in workers:
        hours = (collect_gpu_s + render_gpu_s) / n / 3600
        rows.append({"gpu_workers": n, "wall_hours": round(hours, 2),
                     "cost_usd": round(hours * n * price_per_gpu_hour, 2)})
    return {"cells": cells, "collect_gpu_hours_total": round(collect_gpu_s / 3600, 2),
            "render_gpu_hours_total": round(render_gpu_s / 3600, 2), "assumptions": {
                "gpu_speedup_vs_this_cpu": gpu_speedup, "usd_per_gpu_hour": price_per_gpu_hour,
                "inception_v1_over_lite0_flops": flops_ratio}, "by_workers": rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default=DEFAULT_IMAGES)
    parser.add_argument("--n-images", type=int, default=160)
    parser.add_argument("--layer", default="block12_expanded")
    parser.add_argument("--shard-images", type=int, default=20)
    parser.add_argument("--positions", type=int, default=16)
    parser.add_argument("--cells", type=int, default=16)
    parser.add_argument("--icon-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--gpu-speedup", type=float, default=40.0,
                        help="assumed speed of one GPU worker relative to this 2-core CPU")
    parser.add_argument("--price", type=float, default=0.50, help="assumed USD per GPU-hour")
    parser.add_argument("--flops-ratio", type=float, default=3.8,
                        help="InceptionV1 (1.5 GFLOPs) over EfficientNet-Lite0 (0.4 GFLOPs) per image")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    ray = executors.require_ray()

    source = args.images if os.path.isdir(args.images) else "default"
    paths = resolve_paths(source)[:args.n_images]
    model = models.load("efficientnet_lite0")
    settings = IconSettings(size=args.icon_size, steps=args.steps, batch=args.batch)
    # Warm the local model's compiled functions so both sides are timed without tracing.
    timed_collect(model, args.layer, paths[:args.shard_images], None, args.shard_images, args.positions)
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(args.cells, model.layer(args.layer).depth)).astype(np.float32)
    timed_render(model, args.layer, directions[:args.batch], None, settings)

    local_collect = timed_collect(model, args.layer, paths, None, args.shard_images, args.positions)
    local_render = timed_render(model, args.layer, directions, None, settings)

    ray.init(include_dashboard=False, log_to_driver=False)
    executor = executors.RayExecutor()
    start = time.perf_counter()
    # Start-up: workers import TensorFlow, load the model and trace their functions on one shard each.
    workers = int(ray.cluster_resources().get("CPU", 1))
    timed_collect(model, args.layer, paths[:args.shard_images * workers], executor, args.shard_images,
                  args.positions)
    timed_render(model, args.layer, directions[:args.batch * workers], executor, settings)
    startup = time.perf_counter() - start
    ray_collect = timed_collect(model, args.layer, paths, executor, args.shard_images, args.positions)
    ray_render = timed_render(model, args.layer, directions, executor, settings)
    executor.shutdown()
    ray.shutdown()

    summary = {
        "images": len(paths), "shards": -(-len(paths) // args.shard_images), "workers": workers,
        "layer": args.layer, "cells": args.cells, "icon_size": args.icon_size, "steps": args.steps,
        "collect_seconds": {"local": round(local_collect, 2), "ray": round(ray_collect, 2),
                            "ray_over_local": round(ray_collect / local_collect, 3)},
        "render_seconds": {"local": round(local_render, 2), "ray": round(ray_render, 2),
                           "ray_over_local": round(ray_render / local_render, 3)},
        "ray_worker_startup_seconds": round(startup, 1),
        "per_item": {"collect_s_per_image": round(local_collect / len(paths), 4),
                     "render_s_per_cell_step": round(local_render / (args.cells * args.steps), 5)},
    }
    summary["article_scale_estimate"] = article_estimate(
        summary["per_item"]["collect_s_per_image"], summary["per_item"]["render_s_per_cell_step"],
        args.icon_size, args.gpu_speedup, args.price, args.flops_ratio)
    if not args.json:
        for key, value in summary.items():
            print(f"{key}: {value}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
