"""The whole patch experiment in one call: source variants, patch (given or discovered), report.

Writes ``patch_report.{md,csv,json}``, ``patch_chart.png`` (class probabilities vs patch size),
``patch_examples.png`` (patched sources, top-1 before → after) and the patch itself.
"""

from __future__ import annotations

import os
import time
from typing import Sequence

import numpy as np

from ..atlas.classes import ClassAtlasSettings
from ..atlas.render import IconSettings
from ..io import sheets, storage
from ..io.images import (ImageReadError, ImageSource, SkipCounter, class_image_paths, fit_image, list_images,
                         load_image, to_array)
from ..io.sheets import to_pil
from .composite import CORNERS, augment, noise_patch
from .candidates import activation_dirs, compare_layers, layer_photos, rendered_candidates, sketches_needed
from .discover import WHOLE_HALF, CandidateSettings, discover, screen, split_variants
from .photos import Candidate, folder_candidates
from .evaluate import (DEFAULT_RATIOS, best_examples_sheet, class_probabilities, example_sheet, markdown_table,
                       probability_chart, rank_key, rates_chart, run_patch, summarize, write_report)


def source_variants(model, images: ImageSource, source: int, n_augment: int = 0, seed: int = 0) -> tuple:
    """(variants [N, H, W, 3] in [0, 1], source file paths) for the source class's images.

    With ``n_augment`` each file gives that many random crops/flips/scales; otherwise one
    resized, center-cropped copy.
    """
    names = [model.labels[source]] + ([model.synsets[source]] if model.synsets else [])
    paths = class_image_paths(images, names)
    if not paths:
        raise FileNotFoundError(f"no images of class '{model.labels[source]}' in {images!r}: name files "
                                f"'{names[-1]}_...' or put them in a folder named '{names[0]}'")
    h, _, _ = model.image_shape
    if n_augment:
        return np.concatenate([augment(p, n_augment, h, seed) for p in paths]), paths
    return np.stack([to_array(fit_image(to_pil(load_image(p)), h)) for p in paths]), paths


def _outputs(model, variants, patch, trial, noise_trial, config, rows, out_dir, note, examples: bool = True) -> dict:
    """Report, probability chart, patch PNG and (unless the caller draws its own) the examples sheet."""
    paths = write_report(rows, out_dir, note=note)
    paths["chart"] = probability_chart(trial, model.labels, os.path.join(out_dir, "patch_chart.png"),
                                       baseline=noise_trial)
    if examples:
        paths["examples"] = example_sheet(model, variants, patch, trial, config=config,
                                          path=os.path.join(out_dir, "patch_examples.png"))
    paths["patch"] = sheets.save_png(patch, os.path.join(out_dir, "patch.png"))
    return paths


