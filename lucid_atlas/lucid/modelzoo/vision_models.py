"""Lucid's ``lucid.modelzoo.vision_models``: ``InceptionV1()`` then ``model.load_graphdef()``.

Each class is a handle on one of our zoo's models, loaded on ``load_graphdef()`` or first use;
layer names are the model's own (InceptionV1's are Lucid's, e.g. ``mixed4a_pre_relu``).
"""

from __future__ import annotations

from ... import models


class Model:
    """A zoo model by name, loaded lazily (``.vision_model``); attributes pass through to it."""

    zoo_name = "efficientnet_lite0"

    def __init__(self, zoo_name: str | None = None, **options):
        self.zoo_name = zoo_name or self.zoo_name
        self.options = options
        self._model = None

    def load_graphdef(self) -> None:
        """Load the model now (downloads it once if it is not offline)."""
        if self._model is None:
            self._model = models.load(self.zoo_name, **self.options)

    @property
    def vision_model(self) -> models.VisionModel:
        self.load_graphdef()
        return self._model

    @property
    def labels(self) -> list[str]:
        return list(self.vision_model.labels)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.vision_model, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.zoo_name!r})"


class InceptionV1(Model):
    """Lucid's InceptionV1 (GoogLeNet) frozen graph, downloaded once from Lucid's model store."""

    zoo_name = "inception_v1"


class EfficientNetLite0(Model):
    """EfficientNet-Lite0 (offline)."""

    zoo_name = "efficientnet_lite0"
