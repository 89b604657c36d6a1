"""Many visualizations at once: one batch renders one unit per image (channels, classes, layers)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import objectives, param, regularizers, transform
from .optimizers import Adam
from .render import RenderResult, render


def channels_objective(layer: str, channels: Sequence[int]) -> objectives.Objective:
    """Image i of the batch maximizes channel ``channels[i]`` of ``layer``."""
    return sum(objectives.channel(layer, int(c), batch=i) for i, c in enumerate(channels))


def classes_objective(labels: Sequence[int | str]) -> objectives.Objective:
    """Image i of the batch maximizes the logit of ``labels[i]``."""
    return sum(objectives.class_logit(label, batch=i) for i, label in enumerate(labels))


def render_channels(model, layer: str, channels: Sequence[int], *, size: int = 128, steps: int = 256,
                    seed: int | None = 0, progress: bool = True, **options) -> RenderResult:
    """One image per channel of ``layer``, rendered together in one batch."""
    return render(model, channels_objective(layer, channels),
                  lambda: param.image(size, batch=len(channels)), thresholds=(steps,), seed=seed,
                  progress=progress, desc=f"{layer} ×{len(channels)} channels", **options)


def spread_channels(depth: int, k: int, seed: int | None = 0) -> list[int]:
    """``k`` distinct channels out of ``depth``, chosen at random (seeded) and sorted."""
    rng = np.random.default_rng(seed)
    return sorted(int(c) for c in rng.choice(depth, size=min(k, depth), replace=False))


def spread_layers(model, k: int = 4, kind: str = "conv") -> list[str]:
    """``k`` layers spread evenly from shallow to deep (the 'abstraction grows' figure).

    Uses the model's own list of good visualization layers (``info['visual_layers']``) when it
    has one, else every layer of ``kind``.
    """
    names = list(model.info.get("visual_layers") or [l.name for l in model.layers if l.kind == kind])
    if not names:
        raise ValueError(f"model '{model.name}' has no '{kind}' layers")
    idx = np.linspace(0, len(names) - 1, min(k, len(names)) + 1)[1:]
    return list(dict.fromkeys(names[int(round(i))] for i in idx))


def render_deep_visualization(model, objective: objectives.ObjectiveLike, preset: str, *, size: int = 128,
                              steps: int = 200, seed: int | None = 0, learning_rate: float = 0.02,
                              progress: bool = True, callback=None, every: int | None = None
                              ) -> tuple[np.ndarray, RenderResult]:
    """One of Yosinski et al.'s settings ('none', '1'..'4') or 'lucid'; returns (display image, result).

    Yosinski settings optimize plain centered pixels with the paper's image operators; the
    display image is contrast-stretched as the paper shows them. 'lucid' is the decorrelated
    Fourier parameterization with the standard transforms. ``callback(step, images)`` is called
    every ``every`` steps (for progress reports) and at the end.
    """
    thresholds = sorted({*range(every, steps, every), steps}) if every else (steps,)
    if preset == "lucid":
        result = render(model, objective, lambda: param.image(size), Adam(0.05), thresholds=thresholds,
                        seed=seed, progress=progress, callback=callback)
        return result.images[-1][0], result
    result = render(model, objective, lambda: param.centered_pixels(size), Adam(learning_rate),
                    transforms=[transform.jitter(2)], thresholds=thresholds, seed=seed, progress=progress,
                    image_ops=regularizers.yosinski(preset), relu_gradient_steps=0, callback=callback)
    return regularizers.normalize_for_display(result.images[-1])[0], result
