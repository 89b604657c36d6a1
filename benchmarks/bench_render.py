"""Benchmark: render_vis steps/s vs Xplique's optimize and vs the bare model forward+backward.

Same model (EfficientNet-Lite0 with the same weights, fixed input size), same layer and
channel, same image size and step count, in one process. Rates are steady-state: each
library runs ``warmup + steps`` steps in one run, timed at every ``steps / 4`` after the warmup,
and the rate is the best of those intervals, so tracing is not counted (Xplique's steps are
stamped by its optimizer, as its loop is Python). Every engine runs once per round, back to back, and
ratios are medians of per-round ratios, so slow spells of this shared machine hit both sides of a
ratio alike. ``step_breakdown`` times our step with parts removed (transforms, the Fourier image),
the model's forward+backward alone, and Xplique, in turns: what 2× Xplique leaves beside the model.
Prints a human summary and, with ``--json``, one JSON line last. Xplique is
optional (``make bench`` installs it); without it its figures are null.

    python benchmarks/bench_render.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from lucid_atlas import models  # noqa: E402
from lucid_atlas.optvis import objectives, optimizers, param, render, transform  # noqa: E402

LAYER, CHANNEL = "block9_expanded", 17


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


ROUNDS = 4  # rates are best-of-rounds, interleaved between engines, to damp machine noise


def ours_rate(model, size: int, steps: int, warmup: int, batch: int = 1, transforms=None) -> float:
    """Steady-state render steps/s of lucid_atlas (best of several intervals of one run)."""
    marks = {}
    chunk = max(1, steps // ROUNDS)
    thresholds = [warmup + k * chunk for k in range(ROUNDS + 1)]
    render.render(model, objectives.channel(LAYER, CHANNEL), lambda: param.image(size, batch=batch),
                  thresholds=thresholds, progress=False, transforms=transforms,
                  callback=lambda i, _img: marks.__setitem__(i, time.perf_counter()))
    return max(chunk / (marks[b] - marks[a]) for a, b in zip(thresholds, thresholds[1:]))


def bare_rate(model, size: int, steps: int, warmup: int) -> float:
    """Forward + backward of the model alone on a fixed input (no param, no transforms)."""
    keras_model = model.info["keras_model"]
    x = tf.Variable(tf.random.uniform((1, size, size, 3)))
    tap = tf.keras.Model(keras_model.inputs, keras_model.get_layer(LAYER).output)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tap(model.preprocess(x))[..., CHANNEL])
        return tape.gradient(loss, x)

    for _ in range(warmup):
        step().numpy()
    best, chunk = 0.0, max(1, steps // ROUNDS)
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(chunk):
            step().numpy()
        best = max(best, chunk / (time.perf_counter() - start))
    return best


def compiled_step(model, size: int, transforms, fft: bool = True) -> render.Step:
    """Our compiled batch-1 render step for the benchmark's channel: Fourier (or pixel) image, Adam(0.05)."""
    p = param.image(size, fft=fft)
    opt = optimizers.Adam(0.05)
    opt.build(p.trainable_variables)
    return render.make_step(model, objectives.channel(LAYER, CHANNEL), p, opt, transforms)


def paired_ratio(model, size: int, rounds: int = 8, chunk: int = 10) -> dict:
    """Our compiled render step vs the bare forward+backward, alternating chunks of steps.

    Both run in the same seconds of machine time, so load from elsewhere hits them alike; the
    median of the per-round ratios is reported.
    """
    step = compiled_step(model, size, transform.standard_transforms())
    keras_model = model.info["keras_model"]
    tap = tf.keras.Model(keras_model.inputs, keras_model.get_layer(LAYER).output)
    x = tf.Variable(tf.random.uniform((1, size, size, 3)))

    @tf.function
    def bare():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tap(model.preprocess(x))[..., CHANNEL])
        return tape.gradient(loss, x)

    def timed_ours():
        start = time.perf_counter()
        step(chunk)[0].numpy()  # the render loop runs chunks of steps per call
        return chunk / (time.perf_counter() - start)

    def timed_bare():
        start = time.perf_counter()
        for _ in range(chunk):
            bare().numpy()
        return chunk / (time.perf_counter() - start)

    step(chunk)[0].numpy()
    for _ in range(10):
        bare().numpy()
    pairs = [(timed_ours(), timed_bare()) for _ in range(rounds)]
    ratios = sorted(a / b for a, b in pairs)
    return {"median_ratio": round(float(np.median(ratios)), 3),
            "ours_median_steps_per_s": round(float(np.median([a for a, _ in pairs])), 2),
            "bare_median_per_s": round(float(np.median([b for _, b in pairs])), 2)}


