"""How readable are our feature visualizations? Judged by a model that takes no part in rendering.

    python benchmarks/bench_quality.py --atlas out/atlas1000 [--atlas other/folder ...] --json
    python benchmarks/bench_quality.py --picture some_atlas.png --grid 20 --json
    python benchmarks/bench_quality.py --classes --json      # class-logit renders of 25 classes

* Atlas pictures (``atlas_<n>.png`` of each ``--atlas`` folder, any ``--picture``, and the published
  InceptionV1 mixed4c 20×20 atlas when ``../shared/published`` exists) are cut into n×n tiles, empty
  (white) tiles skipped, every tile resized to ``--judge-size`` px (bicubic) and classified by the
  judge (default efficientnet_lite2, ``pip install 'lucid-atlas[lite12]'``): mean top-1 probability,
  share of tiles with top-1 ≥ 0.5, median entropy (nats); and what a person sees beyond single tiles
  (:func:`tile_statistics`): clipped colour values, saturation, high-frequency share, central edge
  energy (calm, centred icons) and neighbour likeness (adjacent tiles alike: a map, not texture).
* Atlas folders also get label agreement: the share of cells whose tile's judge top-5 contains one of
  the cell's three commonest classes (from ``atlas_<n>.json``), next to the same with the cells'
  class lists shuffled (mean of 20 shuffles), and the render seconds from ``summary.json``.
* ``--classes``: the render model's class logit rendered for 25 fixed classes with the default
  render settings; judge top-1/top-5 accuracy (MACO's "transferability").

The judge is loaded only here, after the pictures exist: it never takes part in making them.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLISHED = os.path.join(os.path.dirname(REPO), "shared", "published", "inceptionv1_mixed4c_20x20.jpg")
# 25 classes across the hierarchy (animals, plants, food, objects, scenes), fixed for comparability
CLASSES = ["goldfish", "great white shark", "cock", "ostrich", "bald eagle", "tree frog", "green mamba",
           "flamingo", "king penguin", "golden retriever", "Siberian husky", "tabby", "tiger", "zebra",
           "monarch", "daisy", "strawberry", "pineapple", "broccoli", "pizza", "volcano", "beacon",
           "school bus", "acoustic guitar", "pretzel"]


class Judge:
    """A zoo classifier that scores pictures: softmax probabilities of tiles resized to ``size`` px."""

    def __init__(self, name: str, size: int = 224):
        from lucid_atlas import models

        self.model = models.load(name)
        self.name, self.size = name, size

    def probabilities(self, tiles: list[np.ndarray]) -> np.ndarray:
        """[N, classes] softmax probabilities for uint8 or [0, 1] RGB tiles of any size."""
        import tensorflow as tf

        batch = []
        for tile in tiles:
            img = Image.fromarray(tile if tile.dtype == np.uint8 else (np.clip(tile, 0, 1) * 255).astype(np.uint8))
            batch.append(np.asarray(img.convert("RGB").resize((self.size, self.size), Image.BICUBIC), np.float32) / 255)
        if not batch:
            return np.zeros((0, len(self.model.labels)), np.float32)
        logits = self.model.predict(np.stack(batch), batch_size=32)
        return tf.nn.softmax(logits).numpy()


def cut_tiles(picture: str, grid: int) -> dict[tuple[int, int], np.ndarray]:
    """Non-empty tiles of an n×n atlas picture, keyed by (row, col); white or flat tiles are empty."""
    img = np.asarray(Image.open(picture).convert("RGB"))
    th, tw = img.shape[0] // grid, img.shape[1] // grid
    tiles = {}
    for r in range(grid):
        for c in range(grid):
            tile = img[r * th:(r + 1) * th, c * tw:(c + 1) * tw]
            if tile.std() < 2.0 and tile.mean() > 240:  # blank canvas
                continue
            tiles[(r, c)] = tile
    return tiles


def _grey(tile: np.ndarray) -> np.ndarray:
    """Luma in [0, 1] of a uint8 (or [0, 1] float) RGB tile."""
    rgb = tile.astype(np.float64) / (255.0 if tile.dtype == np.uint8 else 1.0)
    return rgb @ np.array([0.299, 0.587, 0.114])


def as_uint8(tile: np.ndarray) -> np.ndarray:
    """A uint8 tile as it is; a [0, 1] float one rounded to uint8."""
    return tile if tile.dtype == np.uint8 else (np.clip(tile, 0, 1) * 255 + 0.5).astype(np.uint8)


def clipped_share(tiles: list[np.ndarray]) -> float:
    """Share of RGB values ≤ 3 or ≥ 252 (of 255) over all tiles: colours pushed to their limits."""
    values = np.concatenate([as_uint8(t)[..., :3].ravel() for t in tiles])
    return float(np.mean((values <= 3) | (values >= 252)))


def mean_saturation(tiles: list[np.ndarray]) -> float:
    """Mean HSV saturation (max − min) / max over RGB per pixel (0 where max is 0), over all tiles."""
    values = []
    for t in tiles:
        rgb = as_uint8(t)[..., :3].astype(np.float64)
        hi, lo = rgb.max(-1), rgb.min(-1)
        values.append(np.where(hi > 0, (hi - lo) / np.maximum(hi, 1e-9), 0.0).ravel())
    return float(np.mean(np.concatenate(values)))


def high_frequency_share(tile: np.ndarray) -> float:
    """Share of a tile's grey power spectrum (mean removed) beyond half the Nyquist radius, the
    radius normalised per axis; 0 for a flat tile. Fine grain and noise raise it."""
    grey = _grey(tile)
    power = np.abs(np.fft.fft2(grey - grey.mean())) ** 2
    fy = np.fft.fftfreq(grey.shape[0])[:, None] / 0.5   # ±1 at Nyquist
    fx = np.fft.fftfreq(grey.shape[1])[None, :] / 0.5
    total = power.sum()
    return float(power[np.hypot(fy, fx) > 0.5].sum() / total) if total > 1e-12 else 0.0


def central_edge_energy(tile: np.ndarray) -> float:
    """Share of a tile's squared grey-gradient magnitude inside its central square of side h/2
    (0.25 = spread evenly, higher = a centred object); a tile without edges counts as 0.25."""
    grey = _grey(tile)
    gy, gx = np.gradient(grey)
    energy = gy ** 2 + gx ** 2
    h, w = grey.shape
    inner = energy[h // 4:h - h // 4, w // 4:w - w // 4].sum()
    total = energy.sum()
    return float(inner / total) if total > 1e-12 else 0.25


def _thumbnail(tile: np.ndarray, side: int = 8) -> np.ndarray:
    """The tile shrunk to side×side RGB by a box filter, standardised (zero mean, unit variance)."""
    small = np.asarray(Image.fromarray(as_uint8(tile)[..., :3]).resize((side, side), Image.BOX), np.float64)
    small = small.ravel() - small.mean()
    return small / max(small.std(), 1e-9)


def neighbour_likeness(tiles: dict[tuple[int, int], np.ndarray], permutations: int = 20, seed: int = 0) -> dict:
    """How alike adjacent tiles are beyond any two tiles: the mean correlation of the 8×8 RGB
    thumbnails of horizontally and vertically adjacent non-empty tiles, minus that of all pairs of
    distinct tiles (the expected random pair). 0 = neighbours no more alike than strangers.

    ``neighbour_likeness_permuted``: the same with the tiles permuted among their positions (mean of
    ``permutations``): ~0 unless the likeness is in the positions themselves; for icons that are a
    function of their direction (seeded by direction) it is the shuffled-directions render."""
    keys = sorted(tiles)
    if len(keys) < 2:
        return {"neighbour_likeness": 0.0, "adjacent_pairs": 0, "neighbour_likeness_permuted": 0.0}
    thumbs = np.stack([_thumbnail(tiles[k]) for k in keys])
    corr = thumbs @ thumbs.T / thumbs.shape[1]
    index = {k: i for i, k in enumerate(keys)}
    pairs = np.array([(index[(r, c)], index[n]) for r, c in keys for n in ((r, c + 1), (r + 1, c)) if n in index],
                     np.int64).reshape(-1, 2)
    n = len(keys)
    random_pairs = (corr.sum() - np.trace(corr)) / (n * (n - 1))

    def likeness(order: np.ndarray) -> float:
        return float(corr[order[pairs[:, 0]], order[pairs[:, 1]]].mean() - random_pairs) if len(pairs) else 0.0
    rng = np.random.default_rng(seed)
    permuted = np.mean([likeness(rng.permutation(n)) for _ in range(permutations)])
    return {"neighbour_likeness": round(likeness(np.arange(n)), 4), "adjacent_pairs": len(pairs),
            "neighbour_likeness_permuted": round(float(permuted), 4)}


def tile_statistics(tiles: dict[tuple[int, int], np.ndarray]) -> dict:
    """The calm and map figures of a set of tiles keyed by (row, col): clipped share, saturation,
    high-frequency share, central edge energy (means over tiles) and neighbour likeness."""
    values = list(tiles.values())
    return {"clipped": round(clipped_share(values), 4), "saturation": round(mean_saturation(values), 4),
            "high_frequency": round(float(np.mean([high_frequency_share(t) for t in values])), 4),
            "central_edges": round(float(np.mean([central_edge_energy(t) for t in values])), 4),
            **neighbour_likeness(tiles)}


def confidence(probs: np.ndarray) -> dict:
    """Mean top-1 probability, share ≥ 0.5, median entropy of the judge's softmax rows."""
    top1 = probs.max(axis=1)
    entropy = -(probs * np.log(np.clip(probs, 1e-12, 1))).sum(axis=1)
    return {"tiles": int(len(probs)), "mean_top1": round(float(top1.mean()), 4),
            "share_ge_0_5": round(float((top1 >= 0.5).mean()), 4),
            "median_entropy": round(float(np.median(entropy)), 3)}


