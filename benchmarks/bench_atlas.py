"""Benchmark: atlas collection throughput, batched icon rendering, and stage times end to end.

* collection images/s vs the bare batched forward of the same model on the same images
  (both decode the JPEGs; the bare run only computes logits);
* icon rendering image-steps/s at batch 1, 8, 32 and 64 (same icon size and transforms);
* ``--profile``: where an icon step's time goes (80 px, the default icons and batch): the model's
  forward and backward to the layer, the parameterization, the transforms, the objective and its
  penalties, the optimizer and image operators, host work between chunks; and the icon path's
  image-steps/s against the bare batched forward+backward at the same batch and input size.

Stage times of a full atlas are in the ``stage_seconds`` of ``lucid-atlas atlas --json``.

Uses ``../shared/imagenet-samples`` (or ``--images``). Prints a JSON line last with ``--json``.

    python benchmarks/bench_atlas.py --json
"""

from __future__ import annotations

import argparse
import dataclasses
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
from lucid_atlas.optvis import param as param_lib, rng, transform  # noqa: E402

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
        collect.collect(model, layer, paths, folder, positions=positions, batch_size=batch, progress=False)
        return len(paths) / (time.perf_counter() - start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def random_cells(model, layer: str, n: int) -> tuple:
    """``n`` icon cells ((row, col, direction), ...) with random directions of the layer's depth."""
    rng_ = np.random.default_rng(0)
    depth = model.layer(layer).depth
    return tuple((0, i, rng_.normal(size=depth).astype(np.float32)) for i in range(n))


def render_rate(model, layer: str, batch: int, size: int, steps: int) -> float:
    """Icon image-steps/s at a batch size (an image-step: one view of one image through the model and
    back; an icon step takes ``IconSettings.views`` of them): one icon renderer, warmed up by a first batch."""
    cells = random_cells(model, layer, batch)
    renderer = IconRenderer()
    views = IconSettings().views
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
    return batch * steps * views / max(1e-9, long - short)


def _seconds_per_call(fn, calls: int) -> float:
    """Mean wall seconds of ``fn()`` after two warm-up calls (tracing)."""
    fn(), fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def _gradient_fn(fn, variables):
    """A compiled forward+backward of ``sum(fn()²)`` with respect to ``variables``."""
    @tf.function
    def run():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(tf.cast(fn(), tf.float32)))
        return tape.gradient(loss, variables)
    return run


def _gradient_time(fn, variables, calls: int) -> float:
    """Seconds of one forward+backward of ``sum(fn()²)`` with respect to ``variables`` (compiled)."""
    return _seconds_per_call(_gradient_fn(fn, variables), calls)


class _IconStepTimer:
    """A compiled icon render for ``settings`` that times its plain steps, its redirected-ReLU
    steps, and the host work of a whole icon job beyond its steps (restart, PNGs)."""

    def __init__(self, model, layer: str, settings: IconSettings, job_steps: int):
        self.cells = random_cells(model, layer, settings.batch)
        self.model, self.layer, self.job_steps = model, layer, job_steps
        self.settings = dataclasses.replace(settings, steps=job_steps)
        self.renderer = IconRenderer()
        self.folder = tempfile.mkdtemp()
        self.renderer(model, self._job(0))  # traces both steps
        self.compiled, _ = self.renderer._renderer(model, self._job(0), settings.batch)
        self.compiled.restart(0)
        self.compiled.step(self.compiled.relu_gradient_steps)

    def _job(self, k: int) -> IconJob:
        return IconJob(k, self.layer, self.cells, self.folder, self.settings, None)

    def plain(self, steps: int = 16) -> float:
        """Seconds per plain step (the renderer continues from where it is)."""
        start = time.perf_counter()
        self.compiled.step(steps)
        return (time.perf_counter() - start) / steps

    def job(self) -> dict:
        """Seconds of a redirected step, and the host work of one whole job."""
        k = self.compiled.relu_gradient_steps
        os.makedirs(self.folder, exist_ok=True)
        self.compiled.restart(1)
        start = time.perf_counter()
        self.compiled.step(k)
        redirected = (time.perf_counter() - start) / k
        plain = self.plain()
        start = time.perf_counter()
        self.renderer(self.model, self._job(1 + int(start)))
        whole = time.perf_counter() - start
        shutil.rmtree(self.folder, ignore_errors=True)
        return {"redirected": redirected, "redirected_steps": k,
                "host": whole - k * redirected - (self.job_steps - k) * plain}


MODEL_PART = "model forward+backward to the layer"


