"""The render loop: optimize a parameterized image so an objective goes up.

What is optimized: the sum over the batch of each image's objective value (a batch-level
scalar, such as ``diversity``, counts once per image, so the sum is B × Lucid's batch mean and
Lucid objectives keep their meaning). With Adam's per-coefficient scaling and a negligible ε,
each image's step then depends on its own value only: an image renders the same alone or in a
batch of any size, and multiplying an objective by a constant changes nothing. Each image's
initial noise and transform draws come from (seed, its image id), ids default to 0..B-1.

One compiled step (``tf.function``, optionally XLA) does param → transforms → model → objective →
gradients → Adam → optional Deep-Visualization image operators, and runs in chunks of steps
inside a ``tf.while_loop`` (:class:`Step`). For the first ``relu_gradient_steps`` steps a twin
step uses Lucid's redirected ReLU/ReLU6 gradient, so units that start dead still get a signal.
:class:`Renderer` keeps both compiled steps for many renders of the same shapes; :func:`render`
is a one-off renderer.
"""

from __future__ import annotations

import inspect
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from . import lucid_compat, optimizers
from . import param as param_lib
from . import rng
from . import transform as transform_lib
from .conv_gradient import CONV_OVERRIDES
from .objectives import Accessor, ObjectiveLike, as_objective
from .regularizers import ImageOp
from .relu_gradient import RELU_OVERRIDES


@dataclass
class RenderResult:
    """Images at each threshold (arrays [B, H, W, C] in [0, 1]) and the objective per image."""

    thresholds: list[int]
    images: list[np.ndarray]
    values: list[np.ndarray]
    objective: str
    steps_per_second: float = 0.0
    history: list[float] = field(default_factory=list)


def to_model_rgb(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Grayscale repeated to RGB, RGBA collapsed over random backgrounds; RGB unchanged."""
    channels = images.shape[-1]
    if channels == 1:
        return tf.tile(images, [1, 1, 1, 3])
    if channels == 4:
        return transform_lib.collapse_alpha_random()(images, seed)
    return images


def _default_optimizer(learning_rate: float = 0.05):
    return optimizers.Adam(learning_rate)


class Step:
    """A compiled optimization step run ``n`` times per call: ``step(n) -> (last values, means)``.

    The steps run inside one ``tf.while_loop``, so the host dispatches once per call instead of
    once per step (the loop stays on the device on GPUs). ``counter`` (int64 variable) counts the
    steps taken: during step i (from 0) it reads i, so an objective may schedule by it (Lucid's
    global step); image i's random transforms at each step are seeded by ``(seed, step number,
    image_ids[i])`` (int64 variables too), so a run is reproducible however it is cut into calls
    and an image's draws do not depend on the rest of its batch.
    """

    def __init__(self, fn: Callable, counter: tf.Variable, seed: tf.Variable):
        self._fn = fn
        self.counter = counter
        self.seed = seed

    def __call__(self, n: int = 1) -> tuple[tf.Tensor, tf.Tensor]:
        return self._fn(tf.constant(int(n), tf.int32))


class _OwnStepsTraceOnce(logging.Filter):
    """Drops TF's "frequent retracing" warning about our step functions: every render builds its
    own step on purpose (its own objective and variables) and traces it once, which TF's
    heuristic counts as retracing. Other functions' warnings pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and "make_step.<locals>.run" in message)


tf.get_logger().addFilter(_OwnStepsTraceOnce())


class _ModelTransform:
    """The transform chain as one callable ``(images, seeds) -> model input``, with the resize a
    fixed-size model needs fused in. An RGBA image is collapsed over random backgrounds before
    the transforms, unless the chain collapses it itself (a transform marked ``collapses_alpha``,
    such as :func:`transform.collapse_alpha_random`): then the transforms see RGBA, as Lucid's do."""

    def __init__(self, model, image_shape, transforms):
        chain = list(transforms) if isinstance(transforms, (list, tuple)) else [transforms]
        fixed = model.image_shape[:2] if model.info.get("fixed_input_size") else None
        if fixed and (chain or tuple(image_shape[1:3]) != tuple(fixed)):
            chain.append(transform_lib.resize_to(*fixed))
        self._chain = transform_lib.compose(*chain)

    def __call__(self, images: tf.Tensor, seeds: tf.Tensor) -> tf.Tensor:
        if not self._chain.collapses_alpha:
            images = to_model_rgb(images, rng.fold(seeds, 0))
        return self._chain(images, rng.fold(seeds, 1))


