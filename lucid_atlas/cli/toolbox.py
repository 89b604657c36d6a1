"""The Deep Visualization Toolbox subcommand (a local web server)."""

from __future__ import annotations

import argparse

from .common import Adder, add_model_arg


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


def add_toolbox(add: Adder) -> None:
    """Register ``lucid-atlas toolbox``."""
    p = add("toolbox", cmd_toolbox, "the Deep Visualization Toolbox in the browser: a layer's channels live on "
            "an image, upload, video or webcam; a unit's top images, visualizations and gradients")
    add_model_arg(p)
    p.add_argument("--images", default="default", help="image folder for thumbnails and top images "
                   "(default: the embedded photos)")
    p.add_argument("--layer", help="layer shown first (default: the model's atlas layer)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="default: %(default)s; 0 picks a free port")
    p.add_argument("--out", default="out/toolbox", help="cache of top images and visualizations "
                   "(default: %(default)s)")
