"""Icon-recipe ablations: re-render the same atlas cells with several icon settings, then judge each.

    python benchmarks/bench_icons.py --atlas out/atlas1000 --grid 20 --sample 64 \
        --variant notebook:notebook --variant published:published \
        --variant wide2:default,transforms=wide,cossim_pow=2 --json

A variant is ``name:preset[,field=value...]`` (fields of ``IconSettings``). Every variant renders the
same cells (a seeded sample of the grid's non-empty cells, or all with ``--sample 0``) from the
atlas's saved directions, whitened as the atlas was, into ``out/bench_icons/<name>/`` (icons and a
labelled sheet to look at), timed. Only after every variant is rendered is the judge loaded
(bench_quality's figures: mean top-1, share ≥ 0.5, label hit@5 vs shuffled).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_quality  # noqa: E402


def parse_variant(text: str):
    """``name:preset[,field=value...]`` -> (name, IconSettings)."""
    from lucid_atlas.atlas.render import IconSettings

    name, _, spec = text.partition(":")
    preset, *pairs = (spec or "default").split(",")
    fields = {f.name: f.type for f in dataclasses.fields(IconSettings)}
    changes = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in fields:
            raise SystemExit(f"unknown IconSettings field '{key}': {', '.join(fields)}")
        kind = {"int": int, "float": float}.get(str(fields[key]), str)
        changes[key] = kind(value)
    return name, IconSettings.preset(preset, **changes)


def parse_region(text: str) -> tuple[range, range]:
    """``r0:r1,c0:c1`` -> (rows, cols) ranges of grid cells."""
    try:
        rows, cols = (range(*map(int, part.split(":"))) for part in text.split(","))
    except ValueError:
        raise SystemExit(f"--region takes r0:r1,c0:c1 (e.g. 4:12,6:14), got '{text}'") from None
    return rows, cols


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--atlas", required=True, help="atlas folder (activations/, atlas_<n>.json, _directions.npz)")
    p.add_argument("--grid", type=int, default=20)
    p.add_argument("--sample", type=int, default=64, help="cells rendered per variant (0 = all)")
    p.add_argument("--variant", action="append", default=[], help="name:preset[,field=value...]")
    p.add_argument("--existing", action="append", default=[], help="name=folder of icons already rendered "
                   "(r###_c###.png, e.g. an atlas's icons_20_<key>), judged on the same cells")
    p.add_argument("--region", help="r0:r1,c0:c1: every cell of this window of the grid instead of --sample")
    p.add_argument("--shuffled", action="append", default=[], help="variant NAME also rendered with the cells' "
                   "directions shuffled among their positions (repeatable)")
    p.add_argument("--tile", type=int, default=80, help="icons are measured as tiles of this side (px)")
    p.add_argument("--batch", type=int, help="cells per batch for every variant (speed only)")
    p.add_argument("--out", default="out/bench_icons")
    p.add_argument("--judge", default="efficientnet_lite2")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    from lucid_atlas import models
    from lucid_atlas.atlas import collect, layout
    from lucid_atlas.atlas.grid import Cell
    from lucid_atlas.atlas.render import icon_path, render_cells
    from lucid_atlas.io import sheets
    from PIL import Image

    with open(os.path.join(args.atlas, f"atlas_{args.grid}.json")) as f:
        meta = json.load(f)
    saved = np.load(os.path.join(args.atlas, f"atlas_{args.grid}_directions.npz"))
    directions = {(int(r), int(c)): d for r, c, d in zip(saved["rows"], saved["cols"], saved["directions"])}
    cells_meta = [c for c in meta["cells"] if (c["row"], c["col"]) in directions]
    if args.region:
        rows_in, cols_in = parse_region(args.region)
        cells_meta = [c for c in cells_meta if c["row"] in rows_in and c["col"] in cols_in]
    elif args.sample:
        pick = np.random.default_rng(args.seed).permutation(len(cells_meta))[:args.sample]
        cells_meta = [cells_meta[i] for i in sorted(pick)]
    cells = [Cell(c["row"], c["col"], c["count"], directions[(c["row"], c["col"])]) for c in cells_meta]
    classes = [[t["index"] for t in c["top_classes"]] for c in cells_meta]
    whitening = layout.whitening_matrix(collect.load_activations(os.path.join(args.atlas, "activations")).vectors)
    model = models.load(meta["model"])

    rendered = []
    for text in args.existing:
        name, _, folder = text.partition("=")
        images = [np.asarray(Image.open(icon_path(folder, c)).convert("RGB"), np.float32) / 255 for c in cells]
        rendered.append((name, None, images, None))
    permutation = np.random.default_rng(args.seed + 1).permutation(len(cells))
    shuffled_cells = [dataclasses.replace(c, direction=cells[j].direction) for c, j in zip(cells, permutation)]
    jobs = []
    for text in args.variant:
        name, icons = parse_variant(text)
        if args.batch:
            icons = dataclasses.replace(icons, batch=args.batch)
        jobs.append((name, icons, cells))
        if name in args.shuffled:
            jobs.append((f"{name}~shuffled", icons, shuffled_cells))
    for name, icons, job_cells in jobs:
        folder = os.path.join(args.out, name)
        start = time.perf_counter()
        images = render_cells(model, meta["layer"], job_cells, folder, icons, whitening=whitening)
        seconds = time.perf_counter() - start
        sheets.save_contact_sheet([images[(c.row, c.col)] for c in cells], os.path.join(args.out, f"{name}.png"),
                                  captions=[c["top_classes"][0]["label"][:14] for c in cells_meta])
        rendered.append((name, icons, [images[(c.row, c.col)] for c in cells], seconds))

    judge = bench_quality.Judge(args.judge)  # loaded only now: it takes no part in rendering
    rows = []
    for name, icons, images, seconds in rendered:
        probs = judge.probabilities(images)
        tiles = {(c.row, c.col): as_tile(img, args.tile) for c, img in zip(cells, images)}
        rows.append({"variant": name, "icons": dataclasses.asdict(icons) if icons else None, "cells": len(images),
                     **bench_quality.confidence(probs), **bench_quality.label_agreement(probs, classes),
                     **bench_quality.tile_statistics(tiles),
                     "render_seconds": None if seconds is None else round(seconds, 1)})
    summary = {"atlas": args.atlas, "grid": args.grid, "sample": len(cells), "judge": args.judge, "rows": rows}
    if args.json:
        print(json.dumps(summary))
    for row in rows:
        print(f"{row['variant']:>14}: mean top-1 {row['mean_top1']:.3f}, ≥0.5 {row['share_ge_0_5']:.1%}, "
              f"label hit@5 {row['label_hit5']:.3f} (shuffled {row['label_hit5_shuffled']:.3f}), "
              f"clipped {row['clipped']:.1%}, sat {row['saturation']:.2f}, hf {row['high_frequency']:.3f}, "
              f"centre {row['central_edges']:.3f}, likeness {row['neighbour_likeness']:.3f}, "
              f"{row['render_seconds'] if row['render_seconds'] is not None else '-'} s", file=sys.stderr)
    return 0


def as_tile(image: np.ndarray, side: int) -> np.ndarray:
    """An icon in [0, 1] as the atlas picture holds it: uint8 RGB resized to ``side`` (Lanczos)."""
    from PIL import Image

    tile = Image.fromarray(bench_quality.as_uint8(image)).convert("RGB")
    return np.asarray(tile if tile.size == (side, side) else tile.resize((side, side), Image.LANCZOS))


if __name__ == "__main__":
    sys.exit(main())
