"""Lucid's ``lucid.optvis.render``: ``render_vis`` and ``make_vis_T`` on our render engine.

Lucid's meanings are kept: ``thresholds`` count from 0 (the image after step i + 1 is kept at
threshold i, so ``(0, 64)`` gives the images after steps 1 and 65), ``transforms`` that are not
a list mean ``transform.standard_transforms``, the default optimizer is Adam(0.05), the
redirected ReLU gradient is on for the first 17 steps (Lucid's ``global_step <= 16``), and
``use_fixed_seed=True`` makes a run repeatable (here it truly is), the images of a batch share
each step's random transforms (so stacked images stay aligned), and the global step
(``tf.compat.v1.train.get_or_create_global_step()``) counts the steps, so objectives scheduled
by it change as they do in Lucid. An RGBA ``param_f`` reaches the transforms as RGBA when they
collapse it themselves (``transform.collapse_alpha_random()``). TensorFlow 2 has no
sessions: :func:`make_t_image` turns a param function into a callable that re-runs it with the
same variables, and :func:`make_vis_T` returns an object whose ``T("vis_op")()`` takes a step.
"""

from __future__ import annotations

import logging

import numpy as np
import tensorflow as tf

from ... import models as model_zoo
from ...io.show import show as show_images
from ...optvis import objectives as our_objectives
from ...optvis import optimizers
from ...optvis import param as our_param
from ...optvis import render as ours
from . import objectives, param, transform

log = logging.getLogger(__name__)

RELU_GRADIENT_STEPS = 17  # Lucid redirects while its global step (0 at the first step) is <= 16


def make_t_image(param_f=None) -> our_param.Param:
    """The image as a callable: ``t_image()`` re-runs ``param_f`` with the variables its first call
    made (``t_image.trainable_variables``), so a Lucid param function works in TensorFlow 2."""
    if param_f is None:
        param_f = lambda: param.image(128)  # noqa: E731 (Lucid's default)
    if isinstance(param_f, our_param.Param):
        return param_f
    if not callable(param_f):
        raise TypeError(f"param_f should be a function that builds the image tensor (TensorFlow 2 has no graph to "
                        f"keep a tensor in), got {type(param_f).__name__}")
    made: list[tf.Variable] = []

    def record(next_creator, **kwargs):
        variable = next_creator(**kwargs)
        made.append(variable)
        return variable

    with tf.variable_creator_scope(record):
        first = param_f()
    if isinstance(first, our_param.Param):
        return first
    if not isinstance(first, (tf.Tensor, tf.Variable, np.ndarray)):
        raise TypeError(f"param_f should produce a Tensor, but instead created a {type(first).__name__}")

    def image() -> tf.Tensor:
        supply = iter(made)

        def reuse(next_creator, **kwargs):
            try:
                return next(supply)
            except StopIteration:
                raise RuntimeError("param_f made more variables on a later call than on its first; it must "
                                   "make the same variables every time it is called") from None
        with tf.variable_creator_scope(reuse):
            return tf.convert_to_tensor(param_f(), tf.float32)

    return our_param.Param(image, [v for v in made if v.trainable], getattr(param_f, "__name__", "param_f"),
                           None, "other")


def global_step() -> tf.Variable:
    """Lucid's global step, ``tf.compat.v1.train.get_or_create_global_step()``: the renders here count
    their steps in it, so an objective that reads it during step i (from 0) gets i, as in Lucid."""
    return tf.compat.v1.train.get_or_create_global_step()


def make_transform_f(transforms):
    """Our transforms for Lucid's ``transforms`` argument (not a list: the standard transforms)."""
    if type(transforms) is not list:
        transforms = transform.standard_transforms
    return [transform.as_engine(t) for t in transforms]


class _AnyOptimizer:
    """A Keras or ``tf.compat.v1.train`` optimizer in the engine's optimizer interface."""

    def __init__(self, optimizer):
        self.optimizer = optimizer

    def build(self, variables) -> None:
        if hasattr(self.optimizer, "build") and not self.optimizer.__class__.__module__.startswith("tensorflow"):
            self.optimizer.build(list(variables))

    def apply_gradients(self, grads_and_vars) -> None:
        self.optimizer.apply_gradients([(g, v) for g, v in grads_and_vars if g is not None])


def make_optimizer(optimizer, args=()):
    """Adam(0.05) for None; an optimizer instance as is; a function is called (with ``args``) for one."""
    if optimizer is None:
        return optimizers.Adam(0.05)
    if isinstance(optimizer, optimizers.Adam):
        return optimizer
    if hasattr(optimizer, "apply_gradients"):
        return _AnyOptimizer(optimizer)
    if callable(optimizer):
        return make_optimizer(optimizer(*args))
    raise TypeError("Could not convert optimizer argument to usable optimizer. Needs to be one of None, a function "
                    "returning an optimizer, or an optimizer (Keras or tf.compat.v1.train).")


def as_model(model) -> model_zoo.VisionModel:
    """One of our models from ours, a Lucid-style zoo model, a Keras model, or a zoo name/path."""
    if isinstance(model, model_zoo.VisionModel):
        return model
    if hasattr(model, "vision_model"):
        return model.vision_model
    if isinstance(model, str):
        return model_zoo.load(model)
    if isinstance(model, tf.keras.Model):
        return model_zoo.from_keras(model)
    raise TypeError(f"not a model: {type(model).__name__} (give a lucid_atlas model, a Keras model, a "
                    f"lucid_atlas.lucid.modelzoo model, or a model name such as 'efficientnet_lite0')")


