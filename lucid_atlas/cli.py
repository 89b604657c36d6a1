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


def _finish(args: argparse.Namespace, summary: dict, json_name: str | None, message: str) -> dict:
    """Save the summary next to the outputs, tell people what was written, return it for --json."""
    if json_name:
        from lucid_atlas.io import storage

        storage.write_json(os.path.join(args.out, json_name), summary)
    if not args.json:
        print(message)
    return summary


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


def _thresholds(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in str(text).split(",") if v.strip()})
    except ValueError:
        raise ValueError(f"--steps takes step counts like 512 or 64,256,512, got '{text}'") from None
    if not values or values[0] < 1:
        raise ValueError(f"--steps must be positive, got '{text}'")
    return values


def _neuron_objective(args, model):
    from lucid_atlas.optvis import objectives

    if args.class_ is not None:
        model.class_index(args.class_)
        base = objectives.class_logit(args.class_)
    else:
        if args.layer is None or args.channel is None:
            raise ValueError("give --layer and --channel (or --class); list layers with: "
                             f"lucid-atlas layers {model.name}")
        model.check_channel(args.layer, args.channel)
        base = (objectives.neuron(args.layer, args.channel) if args.neuron
                else objectives.channel(args.layer, args.channel))
    if args.diversity > 1:
        layer = args.layer or model.info.get("visual_layers", [model.layer_names[-3]])[-1]
        base = base + args.diversity_weight * objectives.diversity(layer)
    return base