def step_breakdown(model, size: int, rounds: int = 4, chunk: int = 20) -> dict:
    """ms per step of our compiled step and of parts of it removed in turn, against Xplique's step.

    Variants (batch 1, same layer and channel): the full step (Fourier image, Lucid's transforms);
    without the transforms; with plain pixels instead of the Fourier image, without transforms; and
    the model's forward+backward alone with our gradients, in the same compiled loop. Each round
    times every variant, the bare stock forward+backward and Xplique once; medians of the rounds.
    ``xplique_half_ms`` is the step time 2× Xplique's rate allows; ``left_for_the_rest_ms`` what
    that leaves beside the model alone for the parameterization, transforms and Adam.
    """
    from lucid_atlas.optvis.conv_gradient import CONV_OVERRIDES

    def last_values(transforms, fft=True):
        step = compiled_step(model, size, transforms, fft)
        return lambda n: step(n)[0]

    x = tf.Variable(tf.random.uniform((1, size, size, 3)))

    @tf.function
    def model_alone(n):
        def body(i, total):
            acts = model.activations(x, [LAYER], gradient_overrides=CONV_OVERRIDES)[LAYER]
            loss = tf.reduce_mean(acts[..., CHANNEL])
            grad = tf.gradients(loss, x)[0]
            with tf.control_dependencies([x.assign_sub(0.0 * grad)]):  # the gradient is computed and used
                return i + 1, total + loss
        return tf.while_loop(lambda i, _: i < n, body, (0, 0.0))[1]

    variants = {"full_step": last_values(transform.standard_transforms()),
                "no_transforms": last_values([]),
                "pixel_param_no_transforms": last_values([], fft=False),
                "model_alone_our_gradients": model_alone}
    for fn in variants.values():
        fn(tf.constant(5)).numpy()
    times: dict[str, list[float]] = {key: [] for key in [*variants, "bare_stock", "xplique"]}
    for _ in range(rounds):
        for key, fn in variants.items():
            start = time.perf_counter()
            fn(tf.constant(chunk)).numpy()
            times[key].append(1e3 * (time.perf_counter() - start) / chunk)
        times["bare_stock"].append(1e3 / bare_rate(model, size, 2 * chunk, 10))
        rate = xplique_rate(model, size, 2 * chunk, 20)
        times["xplique"].append(1e3 / rate if rate else float("nan"))
    out = {f"{key}_ms": round(float(np.median(v)), 2) for key, v in times.items()}
    if not np.isnan(out["xplique_ms"]):
        out["xplique_half_ms"] = round(out["xplique_ms"] / 2, 2)
        out["left_for_the_rest_ms"] = round(out["xplique_half_ms"] - out["model_alone_our_gradients_ms"], 2)
    return out


