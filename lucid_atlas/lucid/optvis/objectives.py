"""Lucid's ``lucid.optvis.objectives``: Lucid's names, signatures, signs and values.

Each objective's value is Lucid's batch scalar (a mean over the batch where Lucid takes one, a
sum where Lucid sums), so weighted sums mean what they mean in Lucid: ``diversity`` is a
similarity (subtract it), ``alignment`` minus a distance (add it), ``neuron(x=, y=)`` reads x
along the height. Built on :mod:`lucid_atlas.optvis.objectives` where the two agree; where ours
differs on purpose (sign, position, per-image scale) the Lucid formula is written here.

An objective may also be any function ``T -> scalar``, as in Lucid; the layers it reads are
found by running it once (``T("labels")`` gives the model's class names).
"""

from __future__ import annotations

import functools
import numbers
from typing import Callable, Iterable

import numpy as np
import tensorflow as tf

from ...optvis import objectives as ours

__all__ = [
    "Objective", "wrap_objective", "handle_batch", "as_objective", "neuron", "channel", "direction",
    "direction_cossim", "direction_neuron", "tensor_direction", "deepdream", "total_variation", "L1", "L2",
    "blur_input_each_step", "blur_alpha_each_step", "channel_interpolate", "penalize_boundary_complexity",
    "alignment", "diversity", "input_diff", "class_logit",
]


class LucidT:
    """Lucid's ``T``: ``T(layer)``, ``T("input")``, ``T("labels")`` (class names); dense layers
    [N, C] read as [N, 1, 1, C] when ``nhwc`` (Lucid's ``require_format='NHWC'``)."""

    def __init__(self, T, nhwc: bool = False):
        self._T = T.unwrapped if isinstance(T, LucidT) else T
        self.model = self._T.model
        self.images = self._T.images
        self._nhwc = nhwc or (isinstance(T, LucidT) and T._nhwc)

    @property
    def unwrapped(self):
        return self._T

    def __call__(self, name: str):
        if name == "labels":
            return list(self.model.labels)
        t = self._T(name)
        if self._nhwc and t.shape.rank == 2:
            return t[:, None, None, :]
        return t


class Objective(ours.Objective):
    """Lucid's Objective: ``Objective(objective_func, name="", description="")``, with ``+ - *``
    and ``Objective.sum`` building Lucid's names and descriptions."""

    name = ""  # Lucid's plain attribute (our engine's is a property)

    def __init__(self, objective_func: Callable, name: str = "", description: str = "",
                 layers: Iterable[str] | None = None, validators: Iterable = ()):
        func = objective_func

        @tf.autograph.experimental.do_not_convert  # plain TF code; lambdas' source confuses AutoGraph
        def fn(T):
            return func(T if isinstance(T, LucidT) else LucidT(T))
        super().__init__(fn, description or name or getattr(objective_func, "__name__", "objective"),
                         layers or (), validators)
        self.name = name
        self.description = description
        self.layers_known = layers is not None  # False: the render finds them by running fn once

    def __repr__(self) -> str:
        return self.description or self.name or "Objective"

    def _merged(self, other: "Objective", fn: Callable, name: str, description: str) -> "Objective":
        known = self.layers_known and other.layers_known
        return Objective(fn, name, description, self.layers + other.layers if known else None,
                         self.validators + other.validators)

    def __add__(self, other):
        if isinstance(other, numbers.Number):
            return Objective(lambda T: other + self(T), self.name, self.description,
                             self.layers if self.layers_known else None, self.validators)
        other = as_objective(other)
        return self._merged(other, lambda T: self(T) + other(T), ", ".join([self.name, other.name]),
                            "Sum(" + " +\n".join([self.description, other.description]) + ")")

    def __radd__(self, other):
        return self.__add__(other)

    def __neg__(self):
        return -1 * self

    def __sub__(self, other):
        return self + (-1 * as_objective(other) if not isinstance(other, numbers.Number) else -other)

    def __rsub__(self, other):
        return (-1 * self) + other

    def __mul__(self, other):
        if isinstance(other, numbers.Number):
            return Objective(lambda T: other * self(T), self.name, self.description,
                             self.layers if self.layers_known else None, self.validators)
        other = as_objective(other)
        return self._merged(other, lambda T: self(T) * other(T), self.name, self.description)

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, other):
        if isinstance(other, numbers.Number):
            return self * (1.0 / other)
        other = as_objective(other)
        return self._merged(other, lambda T: self(T) / other(T), self.name, self.description)

    @staticmethod
    def sum(objs):
        objs = [as_objective(o) for o in objs]
        known = all(o.layers_known for o in objs)
        return Objective(lambda T: sum(obj(T) for obj in objs), ", ".join(o.name for o in objs),
                         "Sum(" + " +\n".join(o.description for o in objs) + ")",
                         [l for o in objs for l in o.layers] if known else None,
                         [v for o in objs for v in o.validators])


