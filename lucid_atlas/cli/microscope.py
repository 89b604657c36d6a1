"""The microscope subcommand: a static site to browse a model unit by unit."""

from __future__ import annotations

import argparse

from .common import Adder, add_executor_args, add_model_arg, default_atlas_layer, executor_from_args, finish, split_list


def cmd_microscope(args: argparse.Namespace) -> dict:
    from lucid_atlas import microscope, models

    executor = executor_from_args(args)  # before the model: it may set TensorFlow's threads
    model = models.load(args.model)
    layers = split_list(args.layers) or [default_layer(model)]
    settings = microscope.MicroscopeSettings(size=args.size, steps=args.steps, batch=args.batch,
                                             diversity=args.diversity, negative=args.negative)
    summary = microscope.build(model, layers, args.images, args.out, units=args.units, settings=settings,
                               cache=args.cache, atlases=args.atlas or (), executor=executor,
                               progress=not args.no_progress)
    built = ", ".join(f"{name} ({s['units']} units, {s['rendered']} rendered now, {s['seconds']} s)"
                      for name, s in summary["layers"].items())
    return finish(args, summary, None, f"microscope of {model.name}: {built}; {summary['site_mb']} MB in "
                  f"{args.out}. Open {summary['index']} or serve it: lucid-atlas view {args.out} --serve")


def default_layer(model) -> str:
    """The model's atlas layer when it has a spatial map, else its deepest conv layer."""
    layer = default_atlas_layer(model)
    if model.layer(layer).kind == "conv":
        return layer
    spatial = [info.name for info in model.layers if info.kind == "conv"]
    return spatial[-1] if spatial else layer


def add_microscope(add: Adder) -> None:
    """Register ``lucid-atlas microscope``."""
    p = add("microscope", cmd_microscope, "browse a model offline unit by unit: a static site with a page per "
            "layer and per unit (visualization, top images, classes, atlas cells)")
    add_model_arg(p)
    p.add_argument("--layers", help="comma-separated conv layers, shallow to deep (default: the atlas layer, "
                   "or the deepest conv layer)")
    p.add_argument("--units", help="units of each layer: 0:64, 5, or 0:8,100 (default: all)")
    p.add_argument("--images", default="default", help="images that rank the units and give their top crops "
                   "(default: the embedded photos)")
    p.add_argument("--out", default="out/microscope", help="site folder (default: %(default)s)")
    p.add_argument("--cache", default="out/toolbox", help="top-image passes and renders, shared with "
                   "lucid-atlas toolbox --out (default: %(default)s)")
    p.add_argument("--atlas", action="append", help="an atlas folder of one of the layers (repeatable): the "
                   "layer page links its viewer, each unit page shows its strongest cells")
    p.add_argument("--size", type=int, default=128, help="px of a unit's visualization (default: %(default)s)")
    p.add_argument("--steps", type=int, default=256, help="optimization steps per unit (default: %(default)s)")
    p.add_argument("--batch", type=int, default=32, help="units rendered together (default: %(default)s)")
    p.add_argument("--diversity", type=int, default=0, help="also a set of N diverse images per unit (e.g. 4)")
    p.add_argument("--negative", action="store_true", help="also the image that drives each unit down")
    add_executor_args(p, "the renders")
    p.add_argument("--no-progress", action="store_true")
