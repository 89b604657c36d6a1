"""The render loop as users call it: thresholds, seeds, ReLU redirection, regularizers, up-scaling."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lucid_atlas import models
from lucid_atlas.optvis import objectives, param, progressive, regularizers, render, transform

keras = tf.keras
LAYER = "block5_expanded"


def test_contract_two_thresholds_batch_of_two(lite0):
    out = render.render_vis(lite0, objectives.channel(LAYER, 11) + 0.5 * objectives.diversity(LAYER),
                            param_f=lambda: param.image(64, batch=2), thresholds=(16, 64), progress=False)
    assert len(out) == 2
    for images in out:
        assert images.shape == (2, 64, 64, 3)
        assert images.min() >= 0.0 and images.max() <= 1.0
    assert np.abs(out[0] - out[1]).mean() > 1e-3
    assert np.abs(out[1][0] - out[1][1]).mean() > 1e-3  # diversity: the two images differ


def _first_of_batch(model, direction, n, scale=1.0, image_ids=None):
    """Image 0 (the given direction) of a batch of ``n`` atlas-style renders, 8 steps."""
    from lucid_atlas.optvis import transform

    depth = model.layer("block12_expanded").depth
    dirs = np.abs(np.random.default_rng(n).normal(size=(n, depth))).astype(np.float32)
    dirs[0] = direction
    obj = objectives.direction_cossim("block12_expanded", dirs, 4.0) * scale
    renderer = render.Renderer(model, obj, lambda: param.image(48, batch=n), transforms=transform.atlas_transforms(48))
    return renderer.run((8,), seed=5, progress=False, image_ids=image_ids).images[-1][0]


@pytest.mark.slow
def test_an_image_renders_the_same_alone_or_in_any_batch_and_at_any_scale(lite0):
    """Per-image gradients, noise and transforms: batch is a speed setting, and a constant factor on the
    objective changes nothing (Adam with ε on the bias-corrected √v̂)."""
    direction = np.abs(np.random.default_rng(0).normal(size=lite0.layer("block12_expanded").depth)).astype(np.float32)
    alone = _first_of_batch(lite0, direction, 1)
    assert np.abs(alone - _first_of_batch(lite0, direction, 16)).max() < 0.01
    assert np.abs(alone - _first_of_batch(lite0, direction, 96)).max() < 0.01
    assert np.abs(alone - _first_of_batch(lite0, direction, 1, scale=100.0)).max() < 0.01
    # the image id, not the place in the batch, keys the draws
    other_id = _first_of_batch(lite0, direction, 1, image_ids=[7])
    assert np.abs(alone - other_id).max() > 0.05


def test_objective_rises_and_seed_reproduces(lite0):
    kw = dict(param_f=lambda: param.image(48), thresholds=(8, 24), progress=False, seed=7)
    a = render.render(lite0, f"{LAYER}:3", **kw)
    b = render.render(lite0, f"{LAYER}:3", **kw)
    c = render.render(lite0, f"{LAYER}:3", **{**kw, "seed": 8})
    np.testing.assert_allclose(a.images[-1], b.images[-1], atol=1e-5)
    assert not np.allclose(a.images[-1], c.images[-1], atol=1e-3)
    assert a.values[-1].mean() > a.history[0]


def test_chunking_does_not_change_the_run(lite0):
    """Steps run in compiled chunks; how a run is cut into chunks must not change its images."""
    kw = dict(param_f=lambda: param.image(40), thresholds=(5, 23), progress=False, seed=3)
    whole = render.render(lite0, f"{LAYER}:3", steps_per_call=32, **kw)
    pieces = render.render(lite0, f"{LAYER}:3", steps_per_call=3, **kw)
    assert len(whole.history) == len(pieces.history) == 23
    for a, b in zip(whole.images, pieces.images):
        np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(whole.history, pieces.history, rtol=1e-4, atol=1e-5)


def test_reused_renderer_equals_a_fresh_render(lite0):
    """A Renderer run again (new seed, new direction in its variable) gives exactly a fresh render."""
    direction = tf.Variable(np.eye(lite0.layer(LAYER).depth, dtype=np.float32)[3])
    renderer = render.Renderer(lite0, objectives.direction(LAYER, direction), lambda: param.image(32))
    renderer.run(thresholds=(20,), seed=5, progress=False)
    direction.assign(np.eye(lite0.layer(LAYER).depth, dtype=np.float32)[7])
    again = renderer.run(thresholds=(6, 20), seed=3, progress=False)
    fresh = render.render(lite0, objectives.direction(LAYER, np.eye(lite0.layer(LAYER).depth)[7]),
                          lambda: param.image(32), thresholds=(6, 20), seed=3, progress=False)
    for a, b in zip(again.images, fresh.images):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_views_average_several_transformed_copies_per_step(lite0):
    """views=2: each step follows the objective averaged over two draws of the transforms — the
    objective still rises, the picture is another than one view's, and a reused renderer repeats it."""
    kw = dict(param_f=lambda: param.image(40), transforms=transform.standard_transforms())
    one = render.Renderer(lite0, f"{LAYER}:3", **kw).run((24,), seed=3, progress=False)
    renderer = render.Renderer(lite0, f"{LAYER}:3", views=2, **kw)
    two = renderer.run((24,), seed=3, progress=False)
    assert two.values[-1].mean() > two.history[0]
    assert np.abs(two.images[-1] - one.images[-1]).mean() > 1e-3
    np.testing.assert_allclose(renderer.run((24,), seed=3, progress=False).images[-1], two.images[-1], atol=1e-5)
    with pytest.raises(ValueError, match="views"):
        render.Renderer(lite0, f"{LAYER}:3", views=0, **kw)


