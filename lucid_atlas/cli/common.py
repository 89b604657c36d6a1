"""What the subcommands share: quiet TensorFlow, the summary line, option groups, settings from options."""

from __future__ import annotations

import argparse
import os
import warnings
from typing import Callable

# add(name, command function, help) -> the subcommand's parser (with --json), as build_parser makes it
Adder = Callable[[str, Callable[[argparse.Namespace], dict], str], argparse.ArgumentParser]


def quiet_tf() -> None:
    """Import TensorFlow with its C++ start-up INFO lines (oneDNN, CUDA probe) kept off stderr."""
    import logging

    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe's error line, on a CPU machine
    finally:
        os.dup2(saved, 2)
        os.close(saved)

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning, module="keras")


def finish(args: argparse.Namespace, summary: dict, json_name: str | None, message: str) -> dict:
    """Save the summary next to the outputs, tell people what was written, return it for --json."""
    if json_name:
        from lucid_atlas.io import storage

        storage.write_json(os.path.join(args.out, json_name), summary)
    if not args.json:
        print(message)
    return summary


def parse_thresholds(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in str(text).split(",") if v.strip()})
    except ValueError:
        raise ValueError(f"--steps takes step counts like 512 or 64,256,512, got '{text}'") from None
    if not values or values[0] < 1:
        raise ValueError(f"--steps must be positive, got '{text}'")
    return values


def split_list(text: str | None) -> list[str]:
    """The non-empty items of a comma-separated option."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def default_atlas_layer(model) -> str:
    """The layer atlases use when none is named: the model's own choice, else two thirds deep."""
    return model.info.get("atlas_layer") or model.layer_names[len(model.layer_names) * 2 // 3]


def icon_settings(args: argparse.Namespace):
    """The ``--icons`` preset with any of --icon-size/--steps/--tries/--batch/--coarse/--anneal/--lr given on top."""
    from lucid_atlas.atlas.render import IconSettings

    changes = {field: getattr(args, arg) for field, arg in
               (("size", "icon_size"), ("steps", "steps"), ("tries", "tries"), ("batch", "batch"),
                ("coarse", "coarse"), ("anneal", "anneal"), ("learning_rate", "lr"))
               if getattr(args, arg, None) is not None}
    return IconSettings.preset(args.icons, seed=args.seed, **changes)


def class_settings(args: argparse.Namespace, model, grid: int, layer: str | None = None):
    """Class-atlas settings and icons from the options (``layer`` overrides ``--layer``)."""
    from lucid_atlas.atlas.classes import ClassAtlasSettings

    layer = layer or args.layer or default_atlas_layer(model)
    settings = ClassAtlasSettings(layer=layer, positions=args.positions, top_k=args.top_k, method=args.layout,
                                  grid=args.grid or grid, min_count=args.min_count, seed=args.seed,
                                  candidates=getattr(args, "candidates", 4))
    return settings, icon_settings(args)


def add_model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="efficientnet_lite0", help="zoo name or model file (default: %(default)s)")


def add_common_args(p: argparse.ArgumentParser, out: str, lr: float | None = 0.05) -> None:
    """--out, --seed, --lr (None: the icons' own, from their --icons preset) and --no-progress."""
    p.add_argument("--out", default=out, help="output folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=lr,
                   help="Adam learning rate (default: %(default)s)" if lr is not None else
                   "the icons' Adam learning rate (overrides the --icons preset's own)")
    p.add_argument("--no-progress", action="store_true")