def _arg_str(arg) -> str:
    text = str(arg)
    return "..." if len(text) > 15 or "\n" in text else text


def wrap_objective(require_format: str | None = None, handle_batch: bool = False):
    """Lucid's decorator: ``@wrap_objective()`` turns ``(args) -> (T -> scalar)`` into an
    Objective factory named after the function (its layers are found when it renders)."""
    if callable(require_format):  # used bare: @wrap_objective
        return wrap_objective()(require_format)

    def decorate(f):
        @functools.wraps(f)
        def factory(*args, **kwds):
            objective_func = f(*args, **kwds)
            description = f.__name__.title() + " [" + ", ".join(_arg_str(a) for a in args) + "]"
            nhwc = require_format == "NHWC"
            return Objective(lambda T: objective_func(LucidT(T, nhwc)), f.__name__, description)
        return factory
    return decorate


def handle_batch(batch: int | None = None):
    """Lucid's decorator: ``T(layer)`` seen through ``[batch:batch+1]`` when ``batch`` is an int."""
    def decorate(f):
        def inner(T):
            if not isinstance(batch, int):
                return f(T)

            class Batched(LucidT):
                def __call__(self, name):
                    t = super().__call__(name)
                    return t if name == "labels" else t[batch:batch + 1]
            return f(Batched(T))
        return inner
    return decorate


def as_objective(obj) -> Objective:
    """An Objective from an Objective, a ``T -> scalar`` function, or the ``"layer:n"`` shorthand."""
    if isinstance(obj, Objective):
        return obj
    if isinstance(obj, ours.Objective):  # one of ours: Lucid's scalar is the batch mean
        return Objective(lambda T: tf.reduce_mean(obj.per_image(T.unwrapped)), obj.description, obj.description,
                         obj.layers, obj.validators)
    if isinstance(obj, str):
        layer, _, n = obj.partition(":")
        return channel(layer.strip(), int(n))
    if callable(obj):
        return Objective(obj, getattr(obj, "__name__", "objective"))
    raise TypeError(f"not an objective: {obj!r} (give an Objective, a function T -> scalar, or 'layer:n')")


def _desc(name: str, *args) -> str:
    return name.title() + " [" + ", ".join(_arg_str(a) for a in args) + "]"


def _mean_of(engine: ours.Objective, name: str, args: tuple, batch: int | None = None) -> Objective:
    """Lucid's batch mean of one of our per-image objectives (the one image ``batch``, if given)."""
    def inner(T):
        values = engine.per_image(T.unwrapped)
        return tf.reduce_mean(values) if batch is None else values[batch]
    return Objective(inner, name, _desc(name, *args), engine.layers, engine.validators)


def _sum_of(engine: ours.Objective, name: str, args: tuple) -> Objective:
    """Lucid's batch sum (what Lucid's optimizer does with a per-image vector) of one of ours."""
    return Objective(lambda T: tf.reduce_sum(engine.per_image(T.unwrapped)), name, _desc(name, *args),
                     engine.layers, engine.validators)


# ---- Lucid's objectives --------------------------------------------------------------------------


def neuron(layer_name: str, channel_n: int, x: int | None = None, y: int | None = None,
           batch: int | None = None) -> Objective:
    """One unit at (x, y), x along the height and y along the width as in Lucid (default the center)."""
    return _mean_of(ours.neuron(layer_name, channel_n, x=y, y=x), "neuron", (layer_name, channel_n, x, y, batch),
                    batch)


def channel(layer: str, n_channel: int, batch: int | None = None) -> Objective:
    """A whole channel's mean."""
    return _mean_of(ours.channel(layer, n_channel), "channel", (layer, n_channel, batch), batch)