def label_agreement(probs: np.ndarray, cell_classes: list[list[int]], shuffles: int = 20, seed: int = 0) -> dict:
    """Share of cells whose judge top-5 holds one of their three commonest classes; and shuffled."""
    top5 = np.argsort(-probs, axis=1)[:, :5]

    def hit_rate(classes):
        return float(np.mean([bool(set(t) & set(c[:3])) for t, c in zip(top5, classes)]))

    rng = np.random.default_rng(seed)
    shuffled = [hit_rate([cell_classes[i] for i in rng.permutation(len(cell_classes))]) for _ in range(shuffles)]
    return {"label_hit5": round(hit_rate(cell_classes), 4), "label_hit5_shuffled": round(float(np.mean(shuffled)), 4)}


def judge_atlas_folder(judge: Judge, folder: str) -> list[dict]:
    """Every ``atlas_<n>.png`` of an atlas folder: confidence and label agreement, per grid."""
    rows = []
    summary_path = os.path.join(folder, "summary.json")
    seconds = None
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            seconds = json.load(f).get("stage_seconds", {}).get("render")
    for path in sorted(glob.glob(os.path.join(folder, "atlas_*.json"))):
        stem = os.path.basename(path)[:-5]
        if not stem.removeprefix("atlas_").isdigit():
            continue
        with open(path) as f:
            meta = json.load(f)
        grid = int(meta["grid"])
        tiles = cut_tiles(os.path.join(folder, stem + ".png"), grid)
        cells = [c for c in meta["cells"] if (c["row"], c["col"]) in tiles]
        probs = judge.probabilities([tiles[(c["row"], c["col"])] for c in cells])
        row = {"source": folder, "grid": grid, "icons": meta.get("icons"), **confidence(probs),
               **label_agreement(probs, [[t["index"] for t in c["top_classes"]] for c in cells]),
               **tile_statistics(tiles)}
        row["render_seconds"] = seconds
        rows.append(row)
    return rows