def load_patches(paths: Sequence[str] | str) -> tuple[list[tuple[str, np.ndarray]], SkipCounter]:
    """(name, [h, w, 3] in [0, 1]) for every patch file named or found in the folders named.

    A named file that is missing or unreadable raises with its path; unreadable files inside a
    named folder are skipped and counted."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    patches, skips = [], SkipCounter()
    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            found = list_images(path)
            if not found:
                raise FileNotFoundError(f"no image files in patch folder '{path}'")
            for file in found:
                try:
                    patches.append((os.path.relpath(file, path), load_image(file)))
                except ImageReadError as exc:
                    skips.add(file, str(exc))
        elif not os.path.exists(path):
            raise FileNotFoundError(f"no patch file or folder at '{path}'")
        else:
            try:
                patches.append((os.path.basename(path), load_image(path)))
            except ImageReadError as exc:
                raise ImageReadError(f"cannot read patch file '{path}': {exc}") from None
    if not patches:
        raise FileNotFoundError(f"no readable patch image in {', '.join(map(str, paths))}")
    return patches, skips


def evaluate_patch_files(model, images: ImageSource, source, target, patch_paths: Sequence[str] | str,
                         out_dir: str, *, n_augment: int = 0, ratios: Sequence[float] = DEFAULT_RATIOS,
                         corner: str | None = None, ratio: float | None = None, seed: int = 0) -> dict:
    """Flip rates of every patch file (files and/or folders of them), the noise patch last: the
    article's table, a chart of the rates, and examples of the best patches."""
    started = time.perf_counter()
    s, t = model.class_index(source), model.class_index(target)
    patches, skips = load_patches(patch_paths)
    variants, files = source_variants(model, images, s, n_augment, seed)
    ratios = tuple(sorted(set(ratios) | ({ratio} if ratio else set())))
    config = None
    if corner or ratio:
        config = (CORNERS.index(corner or "top-left"), ratios.index(ratio or max(ratios)))
    before = class_probabilities(model, variants)
    scored = []
    for name, patch in patches:
        trial = run_patch(model, variants, patch, s, t, name, corners=CORNERS, ratios=ratios, before=before)
        scored.append((summarize(trial, model.labels, config), trial, patch))
    scored.sort(key=lambda item: rank_key(item[0]), reverse=True)
    side = max(max(p.shape[:2]) for _, p in patches)
    noise_trial = run_patch(model, variants, noise_patch(side, seed), s, t, "random noise", corners=CORNERS,
                            ratios=ratios,
                            before=before)
    rows = [row for row, _, _ in scored] + [summarize(noise_trial, model.labels, config)]
    static_note = ("at the given corner and size" if config else
                   "at each patch's best single corner and size over these images")
    note = (f"{model.name}: '{model.labels[s]}' → '{model.labels[t]}', {len(patches)} patch(es)"
            f"{f' ({len(skips)} unreadable file(s) skipped)' if skips else ''} over {len(variants)} "
            f"{'augmented variants (' + str(n_augment) + ' per image) of ' if n_augment else ''}{len(files)} "
            f"source image(s); static {static_note}; dynamic = best of {len(CORNERS)} corners × sizes "
            f"{', '.join(f'{r:g}' for r in ratios)} per image. Best patch first, the noise patch last.")
    best_row, best_trial, best_patch = scored[0]
    paths = _outputs(model, variants, best_patch, best_trial, noise_trial, best_row["static_config"], rows,
                     out_dir, note, examples=False)
    paths["rates_chart"] = rates_chart(rows, os.path.join(out_dir, "patch_rates.png"))
    paths["examples"] = best_examples_sheet(model, variants, [(p, trial, row["static_config"])
                                                              for row, trial, p in scored[:3]],
                                            os.path.join(out_dir, "patch_examples.png"))
    return {"model": model.name, "source": model.labels[s], "target": model.labels[t], "patch": best_row["patch"],
            "patches": len(patches), "skipped": len(skips), "variants": len(variants), "augment": n_augment,
            "patch_result": best_row, "noise_baseline": rows[-1], "rows": rows, "note": note,
            "table": markdown_table(rows), "outputs": paths, "seconds": round(time.perf_counter() - started, 1)}


def evaluate_patch_file(model, images: ImageSource, source, target, patch_path: str, *, out_dir: str,
                        n_augment: int = 0, ratios: Sequence[float] = DEFAULT_RATIOS,
                        corner: str | None = None, ratio: float | None = None, seed: int = 0) -> dict:
    """Flip rates of one image file used as a patch, beside a same-size noise patch."""
    return evaluate_patch_files(model, images, source, target, [patch_path], out_dir, n_augment=n_augment,
                                ratios=ratios, corner=corner,
                                ratio=ratio, seed=seed)


