"""The two models Lucid's ported tests run on, with InceptionV1's layer names mapped to theirs.

``LAYERS[model][lucid_name]`` is (our layer, its depth); channel numbers beyond a layer's depth
are taken modulo it (InceptionV1 is wider than both).
"""

from __future__ import annotations

import pytest

LAYERS = {
    "tiny_inception": {"mixed4a_pre_relu": ("mixed3a_3x3_pre_relu", 6), "mixed3a_pre_relu": ("mixed3a_1x1_pre_relu", 4),
                       "mixed3a": ("mixed3a", 10), "softmax1": ("softmax2_pre_activation", 5)},
    "efficientnet_lite0": {"mixed4a_pre_relu": ("block5_expanded_pre_relu", 240),
                           "mixed3a_pre_relu": ("block3_expanded_pre_relu", 144),
                           "mixed3a": ("block3_expanded", 144), "softmax1": ("logits", 1000)},
}


class Mapped:
    """A model and its layer map: ``m.layer("mixed4a_pre_relu")``, ``m.channel("mixed3a", 177)``."""

    def __init__(self, name: str, model):
        self.name, self.model, self.map = name, model, LAYERS[name]

    def layer(self, lucid_name: str) -> str:
        return self.map[lucid_name][0]

    def depth(self, lucid_name: str) -> int:
        return self.map[lucid_name][1]

    def channel(self, lucid_name: str, n: int) -> int:
        return n % self.depth(lucid_name)


@pytest.fixture(scope="session")
def tiny_inception():
    from lucid_atlas import models
    from tests.models.tiny_graphs import lucid_like_graph_def

    return Mapped("tiny_inception", models.from_graph_def(lucid_like_graph_def()))


@pytest.fixture(scope="session", params=["tiny_inception", "efficientnet_lite0"])
def mapped(request, tiny_inception):
    """Each ported test once on the tiny InceptionV1-like graph and once on EfficientNet-Lite0."""
    if request.param == "tiny_inception":
        return tiny_inception
    return Mapped("efficientnet_lite0", request.getfixturevalue("lite0"))