def _model_transform(model, param, transforms):
    """(the :class:`_ModelTransform` for ``transforms``, the param's static image shape)."""
    image_shape = param().shape  # params are small; this gives the static batch and size
    return _ModelTransform(model, image_shape, transforms), image_shape


def _forward(model, objective, images, transform, seeds, overrides=None, jit_compile: bool = False,
             views: int = 1):
    """Each image's objective value [B] after the transforms drawn from per-image ``seeds`` [B, 2],
    averaged over ``views`` independent draws (the first is the single-view draw). The views go
    through the transforms and the model as one batch of views × B images."""
    layers = objective.model_layers(model)
    if views > 1:  # every view a row of one batch: image i's view v draws from its own folded seed
        seeds = tf.concat([seeds] + [rng.fold(seeds, 1000 + view) for view in range(1, views)], 0)
    with transform_lib.xla_compatible(jit_compile):
        x = transform(tf.concat([images] * views, 0) if views > 1 else images, seeds)
    acts = model.activations(x, layers, gradient_overrides=overrides) if layers else {}
    if views == 1:
        return objective.per_image(Accessor(model, acts, images))
    b = tf.shape(images)[0]
    total = 0.0
    for view in range(views):
        part = {name: a[view * b:(view + 1) * b] for name, a in acts.items()}
        total += objective.per_image(Accessor(model, part, images))
    return total / views


def objective_values(model, objective: ObjectiveLike, param, transforms=(), *, seed: int = 0,
                     step: int = 0, shared_draws: bool = False) -> np.ndarray:
    """Each image's objective value [B] for the param's current images (no optimization).

    The transforms draw as a render's step ``step`` would under ``seed`` (default: none drawn)."""
    objective = as_objective(objective).validate(model)
    transform, image_shape = _model_transform(model, param, transforms)
    ids = tf.zeros([image_shape[0]], tf.int64) if shared_draws else tf.range(image_shape[0], dtype=tf.int64)
    seeds = rng.per_image(tf.constant([int(seed) % (2 ** 31), int(step)], tf.int64), ids)
    return _forward(model, objective, param(), transform, seeds).numpy()


