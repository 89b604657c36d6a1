"""Objectives: each one rises under optimization on a real model; algebra, shorthand, errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas import models
from lucid_atlas.optvis import objectives as obj
from lucid_atlas.optvis import param
from lucid_atlas.optvis.objectives import Accessor

LAYER = "block5_expanded"
DEPTH = 240


def _value(model, objective, p):
    images = p()
    acts = model.activations(images, objective.model_layers(model)) if objective.model_layers(model) else {}
    return float(tf.reduce_mean(objective(Accessor(model, acts, images))))


@pytest.fixture(scope="module")
def photos():
    """Two 32×32 photos (scikit-image's astronaut and cat): a realistic, non-degenerate start."""
    from lucid_atlas.io.images import default_image_paths, load_image

    paths = [p for p in default_image_paths() if p.endswith(("astronaut.png", "chelsea.png"))]
    return np.stack([load_image(p, 32) for p in paths])


def _rises(model, objective, start, steps=3, lr=0.1):
    objective.validate(model)
    p = param.from_image(start)
    opt = tf.keras.optimizers.Adam(lr)
    before = _value(model, objective, p)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            images = p()
            acts = model.activations(images, objective.model_layers(model)) if objective.model_layers(model) else {}
            loss = -tf.reduce_mean(objective(Accessor(model, acts, images)))
        grads = tape.gradient(loss, p.trainable_variables)
        opt.apply_gradients(zip(grads, p.trainable_variables))
    return before, _value(model, objective, p)


RNG = np.random.default_rng(0)
VEC = RNG.normal(size=DEPTH).astype(np.float32)


@obj.wrap_objective
def mean_of_channel(layer, ch):
    return lambda T: tf.reduce_mean(T(layer)[..., ch], axis=[1, 2])


OBJECTIVES = {
    "neuron": lambda: obj.neuron(LAYER, 3),
    "neuron_xy": lambda: obj.neuron(LAYER, 3, x=1, y=2),
    "channel": lambda: obj.channel(LAYER, 3),
    "channel_batch": lambda: obj.channel(LAYER, 3, batch=1),
    "direction": lambda: obj.direction(LAYER, VEC),
    "direction_cossim_pow": lambda: obj.direction(LAYER, VEC, cossim_pow=2),
    "direction_neuron": lambda: obj.direction_neuron(LAYER, VEC),
    "direction_cossim": lambda: obj.direction_cossim(LAYER, np.stack([VEC, -VEC])),
    "direction_cossim_whitened": lambda: obj.direction_cossim(LAYER, VEC, whitening=np.eye(DEPTH) * 2),
    "tensor_direction": lambda: obj.tensor_direction(LAYER, RNG.normal(size=(4, 4, DEPTH)).astype(np.float32)),
    "deepdream": lambda: obj.deepdream(LAYER),
    "class_logit": lambda: obj.class_logit("flamingo"),
    "class_logit_index": lambda: obj.class_logit(130, batch=0),
    "neg_total_variation": lambda: -obj.total_variation(),
    "neg_L1": lambda: -obj.L1(constant=0.5),
    "neg_L2": lambda: -obj.L2(),
    "neg_blur_input_each_step": lambda: -obj.blur_input_each_step(),
    "neg_alignment": lambda: -obj.alignment(LAYER),
    "diversity": lambda: obj.diversity(LAYER),
    "neg_input_diff": lambda: -obj.input_diff(np.full((32, 32, 3), 0.2, np.float32)),
    "channel_interpolate": lambda: obj.channel_interpolate(LAYER, 3, "block9_expanded", 5),
    "penalize_boundary_complexity": lambda: obj.penalize_boundary_complexity(w=6),
    "user_defined": lambda: mean_of_channel(LAYER, 7),
    "shorthand_sum": lambda: sum([obj.as_objective(f"{LAYER}:1"), obj.as_objective(f"{LAYER}:2")]),
}


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_every_objective_rises(lite0, photos, name):
    before, after = _rises(lite0, OBJECTIVES[name](), photos)
    assert after > before, f"{name}: {before} -> {after}"


def test_descriptions_read_like_code():
    o = obj.channel("mixed4d", 42) + 0.5 * obj.diversity("mixed4d")
    assert str(o) == "channel(mixed4d, 42) + 0.5 * diversity(mixed4d)"
    assert str(obj.channel("a", 1) - 0.1 * (obj.L1() + obj.total_variation())) == \
        "channel(a, 1) - 0.1 * (L1() + total_variation())"
    assert str(sum([obj.as_objective("a:1"), obj.neuron("b", 2)])) == "channel(a, 1) + neuron(b, 2)"
    assert str(mean_of_channel("a", 3)) == "mean_of_channel(a, 3)"
    assert str(obj.channel("a", 1) / 2) == "0.5 * channel(a, 1)"


def test_algebra_matches_arithmetic(lite0):
    a, b = obj.channel(LAYER, 1), obj.channel(LAYER, 2)
    images = tf.random.uniform((2, 32, 32, 3), seed=1)
    acts = lite0.activations(images, [LAYER])
    T = Accessor(lite0, acts, images)
    va, vb = a(T).numpy(), b(T).numpy()
    np.testing.assert_allclose((a + b)(T), va + vb, rtol=1e-5)
    np.testing.assert_allclose((a - 2 * b)(T), va - 2 * vb, rtol=1e-5)
    np.testing.assert_allclose((a * b)(T), va * vb, rtol=1e-5)
    np.testing.assert_allclose((-a / 4)(T), -va / 4, rtol=1e-5)
    np.testing.assert_allclose((3 - a)(T), 3 - va, rtol=1e-5)
    np.testing.assert_allclose((a + 1)(T), va + 1, rtol=1e-5)


def test_batch_argument_targets_one_image(lite0):
    images = tf.random.uniform((3, 32, 32, 3), seed=2)
    T = Accessor(lite0, lite0.activations(images, [LAYER]), images)
    v = obj.channel(LAYER, 4, batch=1)(T).numpy()
    assert v[0] == 0 and v[2] == 0 and v[1] != 0


def test_shorthand_and_bad_strings():
    assert str(obj.as_objective("mixed4d:42")) == "channel(mixed4d, 42)"
    with pytest.raises(ValueError, match="layer:channel"):
        obj.as_objective("mixed4d")


def test_unknown_layer_fails_before_tf_with_choices(lite0):
    with pytest.raises(models.UnknownLayerError, match="Valid layers: stem_pre_relu, stem"):
        obj.channel("mixed4d", 3).validate(lite0)


def test_channel_out_of_range_names_depth(lite0):
    with pytest.raises(models.ChannelOutOfRangeError, match=f"has {DEPTH} channels"):
        (obj.channel(LAYER, 1) + obj.neuron(LAYER, DEPTH)).validate(lite0)


def test_direction_with_wrong_length(lite0):
    with pytest.raises(models.ModelError, match="has 10 values but the layer has 240"):
        obj.direction(LAYER, np.ones(10)).validate(lite0)


def test_unknown_class_suggests_names(lite0):
    with pytest.raises(models.ModelError, match="Closest: .*flamingo"):
        obj.class_logit("flamingoo").validate(lite0)


def _inception_named_model():
    """A tiny Keras model whose layer is named like InceptionV1's ``mixed4d`` (48 channels)."""
    inputs = tf.keras.Input((None, None, 3))
    x = tf.keras.layers.Conv2D(48, 3, strides=2, padding="same", activation="relu", name="mixed4d",
                               kernel_initializer=tf.keras.initializers.RandomNormal(0, 0.3, seed=1))(inputs)
    out = tf.keras.layers.Dense(5, name="logits")(tf.keras.layers.GlobalAveragePooling2D()(x))
    return models.from_keras(tf.keras.Model(inputs, out))


def _rendered_rise(model, objective, size=32, steps=48):
    from lucid_atlas.optvis import render

    result = render.render(model, objective, lambda: param.image(size, batch=3), thresholds=(1, steps),
                           progress=False)
    return float(np.mean(result.values[0])), float(np.mean(result.values[-1]))


def test_the_cards_expression_takes_the_channels_layer():
    objective = obj.channel("mixed4d", 42) + obj.diversity()
    assert str(objective) == "channel(mixed4d, 42) + diversity(mixed4d)"
    first, last = _rendered_rise(_inception_named_model(), objective)
    assert last > first, (first, last)


def test_diversity_without_layer_on_the_default_model(lite0):
    objective = obj.channel("block10_expanded", 42) + obj.diversity()
    assert str(objective) == "channel(block10_expanded, 42) + diversity(block10_expanded)"
    first, last = _rendered_rise(lite0, objective, size=64, steps=32)
    assert last > first, (first, last)


def test_layer_less_terms_bind_through_scalars_and_sums():
    o = obj.channel("a", 1) - 1e2 * (obj.diversity() + 0.5 * obj.alignment())
    assert str(o) == "channel(a, 1) - 100 * (diversity(a) + 0.5 * alignment(a))"
    assert o.layers == ("a",) and not o.needs_layer
    pending = -obj.diversity() + obj.blur_input_each_step()  # reads only the input: still layer-less
    assert pending.needs_layer and str(obj.neuron("b", 2) * pending) == \
        "neuron(b, 2) * (-diversity(b) + blur_input_each_step())"


def test_layer_less_terms_name_the_choices_when_ambiguous_or_alone(lite0):
    with pytest.raises(ValueError, match="a, b"):
        obj.channel("a", 1) + obj.channel("b", 2) + obj.diversity()
    with pytest.raises(ValueError, match="give it one, e.g. '"):
        obj.diversity().validate(lite0)


def test_lucids_sign_idioms_warn_here(lite0):
    import warnings

    def warned(objective):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            objective.validate(lite0)
        return [str(w.message) for w in caught]

    assert "more alike" in " ".join(warned(obj.channel(LAYER, 1) - 1e2 * obj.diversity()))
    assert "apart" in " ".join(warned(obj.channel(LAYER, 1) + 0.1 * obj.alignment()))
    assert warned(obj.channel(LAYER, 1) + 1e2 * obj.diversity()) == []
    assert warned(obj.channel(LAYER, 1) - 0.1 * obj.alignment()) == []
    assert warned(-(-obj.diversity(LAYER))) == []  # noqa: B002 - a negated negation, on purpose


def test_lucid_style_calls_work_or_name_our_equivalent():
    @obj.wrap_objective()  # Lucid's spelling, with parentheses
    def first_channel(layer):
        return lambda T: tf.reduce_mean(T(layer)[..., 0], axis=[1, 2])

    assert str(first_channel("a")) == "first_channel(a)" and first_channel("a").name == "first_channel(a)"
    assert str(obj.Objective.sum([obj.channel("a", 1), "a:2"])) == "channel(a, 1) + channel(a, 2)"
    with pytest.raises(TypeError, match=r"class_logit\(label\) here"):
        obj.class_logit("softmax2_pre_activation", "flamingo")
    with pytest.raises(TypeError, match=r"penalize_boundary_complexity\(w\) here"):
        obj.penalize_boundary_complexity((1, 64, 64, 3))
    from lucid_atlas.optvis import transform

    for module, lucid_name, hint in ((param, "laplacian_pyramid_image", "laplacian_pyramid"),
                                     (param, "grayscale_image_rgb", "grayscale"),
                                     (transform, "normalize_gradient", "images only"),
                                     (obj, "blur_alpha_each_step", "no alpha blur")):
        with pytest.raises(AttributeError, match=f"{hint}.*lucid_atlas.lucid"):
            getattr(module, lucid_name)
    with pytest.raises(TypeError, match="wrap_objective.*lucid_atlas.lucid"):
        obj.as_objective(lambda T: tf.reduce_mean(T("a")))
