"""The ``lucid-atlas`` command: one subcommand per recipe, each with a ``--json`` summary line.

One module per kind of subcommand (``info``, ``units``, ``atlases``, ``patch``, ``toolbox``, ``microscope``), each
with its command functions and the functions that register their options; ``common`` holds what
they share. The library never imports this package.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Callable

from . import atlases, info, microscope, patch, toolbox, units
from .common import default_atlas_layer, quiet_tf

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's C++ start-up chatter off the console

__all__ = ["build_parser", "default_atlas_layer", "main"]

# the subcommands in the order --help lists them
REGISTRATIONS = (info.add_models, info.add_layers, info.add_evaluate, units.add_neuron, units.add_layer_sheet,
                 units.add_deep_visualization, units.add_zoom_video, atlases.add_atlas, atlases.add_class_atlas,
                 atlases.add_compare_classes, patch.add_patch, atlases.add_compare, atlases.add_view,
                 toolbox.add_toolbox, microscope.add_microscope)


def build_parser() -> argparse.ArgumentParser:
    """The command's parser: every subcommand with its options and a ``--json`` flag."""
    parser = argparse.ArgumentParser(prog="lucid-atlas", description="Look inside image classifiers: "
                                     "feature visualization and activation atlases.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], dict], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--json", action="store_true", help="print one machine-readable JSON summary line last")
        p.set_defaults(func=fn)
        return p

    for register in REGISTRATIONS:
        register(add)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; user errors print one clear line and exit 2, never a TF traceback."""
    args = build_parser().parse_args(argv)
    quiet_tf()
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
