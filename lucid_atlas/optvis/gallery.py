"""Many visualizations at once: one batch renders one unit per image (channels, classes, layers)."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from . import objectives, param, regularizers, transform
from .optimizers import Adam
from .render import Renderer, RenderResult, render


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


class UnitRenderer:
    """Channel visualizations of one layer, many units a batch, each rendered as it would be alone.

    Image i of a batch maximizes the mean of its own channel (a signed one-hot direction read from
    a variable, so every batch of one size reuses one compiled render), with the decorrelated
    Fourier image, Lucid's standard transforms and Adam 0.05; every image starts from the same
    seeded noise and draws the same transforms (image id 0), and its gradient is its own. A unit's
    picture then depends on its batch only through the floating-point rounding of the batch's
    kernels (none on small models; on EfficientNet-Lite0 batches of 1 and 2 agree exactly, larger
    ones drift apart over the steps).
    """

    def __init__(self, model, layer: str, *, size: int = 128, steps: int = 256, seed: int = 0,
                 learning_rate: float = 0.05):
        self.model, self.layer = model, layer
        self.depth = model.layer(layer).depth
        self.size, self.steps, self.seed, self.learning_rate = int(size), int(steps), int(seed), learning_rate
        self._renderers: dict[int, tuple[Renderer, tf.Variable]] = {}

    def _renderer(self, n: int) -> tuple[Renderer, tf.Variable]:
        if n not in self._renderers:
            targets = tf.Variable(np.zeros((n, self.depth), np.float32), trainable=False)
            renderer = Renderer(self.model, objectives.direction(self.layer, targets),
                                lambda: param.image(self.size, batch=n), Adam(self.learning_rate))
            self._renderers[n] = (renderer, targets)
        return self._renderers[n]

    def render(self, channels: Sequence[int], *, negative: bool = False,
               callback: Callable[[int, int], None] | None = None, every: int = 16) -> np.ndarray:
        """[len(channels), size, size, 3] in [0, 1]: each channel's visualization (``negative``: the
        image that drives it down instead). ``callback(step, steps)`` every ``every`` steps."""
        channels = [int(c) for c in channels]
        for c in channels:
            self.model.check_channel(self.layer, c)
        renderer, targets = self._renderer(len(channels))
        onehot = np.zeros((len(channels), self.depth), np.float32)
        onehot[np.arange(len(channels)), channels] = -1.0 if negative else 1.0
        targets.assign(onehot)
        stops = sorted({*range(every, self.steps, every), self.steps}) if every else (self.steps,)
        report = (lambda step, _images: callback(step, self.steps)) if callback else None
        result = renderer.run(stops, seed=self.seed, progress=False, image_ids=[0] * len(channels),
                              callback=report)
        return result.images[-1]


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