def _lucid_cossim(x: tf.Tensor, v: tf.Tensor, cossim_pow: float) -> tf.Tensor:
    """Lucid's _dot_cossim: mean of dot × max(0.1, cos)^pow, with ε = 1e-4 on each norm."""
    dot = tf.reduce_sum(x * v, -1)
    if cossim_pow == 0:
        return tf.reduce_mean(dot)
    cos = dot / (1e-4 + tf.norm(x, axis=-1)) / (1e-4 + tf.norm(v, axis=-1))
    return tf.reduce_mean(dot * tf.maximum(0.1, cos) ** cossim_pow)


def _direction(name: str, layer: str, vec, cossim_pow: float, batch, x=None, y=None, at_position=False):
    v = tf.constant(np.asarray(vec, np.float32))

    @handle_batch(batch)
    def inner(T):
        acts = T(layer)
        if at_position:
            shape = tf.shape(acts)
            row = shape[1] // 2 if x is None else x
            col = shape[2] // 2 if y is None else y
            acts = acts[:, row:row + 1, col:col + 1]
        return _lucid_cossim(acts, v, cossim_pow)
    engine = ours.direction(layer, vec)  # for its layer and length checks
    return Objective(lambda T: inner(LucidT(T, nhwc=True)), name, _desc(name, layer, vec, cossim_pow, batch),
                     engine.layers, engine.validators)


def direction(layer: str, vec, cossim_pow: float = 0, batch: int | None = None) -> Objective:
    """Activations along ``vec`` [C], averaged over positions (× max(0.1, cos)^cossim_pow)."""
    return _direction("direction", layer, vec, cossim_pow, batch)


direction_cossim = direction  # Lucid's alias (ours, the atlas objective, is another function)


def direction_neuron(layer_name: str, vec, x: int | None = None, y: int | None = None, cossim_pow: float = 0,
                     batch: int | None = None) -> Objective:
    """``vec`` at one position (x along the height, as Lucid), default the center."""
    return _direction("direction_neuron", layer_name, vec, cossim_pow, batch, x, y, at_position=True)


def tensor_direction(layer: str, vec, cossim_pow: float = 0, batch: int | None = None) -> Objective:
    """A spatial direction [H, W, C] (or [1, H, W, C]) matched against the layer's center H × W crop."""
    vec = np.asarray(vec, np.float32)
    if vec.ndim not in (3, 4):
        raise ValueError(f"tensor_direction takes a [H, W, C] or [1, H, W, C] vec, got shape {vec.shape}")
    v = tf.constant(vec if vec.ndim == 4 else vec[None])
    vh, vw = v.shape[1], v.shape[2]

    @handle_batch(batch)
    def inner(T):
        acts = T(layer)
        shape = tf.shape(acts)
        top, left = (shape[1] - vh) // 2, (shape[2] - vw) // 2
        return _lucid_cossim(acts[:, top:top + vh, left:left + vw], v, cossim_pow)
    engine = ours.direction(layer, vec.reshape(-1, vec.shape[-1])[0])
    return Objective(lambda T: inner(LucidT(T, nhwc=True)), "tensor_direction",
                     _desc("tensor_direction", layer, vec, cossim_pow, batch), engine.layers, engine.validators)


def deepdream(layer: str) -> Objective:
    """The mean squared activation of a layer (Mordvintsev et al., 2015)."""
    return _mean_of(ours.deepdream(layer), "deepdream", (layer,))


def total_variation(layer: str = "input") -> Objective:
    """Total variation (a penalty), summed over the batch as Lucid's optimizer sums it."""
    return _sum_of(ours.total_variation(layer), "total_variation", (layer,))


def L1(layer: str = "input", constant: float = 0) -> Objective:
    """The L1 norm of ``T(layer) - constant`` over the whole batch (a penalty)."""
    return _sum_of(ours.L1(layer, constant), "L1", (layer, constant))


def L2(layer: str = "input", constant: float = 0, epsilon: float = 1e-6) -> Objective:
    """The L2 norm of ``T(layer) - constant`` over the whole batch (one norm, not one per image)."""
    return Objective(lambda T: tf.sqrt(epsilon + tf.reduce_sum((T(layer) - constant) ** 2)), "L2",
                     _desc("L2", layer, constant, epsilon), [layer])


