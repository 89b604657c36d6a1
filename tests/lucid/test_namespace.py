"""The Lucid namespace keeps Lucid's meanings where our own API differs (README "Differences from
Lucid"), and Lucid-style code runs on it: signs, positions, thresholds, channels, crops,
function objectives, optimizers, models."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas.lucid.modelzoo import vision_models
from lucid_atlas.lucid.optvis import objectives, param, render
from lucid_atlas.optvis import objectives as ours
from lucid_atlas.optvis import render as our_render
from lucid_atlas.optvis.objectives import Accessor

LAYER = "block5_expanded"


def _gram_similarity(model, images: np.ndarray, layer: str) -> float:
    """Mean cosine between the Gram matrices of different images at ``layer`` (1 = same style)."""
    acts = model.activations(images, [layer])[layer].numpy()
    flat = acts.reshape(len(acts), -1, acts.shape[-1])
    grams = np.einsum("bpi,bpj->bij", flat, flat).reshape(len(acts), -1)
    grams /= np.linalg.norm(grams, axis=1, keepdims=True)
    sims = grams @ grams.T
    return float((sims.sum() - np.trace(sims)) / (len(acts) * (len(acts) - 1)))


@pytest.mark.slow
def test_lucids_diversity_idiom_diversifies(lite0):
    """The issue's bar: ``channel - 1e2 * diversity`` gives a less alike batch than ``channel`` alone."""
    def batch_of(objective):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the namespace must not warn about Lucid's own idiom
            return render.render_vis(lite0, objective, lambda: param.image(64, batch=3), thresholds=(47,),
                                     verbose=False, use_fixed_seed=True)[-1]
    plain = batch_of(objectives.channel(LAYER, 7))
    diverse = batch_of(objectives.channel(LAYER, 7) - 1e2 * objectives.diversity(LAYER))
    alike, apart = _gram_similarity(lite0, plain, LAYER), _gram_similarity(lite0, diverse, LAYER)
    print(f"Gram similarity: channel {alike:.3f}, channel - 1e2 * diversity {apart:.3f}")
    assert apart < alike - 0.1


def _accessor(model, acts: np.ndarray, images=None) -> Accessor:
    images = tf.zeros([acts.shape[0], 8, 8, 3]) if images is None else images
    return Accessor(model, {LAYER: tf.constant(acts, tf.float32)}, images)


def test_neuron_reads_x_along_the_height(lite0):
    acts = np.zeros([1, 5, 5, 4], np.float32)
    acts[0, 1, 3, 2] = 5.0  # row 1, column 3
    T = _accessor(lite0, acts)
    assert float(objectives.neuron(LAYER, 2, x=1, y=3)(T)) == 5.0  # Lucid: x is the row
    assert float(ours.neuron(LAYER, 2, x=3, y=1)(T)[0]) == 5.0  # ours: x is the column
    assert float(objectives.neuron(LAYER, 2, x=3, y=1)(T)) == 0.0


def test_tensor_direction_matches_the_layers_center(lite0):
    acts = np.zeros([1, 5, 5, 4], np.float32)
    acts[0, 1:4, 1:4] = 1.0  # the center 3 × 3 is on, the rim off
    value = float(objectives.tensor_direction(LAYER, np.ones([1, 3, 3, 4]))(_accessor(lite0, acts)))
    assert value == pytest.approx(4.0)  # the mean dot product over the center crop


def test_direction_cossim_is_lucids_alias_of_direction():
    assert objectives.direction_cossim is objectives.direction


def test_image_with_channels_is_a_plain_sigmoid():
    t_image = render.make_t_image(lambda: param.image(8, fft=False, channels=3))
    pixels = t_image.trainable_variables[0]
    np.testing.assert_allclose(t_image().numpy(), tf.nn.sigmoid(pixels).numpy(), atol=1e-6)
    decorrelated = render.make_t_image(lambda: param.image(8, fft=False))
    assert not np.allclose(decorrelated().numpy(), tf.nn.sigmoid(decorrelated.trainable_variables[0]).numpy())


