"""Subcommands that build and read atlases: atlas, class atlas, class comparison, atlas comparison, viewer."""

from __future__ import annotations

import argparse
import os

from .common import (Adder, add_class_args, add_common_args, add_executor_args, add_icon_args, add_model_arg,
                     add_streams_arg, class_settings, default_atlas_layer, executor_from_args, finish, icon_settings,
                     local_executor)


def cmd_atlas(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.atlas.pipeline import AtlasSettings, build_atlas

    icons = icon_settings(args)  # bad icon options are reported before the model loads
    executor = executor_from_args(args)  # before the model: it may set TensorFlow's threads
    model = models.load(args.model)
    layer = args.layer or default_atlas_layer(model)
    grids = tuple(int(g) for g in str(args.grid).split(","))
    settings = AtlasSettings(layer=layer, grids=grids, positions=args.positions, mode=args.mode,
                             min_count=args.min_count, method=args.layout, n_neighbors=args.n_neighbors,
                             seed=args.seed, shard_images=args.shard_images, dtype=args.dtype)
    if args.vectors:  # stored page by page as a collection, then laid out like any other
        from lucid_atlas.atlas import collect, published

        paths = (published.aligned_activation_urls(layer) if args.vectors == ["published"] else args.vectors)
        n_rows, pages = published.aligned_activation_pages(paths)
        collect.import_vectors(model, layer, pages, os.path.join(args.out, "activations"), n_rows=n_rows,
                               dtype=args.dtype, progress=not args.no_progress, source=" ".join(paths)[:500])
    summary = build_atlas(model, args.images, args.out, settings, icons, progress=not args.no_progress,
                          density=args.density, executor=executor, collected=bool(args.vectors))
    biggest = summary["grids"][str(max(grids))]
    origin = (f"{summary['rows']} activation vectors" if args.vectors else
              f"{summary['rows']} activations ({summary['images']} images)")
    classes = (f"class purity {biggest['purity']:.3f} vs random layout {biggest['purity_random']:.3f}"
               if biggest["purity"] == biggest["purity"] else
               "no class names (this model cannot classify a lone vector of this layer)")
    return finish(args, summary, "summary.json",
                   f"atlas of {model.name} {layer} from {origin}: {biggest['atlas']} (labelled: "
                   f"{biggest['labelled']}); trustworthiness {summary['trustworthiness']:.3f}, {classes}; "
                   f"{summary['seconds']}s. Explore it: lucid-atlas view {args.out}")


def cmd_class_atlas(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.atlas.classes import class_atlas

    executor = local_executor(args)  # before the model: it may set TensorFlow's threads
    model = models.load(args.model)
    settings, icons = class_settings(args, model, 8)
    summary = class_atlas(model, args.images, args.out, args.class_, settings, icons, act_dir=args.activations,
                          progress=not args.no_progress, executor=executor)
    return finish(args, summary, "class_atlas_summary.json",
                   f"class activation atlas of '{summary['class']}' ({summary['rows_kept']} of {summary['rows']} "
                   f"activations, {summary['cells']} cells): {summary['atlas']} (labelled: {summary['labelled']})")


def cmd_compare_classes(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.atlas.classes import compare_classes

    executor = local_executor(args)  # before the model: it may set TensorFlow's threads
    model = models.load(args.model)
    settings, icons = class_settings(args, model, 10)
    summary = compare_classes(model, args.images, args.out, args.classes[0], args.classes[1], settings, icons,
                              act_dir=args.activations, progress=not args.no_progress, executor=executor)
    sides = {}
    for c in summary["candidates"]:
        sides.setdefault(c["side"], []).append(os.path.basename(c["icon"]))
    return finish(args, summary, "compare_summary.json",
                   f"comparison '{summary['classes'][0]}' (left) vs '{summary['classes'][1]}' (right), "
                   f"{summary['cells']} cells: {summary['atlas']}; patch candidates in "
                   f"{os.path.join(args.out, 'candidates')}")


def cmd_compare(args: argparse.Namespace) -> dict:
    from lucid_atlas.atlas.compare import compare_atlases

    labels = None
    if args.model:
        from lucid_atlas import models

        labels = models.load(args.model).labels
    report = compare_atlases(args.a, args.b, args.out, args.grid, labels)
    return finish(args, report, None,
                   f"aligned by {report['alignment']}: top-1 agreement {report['top1_agreement']:.3f} over "
                   f"{report['matched_cells']} matched cells (chance {report['chance_top1_agreement']:.3f}), "
                   f"direction cosine {report['direction_cosine']}, neighborhood agreement "
                   f"{report['neighborhood_agreement']:.3f}; {report['picture']}")


def cmd_view(args: argparse.Namespace) -> dict:
    from lucid_atlas.atlas import viewer

    if len(args.atlas) == 1 and os.path.exists(os.path.join(args.atlas[0], "microscope.json")):
        site = args.atlas[0]  # a microscope site is served as it was built
        index = os.path.join(site, "index.html")
    else:
        index = viewer.write_site(args.atlas, args.out)
        site = os.path.dirname(index)
    summary = {"index": index, "site": site, "atlases": args.atlas}
    if not args.serve:
        return finish(args, summary, None, f"viewer written: open {index} in a browser "
                       f"(or serve it: lucid-atlas view {' '.join(args.atlas)} --serve)")
    server = viewer.serve(site, args.port)
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    print(f"serving {site} at {url} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return {**summary, "url": url}


def add_atlas(add: Adder) -> None:
    """Register ``lucid-atlas atlas``."""
    p = add("atlas", cmd_atlas, "activation atlas: collect, lay out, grid, render icons, assemble "
            "(recipes/activation_atlas.py)")
    add_model_arg(p)
    p.add_argument("--layer", help="layer to map (default: the model's atlas layer)")
    p.add_argument("--images", default="default", help="image folder or 'default' (embedded photos)")
    p.add_argument("--grid", default="8", help="grid size(s), e.g. 20 or 8,20,40")
    p.add_argument("--positions", type=int, default=16, help="random positions per image")
    p.add_argument("--mode", choices=["random", "all", "mean"], default="random")
    p.add_argument("--min-count", type=int, default=3, help="drop cells with fewer activations")
    p.add_argument("--layout", choices=["umap", "tsne"], default="umap")
    p.add_argument("--n-neighbors", type=int, default=50)
    add_icon_args(p)
    p.add_argument("--density", action="store_true", help="fade icons of sparse cells (opacity ~ log count)")
    p.add_argument("--shard-images", type=int, default=256, help="images per activation shard "
                   "(the unit of resumption)")
    add_executor_args(p, "collection and rendering")
    p.add_argument("--vectors", nargs="+", help="build from activation vectors instead of images: .npy pages "
                   "(paths or URLs), or 'published' for Lucid's aligned InceptionV1 activations of --layer; "
                   "any model (classes are named where the model can classify a lone vector)")
    p.add_argument("--dtype", choices=["float32", "float16"], default="float32",
                   help="how activation rows are stored: float16 halves disk and memory (layouts differ slightly)")
    add_common_args(p, "out/atlas", lr=None)


def add_class_atlas(add: Adder) -> None:
    """Register ``lucid-atlas class-atlas``."""
    p = add("class-atlas", cmd_class_atlas, "class activation atlas: the activations most attributed to one "
            "class (recipes/class_atlas.py)")
    p.add_argument("--class", dest="class_", required=True, help="class name or index, e.g. 'scuba diver'")
    add_class_args(p, "out/class_atlas", 8)
    add_streams_arg(p, 1)  # its attribution pass is one stream: single-threaded ops would slow it (85 vs 69 s)


def add_compare_classes(add: Adder) -> None:
    """Register ``lucid-atlas compare-classes``."""
    p = add("compare-classes", cmd_compare_classes, "two-class comparison atlas and patch candidates "
            "(recipes/compare_classes.py)")
    p.add_argument("--classes", nargs=2, required=True, metavar=("FIRST", "SECOND"),
                   help="two class names or indices, e.g. snorkel 'scuba diver'")
    p.add_argument("--candidates", type=int, default=4, help="patch candidates saved per side")
    add_class_args(p, "out/compare", 10)
    add_streams_arg(p, 1)


def add_compare(add: Adder) -> None:
    """Register ``lucid-atlas compare``."""
    p = add("compare", cmd_compare, "compare two atlases of one model and layer (ours or a published web JSON "
            "grid): alignment, top-class agreement, direction cosine, neighborhood agreement")
    p.add_argument("a", help="atlas folder or atlas_<n>.json")
    p.add_argument("b", help="atlas folder, atlas_<n>.json, or a published web--grid_size=<n>...json")
    p.add_argument("--grid", type=int, help="grid size to compare (default: the largest of a)")
    p.add_argument("--model", help="label cells of JSON-only grids with this model's class names")
    p.add_argument("--out", default="out/compare_atlases")


def add_view(add: Adder) -> None:
    """Register ``lucid-atlas view``."""
    p = add("view", cmd_view, "interactive atlas viewer: a static site next to the atlas (pan, zoom, hover, "
            "class search); --serve to open it (or a microscope site) on localhost")
    p.add_argument("atlas", nargs="+", help="atlas folder(s); several folders become a layer menu; or a "
                   "microscope site folder")
    p.add_argument("--out", help="site folder (default: <first atlas>/viewer)")
    p.add_argument("--serve", action="store_true", help="serve the site on localhost until Ctrl-C")
    p.add_argument("--port", type=int, default=8000)