def _tf_blur(x: tf.Tensor, w: int = 3) -> tf.Tensor:
    """Lucid's blur: a w × w kernel, 1 inside and 0.5 on its rim, normalized where it overlaps the image."""
    k = np.full((w, w), 0.5, np.float32)
    k[1:-1, 1:-1] = 1.0
    kernel = tf.constant(np.tile(k[:, :, None, None], (1, 1, x.shape[-1], 1)))

    def conv(t):
        return tf.nn.depthwise_conv2d(t, kernel, [1, 1, 1, 1], "SAME")
    return conv(x) / conv(tf.ones_like(x))


def blur_input_each_step() -> Objective:
    """Minimizing it blurs the input a little every step (Nguyen et al., 2015)."""
    def inner(T):
        t = T("input")
        return 0.5 * tf.reduce_sum((t - tf.stop_gradient(_tf_blur(t))) ** 2)
    return Objective(inner, "blur_input_each_step", _desc("blur_input_each_step"), ["input"])


def blur_alpha_each_step() -> Objective:
    """The same on the alpha channel of an RGBA parameterization."""
    def inner(T):
        t = T("input")[..., 3:4]
        return 0.5 * tf.reduce_sum((t - tf.stop_gradient(_tf_blur(t))) ** 2)
    return Objective(inner, "blur_alpha_each_step", _desc("blur_alpha_each_step"), ["input"])


def channel_interpolate(layer1: str, n_channel1: int, layer2: str, n_channel2: int) -> Objective:
    """Across the batch, from 100 % layer1:n_channel1 (first image) to 100 % layer2:n_channel2 (last)."""
    return _sum_of(ours.channel_interpolate(layer1, n_channel1, layer2, n_channel2), "channel_interpolate",
                   (layer1, n_channel1, layer2, n_channel2))


def penalize_boundary_complexity(shp, w: int = 20, mask=None, C: float = 0.5) -> Objective:
    """Minus the roughness and distance from gray ``C`` of a border ``w`` wide of an image of shape ``shp``."""
    if mask is None:
        mask = np.ones(shp, np.float32)
        mask[:, w:-w, w:-w] = 0
    m = tf.constant(np.asarray(mask, np.float32))

    def inner(T):
        arr = T("input")
        diffs = (_tf_blur(arr, w=5) - arr) ** 2 + 0.8 * (arr - C) ** 2
        return -tf.reduce_sum(diffs * m)
    return Objective(inner, "penalize_boundary_complexity", _desc("penalize_boundary_complexity", shp, w),
                     ["input"])


def alignment(layer: str, decay_ratio: float = 2) -> Objective:
    """Minus the distance between neighbouring images at ``layer`` (add it to align them)."""
    return -1 * _sum_of(ours.alignment(layer, decay_ratio), "alignment", (layer, decay_ratio))


def diversity(layer: str) -> Objective:
    """The mean Gram-matrix cosine similarity between the batch's images (subtract it to diversify)."""
    engine = ours.diversity(layer)
    return Objective(lambda T: -engine(T.unwrapped), "diversity", _desc("diversity", layer), engine.layers)


def input_diff(orig_img) -> Objective:
    """The RMS difference between the whole batch and ``orig_img`` (as a penalty, times a negative number)."""
    ref = tf.constant(np.asarray(orig_img, np.float32))
    return Objective(lambda T: tf.sqrt(tf.reduce_mean((T("input") - ref) ** 2)), "input_diff",
                     _desc("input_diff", orig_img), ["input"])


def class_logit(layer: str, label, batch: int | None = None) -> Objective:
    """The sum over the batch of one class's value at ``layer`` (a logits layer); ``label`` is an
    index or a class name."""
    @handle_batch(batch)
    def inner(T):
        class_n = label if isinstance(label, (int, np.integer)) else T.model.class_index(label)
        return tf.reduce_sum(T(layer)[:, class_n])

    def check(model):
        model.layer(layer)
        if not isinstance(label, (int, np.integer)):
            model.class_index(label)
    return Objective(inner, "class_logit", _desc("class_logit", layer, label), [layer], [check])