def make_step(model, objective, param, optimizer, transforms, *, image_ops: Sequence[ImageOp] = (),
              redirect_relu: bool = False, jit_compile: bool = False, seed: int | tf.Variable = 0,
              counter: tf.Variable | None = None, image_ids: tf.Variable | None = None,
              shared_draws: bool = False, views: int = 1) -> Step:
    """A compiled optimization :class:`Step`: param → transforms → model → objective → Adam.

    ``transforms`` is a list of transforms or one callable; for models with a fixed input size
    a final resize is fused into the last geometric warp (skipped when the sizes already match
    and there is nothing to warp). ``views`` (≥ 1): transformed copies of each image per step,
    their objective averaged (one model pass over views × B images a step).
    """
    if int(views) < 1:
        raise ValueError(f"views must be at least 1 (transformed copies per step), got {views}")
    variables = param.trainable_variables
    overrides = {**CONV_OVERRIDES, **(RELU_OVERRIDES if redirect_relu else {})}
    transform, image_shape = _model_transform(model, param, transforms)
    counter = counter if counter is not None else tf.Variable(0, dtype=tf.int64, trainable=False)
    base = seed if isinstance(seed, tf.Variable) else tf.Variable(int(seed) % (2 ** 31), dtype=tf.int64,
                                                                   trainable=False)
    if image_ids is None:
        image_ids = tf.Variable(tf.range(image_shape[0], dtype=tf.int64), trainable=False)

    def one_step():
        # the counter reads the steps taken so far during the step, and advances at its end
        index = counter.read_value() + 1
        # [B, 2]: each image's own draws, or (shared_draws) one draw for the whole batch, as Lucid
        ids = tf.zeros_like(image_ids) if shared_draws else image_ids
        seeds = rng.per_image(tf.stack([base, index]), ids)
        images = param()
        value = _forward(model, objective, images, transform, seeds, overrides, jit_compile, int(views))
        # the sum, not the mean: each image's gradient is its own, whatever the batch size
        grads = tf.gradients(-tf.reduce_sum(value), variables)
        optimizer.apply_gradients(zip(grads, variables))
        if image_ops:
            var = param.image_variable
            g = next((g for g, v in zip(grads, variables) if v is var), tf.zeros_like(var))
            new = var
            for op in image_ops:
                new = op(new, -g, index, param.space)  # -g: the ascent direction, as in the paper
            var.assign(new)
        with tf.control_dependencies([value]):
            counter.assign_add(1)
        return value

    def run(n):
        def body(i, _value, means):
            value = one_step()
            return i + 1, value, means.write(i, tf.reduce_mean(value))

        means = tf.TensorArray(tf.float32, size=n, element_shape=[])
        _, value, means = tf.while_loop(
            lambda i, *_: i < n, body, (tf.constant(0), tf.zeros([image_shape[0]]), means))
        return value, means.stack()

    return Step(tf.function(run, jit_compile=jit_compile, reduce_retracing=True), counter, base)


def _chunks(total: int, stops: Sequence[int], size: int) -> list[tuple[int, int]]:
    """Cut steps 1..total into (first, last) runs that end at every stop and are ≤ ``size`` long."""
    cuts = sorted({s for s in stops if 0 < s < total} | set(range(size, total, size)) | {total})
    out, start = [], 1
    for cut in cuts:
        out.append((start, cut))
        start = cut + 1
    return out