def test_thresholds_count_from_zero_as_in_lucid(lite0):
    """Lucid keeps the image after step i + 1 at threshold i: (0, 2) are our steps 1 and 3."""
    objective = objectives.channel(LAYER, 7)
    lucid_images = render.render_vis(lite0, objective, lambda: param.image(32), thresholds=(0, 2), transforms=[],
                                     verbose=False, use_fixed_seed=True, relu_gradient_override=False)
    ours_result = our_render.render(lite0, objective, lambda: render.make_t_image(lambda: param.image(32)),
                                    transforms=[], thresholds=(1, 3), seed=0, progress=False, relu_gradient_steps=0)
    assert len(lucid_images) == 2
    for mine, theirs in zip(lucid_images, ours_result.images):
        np.testing.assert_allclose(mine, theirs, atol=1e-6)


def test_function_objectives_string_shorthand_and_keras_optimizer(lite0):
    """``lambda T: ...`` objectives (layers found by running them; ``T("labels")`` works), the
    ``"layer:n"`` shorthand and a Keras optimizer, as Lucid code passes them."""
    def lambda_objective(T):
        assert "tench" in T("labels")[0]
        return tf.reduce_mean(T(LAYER)[..., 3])

    for objective in (lambda_objective, f"{LAYER}:3", objectives.Objective(lambda_objective, "mine")):
        first, last = render.render_vis(lite0, objective, lambda: param.image(32), thresholds=(0, 15), transforms=[],
                                        optimizer=tf.keras.optimizers.Adam(0.05), verbose=False, use_fixed_seed=True)
        acts = [lite0.activations(img, [LAYER])[LAYER][..., 3].numpy().mean() for img in (first, last)]
        assert acts[1] > acts[0]


def test_verbose_prints_lucids_lines_and_print_objectives(lite0, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # show() writes its PNGs here outside a notebook
    render.render_vis(lite0, objectives.channel(LAYER, 7), lambda: param.image(32), thresholds=(0, 3),
                      transforms=[], print_objectives=[objectives.deepdream(LAYER)], verbose=True)
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("0 ") and "01: Deepdream [block5_expanded]:" in out
    assert any(line.startswith("3 ") for line in out.splitlines())


def test_objective_algebra_reads_like_lucids():
    a, b = objectives.channel(LAYER, 1), objectives.channel(LAYER, 2)
    total = a + 2 * b
    assert total.name == "channel, channel"
    assert total.description == "Sum(Channel [block5_expanded, 1, None] +\nChannel [block5_expanded, 2, None])"
    assert objectives.Objective.sum([a, b]).description.startswith("Sum(")


def test_unknown_layer_in_a_function_objective_lists_the_layers(lite0):
    with pytest.raises(Exception, match="Valid layers"):
        render.render_vis(lite0, lambda T: tf.reduce_mean(T("mixed4a_pre_relu")), lambda: param.image(32),
                          thresholds=(0,), verbose=False)


def test_inception_v1_from_the_model_zoo_loads_a_graph_and_renders(tmp_path):
    """Lucid's ``InceptionV1(); model.load_graphdef()``, here from a local frozen graph with
    InceptionV1's op names (the real one is downloaded when no path is given)."""
    from tests.models.tiny_graphs import lucid_like_graph_def

    path = tmp_path / "tiny.pb"
    path.write_bytes(lucid_like_graph_def().SerializeToString())
    model = vision_models.InceptionV1(path=str(path), labels=[f"class {i}" for i in range(5)])
    model.load_graphdef()
    assert "mixed3a" in model.layer_names
    images = render.render_vis(model, objectives.channel("mixed3a", 1), lambda: param.image(32), thresholds=(3,),
                               verbose=False, use_fixed_seed=True)
    assert images[0].shape == (1, 32, 32, 3)
