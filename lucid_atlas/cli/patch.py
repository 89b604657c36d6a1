"""The adversarial patch subcommand: score patch files, or discover one from a class comparison."""

from __future__ import annotations

import argparse
import sys

from .common import Adder, add_class_args, class_settings, finish, split_list


def _candidate_settings(args: argparse.Namespace, extra_layers: tuple[str, ...]):
    """What ``--patch auto`` tries: rendered directions (sizes, steps, recipes) and photo crops."""
    from lucid_atlas.patches.discover import CandidateSettings
    from lucid_atlas.patches.photos import PhotoSettings

    photos = PhotoSettings(images=args.photos, crops=tuple(float(v) for v in args.photo_crops.split(",")),
                           peaks=args.photo_peaks)
    return CandidateSettings(tuple(int(v) for v in str(args.patch_size).split(",")), args.patch_steps,
                             tuple(split_list(args.patch_icons)), photos=photos, photo_dir=args.candidate_photos,
                             extra_layers=extra_layers, rendered_directions=args.rendered_directions)


def cmd_patch(args: argparse.Namespace) -> dict:
    from lucid_atlas import models
    from lucid_atlas.patches import study

    model = models.load(args.model)
    ratios = tuple(float(r) for r in args.ratios.split(","))
    if args.patch == ["auto"]:
        layers = split_list(args.layer)
        settings, icons = class_settings(args, model, 10, layer=layers[0] if layers else None)
        summary = study.discover_patch(model, args.images, args.source, args.target, args.out, settings, icons,
                                       act_dir=split_list(args.activations) or None, n_augment=args.augment,
                                       ratios=ratios,
                                       candidate_settings=_candidate_settings(args, extra_layers=tuple(layers[1:])),
                                       seed=args.seed, progress=not args.no_progress)
    elif "auto" in args.patch:
        raise ValueError("--patch auto discovers a patch on its own; give it alone, or give patch files/folders")
    else:
        summary = study.evaluate_patch_files(model, args.images, args.source, args.target, args.patch, args.out,
                                             n_augment=args.augment, ratios=ratios, corner=args.corner,
                                             ratio=args.ratio, seed=args.seed)
        if not args.json:
            print(summary["note"] + "\n\n" + summary["table"])
    if args.spread_seeds:
        from lucid_atlas.io.images import load_image

        patch = load_image(summary["outputs"]["patch"])
        summary["seed_spread"] = study.seed_spread(
            model, args.images, model.class_index(args.source), model.class_index(args.target), patch,
            n_augment=args.augment, seeds=range(args.seed, args.seed + args.spread_seeds),
            config=tuple(summary["patch_result"]["static_config"]), ratios=ratios,
            held_out_share=0.5 if args.patch == ["auto"] else None)
        d = summary["seed_spread"]["dynamic_rate"]
        print(f"dynamic flip rate over {args.spread_seeds} variant seeds: {d['mean']:.1%} "
              f"(min {d['min']:.1%}, max {d['max']:.1%}, sd {d['std']:.1%})", file=sys.stderr)
    p, noise = summary["patch_result"], summary["noise_baseline"]
    return finish(args, summary, "patch_summary.json",
                   f"{summary['source']} → {summary['target']} with '{p['patch']}' over {p['correct_before']} "
                   f"correctly classified of {p['images']} images: static {p['static_rate']:.1%} "
                   f"({p['static_corner']}, {p['static_ratio']:g}), dynamic {p['dynamic_rate']:.1%}; "
                   f"noise patch static {noise['static_rate']:.1%}, dynamic {noise['dynamic_rate']:.1%}. "
                   f"Report: {summary['outputs']['md']}, chart: {summary['outputs']['chart']}")


def add_patch(add: Adder) -> None:
    """Register ``lucid-atlas patch``."""
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
    add_class_args(p, "out/patch", 10, pooled=True)
