"""Subcommands about models: the zoo, a model's layers, accuracy on a folder."""

from __future__ import annotations

import argparse
import os

from .common import Adder


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


def add_models(add: Adder) -> None:
    """Register ``lucid-atlas models``."""
    add("models", cmd_models, "list the models of the zoo")


def add_layers(add: Adder) -> None:
    """Register ``lucid-atlas layers``."""
    p = add("layers", cmd_layers, "list a model's layers with their channel depths")
    p.add_argument("model", help="zoo name, .keras/.h5 file, .pb graph, SavedModel folder or hub:<url>")
    p.add_argument("--kind", choices=["conv", "dense", "logits", "probs"], help="only layers of this kind")


def add_evaluate(add: Adder) -> None:
    """Register ``lucid-atlas evaluate``."""
    p = add("evaluate", cmd_evaluate, "top-1/top-5 accuracy (or per-image top-5) on an image folder")
    p.add_argument("model")
    p.add_argument("images", help="image folder, file, or 'default' for the embedded images")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    p.add_argument("--out", help="also write per-image predictions to this JSON file")
    p.add_argument("--no-progress", action="store_true")