def profile_icon_step(model, layer: str, settings: IconSettings, job_steps: int = 64, calls: int = 8,
                      rounds: int = 5) -> dict:
    """Where an icon step's time goes, in ms per step of a whole ``settings.steps``-step icon job
    (the batch together): the compiled step and the model's share of it, the redirected-ReLU steps
    and the host work spread over the job (the lesser of two jobs); the other parts timed alone
    (forward+backward of each), transparency (or the border penalty) and the image operators as the
    difference they make to the compiled step (variants and the bare model timed in turns, fastest
    of ``rounds`` turns, so a slow spell hits none)."""
    b, size, views = settings.batch, settings.size, settings.views
    seeds = rng.per_image(tf.constant([0, 5], tf.int64), tf.range(b, dtype=tf.int64))
    chain = transform.compose(*settings.transform_list())
    p = param_lib.image(size, batch=b, decay_power=settings.decay_power, alpha=bool(settings.alpha))
    rgb = tf.Variable(tf.random.uniform([b, size, size, 3]))
    model_in = tf.Variable(tf.random.uniform(chain(rgb, seeds).shape))
    at_icon = tf.Variable(tf.random.uniform([b, size, size, 3]))
    acts = lambda x: model.activations(x, [layer])[layer]  # noqa: E731
    penalty = "transparency (RGBA image, background, opacity penalty)" if settings.alpha else "border penalty"
    timers = {
        "full": _IconStepTimer(model, layer, settings, job_steps),
        penalty: _IconStepTimer(model, layer, dataclasses.replace(settings, boundary=0.0, alpha=0.0), job_steps),
        "image operators (blur every 4 steps)": _IconStepTimer(model, layer, dataclasses.replace(settings, blur=0.0),
                                                               job_steps),
    }
    bare = _gradient_fn(lambda: acts(model_in), [model_in])
    fastest = {name: timer.plain() for name, timer in timers.items()}
    model_alone = _seconds_per_call(bare, calls)
    for _ in range(rounds - 1):  # in turns: each round times every variant and the bare model once
        for name, timer in timers.items():
            fastest[name] = min(fastest[name], timer.plain())
        model_alone = min(model_alone, _seconds_per_call(bare, calls))
    step = fastest.pop("full")
    jobs = [timers["full"].job() for _ in range(2)]  # the lesser of two: one job is a single timing
    job = {key: min(j[key] for j in jobs) for key in jobs[0]}
    n, k = settings.steps, job["redirected_steps"]
    per_step = {
        "compiled step": step,
        f"  of which {MODEL_PART} (timed alone, × {views} views)": views * model_alone,
        "  of which everything else (step − model)": step - views * model_alone,
        f"redirected ReLU gradient (first {k} steps, spread over {n})": k * (job["redirected"] - step) / n,
        f"host work between chunks (restart, PNGs; spread over {n})": max(0.0, job["host"]) / n,
    }
    total = step + sum(list(per_step.values())[3:])
    # the other parts, each timed alone (forward+backward) or as the difference it makes to the step;
    # in the step they partly run in parallel with the model on 2 cores, so they do not add up
    alone = {
        "parameterization (Fourier, decorrelation, sigmoid)": _gradient_time(p, p.trainable_variables, calls),
        "transforms and warps": _gradient_time(lambda: chain(rgb, seeds), [rgb], calls),
        **{name: step - t for name, t in fastest.items()},
    }
    bare_icon = _gradient_time(lambda: acts(at_icon), [at_icon], calls)
    # an icon step runs the model once per view: the bare comparison is per image-view
    return {
        "batch": b, "size": size, "model_input": list(model_in.shape[1:3]), "steps": n, "views": views,
        "ms_per_step": {key: round(1e3 * v, 2) for key, v in per_step.items()},
        "share_of_step": {key: round(v / total, 3) for key, v in per_step.items()},
        "parts_ms": {key: round(1e3 * v, 2) for key, v in alone.items()},
        "icon_image_steps_per_s": round(b * views / total, 1),
        "bare_image_steps_per_s": round(b / model_alone, 1),
        "bare_at_icon_size_image_steps_per_s": round(b / bare_icon, 1),
        "icon_vs_bare": round(views * model_alone / total, 3),
        "icon_vs_bare_at_icon_size": round(views * bare_icon / total, 3),
    }


