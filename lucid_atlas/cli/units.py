"""Subcommands that visualize units: a channel or neuron, a layer sheet, Yosinski's presets, the zoom video."""

from __future__ import annotations

import argparse
import os
import sys

from .common import Adder, add_common_args, add_model_arg, finish, parse_thresholds


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
    thresholds = parse_thresholds(args.steps)
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
    return finish(args, summary, f"{name}.json",
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
        result = gallery.render_channels(model, layer, chans, size=args.size, steps=args.steps, seed=args.seed,
                                         progress=not args.no_progress, optimizer=Adam(args.lr))
        rows += list(result.images[-1])
        captions += [f"{layer}:{c}" for c in chans]
        figures[layer] = {"channels": chans, "objective": [round(float(v), 3) for v in result.values[-1]]}
    sheet = sheets.save_contact_sheet(rows, os.path.join(args.out, "layer_sheet.png"), captions=captions,
                                      columns=args.channels,
                                      title=f"{model.name}: {args.channels} channels per layer, shallow to deep")
    summary = {"model": model.name, "sheet": sheet, "layers": figures, "size": args.size, "steps": args.steps}
    return finish(args, summary, "layer_sheet.json",
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
        shown, result = gallery.render_deep_visualization(model, objective, preset, size=args.size, steps=args.steps,
                                                          seed=args.seed, learning_rate=args.lr,
                                                          progress=not args.no_progress)
        images.append(shown)
        captions.append("Lucid (fft+decorrelate)" if preset == "lucid" else f"Yosinski #{preset}")
        values[preset] = round(float(result.values[-1].mean()), 3)
        sheets.save_png(shown, os.path.join(args.out, f"preset_{preset}.png"))
    sheet = sheets.save_contact_sheet(images, os.path.join(args.out, "deep_visualization.png"),
                                      captions=captions, columns=len(images),
                                      title=f"{model.name} {what}: regularization presets "
                                            "(Yosinski images contrast-stretched for display)")
    summary = {"model": model.name, "target": what, "sheet": sheet, "objective_values": values}
    return finish(args, summary, "deep_visualization.json", f"{len(images)} presets side by side: {sheet}")


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
    settings = progressive.ZoomSettings(
        start_size=args.start_size, octaves=args.octaves, scale=args.scale, octave_steps=args.octave_steps,
        size=args.size, frames=args.frames, zoom=args.zoom, steps_per_frame=args.steps_per_frame,
        frames_per_channel=args.frames_per_channel, learning_rate=args.lr, seed=args.seed)
    clip = progressive.zoom_video(model, layer, channels, settings, progress=not args.no_progress)
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
    return finish(args, summary, "zoom_video.json",
                   f"zoom video of {len(clip.frames)} frames through {layer} channels {channels}: {outputs['gif']}")


def add_neuron(add: Adder) -> None:
    """Register ``lucid-atlas neuron``."""
    p = add("neuron", cmd_neuron, "visualize one channel, neuron or class (recipes/neuron.py)")
    add_model_arg(p)
    p.add_argument("--layer")
    p.add_argument("--channel", type=int)
    p.add_argument("--neuron", action="store_true", help="only the center unit, not the whole channel")
    p.add_argument("--class", dest="class_", help="class name or index instead of a channel")
    p.add_argument("--size", type=int, default=128, help="image side in pixels")
    p.add_argument("--steps", default="512", help="step count, or thresholds such as 64,256,512")
    p.add_argument("--diversity", type=int, default=1, help="render a batch of N diverse images")
    p.add_argument("--diversity-weight", type=float, default=1.0)
    p.add_argument("--pixels", action="store_true", help="plain pixels instead of Fourier+decorrelated")
    add_common_args(p, "out/neuron")


def add_layer_sheet(add: Adder) -> None:
    """Register ``lucid-atlas layer-sheet``."""
    p = add("layer-sheet", cmd_layer_sheet, "K channels of several layers as one labelled sheet "
            "(recipes/layer_sheet.py)")
    add_model_arg(p)
    p.add_argument("--layers", help="comma-separated layer names (default: spread over the depth)")
    p.add_argument("--n-layers", type=int, default=4)
    p.add_argument("--channels", type=int, default=4, help="channels per layer")
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--steps", type=int, default=256)
    add_common_args(p, "out/layer_sheet")


def add_deep_visualization(add: Adder) -> None:
    """Register ``lucid-atlas deep-visualization``."""
    p = add("deep-visualization", cmd_deep_visualization, "Yosinski et al. 2015 regularization presets "
            "side by side (recipes/deep_visualization.py)")
    add_model_arg(p)
    p.add_argument("--class", dest="class_", help="class name or index (default: the layer/channel)")
    p.add_argument("--layer")
    p.add_argument("--channel", type=int)
    p.add_argument("--presets", default="none,1,2,3,4,lucid", help="comma list of none,1,2,3,4,lucid")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=200)
    add_common_args(p, "out/deep_visualization", lr=0.02)


def add_zoom_video(add: Adder) -> None:
    """Register ``lucid-atlas zoom-video``."""
    p = add("zoom-video", cmd_zoom_video, "progressive up-scaling and an endless zoom video through "
            "channels (recipes/zoom_video.py)")
    add_model_arg(p)
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
    add_common_args(p, "out/zoom_video")
