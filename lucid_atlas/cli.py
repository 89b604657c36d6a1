"""The ``lucid-atlas`` command: one subcommand per recipe, each with a ``--json`` summary line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's C++ start-up chatter off the console


def _quiet_tf() -> None:
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


# ---- subcommands -----------------------------------------------------------------------------


def cmd_models(args: argparse.Namespace) -> dict:
    from lucid_atlas import models

    rows = [{"name": e.name, "offline": e.offline, "description": e.description}
            for e in models.REGISTRY.values()]
    if not args.json:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            mark = "offline" if r["offline"] else "online "
            print(f"{r['name']:<{width}}  {mark}  {r['description']}")
        print("\nAlso accepted: a .keras/.h5 file, a frozen .pb graph, a SavedModel folder, hub:<url>.")
    return {"models": [r["name"] for r in rows], "default": models.DEFAULT_MODEL}


def cmd_layers(args: argparse.Namespace) -> dict:
    from lucid_atlas import models

    model = models.load(args.model)
    layers = [l for l in model.layers if not args.kind or l.kind == args.kind]
    if not args.json:
        print(model.describe())
        width = max((len(l.name) for l in layers), default=4)
        print(f"{'layer':<{width}}  {'depth':>5}  kind    description")
        for l in layers:
            print(f"{l.name:<{width}}  {l.depth:>5}  {l.kind:<6}  {l.description}")
    return {"model": model.name, "image_shape": list(model.image_shape),
            "value_range": list(model.value_range), "n_classes": len(model.labels),
            "layers": [{"name": l.name, "depth": l.depth, "kind": l.kind} for l in layers]}


def cmd_evaluate(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.io import storage
    from lucid_atlas.models.evaluate import evaluate

    model = models.load(args.model)
    result = evaluate(model, args.images, batch_size=args.batch_size, limit=args.limit,
                      progress=not args.no_progress)
    summary = result.summary()
    if args.out:
        storage.write_json(args.out, {**summary, "predictions": result.predictions})
        summary["predictions_file"] = args.out
    if not args.json:
        if result.top1 is not None:
            print(f"{model.name} on {result.n_labelled} labelled images: top-1 {result.top1:.4f}, "
                  f"top-5 {result.top5:.4f}")
        else:
            for p in result.predictions[:50]:
                best = ", ".join(f"{t['class']} {t['p']:.2f}" for t in p["top"][:3])
                print(f"{os.path.basename(p['image'])}: {best}")
        print(f"{result.n} images in {result.seconds:.1f}s ({summary['images_per_second']} img/s), "
              f"{result.skipped} unreadable skipped")
    return summary


# ---- plumbing ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lucid-atlas", description="Look inside image classifiers: "
                                     "feature visualization and activation atlases.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], dict], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--json", action="store_true", help="print one machine-readable JSON summary line last")
        p.set_defaults(func=fn)
        return p

    add("models", cmd_models, "list the models of the zoo")
    p = add("layers", cmd_layers, "list a model's layers with their channel depths")
    p.add_argument("model", help="zoo name, .keras/.h5 file, .pb graph, SavedModel folder or hub:<url>")
    p.add_argument("--kind", choices=["conv", "dense", "logits", "probs"], help="only layers of this kind")
    p = add("evaluate", cmd_evaluate, "top-1/top-5 accuracy (or per-image top-5) on an image folder")
    p.add_argument("model")
    p.add_argument("images", help="image folder, file, or 'default' for the embedded images")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    p.add_argument("--out", help="also write per-image predictions to this JSON file")
    p.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; user errors print one clear line and exit 2, never a TF traceback."""
    args = build_parser().parse_args(argv)
    _quiet_tf()
    from lucid_atlas.io.storage import DownloadError
    from lucid_atlas.models.base import ModelError

    try:
        summary = args.func(args)
    except (ModelError, DownloadError, FileNotFoundError, ValueError) as exc:
        message = str(exc.args[0]) if isinstance(exc, KeyError) else str(exc)
        print(f"lucid-atlas {args.command}: error: {message}", file=sys.stderr)
        if args.json:
            print(json.dumps({"error": message}))
        return 2
    if args.json:
        print(json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