def test_chunks_end_at_every_threshold_and_the_relu_switch():
    assert render._chunks(10, [4, 10], 3) == [(1, 3), (4, 4), (5, 6), (7, 9), (10, 10)]
    assert render._chunks(40, [16, 40], 16) == [(1, 16), (17, 32), (33, 40)]


def test_bad_layer_fails_before_rendering(lite0):
    with pytest.raises(models.UnknownLayerError, match="Valid layers"):
        render.render_vis(lite0, "mixed4d:42", thresholds=(1,), progress=False)


def _dead_relu_model():
    """A model whose channel 0 starts dead: its ReLU never passes a gradient for [0, 1] inputs."""
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(2, 3, padding="same", name="conv",
                            kernel_initializer=keras.initializers.Constant(0.1),
                            bias_initializer=keras.initializers.Constant(-100.0))(inputs)
    x = keras.layers.ReLU(name="relu")(x)
    out = keras.layers.Conv2D(2, 1, name="top", kernel_initializer="ones")(x)
    return models.from_keras(keras.Model(inputs, out), logits_layer=None)


@pytest.mark.parametrize("redirect", [False, True])
def test_redirected_relu_gradient_reaches_dead_units(redirect):
    model = _dead_relu_model()
    p = param.image(16, fft=False, decorrelate=False, seed=0)
    before = p().numpy()
    opt = tf.keras.optimizers.Adam(0.05)
    opt.build(p.trainable_variables)
    step = render.make_step(model, objectives.as_objective("top:0"), p, opt, [],
                            redirect_relu=redirect)
    step(1)
    moved = np.abs(p().numpy() - before).max()
    assert (moved > 1e-4) == redirect, moved


@pytest.fixture(scope="module")
def tiny_inception(tmp_path_factory):
    from tests.models.tiny_graphs import lucid_like_graph_def

    pb = tmp_path_factory.mktemp("g") / "g.pb"
    pb.write_bytes(lucid_like_graph_def().SerializeToString())
    return models.load_inception_v1(path=str(pb), labels=[str(i) for i in range(5)])


@pytest.mark.parametrize("redirect", [False, True])
def test_graph_model_redirected_relu(tiny_inception, redirect):
    # channel 2 of mixed3a is dead on a gray image: only the redirected gradient moves pixels
    p = param.image(32, fft=False, decorrelate=False, seed=0)
    before = p().numpy()
    opt = tf.keras.optimizers.Adam(0.05)
    opt.build(p.trainable_variables)
    step = render.make_step(tiny_inception, objectives.channel("mixed3a", 2), p, opt, [],
                            redirect_relu=redirect)
    step(1)
    assert (np.abs(p().numpy() - before).max() > 1e-4) == redirect


def test_graph_model_render_rises(tiny_inception):
    res = render.render(tiny_inception, objectives.channel("mixed3a", 9), lambda: param.image(32),
                        thresholds=(20,), progress=False)
    assert res.values[-1].mean() > res.history[0]


def test_fixed_size_keras_model_gets_resized_input():
    model = models.load("vgg16", weights=None, size=32)
    assert model.info["fixed_input_size"]
    out = render.render_vis(model, "block3_conv1:2", param_f=lambda: param.image(40), thresholds=(2,),
                            progress=False, transforms=[])
    assert out[0].shape == (1, 40, 40, 3)


def test_yosinski_operators_change_the_image(lite0):
    base = dict(param_f=lambda: param.centered_pixels(32), thresholds=(6,), progress=False, seed=1,
                transforms=[], relu_gradient_steps=0)
    plain = render.render_vis(lite0, f"{LAYER}:3", **base)[0]
    decayed = render.render_vis(lite0, f"{LAYER}:3", image_ops=[regularizers.l2_decay(0.5)], **base)[0]
    assert np.abs(decayed - 0.5).mean() < np.abs(plain - 0.5).mean()
    clipped = render.render_vis(lite0, f"{LAYER}:3", image_ops=[regularizers.clip_small_norm(50)], **base)[0]
    gray = np.all(np.abs(clipped[0] - 0.5) < 1e-6, axis=-1).mean()
    assert 0.4 < gray < 0.6
    contrib = render.render_vis(lite0, f"{LAYER}:3", image_ops=[regularizers.clip_small_contribution(90)], **base)[0]
    assert np.all(np.abs(contrib[0] - 0.5) < 1e-6, axis=-1).mean() > 0.85