def seed_spread(model, images: ImageSource, source: int, target: int, patch: np.ndarray, *, n_augment: int,
                seeds: Sequence[int], config: tuple[int, int], ratios: Sequence[float] = DEFAULT_RATIOS,
                held_out_share: float | None = None) -> dict:
    """The same patch (and the noise patch) on the source variants drawn with other seeds: the
    spread of the flip rates that comes from the variants alone. With ``held_out_share`` only
    that last share of each seed's variants is scored (as ``--patch auto`` reports)."""
    runs = []
    for seed in seeds:
        variants, _ = source_variants(model, images, source, n_augment, seed)
        if held_out_share is not None:
            variants = split_variants(variants, held_out_share)[1]
        before = class_probabilities(model, variants)
        trial = run_patch(model, variants, patch, source, target, "patch", corners=CORNERS, ratios=ratios,
                          before=before)
        noise = run_patch(model, variants, noise_patch(patch.shape[0], seed), source, target, "random noise",
                          corners=CORNERS, ratios=ratios, before=before)
        row, noise_row = summarize(trial, model.labels, config), summarize(noise, model.labels)
        runs.append({"seed": int(seed), "static_rate": row["static_rate"], "dynamic_rate": row["dynamic_rate"],
                     "noise_dynamic_rate": noise_row["dynamic_rate"], "correct_before": row["correct_before"]})

    def spread(key):
        values = np.array([r[key] for r in runs])
        return {"mean": float(values.mean()), "min": float(values.min()), "max": float(values.max()),
                "std": float(values.std())}
    return {"seeds": [int(v) for v in seeds], "runs": runs, "static_rate": spread("static_rate"),
            "dynamic_rate": spread("dynamic_rate"), "noise_dynamic_rate": spread("noise_dynamic_rate")}


def discover_patch(model, images: ImageSource, source, target, out_dir: str, compare_settings: ClassAtlasSettings,
                   icons: IconSettings, *, act_dir: str | Sequence[str] | None = None, n_augment: int = 0,
                   ratios: Sequence[float] = DEFAULT_RATIOS,
                   candidate_settings: CandidateSettings = CandidateSettings(),
                   seed: int = 0, progress: bool = True) -> dict:
    """Compare source vs target (at the comparison's layer and ``candidate_settings.extra_layers``),
    render the target side's candidates and cut photos behind them, pick on half the variants,
    report on the other half. ``act_dir``: one collection folder per layer (default: under ``out_dir``)."""
    started = time.perf_counter()
    s, t = model.class_index(source), model.class_index(target)
    cs = candidate_settings
    layers = list(dict.fromkeys((compare_settings.layer, *cs.extra_layers)))
    variants, files = source_variants(model, images, s, n_augment, seed)
    act_dirs = activation_dirs(act_dir, layers, out_dir)
    comparisons = compare_layers(model, images, (s, t), out_dir, settings=compare_settings, icons=icons, layers=layers,
                                 act_dirs=act_dirs, progress=progress)

    def rank(found: list[Candidate]) -> list[Candidate]:  # sketches, on the discovery half at the largest size
        return [c for _, c in screen(model, split_variants(variants)[0], found, s, t, max(ratios),
                                     desc="screen direction sketches", progress=progress)]

    rendered = rendered_candidates(model, comparisons, out_dir, model.labels[t], settings=cs, seed=seed, rank=rank,
                                   progress=progress)
    photos = layer_photos(model, comparisons, (s, t), cs) if cs.photos.images else []
    if cs.photo_dir:
        photos += folder_candidates(cs.photo_dir)
    found = discover(model, variants, s, t, candidates=rendered + photos, ratios=ratios, noise_seed=seed,
                     screen_settings=cs.screen,
                     progress=progress)
    test = found.trials["held_out_images"]
    n_candidates, sc = len(rendered) + len(photos), cs.screen
    quick_round = any(r["screened_on"] != WHOLE_HALF for r in found.trials["screen"])
    quick = f" on {sc.quick_variants} of them, the best {sc.shortlist} on all" if quick_round else ""
    where = (f"the comparison's most '{model.labels[t]}'-distinctive cells" if len(layers) == 1 else
             f"the most '{model.labels[t]}'-distinctive cells of the comparisons at {', '.join(layers)} (pooled)")
    where += (f" (each direction sketched once, the best {cs.rendered_directions} rendered in full)"
              if sketches_needed(comparisons, cs) else "")
    note = (f"{model.name}: '{model.labels[s]}' → '{model.labels[t]}'. Patch chosen automatically among "
            f"{len(rendered)} renderings ({', '.join(cs.recipes)} icon recipes) of {where} and {len(photos)} photos "
            f"(crops and whole images behind those cells, of other classes"
            f"{', and your photos' if cs.photo_dir else ''})"
            f" on {len(variants) - len(test)} discovery variants (all at the largest size{quick}, then the best "
            f"{min(sc.finalists, n_candidates)} at every size); the rates below are "
            f"on the other {len(test)} held-out variants"
            f"{' (' + str(n_augment) + ' random crops/flips/scales per source image)' if n_augment else ''}"
            f" of {len(files)} source image(s). Static corner and size were picked on the discovery half; the "
            "noise patch gets its own best static config on the held-out half.")
    paths = _outputs(model, test, found.best_patch, found.trials["patch"], found.trials["noise"],
                     found.static_config, found.held_out, out_dir, note)
    paths["winner"] = winner_sheet(found, rendered, os.path.join(out_dir, "patch_winner.png"), cs.photos.load_size)
    storage.write_json(os.path.join(out_dir, "candidates.json"),
                       {"finalists": found.candidates, "screen": found.trials["screen"]})
    beats = found.held_out[0]["dynamic_rate"] > found.held_out[1]["dynamic_rate"]
    winner_layer = found.trials["origin"].get("layer", layers[0])
    return {"model": model.name, "source": model.labels[s], "target": model.labels[t], "patch": found.best,
            "origin": found.trials["origin"], "layers": layers, "layer": winner_layer,
            "variants": len(variants), "held_out": len(test), "augment": n_augment,
            "patch_result": found.held_out[0], "noise_baseline": found.held_out[1], "beats_noise": bool(beats),
            "comparison": comparisons[0].summary["atlas"] if len(layers) == 1 else None,
            "rendered_candidates": len(rendered), "photo_candidates": len(photos),
            "candidates": [c.name for c in rendered + photos], "finalists": [row["patch"] for row in found.candidates],
            "note": note, "outputs": paths, "seconds": round(time.perf_counter() - started, 1)}


