"""Wrap any Keras model (an object or a ``.keras`` / ``.h5`` file) as a :class:`VisionModel`."""

from __future__ import annotations

import os
from typing import Callable, Sequence

import tensorflow as tf

from .base import LayerInfo, ModelError, VisionModel

keras = tf.keras

_SKIPPED_LAYER_TYPES = ("InputLayer", "ZeroPadding2D", "Dropout", "SpatialDropout2D", "Rescaling",
                        "Normalization", "Reshape", "Flatten", "Lambda", "TFOpLambda")


def _output_shape(layer) -> tuple | None:
    try:
        out = layer.output
    except (AttributeError, ValueError):
        return None
    if isinstance(out, (list, tuple)):
        return None
    return tuple(out.shape)


def visualizable_layers(model, logits_layer: str | None = None) -> tuple[LayerInfo, ...]:
    """Layers of a functional Keras model whose single output is NHWC or (N, C)."""
    found = []
    for layer in model.layers:
        if type(layer).__name__ in _SKIPPED_LAYER_TYPES:
            continue
        shape = _output_shape(layer)
        if shape is None or len(shape) not in (2, 4) or shape[-1] is None:
            continue
        if layer.name == logits_layer:
            kind = "logits"
        else:
            kind = "conv" if len(shape) == 4 else "dense"
        found.append(LayerInfo(layer.name, int(shape[-1]), kind, type(layer).__name__))
    return tuple(found)


def _require_functional(model) -> None:
    try:
        model.inputs  # noqa: B018 - raises for unbuilt subclassed/sequential models
        if not model.inputs:
            raise ValueError
    except (AttributeError, ValueError):
        raise ModelError(
            f"Keras model '{model.name}' has no defined input yet. Build it with a known input "
            "shape first, e.g. keras.Sequential([keras.Input((224, 224, 3)), ...]) or call it "
            "once on a batch, so its layers have outputs we can read."
        ) from None


def _guess_logits_layer(model) -> str | None:
    last = model.layers[-1]
    shape = _output_shape(last)
    if shape is not None and len(shape) == 2:
        return last.name
    return None


def _activation_reader(model) -> Callable[..., list[tf.Tensor]]:
    cache: dict[tuple[str, ...], object] = {}

    def read(x: tf.Tensor, names: tuple[str, ...], overrides: dict | None = None) -> list[tf.Tensor]:
        # Keras ops are created in the caller's graph, so its gradient_override_map already applies.
        sub = cache.get(names)
        if sub is None:
            outputs = [model.get_layer(n).output for n in names]
            sub = keras.Model(model.inputs, outputs, name=f"{model.name}_taps")
            cache[names] = sub
        out = sub(x, training=False)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    return read


def from_keras(
    model,
    *, name: str | None = None,
    preprocess: Callable[[tf.Tensor], tf.Tensor] | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
    labels: Sequence[str] | None = None,
    logits_layer: str | None = "auto",
    layers: Sequence[LayerInfo] | None = None,
    synsets: Sequence[str] = (),
    info: dict | None = None,
    image_shape: Sequence[int] | None = None,
) -> VisionModel:
    """Wrap a Keras model (object, or path to ``.keras``/``.h5``) for visualization.

    :param model: a Keras model, or the path of a ``.keras``/``.h5`` file.
    :param name: the model's name in summaries (default: Keras's).
    :param preprocess: a function of a [0, 1] NHWC batch giving the model's input (overrides ``value_range``).
    :param value_range: the pixel range the model was trained on: images in [0, 1] are mapped linearly onto it.
    :param labels: class names, one per logit (enables ``class_logit`` by name and labelled atlases).
    :param logits_layer: the layer whose output are the logits; ``'auto'`` picks the last layer
        when it outputs (N, classes); None: no logits.
    :param layers: the visualizable layers as ``LayerInfo`` (default: found by ``visualizable_layers``).
    :param synsets: WordNet ids, one per class (for ImageNet-style file names).
    :param info: extra facts kept with the model (``model.info``).
    :param image_shape: the (h, w, 3) renders use by default (default: the input size, 224 where it is free).
    """
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.exists(path):
            raise ModelError(f"no Keras model file at '{path}'")
        model = keras.models.load_model(path, compile=False)
        name = name or os.path.splitext(os.path.basename(path))[0]
    _require_functional(model)
    if logits_layer == "auto":
        logits_layer = _guess_logits_layer(model)
    shape = tuple(model.inputs[0].shape[1:])
    if len(shape) != 3:
        raise ModelError(f"model input must be an image batch (N, H, W, C), got {model.inputs[0].shape}")
    fixed_size = None not in shape[:2]
    if image_shape is None:
        image_shape = tuple(int(s) if s is not None else 224 for s in shape)
    if preprocess is None:
        lo, hi = value_range
        def preprocess(x, lo=float(lo), hi=float(hi)):  # noqa: E306 - tiny closure
            return x * (hi - lo) + lo
    layer_infos = tuple(layers) if layers is not None else visualizable_layers(model, logits_layer)
    n_classes = next((l.depth for l in layer_infos if l.name == logits_layer), 0)
    if labels is None:
        labels = tuple(f"class {i}" for i in range(n_classes))
    return VisionModel(
        name=name or model.name,
        layers=layer_infos,
        image_shape=tuple(int(s) for s in image_shape),
        value_range=tuple(value_range),
        labels=tuple(labels),
        preprocess=preprocess,
        activations_fn=_activation_reader(model),
        logits_layer=logits_layer,
        synsets=tuple(synsets),
        info={"keras_model": model, "fixed_input_size": fixed_size, **(info or {})},
    )
