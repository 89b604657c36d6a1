"""Progressive up-scaling and zoom videos (Osinga, Deep Learning Cookbook).

Optimize at a small size, enlarge the result by a factor, optimize again, for several octaves:
coarse structure is settled early and detail added at each scale. A zoom video keeps zooming
into the center (enlarge, center-crop back to the frame size, optimize a few steps) while the
objective cycles through channels, so one pattern grows out of the last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from . import param as param_lib
from . import transform as transform_lib
from .objectives import Objective, ObjectiveLike, as_objective
from .render import make_step, render


def upscale(images: np.ndarray, factor: float) -> np.ndarray:
    """Enlarge a [B, H, W, C] batch in [0, 1] by ``factor`` (bicubic, clipped to [0, 1])."""
    h, w = images.shape[1:3]
    size = (max(1, round(h * factor)), max(1, round(w * factor)))
    return np.clip(tf.image.resize(images, size, "bicubic").numpy(), 0.0, 1.0)


def center_crop(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """The central height×width window of a [B, H, W, C] batch."""
    h, w = images.shape[1:3]
    top, left = (h - height) // 2, (w - width) // 2
    return images[:, top:top + height, left:left + width]


@dataclass
class ProgressiveResult:
    """The image after each octave (each [B, H, W, 3] in [0, 1], growing) and its objective."""

    octaves: list[np.ndarray]
    values: list[np.ndarray]


def progressive_render(model, objective: ObjectiveLike, *, size: int = 64, octaves: int = 4,
                       scale: float = 1.4, steps: int = 64, batch: int = 1, seed: int | None = 0,
                       max_size: int | None = None, learning_rate: float = 0.05,
                       transforms: Sequence[Callable] | None = None, progress: bool = True,
                       first_param: Callable[[], param_lib.Param] | None = None) -> ProgressiveResult:
    """Optimize at ``size``, enlarge by ``scale``, optimize again, ``octaves`` times.

    With ``max_size`` the image is center-cropped after enlarging so it never grows beyond it.
    The first octave uses ``first_param`` (default a decorrelated Fourier image); later octaves
    continue from the enlarged pixels.
    """
    objective = as_objective(objective)
    transforms = transforms if transforms is not None else transform_lib.standard_transforms()
    make_first = first_param or (lambda: param_lib.image(size, batch=batch))
    current: np.ndarray | None = None
    results, values = [], []
    for octave in tqdm(range(octaves), desc="octaves", disable=not progress):
        if current is None:
            param_f = make_first
        else:
            enlarged = upscale(current, scale)
            if max_size and max(enlarged.shape[1:3]) > max_size:
                enlarged = center_crop(enlarged, min(max_size, enlarged.shape[1]), min(max_size, enlarged.shape[2]))

            def param_f(img=enlarged):
                return param_lib.from_image(img)
        result = render(model, objective, param_f, tf.keras.optimizers.Adam(learning_rate), transforms,
                        (steps,), seed=None if seed is None else seed + octave, progress=False,
                        relu_gradient_steps=16 if octave == 0 else 0)
        current = result.images[-1][..., :3]
        results.append(current)
        values.append(result.values[-1])
    return ProgressiveResult(results, values)


def _channel_mix(layer: str, now: tf.Variable, prev: tf.Variable, mix: tf.Variable) -> Objective:
    """mix × channel ``now`` + (1 − mix) × channel ``prev``, all three changeable between steps."""
    def inner(T):
        acts = T(layer)
        a = tf.reduce_mean(tf.gather(acts, now, axis=-1), axis=[1, 2])
        b = tf.reduce_mean(tf.gather(acts, prev, axis=-1), axis=[1, 2])
        return mix * a + (1.0 - mix) * b
    return Objective(inner, f"zoom({layer})", [layer])


def zoom_frames(model, layer: str, channels: Sequence[int], *, frames: int = 60, size: int = 128,
                zoom: float = 1.05, steps_per_frame: int = 8, frames_per_channel: int = 20,
                start: np.ndarray | None = None, seed: int | None = 0, learning_rate: float = 0.05,
                progress: bool = True) -> list[np.ndarray]:
    """Frames of an endless zoom: enlarge by ``zoom``, crop the center, optimize, repeat.

    The objective moves to the next of ``channels`` every ``frames_per_channel`` frames, blending
    the old and new channel over the first half of each segment. One compiled step serves every
    frame. Frames are [size, size, 3] arrays in [0, 1].
    """
    if not channels:
        raise ValueError("zoom_frames needs at least one channel")
    for ch in channels:
        model.check_channel(layer, ch)
    rng = np.random.default_rng(seed)
    current = start if start is not None else np.clip(0.5 + 0.05 * rng.normal(size=(1, size, size, 3)), 0, 1)
    current = np.asarray(current, np.float32).reshape(1, size, size, 3)
    now, prev = tf.Variable(int(channels[0])), tf.Variable(int(channels[0]))
    mix = tf.Variable(1.0)
    objective = _channel_mix(layer, now, prev, mix).validate(model)
    param = param_lib.from_image(current)
    optimizer = tf.keras.optimizers.Adam(learning_rate)
    optimizer.build(param.trainable_variables)
    transforms = [transform_lib.jitter(4), transform_lib.random_scale([0.95, 1.0, 1.05])]
    step = make_step(model, objective, param, optimizer, transforms, seed=int(seed or 0))
    out = []
    for f in tqdm(range(frames), desc="zoom frames", disable=not progress):
        seg, pos = divmod(f, frames_per_channel)
        now.assign(int(channels[seg % len(channels)]))
        prev.assign(int(channels[(seg - 1) % len(channels)]))
        mix.assign(min(1.0, pos / max(1, frames_per_channel // 2)) if seg > 0 else 1.0)
        param.image_variable.assign(param_lib.inverse_sigmoid(center_crop(upscale(current, zoom), size, size)))
        step(steps_per_frame)
        current = param().numpy()
        out.append(current[0])
    return out


@dataclass
class ZoomVideo:
    """Octaves of the progressive start and the zoom frames ([size, size, 3] in [0, 1])."""

    octaves: list[np.ndarray]
    frames: list[np.ndarray]


@dataclass(frozen=True)
class ZoomSettings:
    """Osinga's zoom video: ``octaves`` up-scalings by ``scale`` from ``start_size`` px
    (``octave_steps`` each), then ``frames`` frames of ``size`` px, each zoomed by ``zoom`` and
    optimized ``steps_per_frame`` steps, cycling channels every ``frames_per_channel`` frames;
    Adam at ``learning_rate``; ``seed`` (None: a fresh one)."""

    start_size: int = 64
    octaves: int = 4
    scale: float = 1.4
    octave_steps: int = 64
    size: int = 128
    frames: int = 60
    zoom: float = 1.05
    steps_per_frame: int = 8
    frames_per_channel: int = 20
    learning_rate: float = 0.05
    seed: int | None = 0


def zoom_video(model, layer: str, channels: Sequence[int], settings: ZoomSettings = ZoomSettings(), *,
               progress: bool = True) -> ZoomVideo:
    """Osinga's recipe: grow the first channel's image over octaves, then zoom through all channels."""
    s = settings
    grown = progressive_render(model, as_objective(f"{layer}:{channels[0]}"), size=s.start_size,
                               octaves=s.octaves, scale=s.scale, steps=s.octave_steps,
                               learning_rate=s.learning_rate, seed=s.seed, progress=progress)
    last = grown.octaves[-1]
    side = min(s.size, last.shape[1], last.shape[2])
    start = center_crop(last, side, side)
    if side != s.size:
        start = center_crop(upscale(start, s.size / side), s.size, s.size)
    zoomed = zoom_frames(model, layer, channels, frames=s.frames, size=s.size, zoom=s.zoom,
                         steps_per_frame=s.steps_per_frame, frames_per_channel=s.frames_per_channel,
                         start=start, seed=s.seed, learning_rate=s.learning_rate, progress=progress)
    return ZoomVideo([o[0] for o in grown.octaves], zoomed)