def winner_sheet(found, rendered: Sequence[Candidate], path: str, load_size: int = 448) -> str:
    """The winning patch next to a rendering of the direction it came from and, for a photo, the
    whole photo with the crop marked (its box is in pixels of the photo loaded at ``load_size``)."""
    origin = found.trials["origin"]
    layer = origin.get("layer", "")
    pooled = bool(layer) and found.best.startswith(f"{layer} ")  # pooled names start with their layer

    def short(name: str) -> str:  # the layer goes in the title, so captions keep what differs
        return name.removeprefix(f"{layer} ") if pooled else name

    tiles, captions = [found.best_patch], [f"winner: {short(found.best)}"]
    # the direction's other renderings (for a photo: the direction that led to it)
    same = [c for c in rendered if c.name != found.best and c.origin.get("direction") == origin.get("direction")
            and c.origin.get("layer") == origin.get("layer")]
    for c in same[:1 if origin.get("image") else 3]:
        tiles.append(c.patch)
        captions.append(short(c.name) if not origin.get("image") else f"rendering of {short(origin['direction'])}")
    if origin.get("image") and "box" in origin:
        from PIL import ImageDraw

        photo = to_pil(load_image(origin["image"], load_size))
        top, left, bottom, right = origin["box"]
        ImageDraw.Draw(photo).rectangle([left, top, right, bottom], outline=(255, 0, 0), width=4)
        tiles.append(np.asarray(photo, np.float32) / 255.0)
        captions.append(f"{origin['class']}, crop at {tuple(origin['position'])}")
    return sheets.save_contact_sheet(tiles, path, captions=captions, columns=len(tiles), cell=256,
                                     title=f"found at {layer}" if pooled else None)