def judge_picture(judge: Judge, picture: str, grid: int) -> dict:
    """A bare atlas picture (e.g. the published one): confidence over its non-empty tiles."""
    tiles = cut_tiles(picture, grid)
    return {"source": picture, "grid": grid, **confidence(judge.probabilities(list(tiles.values()))),
            **tile_statistics(tiles)}


def judge_class_atlas(judge: Judge, description: str) -> dict:
    """A class activation atlas (its ``class_<name>.json``): the share of its icons whose judge top-5
    holds the atlas's class, and the tile statistics of its picture."""
    with open(description) as f:
        meta = json.load(f)
    folder = os.path.dirname(description)
    grid = int(meta["settings"]["grid"])
    tiles = cut_tiles(os.path.join(folder, os.path.basename(description)[:-5] + ".png"), grid)
    cells = [c for c in meta["cells"] if (c["row"], c["col"]) in tiles]
    probs = judge.probabilities([tiles[(c["row"], c["col"])] for c in cells])
    truth = judge.model.class_index(meta["class"])
    top5 = np.argsort(-probs, axis=1)[:, :5]
    return {"source": description, "class": meta["class"], "grid": grid, **confidence(probs),
            "class_in_top5": round(float(np.mean([truth in row for row in top5])), 4), **tile_statistics(tiles)}