class Renderer:
    """A render whose compiled steps are kept: each :meth:`run` starts again from a fresh image.

    Renders that differ only in their seed, or in values the objective reads from variables
    (e.g. atlas icon batches whose directions live in a ``tf.Variable``), reuse one renderer and
    skip re-tracing the model. ``render`` is ``Renderer(...).run(...)``. A run restores the
    parameterization (fresh from ``param_f`` under the run's seed), the optimizer (which needs
    ``reset()``, as :class:`~lucid_atlas.optvis.optimizers.Adam` has, for a second run) and the step
    counter, so a reused renderer gives exactly the images a new one would.
    """

    def __init__(self, model, objective: ObjectiveLike, param_f: Callable[[], param_lib.Param] | None = None,
                 optimizer=None, transforms: Sequence[Callable] | Callable | None = None, *,
                 relu_gradient_steps: int = 16, image_ops: Sequence[ImageOp] = (), jit_compile: bool = False,
                 step_counter: tf.Variable | None = None, shared_draws: bool = False, views: int = 1):
        """``step_counter``: an int64 variable to count the steps in (default: a new one), for
        objectives that schedule by the step, such as Lucid's global step. ``shared_draws``: every
        image of the batch gets the same random transforms at a step (Lucid's way, which keeps
        stacked images aligned, as style transfer needs); by default each image draws its own.
        ``views``: transformed copies of each image per step, their objective averaged."""
        self.objective = as_objective(objective).validate(model)
        self._param_f = param_f or (lambda: param_lib.image(128))
        self.param = self._param_f()
        if not isinstance(self.param, param_lib.Param):
            raise TypeError(f"param_f returned a {type(self.param).__name__}, not a Param (such as param.image(128)): "
                            "a function returning a tensor is Lucid's way; run it through "
                            "lucid_atlas.lucid.optvis.render.make_t_image, or use lucid_atlas.lucid")
        for op in image_ops:
            op.check(self.param)
        if transforms is None:
            transforms = transform_lib.standard_transforms()
        self.optimizer = optimizer or _default_optimizer()
        self.optimizer.build(self.param.trainable_variables)
        self.relu_gradient_steps = relu_gradient_steps
        counter = step_counter if step_counter is not None else tf.Variable(0, dtype=tf.int64, trainable=False)
        seed = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.batch = int(self.param().shape[0])
        self._image_ids = tf.Variable(tf.range(self.batch, dtype=tf.int64), trainable=False)
        options = dict(image_ops=image_ops, jit_compile=jit_compile, seed=seed, counter=counter,
                       image_ids=self._image_ids, shared_draws=shared_draws, views=views)
        self._plain = make_step(model, self.objective, self.param, self.optimizer, transforms,
                                redirect_relu=False, **options)
        self._redirected = (make_step(model, self.objective, self.param, self.optimizer, transforms,
                                      redirect_relu=True, **options) if relu_gradient_steps > 0 else self._plain)
        self._runs = 0

    def restart(self, seed: int, image_ids: Sequence[int] | None = None) -> None:
        """Fresh image (seeded per image id), fresh optimizer state, step counter at zero."""
        if self._runs:
            if not hasattr(self.optimizer, "reset"):
                raise ValueError("running a Renderer again needs an optimizer with reset(), such as "
                                 "lucid_atlas.optvis.optimizers.Adam; or make a new Renderer")
            self.optimizer.reset()
        ids = list(range(self.batch)) if image_ids is None else [int(i) for i in image_ids]
        if len(ids) != self.batch or min(ids) < 0:
            raise ValueError(f"image_ids needs {self.batch} non-negative integers (one per image), got {len(ids)}")
        self._image_ids.assign(np.asarray(ids, np.int64))
        with param_lib.seeded(seed, ids):
            fresh = self._param_f()
        for var, value in zip(self.param.trainable_variables, fresh.trainable_variables):
            var.assign(value)
        self._plain.counter.assign(0)
        self._plain.seed.assign(seed % (2 ** 31))
        self._runs += 1

    @property
    def steps_taken(self) -> int:
        """Optimization steps taken since the last (re)start."""
        return int(self._plain.counter.numpy())

    def step(self, n: int = 1) -> np.ndarray:
        """``n`` more steps from the current image (no restart); each image's objective value at the last
        (the redirected ReLU gradient while fewer than ``relu_gradient_steps`` steps are taken)."""
        value = None
        while n > 0:
            taken = self.steps_taken
            redirected = taken < self.relu_gradient_steps
            k = min(n, self.relu_gradient_steps - taken) if redirected else n
            value, _ = (self._redirected if redirected else self._plain)(k)
            n -= k
        return value.numpy()

    def run(self, thresholds: Sequence[int] = (512,), *, seed: int | None = 0, progress: bool = True,
            callback: Callable[[int, np.ndarray], None] | None = None, desc: str | None = None,
            steps_per_call: int = 16, image_ids: Sequence[int] | None = None) -> RenderResult:
        """Optimize from a fresh image; the images at each threshold and their objective values.

        ``image_ids`` (one non-negative int per image, default 0..B-1) key each image's noise
        and transforms: an image with the same seed and id renders the same in any batch.
        """
        thresholds = sorted(int(t) for t in thresholds)
        if not thresholds or thresholds[0] < 1:
            raise ValueError("thresholds must be positive step counts, e.g. (64, 256): Lucid's threshold i is the "
                             "image after step i + 1, so its 0 is 1 here (or run Lucid code through lucid_atlas.lucid, "
                             "whose render_vis counts as Lucid does)")
        self.restart(int(seed if seed is not None else np.random.SeedSequence().entropy % (2 ** 31)), image_ids)
        images, values, history = [], [], []
        label = desc or str(self.objective)
        label = label if len(label) <= 48 else label[:47] + "…"
        bar = tqdm(total=thresholds[-1], desc=label, disable=not progress, unit="step")
        start = time.perf_counter()
        stops = [*thresholds, self.relu_gradient_steps]
        for first, last in _chunks(thresholds[-1], stops, max(1, steps_per_call)):
            step_fn = self._redirected if last <= self.relu_gradient_steps else self._plain
            value, means = step_fn(last - first + 1)
            value = value.numpy()
            history.extend(float(m) for m in means.numpy())
            bar.update(last - first + 1)
            bar.set_postfix(objective=f"{history[-1]:.3f}", refresh=False)
            if last in thresholds:
                snapshot = self.param().numpy()
                images.append(snapshot)
                values.append(value)
                if callback:
                    callback(last, snapshot)
        bar.close()
        elapsed = time.perf_counter() - start
        return RenderResult(thresholds, images, values, str(self.objective),
                            thresholds[-1] / elapsed if elapsed else 0.0, history)