def cmd_neuron(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.io import sheets
    from lucid_atlas.optvis import param, render
    from lucid_atlas.optvis.optimizers import Adam

    model = models.load(args.model)
    objective = _neuron_objective(args, model)
    thresholds = _thresholds(args.steps)
    batch = max(1, args.diversity)
    result = render.render(
        model, objective,
        lambda: param.image(args.size, batch=batch, fft=not args.pixels, decorrelate=not args.pixels),
        optimizer=Adam(args.lr), thresholds=thresholds, seed=args.seed, progress=not args.no_progress)
    name = (f"class_{model.class_index(args.class_)}" if args.class_ is not None
            else f"{args.layer.replace('/', '_')}_{args.channel}")
    paths = []
    for t, imgs in zip(result.thresholds, result.images):
        for b, img in enumerate(imgs):
            paths.append(sheets.save_png(img, os.path.join(args.out, f"{name}_step{t}_{b}.png")))
    captions = [f"step {t} #{b}" for t in result.thresholds for b in range(batch)]
    sheet = sheets.save_contact_sheet([im for imgs in result.images for im in imgs],
                                      os.path.join(args.out, f"{name}_sheet.png"), captions=captions,
                                      columns=batch if len(result.thresholds) > 1 else None,
                                      title=f"{model.name}: {objective}")
    summary = {"model": model.name, "objective": str(objective), "images": paths, "sheet": sheet,
               "thresholds": result.thresholds,
               "objective_values": {str(t): [round(float(v), 4) for v in vals]
                                    for t, vals in zip(result.thresholds, result.values)},
               "steps_per_second": round(result.steps_per_second, 2)}
    return _finish(args, summary, f"{name}.json",
                   f"{objective}: {len(paths)} images in {args.out} (sheet: {sheet}); "
                   f"objective at {result.thresholds[-1]} steps: {result.values[-1].mean():.3f}")


def cmd_layer_sheet(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.io import sheets
    from lucid_atlas.optvis import gallery
    from lucid_atlas.optvis.optimizers import Adam

    model = models.load(args.model)
    layers = args.layers.split(",") if args.layers else gallery.spread_layers(model, args.n_layers)
    rows, captions, figures = [], [], {}
    for layer in layers:
        depth = model.layer(layer).depth
        chans = gallery.spread_channels(depth, args.channels, args.seed)
        result = gallery.render_channels(model, layer, chans, args.size, args.steps, args.seed,
                                         progress=not args.no_progress, optimizer=Adam(args.lr))
        rows += list(result.images[-1])
        captions += [f"{layer}:{c}" for c in chans]
        figures[layer] = {"channels": chans, "objective": [round(float(v), 3) for v in result.values[-1]]}
    sheet = sheets.save_contact_sheet(rows, os.path.join(args.out, "layer_sheet.png"), captions=captions,
                                      columns=args.channels,
                                      title=f"{model.name}: {args.channels} channels per layer, shallow to deep")
    summary = {"model": model.name, "sheet": sheet, "layers": figures, "size": args.size, "steps": args.steps}
    return _finish(args, summary, "layer_sheet.json",
                   f"layer sheet of {len(layers)} layers × {args.channels} channels: {sheet}")


def cmd_deep_visualization(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.io import sheets
    from lucid_atlas.optvis import gallery, objectives

    model = models.load(args.model)
    if args.class_ is not None:
        objective = objectives.class_logit(args.class_)
        what = f"class {model.labels[model.class_index(args.class_)]}"
    elif args.layer is not None and args.channel is not None:
        objective = objectives.channel(args.layer, args.channel)
        what = f"{args.layer}:{args.channel}"
    else:
        raise ValueError("give --class or --layer with --channel")
    images, captions, values = [], [], {}
    for preset in args.presets.split(","):
        shown, result = gallery.render_deep_visualization(model, objective, preset, args.size, args.steps,
                                                          args.seed, args.lr, progress=not args.no_progress)
        images.append(shown)
        captions.append("Lucid (fft+decorrelate)" if preset == "lucid" else f"Yosinski #{preset}")
        values[preset] = round(float(result.values[-1].mean()), 3)
        sheets.save_png(shown, os.path.join(args.out, f"preset_{preset}.png"))
    sheet = sheets.save_contact_sheet(images, os.path.join(args.out, "deep_visualization.png"),
                                      captions=captions, columns=len(images),
                                      title=f"{model.name} {what}: regularization presets "
                                            "(Yosinski images contrast-stretched for display)")
    summary = {"model": model.name, "target": what, "sheet": sheet, "objective_values": values}
    return _finish(args, summary, "deep_visualization.json", f"{len(images)} presets side by side: {sheet}")


def cmd_zoom_video(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.io import sheets, video
    from lucid_atlas.optvis import gallery, progressive

    model = models.load(args.model)
    layer = args.layer or gallery.spread_layers(model, 3)[-2]
    channels = ([int(c) for c in args.channels.split(",")] if args.channels
                else gallery.spread_channels(model.layer(layer).depth, 3, args.seed))
    for ch in channels:
        model.check_channel(layer, ch)
    clip = progressive.zoom_video(model, layer, channels, start_size=args.start_size, octaves=args.octaves,
                                  scale=args.scale, octave_steps=args.octave_steps, size=args.size,
                                  frames=args.frames, zoom=args.zoom, steps_per_frame=args.steps_per_frame,
                                  frames_per_channel=args.frames_per_channel, seed=args.seed,
                                  progress=not args.no_progress)
    outputs = {"octaves": sheets.save_contact_sheet(clip.octaves, os.path.join(args.out, "octaves.png"),
                                                    captions=[f"{o.shape[0]}px" for o in clip.octaves],
                                                    title=f"progressive up-scaling, {layer}:{channels[0]}"),
               "gif": video.save_gif(clip.frames, os.path.join(args.out, "zoom.gif"), fps=args.fps)}
    try:
        outputs["mp4"] = video.save_mp4(clip.frames, os.path.join(args.out, "zoom.mp4"), fps=args.fps)
    except RuntimeError as exc:
        print(f"note: {exc}", file=sys.stderr)
    step = max(1, len(clip.frames) // 8)
    outputs["frames_sheet"] = sheets.save_contact_sheet(
        clip.frames[::step], os.path.join(args.out, "zoom_frames.png"),
        captions=[f"frame {i}" for i in range(0, len(clip.frames), step)])
    summary = {"model": model.name, "layer": layer, "channels": channels, "frames": len(clip.frames), **outputs}
    return _finish(args, summary, "zoom_video.json",
                   f"zoom video of {len(clip.frames)} frames through {layer} channels {channels}: {outputs['gif']}")


def cmd_atlas(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.atlas.pipeline import AtlasSettings, build_atlas

    model = models.load(args.model)
    layer = args.layer or default_atlas_layer(model)
    grids = tuple(int(g) for g in str(args.grid).split(","))
    settings = AtlasSettings(layer=layer, grids=grids, positions=args.positions, mode=args.mode,
                             min_count=args.min_count, method=args.layout, n_neighbors=args.n_neighbors,
                             seed=args.seed, shard_images=args.shard_images, dtype=args.dtype)
    icons = _icon_settings(args)
    executor = args.executor
    if executor == "ray":
        from lucid_atlas.atlas.executors import RayExecutor

        executor = RayExecutor(workers=args.workers, address=args.ray_address, gpus_per_worker=args.gpus_per_worker)
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
    return _finish(args, summary, "summary.json",
                   f"atlas of {model.name} {layer} from {origin}: {biggest['atlas']} (labelled: "
                   f"{biggest['labelled']}); trustworthiness {summary['trustworthiness']:.3f}, {classes}; "
                   f"{summary['seconds']}s. Explore it: lucid-atlas view {args.out}")


def default_atlas_layer(model) -> str:
    """The layer atlases use when none is named: the model's own choice, else two thirds deep."""
    return model.info.get("atlas_layer") or model.layer_names[len(model.layer_names) * 2 // 3]


def _icon_settings(args: argparse.Namespace):
    """The ``--icons`` preset with any of --icon-size/--steps/--tries/--batch given on top."""
    from lucid_atlas.atlas.render import IconSettings

    changes = {field: getattr(args, arg) for field, arg in
               (("size", "icon_size"), ("steps", "steps"), ("tries", "tries"), ("batch", "batch"))
               if getattr(args, arg, None) is not None}
    return IconSettings.preset(args.icons, seed=args.seed, **changes)


def _class_settings(args: argparse.Namespace, model, grid: int):
    from lucid_atlas.atlas.classes import ClassAtlasSettings

    layer = args.layer or default_atlas_layer(model)
    settings = ClassAtlasSettings(layer=layer, positions=args.positions, top_k=args.top_k, method=args.layout,
                                  grid=args.grid or grid, min_count=args.min_count, seed=args.seed,
                                  candidates=getattr(args, "candidates", 4))
    return settings, _icon_settings(args)


def cmd_class_atlas(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.atlas.classes import class_atlas

    model = models.load(args.model)
    settings, icons = _class_settings(args, model, 8)
    summary = class_atlas(model, args.images, args.out, args.class_, settings, icons, args.activations,
                          progress=not args.no_progress)
    return _finish(args, summary, "class_atlas_summary.json",
                   f"class activation atlas of '{summary['class']}' ({summary['rows_kept']} of {summary['rows']} "
                   f"activations, {summary['cells']} cells): {summary['atlas']} (labelled: {summary['labelled']})")


def cmd_compare_classes(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.atlas.classes import compare_classes

    model = models.load(args.model)
    settings, icons = _class_settings(args, model, 10)
    summary = compare_classes(model, args.images, args.out, args.classes[0], args.classes[1], settings, icons,
                              args.activations, progress=not args.no_progress)
    sides = {}
    for c in summary["candidates"]:
        sides.setdefault(c["side"], []).append(os.path.basename(c["icon"]))
    return _finish(args, summary, "compare_summary.json",
                   f"comparison '{summary['classes'][0]}' (left) vs '{summary['classes'][1]}' (right), "
                   f"{summary['cells']} cells: {summary['atlas']}; patch candidates in "
                   f"{os.path.join(args.out, 'candidates')}")


def cmd_patch(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.patches import study

    model = models.load(args.model)
    ratios = tuple(float(r) for r in args.ratios.split(","))
    if args.patch == ["auto"]:
        from lucid_atlas.patches.discover import CandidateSettings

        layers = _split(args.layer)
        args.layer = layers[0] if layers else None
        settings, icons = _class_settings(args, model, 10)
        from lucid_atlas.patches.photos import PhotoSettings

        candidates = CandidateSettings(tuple(int(v) for v in str(args.patch_size).split(",")), args.patch_steps,
                                       tuple(r.strip() for r in args.patch_icons.split(",") if r.strip()),
                                       photos=PhotoSettings(images=args.photos,
                                                            crops=tuple(float(v) for v in args.photo_crops.split(",")),
                                                            peaks=args.photo_peaks),
                                       photo_dir=args.candidate_photos, extra_layers=tuple(layers[1:]),
                                       rendered_directions=args.rendered_directions)
        summary = study.discover_patch(model, args.images, args.source, args.target, args.out, settings, icons,
                                       _split(args.activations) or None, args.augment, ratios, candidates,
                                       args.seed, progress=not args.no_progress)
    elif "auto" in args.patch:
        raise ValueError("--patch auto discovers a patch on its own; give it alone, or give patch files/folders")
    else:
        summary = study.evaluate_patch_files(model, args.images, args.source, args.target, args.patch, args.out,
                                             args.augment, ratios, args.corner, args.ratio, args.seed)
        if not args.json:
            print(summary["note"] + "\n\n" + summary["table"])
    if args.spread_seeds:
        from lucid_atlas.io.images import load_image

        patch = load_image(summary["outputs"]["patch"])
        summary["seed_spread"] = study.seed_spread(
            model, args.images, model.class_index(args.source), model.class_index(args.target), patch,
            args.augment, range(args.seed, args.seed + args.spread_seeds),
            tuple(summary["patch_result"]["static_config"]), ratios, 0.5 if args.patch == ["auto"] else None)
        d = summary["seed_spread"]["dynamic_rate"]
        print(f"dynamic flip rate over {args.spread_seeds} variant seeds: {d['mean']:.1%} "
              f"(min {d['min']:.1%}, max {d['max']:.1%}, sd {d['std']:.1%})", file=sys.stderr)
    p, noise = summary["patch_result"], summary["noise_baseline"]
    return _finish(args, summary, "patch_summary.json",
                   f"{summary['source']} → {summary['target']} with '{p['patch']}' over {p['correct_before']} "
                   f"correctly classified of {p['images']} images: static {p['static_rate']:.1%} "
                   f"({p['static_corner']}, {p['static_ratio']:g}), dynamic {p['dynamic_rate']:.1%}; "
                   f"noise patch static {noise['static_rate']:.1%}, dynamic {noise['dynamic_rate']:.1%}. "
                   f"Report: {summary['outputs']['md']}, chart: {summary['outputs']['chart']}")


def _split(text: str | None) -> list[str]:
    """The non-empty items of a comma-separated option."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def cmd_compare(args: argparse.Namespace) -> dict:
    from lucid_atlas.atlas.compare import compare_atlases

    labels = None
    if args.model:
        from lucid_atlas import models

        labels = models.load(args.model).labels
    report = compare_atlases(args.a, args.b, args.out, args.grid, labels)
    return _finish(args, report, None,
                   f"aligned by {report['alignment']}: top-1 agreement {report['top1_agreement']:.3f} over "
                   f"{report['matched_cells']} matched cells (chance {report['chance_top1_agreement']:.3f}), "
                   f"direction cosine {report['direction_cosine']}, neighborhood agreement "
                   f"{report['neighborhood_agreement']:.3f}; {report['picture']}")


def cmd_view(args: argparse.Namespace) -> dict:
    from lucid_atlas.atlas import viewer

    index = viewer.write_site(args.atlas, args.out)
    site = os.path.dirname(index)
    summary = {"index": index, "site": site, "atlases": args.atlas}
    if not args.serve:
        return _finish(args, summary, None, f"viewer written: open {index} in a browser "
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


def cmd_toolbox(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.toolbox import Toolbox, ToolboxServer, ToolboxSettings, serve
    from lucid_atlas.toolbox.topk import image_list

    model = models.load(args.model)
    layer = args.layer or model.info.get("atlas_layer") or Toolbox(model).spatial_layers[-1]
    images = image_list(args.images)
    server = ToolboxServer(Toolbox(model), ToolboxSettings(tuple(images), layer, args.out))
    summary = {"model": model.name, "layer": layer, "images": len(images), "cache": args.out}

    def started(url: str) -> None:
        summary["url"] = url
        print(f"toolbox for {model.name} ({len(images)} images, layer {layer}) at {url} (Ctrl-C to stop)",
              flush=True)

    try:
        serve(server, args.host, args.port, on_start=started)
    except OSError as exc:  # the port is taken, or the host is not an address of this machine
        raise ValueError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
                         "pick another --port (0 = any free port) or --host") from None
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

    p = add("neuron", cmd_neuron, "visualize one channel, neuron or class (recipes/neuron.py)")
    _model_arg(p)
    p.add_argument("--layer")
    p.add_argument("--channel", type=int)
    p.add_argument("--neuron", action="store_true", help="only the center unit, not the whole channel")
    p.add_argument("--class", dest="class_", help="class name or index instead of a channel")
    p.add_argument("--size", type=int, default=128, help="image side in pixels")
    p.add_argument("--steps", default="512", help="step count, or thresholds such as 64,256,512")
    p.add_argument("--diversity", type=int, default=1, help="render a batch of N diverse images")
    p.add_argument("--diversity-weight", type=float, default=1.0)
    p.add_argument("--pixels", action="store_true", help="plain pixels instead of Fourier+decorrelated")
    _common(p, "out/neuron")

    p = add("layer-sheet", cmd_layer_sheet, "K channels of several layers as one labelled sheet "
            "(recipes/layer_sheet.py)")
    _model_arg(p)
    p.add_argument("--layers", help="comma-separated layer names (default: spread over the depth)")
    p.add_argument("--n-layers", type=int, default=4)
    p.add_argument("--channels", type=int, default=4, help="channels per layer")
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--steps", type=int, default=256)
    _common(p, "out/layer_sheet")

    p = add("deep-visualization", cmd_deep_visualization, "Yosinski et al. 2015 regularization presets "
            "side by side (recipes/deep_visualization.py)")
    _model_arg(p)
    p.add_argument("--class", dest="class_", help="class name or index (default: the layer/channel)")
    p.add_argument("--layer")
    p.add_argument("--channel", type=int)
    p.add_argument("--presets", default="none,1,2,3,4,lucid", help="comma list of none,1,2,3,4,lucid")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=200)
    _common(p, "out/deep_visualization", lr=0.02)

    p = add("zoom-video", cmd_zoom_video, "progressive up-scaling and an endless zoom video through "
            "channels (recipes/zoom_video.py)")
    _model_arg(p)
    p.add_argument("--layer")
    p.add_argument("--channels", help="comma-separated channels to cycle through")
    p.add_argument("--start-size", type=int, default=64)
    p.add_argument("--octaves", type=int, default=4)
    p.add_argument("--scale", type=float, default=1.4)
    p.add_argument("--octave-steps", type=int, default=64)
    p.add_argument("--size", type=int, default=128, help="video frame size")
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--zoom", type=float, default=1.05)
    p.add_argument("--steps-per-frame", type=int, default=8)
    p.add_argument("--frames-per-channel", type=int, default=20)
    p.add_argument("--fps", type=float, default=12)
    _common(p, "out/zoom_video")

    p = add("atlas", cmd_atlas, "activation atlas: collect, lay out, grid, render icons, assemble "
            "(recipes/activation_atlas.py)")
    _model_arg(p)
    p.add_argument("--layer", help="layer to map (default: the model's atlas layer)")
    p.add_argument("--images", default="default", help="image folder or 'default' (embedded photos)")
    p.add_argument("--grid", default="8", help="grid size(s), e.g. 20 or 8,20,40")
    p.add_argument("--positions", type=int, default=16, help="random positions per image")
    p.add_argument("--mode", choices=["random", "all", "mean"], default="random")
    p.add_argument("--min-count", type=int, default=3, help="drop cells with fewer activations")
    p.add_argument("--layout", choices=["umap", "tsne"], default="umap")
    p.add_argument("--n-neighbors", type=int, default=50)
    _icon_args(p)
    p.add_argument("--density", action="store_true", help="fade icons of sparse cells (opacity ~ log count)")
    p.add_argument("--shard-images", type=int, default=256, help="images per activation shard "
                   "(the unit of resumption)")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="where collection and rendering run (ray: pip install 'lucid-atlas[distributed]')")
    p.add_argument("--workers", type=int, help="ray: model-holding workers (default: one per CPU)")
    p.add_argument("--ray-address", help="ray: cluster address (default: start or join a local one)")
    p.add_argument("--gpus-per-worker", type=float, help="ray: GPUs per worker (default: 1 when the cluster "
                   "has GPUs, else 0)")
    p.add_argument("--vectors", nargs="+", help="build from activation vectors instead of images: .npy pages "
                   "(paths or URLs), or 'published' for Lucid's aligned InceptionV1 activations of --layer; "
                   "any model (classes are named where the model can classify a lone vector)")
    p.add_argument("--dtype", choices=["float32", "float16"], default="float32",
                   help="how activation rows are stored: float16 halves disk and memory (layouts differ slightly)")
    _common(p, "out/atlas")
    p = add("class-atlas", cmd_class_atlas, "class activation atlas: the activations most attributed to one "
            "class (recipes/class_atlas.py)")
    p.add_argument("--class", dest="class_", required=True, help="class name or index, e.g. 'scuba diver'")
    _class_args(p, "out/class_atlas", 8)
    p = add("compare-classes", cmd_compare_classes, "two-class comparison atlas and patch candidates "
            "(recipes/compare_classes.py)")
    p.add_argument("--classes", nargs=2, required=True, metavar=("FIRST", "SECOND"),
                   help="two class names or indices, e.g. snorkel 'scuba diver'")
    p.add_argument("--candidates", type=int, default=4, help="patch candidates saved per side")
    _class_args(p, "out/compare", 10)
    p = add("patch", cmd_patch, "adversarial patch flip rates vs a noise patch; --patch auto discovers one "
            "(recipes/adversarial_patch.py)")
    p.add_argument("--source", required=True, help="class of the images to fool")
    p.add_argument("--target", required=True, help="class the patch should turn them into")
    p.add_argument("--patch", required=True, nargs="+", help="patch image files and/or folders of them (each "
                   "measured the same way, one table), or 'auto' to discover one from a comparison")
    p.add_argument("--augment", type=int, default=0, help="random crops/flips/scales per source image")
    p.add_argument("--ratios", default="0.1,0.2,0.3,0.4", help="patch sides as fractions of the image side")
    p.add_argument("--corner", choices=["top-left", "top-right", "bottom-left", "bottom-right"],
                   help="fix the static corner (default: the best one)")
    p.add_argument("--ratio", type=float, help="fix the static patch size (default: the best one)")
    p.add_argument("--patch-size", default="64,128", help="rendered candidate sides in pixels (auto); each "
                   "direction is rendered at each size")
    p.add_argument("--patch-steps", type=int, default=512, help="render steps per candidate (auto)")
    p.add_argument("--spread-seeds", type=int, default=0, help="also score the patch on the source variants of "
                   "this many seeds (from --seed; auto: their held-out halves) and report the spread")
    p.add_argument("--photos", type=int, default=8, help="natural-image candidates (auto): per distinctive "
                   "direction, crops of this many of the images behind it and the images whole (0: none)")
    p.add_argument("--photo-crops", default="0.3,0.5,0.7", help="crop sides around each position, as fractions of "
                   "the image side (auto; the whole image is tried too)")
    p.add_argument("--photo-peaks", type=int, default=1, help="crop centres per photo: its strongest "
                   "target-over-source positions (auto)")
    p.add_argument("--candidate-photos", metavar="DIR", help="a folder of your own photos to try whole as "
                   "patches, beside the discovered candidates (auto)")
    p.add_argument("--patch-icons", default="vivid,notebook", help="icon recipes candidates are rendered with "
                   "(auto; comma-separated: default, vivid, notebook, published); each makes its own candidates")
    p.add_argument("--candidates", type=int, default=3, help="most distinctive cells rendered as candidates, "
                   "besides the 3 mean directions of the most distinctive rows (auto)")
    p.add_argument("--rendered-directions", type=int, default=6, help="directions rendered with every recipe, "
                   "size and try (auto); with more (several layers), each is sketched once and the best get all")
    _class_args(p, "out/patch", 10, pooled=True)
    p = add("compare", cmd_compare, "compare two atlases of one model and layer (ours or a published web JSON "
            "grid): alignment, top-class agreement, direction cosine, neighborhood agreement")
    p.add_argument("a", help="atlas folder or atlas_<n>.json")
    p.add_argument("b", help="atlas folder, atlas_<n>.json, or a published web--grid_size=<n>...json")
    p.add_argument("--grid", type=int, help="grid size to compare (default: the largest of a)")
    p.add_argument("--model", help="label cells of JSON-only grids with this model's class names")
    p.add_argument("--out", default="out/compare_atlases")
    p = add("view", cmd_view, "interactive atlas viewer: a static site next to the atlas (pan, zoom, hover, "
            "class search); --serve to open it on localhost")
    p.add_argument("atlas", nargs="+", help="atlas folder(s); several folders become a layer menu")
    p.add_argument("--out", help="site folder (default: <first atlas>/viewer)")
    p.add_argument("--serve", action="store_true", help="serve the site on localhost until Ctrl-C")
    p.add_argument("--port", type=int, default=8000)
    p = add("toolbox", cmd_toolbox, "the Deep Visualization Toolbox in the browser: a layer's channels live on "
            "an image, upload, video or webcam; a unit's top images, visualizations and gradients")
    _model_arg(p)
    p.add_argument("--images", default="default", help="image folder for thumbnails and top images "
                   "(default: the embedded photos)")
    p.add_argument("--layer", help="layer shown first (default: the model's atlas layer)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="default: %(default)s; 0 picks a free port")
    p.add_argument("--out", default="out/toolbox", help="cache of top images and visualizations "
                   "(default: %(default)s)")
    return parser


def _class_args(p: argparse.ArgumentParser, out: str, grid: int, pooled: bool = False) -> None:
    _model_arg(p)
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
    _icon_args(p)
    _common(p, out)


def _icon_args(p: argparse.ArgumentParser) -> None:
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


def _model_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="efficientnet_lite0", help="zoo name or model file (default: %(default)s)")


def _common(p: argparse.ArgumentParser, out: str, lr: float = 0.05) -> None:
    p.add_argument("--out", default=out, help="output folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=lr, help="Adam learning rate (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true")


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; user errors print one clear line and exit 2, never a TF traceback."""
    args = build_parser().parse_args(argv)
    _quiet_tf()
    from lucid_atlas.io.images import ImageReadError
    from lucid_atlas.io.storage import DownloadError
    from lucid_atlas.models.base import ModelError

    try:
        summary = args.func(args)
    except (ModelError, DownloadError, FileNotFoundError, ImageReadError, ValueError, ImportError) as exc:
        message = str(exc)
        print(f"lucid-atlas {args.command}: error: {message}", file=sys.stderr)
        if args.json:
            print(json.dumps({"error": message}))
        return 2
    if args.json:
        print(json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