def class_renders(model_name: str, size: int, steps: int, seed: int) -> tuple[list[str], np.ndarray, float]:
    """Class-logit feature visualizations of ``CLASSES`` by the render model (not the judge)."""
    from lucid_atlas import models
    from lucid_atlas.optvis import objectives, param, render

    model = models.load(model_name)
    indices = [model.class_index(c) for c in CLASSES]
    start = time.perf_counter()
    images = []
    for k, idx in enumerate(indices):
        result = render.render(model, objectives.class_logit(idx), lambda: param.image(size), thresholds=(steps,),
                               seed=seed + k, progress=False)
        images.append(result.images[-1][0])
    return [model.labels[i] for i in indices], np.stack(images), time.perf_counter() - start


def judge_classes(judge: Judge, args) -> dict:
    names, images, seconds = class_renders(args.model, args.class_size, args.class_steps, args.seed)
    if args.save_classes:
        from lucid_atlas.io import sheets

        sheets.save_contact_sheet(list(images), args.save_classes, captions=names)
    probs = judge.probabilities(list(images))
    truth = [judge.model.class_index(n) for n in names]
    top5 = np.argsort(-probs, axis=1)[:, :5]
    return {"source": f"class_logit renders of {len(names)} classes by {args.model}",
            "size": args.class_size, "steps": args.class_steps, **confidence(probs),
            "top1_accuracy": round(float(np.mean(top5[:, 0] == truth)), 4),
            "top5_accuracy": round(float(np.mean([t in row for t, row in zip(truth, top5)])), 4),
            "render_seconds": round(seconds, 1)}