def render(model, objective: ObjectiveLike, param_f: Callable[[], param_lib.Param] | None = None,
           optimizer=None, transforms: Sequence[Callable] | Callable | None = None,
           thresholds: Sequence[int] = (512,), *, seed: int | None = 0, progress: bool = True,
           relu_gradient_steps: int = 16, image_ops: Sequence[ImageOp] = (), jit_compile: bool = False,
           callback: Callable[[int, np.ndarray], None] | None = None, desc: str | None = None,
           steps_per_call: int = 16) -> RenderResult:
    """Maximize ``objective`` and return the images at each threshold with their objective values.

    :param model: a zoo model (``models.load(...)``, ``models.from_keras(...)``).
    :param objective: an :class:`~lucid_atlas.optvis.objectives.Objective` or a ``"layer:channel"`` string.
    :param param_f: makes the parameterization (default ``param.image(128)``).
    :param optimizer: a Keras optimizer (default Adam 0.05, ε on the bias-corrected √v̂).
    :param transforms: a list or a composed transform (default Lucid's
        :func:`~lucid_atlas.optvis.transform.standard_transforms`).
    :param thresholds: step counts (≥ 1) at which the images are kept.
    :param seed: makes runs reproducible (None: a fresh random seed).
    :param progress: show a tqdm bar with the objective.
    :param relu_gradient_steps: steps with Lucid's redirected ReLU gradient at the start (0: none).
    :param image_ops: operators on the image between steps (``regularizers``: decay, blur, clipping).
    :param jit_compile: compile the whole step with XLA (slower on CPU for depthwise convolutions).
    :param callback: called with (step, images) at each threshold.
    :param desc: the progress bar's label (default: the objective).
    :param steps_per_call: steps run per compiled call (the progress bar moves in such chunks).
    :returns: a :class:`RenderResult` (images and each image's value per threshold, the history).
    """
    renderer = Renderer(model, objective, param_f, optimizer, transforms, relu_gradient_steps=relu_gradient_steps,
                        image_ops=image_ops, jit_compile=jit_compile)
    return renderer.run(thresholds, seed=seed, progress=progress, callback=callback, desc=desc,
                        steps_per_call=steps_per_call)


def render_vis(model, objective: ObjectiveLike, param_f=None, optimizer=None, transforms=None,
               thresholds: Sequence[int] = (512,), *, show: bool = False, **options) -> list[np.ndarray]:
    """Lucid's ``render_vis``: one image batch (NHWC, [0, 1]) per threshold. See :func:`render`.
    ``show`` displays each threshold's batch (inline in a notebook), labelled with the objective.
    Lucid's ``verbose``, ``use_fixed_seed`` and ``relu_gradient_override`` are understood."""
    known = set(inspect.signature(render).parameters) - {"model", "objective", "param_f", "optimizer",
                                                          "transforms", "thresholds"}
    result = render(model, objective, param_f, optimizer, transforms, thresholds,
                    **lucid_compat.render_options(options, known))
    if show:
        from ..io.show import show as show_images

        for step, images, values in zip(result.thresholds, result.images, result.values):
            show_images(images, [f"{v:.3g}" for v in np.ravel(values)], title=f"step {step}: {result.objective}")
    return result.images
