"""Frozen graphs: Lucid's InceptionV1 code path on a tiny graph, SavedModels and TF-Hub."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas import models
from lucid_atlas.io import storage
from lucid_atlas.models.graph_model import load_inception_v1

from .tiny_graphs import TinyModule, lucid_like_graph_def


@pytest.fixture(scope="module")
def lucid_pb(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("graph") / "InceptionV1.pb"
    path.write_bytes(lucid_like_graph_def().SerializeToString())
    return str(path)


@pytest.fixture(scope="module")
def inception(lucid_pb):
    return load_inception_v1(path=lucid_pb, labels=[f"label {i}" for i in range(5)])


def test_inception_layers_follow_lucid_names(inception):
    names = inception.layer_names
    for expected in ("conv2d0_pre_relu", "conv2d0", "mixed3a_pre_relu", "mixed3a",
                     "softmax2_pre_activation", "softmax2"):
        assert expected in names
    assert inception.layer("mixed3a").depth == 10
    assert inception.layer("mixed3a_pre_relu").depth == 10
    assert inception.logits_layer == "softmax2_pre_activation"
    assert inception.value_range == (-117.0, 138.0)
    assert inception.image_shape == (224, 224, 3)


def test_layer_depths_match_real_tensors(inception):
    x = tf.random.uniform((2, 64, 64, 3))
    acts = inception.activations(x, inception.layer_names)
    for layer in inception.layers:
        assert acts[layer.name].shape[-1] == layer.depth, layer.name


def test_pre_relu_concat_is_what_relu_sees(inception):
    x = tf.random.uniform((1, 48, 48, 3))
    acts = inception.activations(x, ["mixed3a", "mixed3a_pre_relu"])
    np.testing.assert_allclose(acts["mixed3a"].numpy(), np.maximum(acts["mixed3a_pre_relu"].numpy(), 0),
                               atol=1e-5)
    assert (acts["mixed3a_pre_relu"].numpy() < 0).any()


def test_input_is_mapped_to_lucid_value_range(lucid_pb, inception):
    graph_def = lucid_like_graph_def()
    x = np.random.default_rng(1).uniform(size=(1, 32, 32, 3)).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default():
        ph = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3])
        tf.compat.v1.import_graph_def(graph_def, input_map={"input:0": ph}, name="g")
        out = graph.get_tensor_by_name("g/conv2d0:0")
        with tf.compat.v1.Session(graph=graph) as sess:
            expected = sess.run(out, {ph: x * 255.0 - 117.0})
    got = inception.activations(x, ["conv2d0"])["conv2d0"].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_gradients_flow_to_the_image(inception):
    x = tf.Variable(tf.random.uniform((1, 32, 32, 3)))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(inception.activations(x, ["mixed3a"])["mixed3a"][..., 3])
    grad = tape.gradient(loss, x)
    assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0


def test_logits_and_labels(inception):
    logits = inception.logits(tf.random.uniform((3, 32, 32, 3)))
    assert logits.shape == (3, 5)
    assert inception.class_index("label 3") == 3


def test_pb_path_through_models_load(lucid_pb):
    model = models.load(lucid_pb, input_name="input", logits_layer="softmax2_pre_activation")
    assert "mixed3a" in model.layer_names
    assert model.logits(tf.zeros((1, 32, 32, 3))).shape == (1, 5)


def test_wrong_input_name_lists_placeholders(lucid_pb):
    with pytest.raises(models.ModelError, match="placeholders are: \\['input'\\]"):
        models.from_graph_def(lucid_pb, input_name="images")


def test_download_failure_says_where_to_put_the_file(tmp_path):
    with pytest.raises(storage.DownloadError, match="place it at .*InceptionV1.pb"):
        storage.fetch("http://127.0.0.1:9/InceptionV1.pb", "InceptionV1.pb", str(tmp_path))


@pytest.fixture(scope="module")
def saved_model_dir(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("sm") / "tiny_saved_model")
    module = TinyModule()
    tf.saved_model.save(module, path)
    return path


def test_saved_model_every_op_is_a_layer(saved_model_dir):
    model = models.load(saved_model_dir, image_shape=(32, 32, 3))
    relus = [l for l in model.layers if l.description == "Relu"]
    assert relus and relus[0].depth == 6
    assert model.logits_layer is not None
    x = tf.random.uniform((2, 32, 32, 3))
    expected = TinyModule()(x)  # same seed, same weights
    got = tf.nn.softmax(model.logits(x))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_hub_model_from_local_folder(saved_model_dir):
    model = models.load("hub:" + saved_model_dir, image_shape=(32, 32, 3))
    assert model.name == "tiny_saved_model"
    acts = model.activations(tf.random.uniform((1, 32, 32, 3)), [model.layers[0].name])
    assert acts[model.layers[0].name].shape[0] == 1


def test_attribution_works_on_frozen_graphs(inception):
    """Layer-to-layer gradients (logits w.r.t. mixed3a) flow in graph models: for this graph's linear
    head, a position's attributions summed over the map equal logit − bias exactly."""
    from lucid_atlas.atlas.attribution import attribution_maps

    graph_def = inception.info["graph_def"]
    nodes = {n.name: n for n in graph_def.node}
    bias = tf.make_ndarray(nodes[nodes["softmax2_pre_activation"].input[1].split(":")[0]].attr["value"].tensor)
    x = tf.constant(np.random.default_rng(0).uniform(size=(2, 32, 32, 3)), tf.float32)
    maps = attribution_maps(inception, "mixed3a", [1, 3])(x).numpy()
    logits = inception.logits(x).numpy()
    assert maps.shape == (2, 16, 16, 2) and np.abs(maps).max() > 0
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), (logits - bias)[:, [1, 3]], rtol=1e-4, atol=1e-4)