class _Recorder(our_objectives.Accessor):
    """A ``T`` that computes each layer asked for and remembers its name."""

    def __init__(self, model, images):
        fixed = model.info.get("fixed_input_size")
        super().__init__(model, {}, images)
        self._input = tf.image.resize(images[..., :3], model.image_shape[:2]) if fixed else images[..., :3]
        self.names: list[str] = []

    def __call__(self, name: str):
        if name == our_objectives.INPUT:
            return self.images
        layer = self.model.logits_layer if name == "logits" else name
        self.names.append(name)
        return self.model.activations(self._input, [layer])[layer]


def resolve(model, objective_f, t_image) -> objectives.Objective:
    """The objective with the layers it reads known (found by running it once when not declared)."""
    objective = objectives.as_objective(objective_f)
    if objective.layers_known:
        return objective
    recorder = _Recorder(model, t_image())
    objective(recorder)
    return objectives.Objective(objective.fn, objective.name, objective.description, recorder.names,
                                objective.validators)


def _report(step: int, images: np.ndarray, value: float, extra: list[tuple[str, float]], verbose: bool) -> None:
    if not verbose:
        return
    print(step, value)
    for i, (description, v) in enumerate(extra):
        print("{:02d}: {}: {:7.2f}".format(i + 1, description, v))
    show_images(np.hstack(images), title=f"step {step}")


def render_vis(model, objective_f, param_f=None, optimizer=None, transforms=None, thresholds=(512,),
               print_objectives=None, verbose=True, relu_gradient_override=True, use_fixed_seed=False):
    """Optimize ``param_f`` to maximize ``objective_f``; the image batch (NHWC, [0, 1]) at each threshold."""
    model = as_model(model)
    probe = make_t_image(param_f)
    objective = resolve(model, objective_f, probe)
    watched = [resolve(model, o, probe) for o in (print_objectives or [])]
    engine_transforms = make_transform_f(transforms)
    seed = 0 if use_fixed_seed else int(np.random.SeedSequence().entropy % (2 ** 31))
    renderer = ours.Renderer(model, objective, lambda: make_t_image(param_f), make_optimizer(optimizer),
                             engine_transforms,
                             relu_gradient_steps=RELU_GRADIENT_STEPS if relu_gradient_override else 0,
                             step_counter=global_step(), shared_draws=True)
    steps = sorted({int(t) + 1 for t in thresholds})
    images: list[np.ndarray] = []

    def snapshot(step: int, batch: np.ndarray) -> None:
        images.append(batch)
        if verbose:
            def value(o):
                return float(ours.objective_values(model, o, renderer.param, engine_transforms, seed=seed, step=step,
                                                   shared_draws=True)[0])
            _report(step - 1, batch, value(objective), [(o.description, value(o)) for o in watched], verbose)

    try:
        renderer.run(steps, seed=seed, progress=verbose, callback=snapshot)
    except KeyboardInterrupt:
        log.warning("Interrupted optimization at step %d.", renderer.steps_taken)
        batch = renderer.param().numpy()
        if verbose:
            show_images(np.hstack(batch))
        images.append(batch)
    return images


class VisT:
    """Lucid's ``T`` from ``make_vis_T``: ``T("vis_op")()`` takes one optimization step (and returns
    the objective's value during it), ``T("loss")`` is the objective now, ``T("input")`` the
    image batch, ``T("global_step")`` the steps taken, ``T(layer)`` a layer's activations for
    the current image."""

    def __init__(self, model, objective_f, param_f=None, optimizer=None, transforms=None,
                 relu_gradient_override=False):
        self.model = as_model(model)
        self.t_image = make_t_image(param_f)
        self.objective = resolve(self.model, objective_f, self.t_image)
        self.transforms = make_transform_f(transforms)
        self.renderer = ours.Renderer(self.model, self.objective, lambda: self.t_image, make_optimizer(optimizer),
                                      self.transforms,
                                      relu_gradient_steps=RELU_GRADIENT_STEPS if relu_gradient_override else 0,
                                      step_counter=global_step(), shared_draws=True)
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 31))
        self.renderer.restart(self._seed)  # keeps the image param_f made; draws transforms from this seed

    def vis_op(self) -> float:
        """One optimization step; the objective's value during it."""
        return float(self.renderer.step(1)[0])

    def __call__(self, name: str):
        if name == "vis_op":
            return self.vis_op
        if name == "loss":
            return float(ours.objective_values(self.model, self.objective, self.t_image, self.transforms,
                                               seed=self._seed, step=self.renderer.steps_taken, shared_draws=True)[0])
        if name == "input":
            return self.t_image().numpy()
        if name == "global_step":
            return self.renderer.steps_taken
        if name == "labels":
            return list(self.model.labels)
        return self.model.activations(self.t_image(), [name])[name].numpy()


def make_vis_T(model, objective_f, param_f=None, optimizer=None, transforms=None, relu_gradient_override=False):
    """Lucid's lower-level renderer: a :class:`VisT` to step and inspect yourself."""
    return VisT(model, objective_f, param_f, optimizer, transforms, relu_gradient_override)