def test_blur_operator_smooths_pixels_and_spectrum():
    rng = np.random.default_rng(0)
    noise = tf.constant(rng.normal(size=(1, 32, 32, 3)).astype(np.float32))
    op = regularizers.gaussian_blur_every(every=1, sigma=1.0)
    blurred = op(noise, noise, tf.constant(1, tf.int64), "pixels")
    tv = lambda t: float(tf.reduce_mean(tf.abs(t[:, 1:] - t[:, :-1])))  # noqa: E731
    assert tv(blurred) < 0.5 * tv(noise)
    p = param.fft_image([1, 32, 32, 3], sd=0.5, seed=0)
    before = p()
    p.image_variable.assign(op(p.image_variable, p.image_variable, tf.constant(1, tf.int64), "fourier"))
    assert tv(p()) < 0.5 * tv(before)


def test_a_scheduled_blur_scales_its_variance():
    """A blur whose strength falls with the learning rate: strength 0 leaves the image, 1 is the plain
    blur, ½ on a Fourier image is exactly the Gaussian of half the variance (sigma / √2)."""
    p = param.fft_image([1, 32, 32, 3], sd=0.5, seed=0)
    spectrum = p.image_variable.read_value()
    step = tf.constant(4, tf.int64)

    def blurred(sigma, strength=None):
        return regularizers.gaussian_blur_every(4, sigma, strength)(spectrum, spectrum, step, "fourier").numpy()
    np.testing.assert_allclose(blurred(1.0, lambda s: 0.0), spectrum.numpy(), rtol=1e-6)
    np.testing.assert_allclose(blurred(1.0, lambda s: 1.0), blurred(1.0), rtol=1e-6)
    np.testing.assert_allclose(blurred(1.0, lambda s: 0.5), blurred(2 ** -0.5), rtol=1e-5, atol=1e-7)
    pixels = tf.constant(np.random.default_rng(0).normal(size=(1, 16, 16, 3)).astype(np.float32))
    half = regularizers.gaussian_blur_every(4, 1.0, lambda s: 0.5)(pixels, pixels, step, "pixels")
    full = regularizers.gaussian_blur_every(4, 1.0)(pixels, pixels, step, "pixels")
    np.testing.assert_allclose(half.numpy(), 0.5 * (pixels.numpy() + full.numpy()), rtol=1e-5, atol=1e-6)


def test_clip_ops_refuse_fourier_param(lite0):
    with pytest.raises(ValueError, match="pixel parameterization"):
        render.render_vis(lite0, f"{LAYER}:1", param_f=lambda: param.image(16),
                          image_ops=[regularizers.clip_small_norm(10)], thresholds=(1,), progress=False)


def test_progressive_octaves_grow_and_crop(lite0):
    res = progressive.progressive_render(lite0, f"{LAYER}:5", size=32, octaves=3, scale=1.5, steps=4,
                                         max_size=60, progress=False)
    sizes = [o.shape[1] for o in res.octaves]
    assert sizes == [32, 48, 60]


def test_zoom_frames_move_and_cycle(lite0, tmp_path):
    from lucid_atlas.io import video

    frames = progressive.zoom_frames(lite0, LAYER, [1, 2], frames=4, size=32, steps_per_frame=2,
                                     frames_per_channel=2, progress=False)
    assert len(frames) == 4 and frames[0].shape == (32, 32, 3)
    assert np.abs(frames[0] - frames[-1]).mean() > 1e-3
    gif = video.save_gif(frames, str(tmp_path / "z.gif"))
    from PIL import Image
    assert Image.open(gif).n_frames == 4
    mp4 = video.save_mp4(frames, str(tmp_path / "z.mp4"))
    assert (tmp_path / "z.mp4").stat().st_size > 1000 and mp4.endswith(".mp4")


def test_lucid_render_vis_keywords_are_understood(lite0):
    kwargs = dict(param_f=lambda: param.image(32), thresholds=(2,))
    ours = render.render_vis(lite0, "block5_expanded:3", progress=False, seed=0, **kwargs)
    lucids = render.render_vis(lite0, "block5_expanded:3", verbose=False, use_fixed_seed=True,
                               relu_gradient_override=True, **kwargs)
    np.testing.assert_allclose(ours[-1], lucids[-1], atol=1e-6)
    with pytest.raises(TypeError, match="progress bar shows the objective"):
        render.render_vis(lite0, "block5_expanded:3", print_objectives=True, **kwargs)
    with pytest.raises(TypeError, match="unknown option"):
        render.render_vis(lite0, "block5_expanded:3", stepz=3, **kwargs)
    with pytest.raises(TypeError, match="not a Param.*make_t_image"):
        render.render_vis(lite0, "block5_expanded:3", param_f=lambda: param.image(32)(), thresholds=(2,))
    with pytest.raises(ValueError, match="its 0 is 1 here"):
        render.render_vis(lite0, "block5_expanded:3", param_f=lambda: param.image(32), thresholds=(0, 2))