def side_by_side(ours: str, out: str, crop: tuple[int, int, int] | None = None, grid: int = 20) -> str:
    """Our atlas picture beside the published one, both whole at full size (or the same ``crop`` =
    (row, col, cells) window of both grids), each under a caption; written to ``out`` (PNG)."""
    from PIL import ImageDraw

    pictures = []
    for path, caption in ((ours, f"ours: {os.path.basename(os.path.dirname(os.path.abspath(ours)))}"),
                          (PUBLISHED, "published InceptionV1 mixed4c (Carter et al., Distill 2019, CC-BY 4.0)")):
        img = Image.open(path).convert("RGB")
        if crop:
            tile = img.width // grid
            r, c, n = crop
            img = img.crop((c * tile, r * tile, (c + n) * tile, (r + n) * tile)).resize((n * 80, n * 80),
                                                                                        Image.LANCZOS)
        pictures.append((img, caption))
    height = max(img.height for img, _ in pictures) + 28
    sheet = Image.new("RGB", (sum(img.width for img, _ in pictures) + 16, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    x = 0
    for img, caption in pictures:
        sheet.paste(img, (x, 28))
        draw.text((x + 4, 6), caption, fill=(0, 0, 0))
        x += img.width + 16
    sheet.save(out)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--atlas", action="append", default=[], help="atlas folder (repeatable)")
    p.add_argument("--picture", action="append", default=[], help="atlas picture (repeatable; needs --grid)")
    p.add_argument("--grid", type=int, default=20, help="tiles per side of --picture")
    p.add_argument("--class-atlas", action="append", default=[], help="a class atlas's class_<name>.json "
                   "(repeatable): share of its icons whose judge top-5 holds the class")
    p.add_argument("--judge", default="efficientnet_lite2", help="zoo model that judges (default: %(default)s)")
    p.add_argument("--judge-size", type=int, default=224, help="tile side fed to the judge (px)")
    p.add_argument("--no-published", action="store_true", help="skip the published atlas")
    p.add_argument("--classes", action="store_true", help="also judge class-logit renders of 25 classes")
    p.add_argument("--model", default="efficientnet_lite0", help="render model for --classes")
    p.add_argument("--class-size", type=int, default=128)
    p.add_argument("--class-steps", type=int, default=256)
    p.add_argument("--save-classes", help="write the class renders as a labelled sheet (PNG)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--side-by-side", metavar="PNG", help="write the first --atlas folder's atlas_<grid>.png beside "
                   "the published picture, whole and at full size (and a close-up beside it: *_closeup.png)")
    p.add_argument("--closeup", default="6,2,6", help="row,col,cells of the close-up window (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    args = p.parse_args(argv)
    if args.side_by_side and args.atlas and os.path.exists(PUBLISHED):
        ours = os.path.join(args.atlas[0], f"atlas_{args.grid}.png")
        side_by_side(ours, args.side_by_side)
        side_by_side(ours, args.side_by_side.removesuffix(".png") + "_closeup.png",
                     tuple(int(v) for v in args.closeup.split(",")), args.grid)

    judge = Judge(args.judge, args.judge_size)
    rows = []
    if not args.no_published and os.path.exists(PUBLISHED):
        rows.append({**judge_picture(judge, PUBLISHED, 20), "source": "published InceptionV1 mixed4c"})
    for folder in args.atlas:
        rows.extend(judge_atlas_folder(judge, folder))
    for description in args.class_atlas:
        rows.append(judge_class_atlas(judge, description))
    for picture in args.picture:
        rows.append(judge_picture(judge, picture, args.grid))
    if args.classes:
        rows.append(judge_classes(judge, args))
    summary = {"judge": args.judge, "judge_size": args.judge_size, "rows": rows}
    if args.json:
        print(json.dumps(summary))
    else:
        for row in rows:
            print(f"{row['source']} grid {row.get('grid', '-')}: mean top-1 {row['mean_top1']:.3f}, "
                  f"≥0.5 {row['share_ge_0_5']:.1%}, entropy {row['median_entropy']:.2f}"
                  + (f", class in top-5 {row['class_in_top5']:.1%}" if "class_in_top5" in row else "")
                  + (f", label hit@5 {row['label_hit5']:.3f} (shuffled {row['label_hit5_shuffled']:.3f})"
                     if "label_hit5" in row else "")
                  + (f", top-1/top-5 acc {row['top1_accuracy']:.2f}/{row['top5_accuracy']:.2f}"
                     if "top1_accuracy" in row else "")
                  + (f"; clipped {row['clipped']:.1%}, saturation {row['saturation']:.2f}, high-freq "
                     f"{row['high_frequency']:.3f}, central edges {row['central_edges']:.3f}, neighbour likeness "
                     f"{row['neighbour_likeness']:.3f} (tiles permuted {row['neighbour_likeness_permuted']:.3f})"
                     if "clipped" in row else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
