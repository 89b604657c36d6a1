"""The one abstraction the rest of the library sees: a vision model we can look inside."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import tensorflow as tf


class ModelError(ValueError):
    """A user-facing problem with a model, its name, or its layers."""


class UnknownModelError(ModelError):
    """The requested model is not in the zoo."""


class UnknownLayerError(ModelError, KeyError):
    """The requested layer does not exist in the model."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class ChannelOutOfRangeError(ModelError, IndexError):
    """A channel index is beyond a layer's depth."""


@dataclass(frozen=True)
class LayerInfo:
    """A visualizable layer: its name, channel depth and kind ('conv', 'dense', 'logits', 'probs')."""

    name: str
    depth: int
    kind: str = "conv"
    description: str = ""


def closest(name: str, choices: Iterable[str], n: int = 5) -> list[str]:
    """The few choices that look most like ``name`` (for error messages)."""
    return difflib.get_close_matches(name, list(choices), n=n, cutoff=0.3)


def _listing(names: Sequence[str], limit: int = 60) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", ... ({len(names)} in all)"


@dataclass
class VisionModel:
    """An image classifier with named layers whose activations we can differentiate.

    Images given to it are float NHWC batches with pixels in [0, 1]; ``preprocess`` maps them
    to whatever the network itself expects (``value_range`` says that range for users).
    ``activations_fn(preprocessed, layer_names, gradient_overrides)`` returns one tensor per name.
    """

    name: str
    layers: tuple[LayerInfo, ...]
    image_shape: tuple[int, int, int]
    value_range: tuple[float, float]
    labels: tuple[str, ...]
    preprocess: Callable[[tf.Tensor], tf.Tensor]
    activations_fn: Callable[..., Sequence[tf.Tensor]]
    logits_layer: str | None = None
    synsets: tuple[str, ...] = ()
    label_offset: int = 0
    info: Mapping[str, object] = field(default_factory=dict)
    _compiled: dict = field(default_factory=dict, repr=False, compare=False)

    # ---- metadata -------------------------------------------------------------------------
    @property
    def layer_names(self) -> list[str]:
        """Every layer name usable in objectives, in network order."""
        return [layer.name for layer in self.layers]

    def layer(self, name: str) -> LayerInfo:
        """The layer called ``name``; an unknown name raises with the valid names listed."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        near = closest(name, self.layer_names)
        hint = f" Did you mean: {', '.join(near)}?" if near else ""
        raise UnknownLayerError(
            f"model '{self.name}' has no layer '{name}'.{hint} "
            f"Valid layers: {_listing(self.layer_names)}"
        )

    def check_channel(self, layer_name: str, channel: int) -> LayerInfo:
        """The layer, after checking that ``channel`` is within its depth."""
        layer = self.layer(layer_name)
        if not 0 <= int(channel) < layer.depth:
            raise ChannelOutOfRangeError(
                f"channel {channel} is out of range for layer '{layer_name}' of model "
                f"'{self.name}': it has {layer.depth} channels (0..{layer.depth - 1})"
            )
        return layer

    # ---- computation ----------------------------------------------------------------------
    def activations(self, images: tf.Tensor, layers: Sequence[str] | str,
                    gradient_overrides: Mapping[str, str] | None = None) -> dict[str, tf.Tensor]:
        """Activations of the named layers for images in [0, 1] (NHWC), differentiable.

        ``gradient_overrides`` (op type -> registered gradient name, e.g. for ReLU) applies when
        called inside ``tf.function`` and differentiated with ``tf.gradients``.
        """
        names = (layers,) if isinstance(layers, str) else tuple(dict.fromkeys(layers))
        for layer_name in names:
            self.layer(layer_name)
        images = tf.convert_to_tensor(images, tf.float32)
        overrides = dict(gradient_overrides or {})
        with tf.compat.v1.get_default_graph().gradient_override_map(overrides):
            outputs = self.activations_fn(self.preprocess(images), names, overrides)
        return dict(zip(names, outputs))

    def compiled_activations(self, layers: Sequence[str]) -> Callable[[tf.Tensor], tuple]:
        """A ``tf.function`` (traced once per model and layer list) giving a tuple of activations."""
        names = tuple(layers)
        fn = self._compiled.get(names)
        if fn is None:
            for name in names:
                self.layer(name)
            fn = tf.function(lambda x: tuple(self.activations(x, names)[n] for n in names),
                             reduce_retracing=True)
            self._compiled[names] = fn
        return fn

    def logits(self, images: tf.Tensor) -> tf.Tensor:
        """Class scores before softmax for images in [0, 1] (NHWC)."""
        if self.logits_layer is None:
            raise ModelError(f"model '{self.name}' has no classification output")
        return self.activations(images, [self.logits_layer])[self.logits_layer]

    def logits_from_layer(self, layer: str, maps: np.ndarray) -> np.ndarray:
        """Logits from given activations [B, h, w, C] of ``layer`` fed in its place (graph models)."""
        tail = self.info.get("tail_fn")
        self.layer(layer)
        if tail is None:
            raise ModelError(f"model '{self.name}' cannot run from an inner layer; only frozen graph models "
                             "(e.g. inception_v1) can name the classes of imported activation vectors")
        return np.asarray(tail(maps, layer))

    def __call__(self, images: tf.Tensor) -> tf.Tensor:
        return self.logits(images)

    def predict(self, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Logits as numpy for a large array of images in [0, 1], computed in batches."""
        if self.logits_layer is None:
            raise ModelError(f"model '{self.name}' has no classification output")
        fn = self.compiled_activations([self.logits_layer])
        out = [fn(tf.constant(images[i:i + batch_size], tf.float32))[0].numpy()
               for i in range(0, len(images), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)

    # ---- labels -----------------------------------------------------------------------------
    def class_index(self, label: str | int) -> int:
        """Index of a class given by index, name or synset; unknown names list close matches."""
        if isinstance(label, (int, np.integer)) or (isinstance(label, str) and label.isdigit()):
            idx = int(label)
            if not 0 <= idx < len(self.labels):
                raise ModelError(f"class index {idx} out of range: '{self.name}' has "
                                 f"{len(self.labels)} classes")
            return idx
        wanted = label.strip().lower().replace("_", " ")
        if label in self.synsets:
            return self.synsets.index(label)
        hits = [i for i, name in enumerate(self.labels) if name.lower() == wanted]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            which = ", ".join(f"{i} ({self.synsets[i] if self.synsets else self.labels[i]})"
                              for i in hits)
            raise ModelError(f"class name '{label}' is ambiguous in '{self.name}': "
                             f"use an index or synset, one of {which}")
        near = closest(wanted, [name.lower() for name in self.labels])
        raise ModelError(f"model '{self.name}' has no class '{label}'."
                         + (f" Closest: {', '.join(near)}" if near else ""))

    def describe(self) -> str:
        """A short human-readable summary."""
        h, w, c = self.image_shape
        return (f"{self.name}: input {h}x{w}x{c} in value range {self.value_range}, "
                f"{len(self.layers)} layers, {len(self.labels)} classes")
