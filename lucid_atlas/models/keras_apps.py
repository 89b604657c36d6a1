"""Keras applications (VGG, Inception, ResNet, MobileNet, EfficientNet) as VisionModels."""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from .base import ModelError, VisionModel
from .imagenet import imagenet_labels, imagenet_synsets
from .keras_model import from_keras

keras = tf.keras


@dataclass(frozen=True)
class KerasApp:
    """Where a Keras application lives and what it expects."""

    constructor: str  # attribute of keras.applications
    module: str  # submodule holding its preprocess_input
    size: int
    value_range: tuple[float, float]


KERAS_APPS = {
    "vgg16": KerasApp("VGG16", "vgg16", 224, (-123.68, 151.061)),
    "vgg19": KerasApp("VGG19", "vgg19", 224, (-123.68, 151.061)),
    "resnet50": KerasApp("ResNet50", "resnet50", 224, (-123.68, 151.061)),
    "inception_v3": KerasApp("InceptionV3", "inception_v3", 299, (-1.0, 1.0)),
    "mobilenet_v2": KerasApp("MobileNetV2", "mobilenet_v2", 224, (-1.0, 1.0)),
    "efficientnet_b0": KerasApp("EfficientNetB0", "efficientnet", 224, (0.0, 255.0)),
}


def load_keras_app(name: str, weights: str | None = "imagenet", size: int | None = None) -> VisionModel:
    """A Keras application with logits exposed; ``weights='imagenet'`` downloads once (online).

    ``weights=None`` gives random weights (offline tests); ``size`` changes the input size.
    """
    if name not in KERAS_APPS:
        raise ModelError(f"unknown Keras application '{name}': {', '.join(KERAS_APPS)}")
    app = KERAS_APPS[name]
    side = size or app.size
    build = getattr(keras.applications, app.constructor)
    try:
        model = build(weights=weights, input_shape=(side, side, 3), classifier_activation=None)
    except Exception as exc:
        if weights == "imagenet":
            raise ModelError(
                f"could not get ImageNet weights for {name} ({exc.__class__.__name__}: {exc}). "
                "Offline? Keras caches them in ~/.keras/models/: copy the weight file there from a "
                "machine that has it, or pass weights=<path to .h5>.") from None
        raise
    preprocess_input = getattr(keras.applications, app.module).preprocess_input

    def preprocess(x: tf.Tensor) -> tf.Tensor:
        return preprocess_input(x * 255.0)

    return from_keras(model, name=name, preprocess=preprocess, value_range=app.value_range,
                      labels=imagenet_labels(), synsets=imagenet_synsets(),
                      logits_layer="predictions", info={"weights": weights})