def _in_streams(fns: list, seconds_of) -> float:
    """Wall seconds of running ``seconds_of(fn)`` for every fn at once, one thread each."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(fns)) as pool:
        start = time.perf_counter()
        list(pool.map(seconds_of, fns))
        return time.perf_counter() - start


def stream_rates(model, layer: str, settings: IconSettings, streams: int, steps: int = 32, rounds: int = 3) -> dict:
    """Icon image-steps/s with ``streams`` icon batches side by side (as the CLI's LocalExecutor runs
    them, each op on one thread after :func:`executors.one_thread_per_op`), against ``streams`` bare
    batched forward+backward passes side by side; best of ``rounds``, in turns."""
    b = settings.batch
    timers = [_IconStepTimer(model, layer, settings, 64) for _ in range(streams)]
    chain = transform.compose(*settings.transform_list())
    seeds = rng.per_image(tf.constant([0, 5], tf.int64), tf.range(b, dtype=tf.int64))
    shape = chain(tf.random.uniform([b, settings.size, settings.size, 3]), seeds).shape
    bare = []
    for _ in range(streams):
        x = tf.Variable(tf.random.uniform(shape))

        @tf.function
        def gradient(x=x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(model.activations(x, [layer])[layer]))
            return tape.gradient(loss, [x])
        gradient(), gradient()
        bare.append(gradient)
    icon_s = bare_s = float("inf")
    for _ in range(rounds):
        icon_s = min(icon_s, _in_streams(timers, lambda t: t.plain(steps)))
        bare_s = min(bare_s, _in_streams(bare, lambda g: [g() for _ in range(steps)][-1][0].numpy()))
    icon, plain_bare = streams * b * steps / icon_s, streams * b * steps / bare_s
    return {"streams": streams, "icon_image_steps_per_s": round(icon, 1),
            "bare_image_steps_per_s": round(plain_bare, 1), "icon_vs_bare": round(icon / plain_bare, 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default=DEFAULT_IMAGES)
    parser.add_argument("--n-images", type=int, default=200)
    parser.add_argument("--layer", default="block12_expanded")
    parser.add_argument("--batch", type=int, default=32, help="collection batch")
    parser.add_argument("--icon-batch", type=int, default=IconSettings().batch, help="icon batch for --profile")
    parser.add_argument("--positions", type=int, default=16)
    parser.add_argument("--icon-size", type=int, default=80)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--profile", action="store_true",
                        help="only the icon step's profile (default icons, --icon-batch)")
    parser.add_argument("--streams", type=int, default=0,
                        help="with --profile: also the plain steps' image-steps/s with this many icon batches side by "
                        "side, each op on one thread (the CLI's default: one stream per core), against as many bare "
                        "passes side by side; set before TensorFlow starts, so the whole profile runs that way")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.streams > 1:
        from lucid_atlas.atlas.executors import one_thread_per_op

        one_thread_per_op(args.streams)
    model = models.load("efficientnet_lite0")
    if args.profile:
        settings = IconSettings(size=args.icon_size, batch=args.icon_batch)
        out = profile_icon_step(model, args.layer, settings)
        if args.streams > 1:
            out["side_by_side"] = stream_rates(model, args.layer, settings, args.streams)
            side = out["side_by_side"]
            print(f"{side['streams']} streams side by side, each op on one thread: icon "
                  f"{side['icon_image_steps_per_s']} vs bare {side['bare_image_steps_per_s']} image-steps/s "
                  f"({side['icon_vs_bare']}x)", file=sys.stderr)
        for k, v in out["ms_per_step"].items():
            print(f"{k:64s} {v:8.1f} ms  {100 * out['share_of_step'][k]:5.1f} %", file=sys.stderr)
        for k, v in out["parts_ms"].items():
            print(f"  part (alone or by difference): {k:48s} {v:8.1f} ms", file=sys.stderr)
        print(f"icon path {out['icon_image_steps_per_s']} image-steps/s = {out['icon_vs_bare']}x the bare "
              f"forward+backward at the model's input size {out['model_input']}, "
              f"{out['icon_vs_bare_at_icon_size']}x at the icon's size", file=sys.stderr)
        print(json.dumps(out) if args.json else json.dumps(out, indent=2))
        return 0
    paths = resolve_paths(args.images)[: args.n_images]
    bare_forward_rate(model, paths[: args.batch], args.batch)  # warm-up
    bare = bare_forward_rate(model, paths, args.batch)
    collection_rate(model, args.layer, paths[: args.batch + 1], args.batch, args.positions)  # warm-up
    coll = collection_rate(model, args.layer, paths, args.batch, args.positions)
    out = {"images": len(paths), "layer": args.layer,
           "collection_images_per_s": round(coll, 2), "bare_forward_images_per_s": round(bare, 2),
           "collection_vs_bare": round(coll / bare, 3), "render_image_steps_per_s": {}}
    print(f"collection {coll:.1f} img/s vs bare forward {bare:.1f} img/s ({coll / bare:.2f}x)", file=sys.stderr)
    for batch in (1, 8, 32, 64):
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
