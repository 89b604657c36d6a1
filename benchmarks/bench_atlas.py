"""Benchmark: atlas collection throughput, batched icon rendering, and stage times end to end.

* collection images/s vs the bare batched forward of the same model on the same images
  (both decode the JPEGs; the bare run only computes logits);
* icon rendering image-steps/s at batch 1, 8 and 32 (same icon size and transforms).

Stage times of a full atlas are in the ``stage_seconds`` of ``lucid-atlas atlas --json``.

Uses ``../shared/imagenet-samples`` (or ``--images``). Prints a JSON line last with ``--json``.

    python benchmarks/bench_atlas.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from lucid_atlas import models  # noqa: E402
from lucid_atlas.atlas import collect  # noqa: E402
from lucid_atlas.atlas.render import IconJob, IconRenderer, IconSettings  # noqa: E402
from lucid_atlas.io.images import iter_batches, resolve_paths  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_IMAGES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "imagenet-samples")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bare_forward_rate(model, paths: list[str], batch: int) -> float:
    """Images/s of decoding + logits only, batched like collection."""
    h, w, _ = model.image_shape
    fn = tf.function(model.logits, reduce_retracing=True)
    start = time.perf_counter()
    n = 0
    for b in iter_batches(paths, (h, w), batch):
        fn(tf.constant(b.images)).numpy()
        n += len(b.ids)
    return n / (time.perf_counter() - start)


def collection_rate(model, layer: str, paths: list[str], batch: int, positions: int) -> float:
    """Images/s of :func:`collect.collect` into a temporary folder."""
    folder = tempfile.mkdtemp()
    try:
        start = time.perf_counter()
        collect.collect(model, layer, paths, folder, positions, batch_size=batch, progress=False)
        return len(paths) / (time.perf_counter() - start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def render_rate(model, layer: str, batch: int, size: int, steps: int) -> float:
    """Icon image-steps/s at a batch size: one icon renderer, tracing done by a warm-up batch."""
    rng = np.random.default_rng(0)
    depth = model.layer(layer).depth
    cells = tuple((0, i, rng.normal(size=depth).astype(np.float32)) for i in range(batch))
    renderer = IconRenderer()
    folder = tempfile.mkdtemp()
    try:
        def timed(k: int, n_steps: int) -> float:
            start = time.perf_counter()
            renderer(model, IconJob(k, layer, cells, folder,
                                    IconSettings(size, n_steps, batch=batch), None))
            return time.perf_counter() - start

        timed(0, 2 + steps)  # traces both steps (redirected ReLU for the first 16, then plain)
        short, long = timed(1, 2), timed(2, 2 + steps)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return batch * steps / max(1e-9, long - short)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default=DEFAULT_IMAGES)
    parser.add_argument("--n-images", type=int, default=200)
    parser.add_argument("--layer", default="block12_expanded")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--positions", type=int, default=16)
    parser.add_argument("--icon-size", type=int, default=80)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    paths = resolve_paths(args.images)[: args.n_images]
    model = models.load("efficientnet_lite0")
    bare_forward_rate(model, paths[: args.batch], args.batch)  # warm-up
    bare = bare_forward_rate(model, paths, args.batch)
    collection_rate(model, args.layer, paths[: args.batch + 1], args.batch, args.positions)  # warm-up
    coll = collection_rate(model, args.layer, paths, args.batch, args.positions)
    out = {"images": len(paths), "layer": args.layer,
           "collection_images_per_s": round(coll, 2), "bare_forward_images_per_s": round(bare, 2),
           "collection_vs_bare": round(coll / bare, 3), "render_image_steps_per_s": {}}
    print(f"collection {coll:.1f} img/s vs bare forward {bare:.1f} img/s ({coll / bare:.2f}x)", file=sys.stderr)
    for batch in (1, 8, 32):
        rate = render_rate(model, args.layer, batch, args.icon_size, args.steps)
        out["render_image_steps_per_s"][str(batch)] = round(rate, 2)
        print(f"render batch {batch}: {rate:.1f} image-steps/s", file=sys.stderr)
    r = out["render_image_steps_per_s"]
    out["render_batch32_vs_batch1"] = round(r["32"] / r["1"], 2)
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