def xplique_rate(model, size: int, steps: int, warmup: int, matched: bool = False) -> float | None:
    """Steady-state steps/s of Xplique's features_visualizations.optimize, or None if absent.

    Timed as ours is: one run of ``warmup + steps`` steps, the rate the best of several intervals
    after the warmup. Xplique's loop is Python (one compiled step, then ``apply_gradients``), so its
    own default optimizer, Adam(0.05), stamps the time after each step. ``matched=True`` turns off
    Xplique's default transformations (which crop a 128 px image to about 44 px before the model)
    so both engines push the same pixels through the network.
    """
    try:
        from xplique.features_visualizations import Objective, optimize
    except ImportError:
        return None
    keras_model = model.info["keras_model"]
    lo, hi = -127.0 / 128.0, 128.0 / 128.0  # lite0's input range for pixels in [0, 1]
    stamps: list[float] = []

    class StampedAdam(tf.keras.optimizers.Adam):
        def apply_gradients(self, grads_and_vars, *args, **kwargs):
            result = super().apply_gradients(grads_and_vars, *args, **kwargs)
            stamps.append(time.perf_counter())
            return result

    optimize(Objective.channel(keras_model, LAYER, CHANNEL), optimizer=StampedAdam(0.05), nb_steps=warmup + steps,
             values_range=(lo, hi), custom_shape=(size, size), **({"transformations": None} if matched else {}))
    chunk = max(1, steps // ROUNDS)
    marks = [warmup - 1 + k * chunk for k in range(ROUNDS + 1)]  # stamps[i]: the end of step i + 1
    return max(chunk / (stamps[b] - stamps[a]) for a, b in zip(marks, marks[1:]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=20,
                        help="steps before timing (past the 16 redirected-ReLU steps)")
    parser.add_argument("--sizes", default="128,224")
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all engines back to back (medians)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {"model": "efficientnet_lite0", "layer": LAYER, "channel": CHANNEL, "steps": args.steps,
               "rounds": args.rounds,
               "sizes": {}, "batch_scaling_128px": {}}
    for size in sizes:
        model = models.load("efficientnet_lite0", input_size=size)
        rounds = []  # each round times every engine back to back; ratios are taken within a round
        for _ in range(args.rounds):
            rounds.append({
                "ours": ours_rate(model, size, args.steps, args.warmup),
                "bare": bare_rate(model, size, args.steps, args.warmup),
                "ours_plain": ours_rate(model, size, args.steps, args.warmup, transforms=[]),
                "xplique": xplique_rate(model, size, args.steps, args.warmup),
                "xplique_plain": xplique_rate(model, size, args.steps, args.warmup, True),
            })

        def median(key, rounds=rounds):
            values = [r[key] for r in rounds]
            return float(np.median(values)) if None not in values else None

        def ratio(a, b, rounds=rounds):
            if rounds[0][b] is None:
                return None
            return float(np.median([r[a] / r[b] for r in rounds]))

        row = {"ours_steps_per_s": median("ours"), "bare_fwd_bwd_per_s": median("bare"),
               "ours_no_transforms_steps_per_s": median("ours_plain"),
               "xplique_steps_per_s": median("xplique"),
               "xplique_no_transforms_steps_per_s": median("xplique_plain"),
               "ours_vs_bare": ratio("ours", "bare"),
               "ours_vs_bare_per_round": [round(r["ours"] / r["bare"], 3) for r in rounds],
               "paired_step_vs_bare": paired_ratio(model, size),
               "step_breakdown": step_breakdown(model, size),
               "ours_vs_xplique": ratio("ours", "xplique"),
               "ours_vs_xplique_per_round": ([round(r["ours"] / r["xplique"], 3) for r in rounds]
                                             if rounds[0]["xplique"] else None),
               "ours_vs_xplique_no_transforms": ratio("ours_plain", "xplique_plain")}
        row["peak_rss_mb"] = peak_rss_mb()
        results["sizes"][str(size)] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
        paired = row["paired_step_vs_bare"]["median_ratio"]
        print(f"{size}px: paired step/bare median ratio {paired:.2f}", file=sys.stderr)
        print(f"{size}px: ms per step {row['step_breakdown']}", file=sys.stderr)
        print(f"{size}px: ours {row['ours_steps_per_s']:.2f} steps/s, bare {row['bare_fwd_bwd_per_s']:.2f}/s "
              f"({row['ours_vs_bare']:.2f}x), xplique {row['xplique_steps_per_s'] or float('nan'):.2f} steps/s "
              f"({(row['ours_vs_xplique'] or float('nan')):.2f}x); without transforms ours "
              f"{row['ours_no_transforms_steps_per_s']:.2f} vs xplique "
              f"{row['xplique_no_transforms_steps_per_s'] or float('nan'):.2f} "
              f"({(row['ours_vs_xplique_no_transforms'] or float('nan')):.2f}x)", file=sys.stderr)
    model = models.load("efficientnet_lite0", input_size=128)  # the model runs at the image size
    for batch in [int(b) for b in args.batches.split(",")]:
        rate = ours_rate(model, 128, max(10, args.steps // 4), 20, batch)  # past the 16 redirected-ReLU steps
        results["batch_scaling_128px"][str(batch)] = {"steps_per_s": round(rate, 3),
                                                      "image_steps_per_s": round(rate * batch, 3),
                                                      "peak_rss_mb": round(peak_rss_mb(), 1)}
        print(f"batch {batch}: {rate * batch:.2f} image-steps/s", file=sys.stderr)
    results["peak_rss_mb"] = round(peak_rss_mb(), 1)
    results["tensorflow"] = tf.__version__
    results["cpu_count"] = os.cpu_count()
    if args.json:
        print(json.dumps(results))
    else:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
