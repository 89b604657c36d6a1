"""The toolbox's computations, independent of any server: decode an input, a layer's view, a unit's view.

Every method takes the input image explicitly (no per-user state here), so several pages can
share one engine. Images are float32 [H, W, 3] in [0, 1]; pictures returned are PNG bytes.
"""

from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

from ..io.images import fit_image, to_array
from ..io.sheets import to_uint8
from ..models.base import ModelError
from .saliency import ChannelGradients, gradient_picture, receptive_fraction

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000


class InputError(ValueError):
    """Input the toolbox cannot use (not an image, too large, unknown layer, channel out of range)."""


def decode_image(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """Image file bytes (JPEG, PNG, ...) as the model's input: short side resized, centre crop, [0, 1]."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(f"the file is {len(data) / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB")
    if not data:
        raise InputError("the file is empty")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise InputError(f"the image is {img.width}×{img.height} pixels; the limit is {MAX_PIXELS:,}")
            img.load()
            return to_array(fit_image(img.convert("RGB"), size))
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise InputError("not a readable image (JPEG, PNG, WebP, BMP or GIF expected)") from None


def image_bytes(image: np.ndarray, fmt: str = "PNG", quality: int = 88, optimize: bool = False) -> bytes:
    """An [H, W, 3] (or [H, W]) array in [0, 1] as PNG (or JPEG at ``quality``) file bytes;
    ``optimize``: a smaller PNG for files that are kept (slower: not for the live view)."""
    buf = io.BytesIO()
    options = {"quality": quality} if fmt == "JPEG" else {"optimize": optimize}
    Image.fromarray(to_uint8(image)).save(buf, format=fmt, **options)
    return buf.getvalue()


def _jet(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] → an RGB heat map (dark blue, cyan, yellow, red)."""
    v = np.clip(values, 0.0, 1.0)[..., None]
    return np.clip(np.concatenate([1.5 - np.abs(4 * v - 3), 1.5 - np.abs(4 * v - 2), 1.5 - np.abs(4 * v - 1)], -1),
                   0.0, 1.0)


@dataclass
class LayerView:
    """A layer's response to one input: top-5 classes and every channel's map as uint8 tiles."""

    layer: str
    top5: list[tuple[str, float]]
    tiles: np.ndarray  # [C, h, w] uint8, every tile on one scale (0 = 0, 255 = the layer's max)
    maxima: np.ndarray  # [C] float32, each channel's largest value
    strongest: list[int]
    seconds: float
    scale: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The page's message: tiles as base64 bytes, channel after channel, row after row."""
        c, h, w = self.tiles.shape
        return {"type": "layer", "layer": self.layer, "channels": c, "height": h, "width": w,
                "top5": [{"label": label, "prob": prob} for label, prob in self.top5],
                "tiles": base64.b64encode(self.tiles.tobytes()).decode("ascii"),
                "maxima": [round(float(v), 4) for v in self.maxima], "strongest": self.strongest,
                "scale": self.scale, "compute_ms": round(self.seconds * 1000, 1), **self.extra}


class Toolbox:
    """A model's layers and units as the Deep Visualization Toolbox shows them."""

    def __init__(self, model):
        if model.logits_layer is None:
            raise ModelError(f"model '{model.name}' has no classification output; the toolbox shows top-5 classes")
        self.model = model
        self.size = tuple(model.image_shape[:2])
        self.gradients = ChannelGradients(model)
        self._receptive: dict[str, float] = {}

    @property
    def spatial_layers(self) -> list[str]:
        """Layers with a spatial map, in network order (the layer picker's choices)."""
        return [layer.name for layer in self.model.layers if layer.kind == "conv"]

    def check_layer(self, layer: str) -> None:
        """Raise InputError naming the valid layers when ``layer`` is not a spatial layer of the model."""
        try:
            info = self.model.layer(layer)
        except ModelError as exc:
            raise InputError(str(exc)) from None
        if info.kind != "conv":
            raise InputError(f"layer '{layer}' has no spatial map ({info.kind}); pick one of the conv layers")

    def check_channel(self, layer: str, channel) -> int:
        """The channel as an int, or InputError with the layer's depth."""
        self.check_layer(layer)
        try:
            channel = int(channel)
            self.model.check_channel(layer, channel)
        except (TypeError, ValueError, ModelError) as exc:
            message = str(exc) if isinstance(exc, ModelError) else f"channel must be an integer, got {channel!r}"
            raise InputError(message) from None
        return channel

    def _forward(self, image: np.ndarray, layer: str) -> tuple[np.ndarray, np.ndarray]:
        fn = self.model.compiled_activations([layer, self.model.logits_layer])
        acts, logits = fn(tf.constant(image[None], tf.float32))
        return acts.numpy()[0], tf.nn.softmax(logits).numpy()[0]

    def layer_view(self, image: np.ndarray, layer: str, marked: int = 10) -> LayerView:
        """Every channel of ``layer`` for one input, on the layer's common scale, and its top-5 classes."""
        self.check_layer(layer)
        start = time.perf_counter()
        acts, probs = self._forward(image, layer)
        maps = np.moveaxis(acts, -1, 0)  # [C, h, w]
        flat = maps.reshape(len(maps), -1)
        maxima = flat.max(axis=1)
        scale = float(max(maxima.max(), 1e-6))
        tiles = np.clip(np.round(maps * (255.0 / scale)), 0, 255).astype(np.uint8)
        top = np.argsort(-probs)[:5]
        # Strongest: largest peak, ties (a ReLU6 saturates many channels at 6) broken by the mean.
        strongest = np.lexsort((-flat.mean(axis=1), -maxima))[:marked]
        return LayerView(layer, [(self.model.labels[i], round(float(probs[i]), 4)) for i in top], tiles,
                         maxima.astype(np.float32), [int(c) for c in strongest], time.perf_counter() - start, scale)

    def unit_view(self, image: np.ndarray, layer: str, channel: int) -> dict[str, bytes]:
        """One channel for one input: its map enlarged over the input, and plain and guided gradients (PNGs)."""
        channel = self.check_channel(layer, channel)
        acts, _ = self._forward(image, layer)
        amap = acts[..., channel]
        peak = float(amap.max())
        norm = amap / peak if peak > 0 else np.zeros_like(amap)
        h, w = image.shape[:2]
        big = np.asarray(Image.fromarray(np.float32(norm)).resize((w, h), Image.BILINEAR))
        alpha = 0.65 * big[..., None]
        overlay = image * (1 - alpha) + _jet(big) * alpha
        plain = self.gradients(image, layer, channel, guided=False)
        guided = self.gradients(image, layer, channel, guided=True)
        return {"overlay": image_bytes(np.clip(overlay, 0, 1)), "map": image_bytes(_jet(big)),
                "gradient": image_bytes(gradient_picture(plain)), "guided": image_bytes(gradient_picture(guided)),
                "peak": peak}

    def receptive_fraction(self, layer: str) -> float:
        """The side of the input one position of ``layer`` sees (fraction of the image side), measured once."""
        if layer not in self._receptive:
            self._receptive[layer] = receptive_fraction(self.model, layer)
        return self._receptive[layer]
