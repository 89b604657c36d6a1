"""Keras applications and users' own Keras models: two lines to wrap, layer listings that are true."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas import models

keras = tf.keras

APP_SIZES = {"vgg16": 32, "vgg19": 32, "resnet50": 32, "inception_v3": 75, "mobilenet_v2": 32,
             "efficientnet_b0": 32}


@pytest.mark.parametrize("name", sorted(APP_SIZES))
def test_keras_application_layers_match_tensors(name):
    model = models.load(name, weights=None, size=APP_SIZES[name])
    assert model.logits_layer == "predictions"
    assert len(model.labels) == 1000 and model.labels[0] == "tench"
    conv = [l for l in model.layers if l.kind == "conv"]
    picks = [conv[0].name, conv[len(conv) // 2].name, conv[-1].name, "predictions"]
    acts = model.activations(tf.random.uniform((2, APP_SIZES[name], APP_SIZES[name], 3)), picks)
    for pick in picks:
        assert acts[pick].shape[-1] == model.layer(pick).depth, pick
    logits = acts["predictions"].numpy()
    assert not np.allclose(logits.sum(axis=1), 1.0, atol=1e-3), "logits, not softmax probabilities"


def _tiny_functional():
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv_a")(inputs)
    x = keras.layers.Conv2D(12, 3, activation="relu", name="conv_b")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(3, name="scores")(x)
    return keras.Model(inputs, outputs, name="tiny")


def test_user_keras_model_in_two_lines():
    model = models.from_keras(_tiny_functional(), value_range=(0, 255), labels=["cat", "dog", "fish"])
    assert [l.name for l in model.layers] == ["conv_a", "conv_b", "gap", "scores"]
    assert model.layer("conv_b").depth == 12 and model.logits_layer == "scores"
    assert model.class_index("dog") == 1


def test_user_model_value_range_is_applied():
    keras_model = _tiny_functional()
    model = models.from_keras(keras_model, value_range=(0, 255))
    x = np.random.default_rng(0).uniform(size=(1, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(model.logits(x).numpy(), keras_model(x * 255.0).numpy(), rtol=1e-5, atol=1e-4)


def test_keras_file_loads_by_path(tmp_path):
    path = str(tmp_path / "mine.keras")
    _tiny_functional().save(path)
    model = models.load(path)
    assert model.name == "mine" and "conv_a" in model.layer_names


def test_unbuilt_sequential_gets_actionable_error():
    seq = keras.Sequential([keras.layers.Conv2D(4, 3), keras.layers.Dense(2)])
    with pytest.raises(models.ModelError, match="no defined input"):
        models.from_keras(seq)


def test_unknown_layer_lists_valid_names():
    model = models.from_keras(_tiny_functional())
    with pytest.raises(models.UnknownLayerError) as err:
        model.activations(tf.zeros((1, 32, 32, 3)), ["conv_c"])
    message = str(err.value)
    assert "conv_c" in message and "conv_a, conv_b, gap, scores" in message and "Did you mean" in message


def test_channel_out_of_range_names_depth():
    model = models.from_keras(_tiny_functional())
    with pytest.raises(models.ChannelOutOfRangeError, match="has 12 channels"):
        model.check_channel("conv_b", 12)


def test_unknown_model_lists_available():
    with pytest.raises(models.UnknownModelError, match="efficientnet_lite0.*inception_v1"):
        models.load("efficientnet_lite9")