def add_icon_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--icons", choices=["default", "calm_opaque", "vivid", "notebook", "published"], default="default",
                   help="icon recipe: default (calm, centred objects with transparent surroundings, shown on gray: "
                   "they read as a map), calm_opaque (opaque, kept plain toward the corners by Lucid's border "
                   "penalty), vivid (filled edge to edge, the first default), notebook (the Activation Atlas "
                   "notebook's), published (Lucid's recipe that rendered the published atlases: 80 px, 1024 steps, "
                   "4 tries)")
    p.add_argument("--icon-size", type=int, help="icon side in pixels (overrides the preset)")
    p.add_argument("--steps", type=int, help="render steps per icon (overrides the preset)")
    p.add_argument("--tries", type=int, help="renders per icon, the best kept (overrides the preset)")
    p.add_argument("--batch", type=int, help="icons rendered together: a speed setting (each icon keeps its "
                   "seed; see docs/feature-visualization.md, Render loop)")
    p.add_argument("--coarse", type=float, help="share of each icon's steps taken first at 0.6x its size, then "
                   "enlarged and refined at full size: faster (0.75: the render ~1.5x as fast), larger objects "
                   "(see docs/studies.md)")
    p.add_argument("--anneal", type=float, help="share of each icon's last steps over which the learning rate "
                   "(and the blur) fall to a tenth, so the icon settles (overrides the preset; 0: constant)")


def add_class_args(p: argparse.ArgumentParser, out: str, grid: int, pooled: bool = False) -> None:
    add_model_arg(p)
    p.add_argument("--images", default="default", help="image folder (a folder per class or synset-named files)")
    if pooled:
        p.add_argument("--activations", help="reuse these collection folders, one per --layer, comma-separated "
                       "(e.g. <atlas>/activations)")
        p.add_argument("--layer", help="layer (default: the model's atlas layer); auto: several comma-separated "
                       "layers pool their candidates, e.g. block12_expanded,block13_expanded,block14_expanded")
    else:
        p.add_argument("--activations", help="reuse this collection folder (e.g. <atlas>/activations)")
        p.add_argument("--layer", help="layer (default: the model's atlas layer)")
    p.add_argument("--positions", type=int, default=16, help="random positions per image when collecting")
    p.add_argument("--top-k", type=int, default=2000, help="rows kept, by attribution")
    p.add_argument("--layout", choices=["tsne", "umap"], default="tsne")
    p.add_argument("--grid", type=int, default=None, help=f"grid size (default {grid})")
    p.add_argument("--min-count", type=int, default=2)
    add_icon_args(p)
    add_common_args(p, out, lr=None)


def add_executor_args(p: argparse.ArgumentParser, what: str) -> None:
    """``--executor local|ray`` and the Ray cluster's options."""
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help=f"where {what} run (ray: pip install 'lucid-atlas[distributed]')")
    add_streams_arg(p)
    p.add_argument("--workers", type=int, help="ray: model-holding workers (default: one per CPU)")
    p.add_argument("--ray-address", help="ray: cluster address (default: start or join a local one)")
    p.add_argument("--gpus-per-worker", type=float, help="ray: GPUs per worker (default: 1 when the cluster "
                   "has GPUs, else 0)")


def add_streams_arg(p: argparse.ArgumentParser, default: int | None = None) -> None:
    """``--streams``: local jobs side by side (default None: one per CPU core)."""
    said = "one per CPU core" if default is None else str(default)
    p.add_argument("--streams", type=int, default=default,
                   help=f"local: jobs run side by side, each TensorFlow op on one thread (default: {said}; 1: one "
                   "job at a time, each op on every core)")


def local_executor(args: argparse.Namespace):
    """A LocalExecutor of ``--streams`` streams, TensorFlow's ops set to one thread each when there are
    several (call it before the model loads)."""
    from lucid_atlas.atlas.executors import LocalExecutor, one_thread_per_op

    streams = args.streams if args.streams is not None else (os.cpu_count() or 1)
    if streams > 1 and not one_thread_per_op(streams):
        streams = 1  # TensorFlow already running (only when called as a library): its ops use every core
    return LocalExecutor(streams)


def executor_from_args(args: argparse.Namespace):
    """A LocalExecutor of ``--streams`` streams (TensorFlow's ops set to one thread each when there are
    several: call this before the model loads), or a RayExecutor with the cluster options given."""
    if args.executor != "ray":
        return local_executor(args)
    from lucid_atlas.atlas.executors import RayExecutor

    return RayExecutor(workers=args.workers, address=args.ray_address, gpus_per_worker=args.gpus_per_worker)
