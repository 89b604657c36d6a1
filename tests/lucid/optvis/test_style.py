"""Lucid's ``optvis.style`` on our models: Gram statistics, and a render that takes on a style."""

from __future__ import annotations

import numpy as np
import pytest

from lucid_atlas.lucid.optvis import param, render, style

LAYERS = ["block2_expanded", "block4_expanded"]


def test_gram_style_is_the_mean_outer_product():
    a = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype(np.float32)
    flat = a.reshape(-1, 5)
    np.testing.assert_allclose(style.gram_style(a).numpy(), flat.T @ flat / len(flat), rtol=1e-5)
    assert float(style.mean_l1_loss(np.ones(3), np.zeros(3))) == 1.0


def _stripes(size: int = 64) -> np.ndarray:
    x = np.arange(size)
    image = np.zeros((size, size, 3), np.float32)
    image[..., 0] = (np.sin(x / 2.0)[None, :] > 0)
    image[..., 2] = 1 - image[..., 0]
    return image


@pytest.mark.parametrize("ema_decay", [None, 0.9])
def test_a_render_takes_on_the_style(lite0, ema_decay):
    loss = style.StyleLoss(LAYERS, ema_decay=ema_decay)
    with pytest.raises(RuntimeError, match="set_style"):
        render.render_vis(lite0, -loss.style_loss, lambda: param.image(48), thresholds=(1,), verbose=False)
    loss.set_style(lite0, _stripes())
    start, end = render.render_vis(lite0, -loss.style_loss, lambda: param.image(48), thresholds=(0, 63),
                                   verbose=False, use_fixed_seed=True)

    def distance(images):
        acts = lite0.activations(images, LAYERS)
        return sum(float(style.mean_l1_loss(style.gram_style(acts[name]), target))
                   for name, target in zip(LAYERS, loss.target_vars))
    assert distance(end) < 0.7 * distance(start)


def test_style_layers_are_names():
    with pytest.raises(TypeError, match="names"):
        style.StyleLoss([np.zeros((1, 4, 4, 3))])
