"""Does a patch fool the model? Static and dynamic flip rates against a random-noise baseline.

A flip is an image the model classified as the source class before and as the target class
after the patch. *Static*: one corner and size for every image; *dynamic*: the best corner and
size per image (the article's two columns). Rates are over the images correct before.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import tensorflow as tf

from ..io import sheets, storage
from .composite import CORNERS, apply_patch

DEFAULT_RATIOS = (0.1, 0.2, 0.3, 0.4)


@dataclass
class PatchTrial:
    """One patch tried on N images at every (corner, ratio): predictions before and after."""

    name: str
    source: int
    target: int
    patch_class: int
    corners: tuple[str, ...]
    ratios: tuple[float, ...]
    top1_before: np.ndarray  # [N]
    probs_before: np.ndarray  # [N, 3]: source, target, patch class
    top1_after: np.ndarray  # [N, corners, ratios]
    probs_after: np.ndarray  # [N, corners, ratios, 3]


def class_probabilities(model, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Softmax probabilities [N, classes] of images in [0, 1] at the model's size."""
    return tf.nn.softmax(model.predict(images, batch_size)).numpy()


def run_patch(model, images: np.ndarray, patch: np.ndarray, source: int, target: int, name: str = "patch",
              *, corners: Sequence[str] = CORNERS, ratios: Sequence[float] = DEFAULT_RATIOS,
              batch_size: int = 32, before: np.ndarray | None = None) -> PatchTrial:
    """Classify ``images`` (at the model's size, [0, 1]) before and with ``patch`` at each corner and ratio.

    ``before``: the images' :func:`class_probabilities` when already known (several patches, same images).
    """
    h, w, _ = model.image_shape
    if images.shape[1:3] != (h, w):
        raise ValueError(f"images must be resized to the model's {h}x{w} first, got {images.shape[1:3]}")
    n = len(images)
    configs = [(ci, ri) for ci in range(len(corners)) for ri in range(len(ratios))]
    if not configs:
        raise ValueError("a patch trial needs at least one corner and one ratio")
    per_call = max(1, -(-batch_size // max(n, 1)))  # few images each: several configs fill one batch
    patch_alone = apply_patch(np.zeros((1, h, w, 3), np.float32), patch, "top-left", 1.0)
    top1_after = np.zeros((n, len(corners), len(ratios)), np.int32)
    probs_after = np.zeros((n, len(corners), len(ratios), 3), np.float32)
    wanted = None
    for k in range(0, len(configs), per_call):
        group = configs[k:k + per_call]
        pasted = [apply_patch(images, patch, corners[ci], ratios[ri]) for ci, ri in group]
        after = class_probabilities(model, np.concatenate(([patch_alone] if k == 0 else []) + pasted), batch_size)
        if k == 0:  # the patch alone, on black, as the model sees it: what the patch itself looks like
            patch_class, after = int(np.argmax(after[0])), after[1:]
            wanted = [source, target, patch_class]
        for j, (ci, ri) in enumerate(group):
            top1_after[:, ci, ri] = after[j * n:(j + 1) * n].argmax(1)
            probs_after[:, ci, ri] = after[j * n:(j + 1) * n, wanted]
    before = class_probabilities(model, images, batch_size) if before is None else before
    return PatchTrial(name, source, target, patch_class, tuple(corners), tuple(float(r) for r in ratios),
                      before.argmax(1).astype(np.int32), before[:, wanted], top1_after, probs_after)


def success_rates(top1_before: np.ndarray, top1_after: np.ndarray, source: int, target: int,
                  config: tuple[int, int] | None = None) -> dict:
    """Flip counts and rates: static at ``config`` (corner, ratio indices; default the best one)
    and dynamic (any corner and ratio per image), over the images correct before."""
    correct = np.asarray(top1_before) == source
    flipped = (np.asarray(top1_after) == target) & correct[:, None, None]
    n = int(correct.sum())
    per_config = flipped[correct].sum(axis=0)
    if config is None:
        config = np.unravel_index(int(np.argmax(per_config)), per_config.shape)
    config = (int(config[0]), int(config[1]))
    dynamic = int(flipped[correct].any(axis=(1, 2)).sum())
    return {"images": int(len(correct)), "correct_before": n,
            "static_flips": int(per_config[config]), "static_rate": per_config[config] / n if n else 0.0,
            "static_config": config, "dynamic_flips": dynamic, "dynamic_rate": dynamic / n if n else 0.0,
            "per_config_rate": (per_config / n if n else per_config * 0.0).tolist()}


def _scored(trial: PatchTrial) -> np.ndarray:
    """The images probabilities are averaged over: those correct before (all, if none is)."""
    correct = trial.top1_before == trial.source
    return correct if correct.any() else np.ones_like(correct)


def summarize(trial: PatchTrial, labels: Sequence[str], config: tuple[int, int] | None = None) -> dict:
    """One report row: flip rates plus mean target/source probabilities before and after."""
    rates = success_rates(trial.top1_before, trial.top1_after, trial.source, trial.target, config)
    ci, ri = rates["static_config"]
    sel = _scored(trial)
    best = trial.probs_after[sel][..., 1].reshape(int(sel.sum()), -1).max(axis=1)
    return {"patch": trial.name, "patch_class": labels[trial.patch_class], "source": labels[trial.source],
            "target": labels[trial.target], **{k: v for k, v in rates.items() if k != "per_config_rate"},
            "static_corner": trial.corners[ci], "static_ratio": trial.ratios[ri],
            "p_source_before": float(trial.probs_before[sel, 0].mean()),
            "p_target_before": float(trial.probs_before[sel, 1].mean()),
            "p_source_after_static": float(trial.probs_after[sel, ci, ri, 0].mean()),
            "p_target_after_static": float(trial.probs_after[sel, ci, ri, 1].mean()),
            "p_target_after_dynamic": float(best.mean()),
            "p_target_change_static": float(trial.probs_after[sel, ci, ri, 1].mean()
                                            - trial.probs_before[sel, 1].mean()),
            "p_target_change_dynamic": float(best.mean() - trial.probs_before[sel, 1].mean()),
            "per_config_rate": {f"{c}@{r:g}": rates["per_config_rate"][i][j] for i, c in enumerate(trial.corners)
                                for j, r in enumerate(trial.ratios)}}


def rank_key(row: dict) -> tuple:
    """How report rows rank patches: dynamic rate, then static rate, then target probability."""
    return row["dynamic_rate"], row["static_rate"], row["p_target_after_dynamic"]


COLUMNS = ("patch", "patch_class", "source", "target", "images", "correct_before", "static_corner", "static_ratio",
           "static_flips", "static_rate", "dynamic_flips", "dynamic_rate", "p_target_before",
           "p_target_after_static", "p_target_change_static", "p_target_after_dynamic", "p_target_change_dynamic")


def markdown_table(rows: Sequence[dict]) -> str:
    """The article-style table as markdown."""
    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_report(rows: Sequence[dict], out_dir: str, stem: str = "patch_report", note: str = "") -> dict:
    """``<stem>.md``, ``.csv`` and ``.json`` under ``out_dir``; returns their paths."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    paths = {k: os.path.join(out_dir, f"{stem}.{k}") for k in ("md", "csv", "json")}
    storage.atomic_write_bytes(paths["md"], ((note + "\n\n" if note else "") + markdown_table(rows)).encode())
    storage.atomic_write_bytes(paths["csv"], buf.getvalue().encode())
    storage.write_json(paths["json"], {"note": note, "rows": list(rows)})
    return paths


def probability_chart(trial: PatchTrial, labels: Sequence[str], path: str, *, baseline: PatchTrial | None = None,
                      width: int = 640, height: int = 400) -> str:
    """PNG: mean probability of the source, target and patch class vs patch size (over corners)."""
    from PIL import Image, ImageDraw

    font = sheets.load_font(13)
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 60, width - 20, 40, height - 90
    sel = _scored(trial)
    series = [(f"{labels[trial.source]} (source)", trial.probs_after[sel][..., 0], (31, 119, 180), False),
              (f"{labels[trial.target]} (target)", trial.probs_after[sel][..., 1], (214, 39, 40), False),
              (f"{labels[trial.patch_class]} (patch class)", trial.probs_after[sel][..., 2], (44, 160, 44), False)]
    if baseline is not None:
        series.append((f"{labels[baseline.target]} with noise patch", baseline.probs_after[_scored(baseline)][..., 1],
                       (120, 120, 120), True))
    ratios = [0.0, *trial.ratios]
    before = {0: trial.probs_before[sel, 0].mean(), 1: trial.probs_before[sel, 1].mean(),
              2: trial.probs_before[sel, 2].mean(), 3: trial.probs_before[sel, 1].mean()}

    def px(r, p):
        return left + (right - left) * r / max(ratios), bottom - (bottom - top) * p

    draw.line([(left, top), (left, bottom), (right, bottom)], fill="black")
    for p in (0, 0.25, 0.5, 0.75, 1.0):
        draw.text((8, px(0, p)[1] - 7), f"{p:.2f}", fill="black", font=font)
    for r in ratios:
        x, _ = px(r, 0)
        draw.text((x - 10, bottom + 6), f"{r:g}", fill="black", font=font)
    draw.text((left, bottom + 22), "patch side / image side (mean over the 4 corners)", fill="black", font=font)
    draw.text((left, 10), f"'{trial.name}': class probabilities vs patch size", fill="black", font=font)
    for k, (name, values, color, dashed) in enumerate(series):
        means = [before[k]] + [float(values[:, :, j].mean()) for j in range(len(trial.ratios))]
        points = [px(r, m) for r, m in zip(ratios, means)]
        for a, b in zip(points, points[1:]):
            if dashed:
                for t in np.linspace(0, 1, 12)[::2]:
                    s = (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
                    e = (a[0] + (b[0] - a[0]) * (t + 1 / 11), a[1] + (b[1] - a[1]) * (t + 1 / 11))
                    draw.line([s, e], fill=color, width=2)
            else:
                draw.line([a, b], fill=color, width=3)
        for p in points:
            draw.ellipse([p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3], fill=color)
        ly = bottom + 44 + (k // 2) * 16
        lx = left + (k % 2) * (width - left) // 2
        draw.line([(lx, ly + 7), (lx + 20, ly + 7)], fill=color, width=3)
        draw.text((lx + 26, ly), name[:40], fill="black", font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    storage.atomic_write_bytes(path, buf.getvalue())
    return path


def _example_picks(trial: PatchTrial, config: tuple[int, int], n: int) -> list[int]:
    """The first ``n`` images to show: flipped ones first, then those correct before, in order."""
    ci, ri = config
    correct = trial.top1_before == trial.source
    flipped = correct & (trial.top1_after[:, ci, ri] == trial.target)
    return [int(i) for i in np.lexsort((np.arange(len(correct)), ~correct, ~flipped))][:n]


def example_sheet(model, images: np.ndarray, patch: np.ndarray, trial: PatchTrial, *, config: tuple[int, int],
                  path: str, n: int = 6) -> str:
    """A labelled contact sheet: source images with the patch at the static config, top-1 before -> after
    (flipped images first)."""
    ci, ri = config
    picks = _example_picks(trial, config, n)
    patched = apply_patch(images[picks], patch, trial.corners[ci], trial.ratios[ri])
    labels = model.labels
    captions = [f"{labels[trial.top1_before[i]]} -> {labels[trial.top1_after[i, ci, ri]]}" for i in picks]
    return sheets.save_contact_sheet(list(patched), path, captions=captions)


def rates_chart(rows: Sequence[dict], path: str, width: int = 640, bar_height: int = 16) -> str:
    """PNG: static and dynamic flip rate of every report row (best first, the noise patch last)."""
    from PIL import Image, ImageDraw

    font = sheets.load_font(12)
    label_w, top, gap = 220, 34, 10
    height = top + len(rows) * (2 * bar_height + gap) + 30
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((8, 8), "flip rate per patch: static (light), dynamic (dark)", fill="black", font=font)
    span = width - label_w - 60
    for k, row in enumerate(rows):
        y = top + k * (2 * bar_height + gap)
        name = sheets.fit_text(draw, str(row["patch"]), font, label_w - 12, keep_end=True)
        draw.text((8, y + bar_height // 2), name, fill="black", font=font)
        noise = row["patch"] == "random noise"
        for j, (key, color) in enumerate((("static_rate", (150, 180, 220)), ("dynamic_rate", (31, 119, 180)))):
            value = float(row[key])
            y0 = y + j * bar_height
            fill = (190, 190, 190) if noise and j == 0 else (110, 110, 110) if noise else color
            draw.rectangle([label_w, y0, label_w + max(1, round(span * value)), y0 + bar_height - 2], fill=fill)
            draw.text((label_w + round(span * value) + 6, y0 + 1), f"{value:.0%}", fill="black", font=font)
    draw.line([(label_w, top - 4), (label_w, height - 24)], fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    storage.atomic_write_bytes(path, buf.getvalue())
    return path


def best_examples_sheet(model, images: np.ndarray, best: Sequence[tuple[np.ndarray, PatchTrial, tuple[int, int]]],
                        path: str, per_patch: int = 3) -> str:
    """A labelled sheet of the best patches (a row each: the patch, then source images with it at its
    static config, flipped ones first, top-1 before -> after)."""
    tiles, captions = [], []
    for patch, trial, (ci, ri) in best:
        order = _example_picks(trial, (ci, ri), per_patch)
        tiles.append(patch)
        captions.append(trial.name)
        patched = apply_patch(images[order], patch, trial.corners[ci], trial.ratios[ri])
        tiles += list(patched)
        captions += [f"{model.labels[trial.top1_before[i]]} -> {model.labels[trial.top1_after[i, ci, ri]]}"
                     for i in order]
    return sheets.save_contact_sheet(tiles, path, captions=captions, columns=per_patch + 1,
                                     cell=max(np.asarray(t).shape[0] for t in tiles[1:2] or tiles))
