"""Benchmark: how an atlas's cost grows from 10 thousand to 1 million activation rows.

Rows come from a real collection (default: the 16 000 rows of the 1000 ImageNet samples at
``block12_expanded``, ``out/atlas1000/activations``), repeated with small seeded perturbations
(each value × (1 + 0.05 · N(0, 1)), kept ≥ 0) and written as shards the normal way
(``collect.import_vectors``), so the pipeline's own reader is what is measured. Each size then
runs ``build_atlas`` streaming its rows (whitening, layout, grids, assemble); icons are rendered
small and fast (their cost grows with cells, not rows: it is timed per cell and left out of the
growth curve). For each stage: seconds, peak memory of the process and its layout workers (RSS
and PSS summed, sampled every 0.1 s: PSS counts a page shared among them once) and the
growth exponent (log-log slope between consecutive sizes).

    python benchmarks/bench_scale.py --sizes 10000 100000 1000000 --json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from lucid_atlas import models  # noqa: E402
from lucid_atlas.atlas import collect  # noqa: E402
from lucid_atlas.atlas.pipeline import AtlasSettings, build_atlas  # noqa: E402
from lucid_atlas.atlas.render import IconSettings  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_SOURCE = os.path.join(REPO, "out", "atlas1000", "activations")
STAGES = ("import", "whitening", "layout")  # then grid_<n> and assemble_<n>; render_<n> is reported apart
CHUNK = 10000


def memory_mb() -> tuple[float, float]:
    """(RSS, PSS) of this process and its children (the layout's workers), in MB. RSS counts a page
    shared by several processes (libraries, copy-on-write memory) once per process; PSS shares it
    out among them, so its sum is the physical memory the job holds."""
    rss = pss = 0
    for process in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        try:
            info = process.memory_full_info()
        except psutil.Error:
            continue
        rss, pss = rss + info.rss, pss + info.pss
    return rss / 2 ** 20, pss / 2 ** 20


class StageMeter:
    """Seconds and peak RSS and PSS of named stages: ``meter.start(name)`` closes the previous one."""

    def __init__(self, interval: float = 0.1):
        self.stages: dict[str, dict] = {}
        self._name, self._t0, self._peak = None, 0.0, (0.0, 0.0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, args=(interval,), daemon=True)
        self._thread.start()

    def _poll(self, interval: float) -> None:
        while not self._stop.wait(interval):
            with self._lock:
                self._peak = tuple(map(max, self._peak, memory_mb()))

    def start(self, name: str | None) -> None:
        now = time.perf_counter()
        with self._lock:
            if self._name is not None:
                rss, pss = map(max, self._peak, memory_mb())
                self.stages[self._name] = {"seconds": round(now - self._t0, 2), "peak_rss_mb": round(rss),
                                           "peak_pss_mb": round(pss)}
            self._name, self._t0, self._peak = name, now, memory_mb()

    def close(self) -> dict[str, dict]:
        self.start(None)
        self._stop.set()
        return self.stages


def perturbed_chunks(base: np.ndarray, n_rows: int, seed: int = 0):
    """``n_rows`` rows: the base rows in turn, each value × (1 + 0.05·N(0, 1)), clipped at 0."""
    for start in range(0, n_rows, CHUNK):
        idx = np.arange(start, min(start + CHUNK, n_rows)) % len(base)
        noise = np.random.default_rng([seed, start]).standard_normal((len(idx), base.shape[1]), np.float32)
        yield np.maximum(base[idx] * (1 + 0.05 * noise), 0).astype(np.float32)


def run_size(model, base: np.ndarray, layer: str, n_rows: int, out_dir: str, grids: tuple, dtype: str,
             icons: IconSettings) -> dict:
    """One size end to end; returns per-stage seconds and peak RSS."""
    meter = StageMeter()
    meter.start("import")
    collect.import_vectors(model, layer, perturbed_chunks(base, n_rows), os.path.join(out_dir, "activations"),
                           shard_rows=CHUNK, source=f"bench_scale {n_rows}", n_rows=n_rows, dtype=dtype)
    settings = AtlasSettings(layer=layer, grids=grids, in_memory_rows=0, dtype=dtype, min_count=3)

    def on_stage(name: str) -> None:
        if name != "collect":
            meter.start(name)
    summary = build_atlas(model, None, out_dir, settings, icons, progress=False, on_stage=on_stage, collected=True)
    stages = meter.close()
    cells = sum(g["cells"] for g in summary["grids"].values())
    for n in grids:  # icons are rendered and the picture assembled inside render_<n>; assemble_<n> writes JSON
        drawn, written = stages.pop(f"render_{n}"), stages.pop(f"assemble_{n}")
        stages[f"render+assemble_{n}"] = {"seconds": round(drawn["seconds"] + written["seconds"], 2),
                                          **{k: max(drawn[k], written[k]) for k in ("peak_rss_mb", "peak_pss_mb")}}
    render = summary["stage_seconds"]["render"]
    stages["assemble"] = {"seconds": summary["stage_seconds"]["assemble"],
                          **{m: max(v[m] for k, v in stages.items() if k.startswith("render+"))
                             for m in ("peak_rss_mb", "peak_pss_mb")}}
    shard_bytes = sum(os.path.getsize(os.path.join(out_dir, "activations", f)) for f in
                      os.listdir(os.path.join(out_dir, "activations")) if f.startswith("acts-"))
    core = ["whitening", "layout", *[f"grid_{n}" for n in grids], "assemble"]
    return {"rows": n_rows, "stages": stages,
            "core_seconds": round(sum(stages[k]["seconds"] for k in core), 1),
            "core_peak_rss_mb": max(stages[k]["peak_rss_mb"] for k in core),
            "core_peak_pss_mb": max(stages[k]["peak_pss_mb"] for k in core),
            "render_seconds_per_cell": round(render / max(cells, 1), 4),
            "cells": {n: summary["grids"][str(n)]["cells"] for n in grids}, "shard_gb": round(shard_bytes / 1e9, 2),
            "trustworthiness": summary["trustworthiness"], "atlas": summary["grids"][str(grids[-1])]["atlas"]}


def growth(results: list[dict]) -> dict:
    """Log-log slope of each stage's seconds between consecutive sizes."""
    out = {}
    for a, b in zip(results, results[1:]):
        key = f"{a['rows']}->{b['rows']}"
        out[key] = {stage: round(math.log(max(b["stages"][stage]["seconds"], 1e-3) /
                                          max(a["stages"][stage]["seconds"], 1e-3)) /
                                 math.log(b["rows"] / a["rows"]), 2)
                    for stage in a["stages"] if stage in b["stages"]}
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", default=DEFAULT_SOURCE, help="a collection folder to draw the base rows from")
    p.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000, 1000000])
    p.add_argument("--grids", type=int, nargs="+", default=[20, 40])
    p.add_argument("--dtype", choices=collect.DTYPES, default="float32")
    p.add_argument("--out", default=os.path.join(REPO, "out", "bench_scale"))
    p.add_argument("--keep", action="store_true", help="keep each size's folder (resume a killed run)")
    p.add_argument("--json", action="store_true", help="print one JSON summary line last")
    args = p.parse_args(argv)
    if not os.path.exists(os.path.join(args.source, collect.MANIFEST)):
        sys.exit(f"no collection at {args.source}: make one with `lucid-atlas atlas --images "
                 f"../shared/imagenet-samples --positions 16 --out {os.path.dirname(args.source)}`, or give --source")
    acts = collect.load_activations(args.source)
    base, layer = acts.vectors, acts.manifest["settings"]["layer"]
    model = models.load(acts.manifest["settings"]["model"])
    icons = IconSettings(size=24, steps=8, batch=128, transforms="notebook")
    results = []
    for n in sorted(args.sizes):
        out_dir = os.path.join(args.out, f"{args.dtype}_{n}")
        if not args.keep:
            shutil.rmtree(out_dir, ignore_errors=True)
        result = run_size(model, base, layer, n, out_dir, tuple(args.grids), args.dtype, icons)
        results.append(result)
        print(json.dumps(result), flush=True)
    summary = {"layer": layer, "depth": int(base.shape[1]), "dtype": args.dtype, "base_rows": len(base),
               "sizes": results, "growth_exponent": growth(results)}
    if args.json:
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
