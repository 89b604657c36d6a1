"""Composable objectives: what feature visualization maximizes.

An :class:`Objective` maps an activation accessor ``T`` to a value per image (shape [batch])
or a batch-level scalar; ``T(layer)`` gives that layer's activations, ``T("input")`` the image
batch in [0, 1], ``T.model`` the model. Objectives combine with ``+ - * /`` and ``sum``; the
render loop maximizes the batch mean of the combined value. Layer names and channel indices
are checked against the model before anything runs (:meth:`Objective.validate`).

``diversity()`` and ``alignment()`` may leave their layer out: combined with terms that all
read one layer, they take it (and say so in the description).

>>> obj = channel("mixed4d", 42) + 0.5 * diversity()
>>> print(obj)
channel(mixed4d, 42) + 0.5 * diversity(mixed4d)
"""

from __future__ import annotations

import functools
import numbers
from typing import Callable, Iterable, Sequence, Union

import numpy as np
import tensorflow as tf

from ..models.base import ModelError
from . import lucid_compat
from .transform import gaussian_blur

INPUT = "input"


class Accessor:
    """``T``: activations of the layers an objective asked for, the input batch, and the model."""

    def __init__(self, model, activations: dict[str, tf.Tensor], images: tf.Tensor):
        self.model = model
        self._activations = activations
        self.images = images

    def __call__(self, name: str) -> tf.Tensor:
        if name == INPUT:
            return self.images
        if name == "logits":
            name = self.model.logits_layer
        return self._activations[name]


Validator = Callable[[object], None]


class Objective:
    """A value to maximize, built from ``T`` (see module docstring); combine with operators.

    An objective made without a layer it needs (``diversity()``) carries a ``binder`` that
    builds it for a layer; combining it with terms on one layer binds it to that layer.
    """

    def __init__(self, fn: Callable[[Accessor], tf.Tensor], description: str,
                 layers: Iterable[str] = (), validators: Iterable[Validator] = (), precedence: int = 3,
                 binder: Callable[[str], "Objective"] | None = None, signs: lucid_compat.Signs = ()):
        self.fn = fn
        self.description = description
        self.layers = tuple(dict.fromkeys(layers))
        self.validators = tuple(validators)
        self._precedence = precedence  # 1: sum, 2: product, 3: atom (for parentheses in descriptions)
        self.binder = binder
        self.signs = signs  # the sign each diversity/alignment term enters with (see lucid_compat)

    @property
    def name(self) -> str:
        """Lucid's name for the description."""
        return self.description

    @staticmethod
    def sum(objs: Iterable["ObjectiveLike"]) -> "Objective":
        """Lucid's ``Objective.sum``: the sum of several objectives."""
        objs = [as_objective(o) for o in objs]
        if not objs:
            raise ValueError("Objective.sum needs at least one objective")
        return sum(objs[1:], objs[0])

    def __call__(self, T: Accessor) -> tf.Tensor:
        if self.binder is not None:
            raise ValueError(self._unbound_message())
        return self.fn(T)

    @property
    def needs_layer(self) -> bool:
        """True while some term was made without a layer and has not taken one yet."""
        return self.binder is not None

    def bind(self, layer: str) -> "Objective":
        """This objective with every layer-less term on ``layer`` (unchanged when none is layer-less)."""
        return self if self.binder is None else self.binder(layer)

    def _unbound_message(self, model=None) -> str:
        example = ""
        if model is not None:
            names = [l.name for l in model.layers]
            example = f", e.g. '{names[len(names) // 2]}'" if names else ""
        return (f"'{self.description}' has a term without a layer and no single layer to take it from: give it "
                f"one{example} (diversity(layer), alignment(layer)), or add it to an objective on one layer")

    def _deferred(self, description: str, precedence: int, build: Callable[["Objective"], "Objective"]):
        """A layer-less objective whose bound form is ``build`` of this one bound."""
        return Objective(self.fn, description, (), (), precedence, binder=lambda layer: build(self.bind(layer)))

    def __repr__(self) -> str:
        return self.description

    def model_layers(self, model) -> tuple[str, ...]:
        """Model layers this objective reads (``logits`` resolved, ``input`` dropped)."""
        out = [model.logits_layer if l == "logits" else l for l in self.layers if l != INPUT]
        return tuple(dict.fromkeys(out))

    def validate(self, model) -> "Objective":
        """Check layer names and channels against ``model``; raises with the valid choices.
        Warns when diversity or alignment enters with Lucid's sign (here it means the opposite)."""
        if self.binder is not None:
            raise ValueError(self._unbound_message(model))
        lucid_compat.warn_lucid_signs(self.signs)
        for name in self.layers:
            if name == "logits":
                if model.logits_layer is None:
                    raise ModelError(f"model '{model.name}' has no logits layer for class objectives")
            elif name != INPUT:
                model.layer(name)
        for check in self.validators:
            check(model)
        return self

    def per_image(self, T: Accessor) -> tf.Tensor:
        """The value for each image of the batch, shape [batch] (scalars are broadcast)."""
        value = tf.convert_to_tensor(self.fn(T), tf.float32)  # a plain float is a constant objective
        batch = tf.shape(T.images)[0]
        return tf.broadcast_to(value, [batch]) if value.shape.rank == 0 else value

    # ---- algebra ------------------------------------------------------------------------------
    def _wrapped(self, precedence: int) -> str:
        return f"({self.description})" if self._precedence < precedence else self.description

    @staticmethod
    def _combine(a: "Objective", b: "Objective", op: Callable, sym: str, precedence: int) -> "Objective":
        if a.needs_layer != b.needs_layer:  # one side layer-less: it takes the other side's layer
            bound = b if a.needs_layer else a
            layers = [l for l in bound.layers if l != INPUT]
            if len(layers) > 1:
                raise ValueError(f"cannot tell which layer the layer-less term of "
                                 f"'{(a if a.needs_layer else b).description}' should use: the terms beside it "
                                 f"read {', '.join(layers)}; name one, e.g. diversity('{layers[0]}')")
            if layers:
                a, b = a.bind(layers[0]), b.bind(layers[0])
        right_prec = precedence + (1 if sym in ("-", "/") else 0)
        desc = f"{a._wrapped(precedence)} {sym} {b._wrapped(right_prec)}"
        if a.needs_layer or b.needs_layer:  # still nothing to take a layer from
            return Objective(a.fn, desc, (), (), precedence,
                             binder=lambda layer: Objective._combine(a.bind(layer), b.bind(layer), op, sym,
                                                                     precedence))
        return Objective(lambda T: op(a(T), b(T)), desc, a.layers + b.layers, a.validators + b.validators,
                         precedence, signs=lucid_compat.combined(a.signs, b.signs, sym))

    def __add__(self, other: "ObjectiveLike") -> "Objective":
        if isinstance(other, numbers.Number):
            if other == 0:
                return self
            desc = f"{self._wrapped(1)} + {other:g}"
            if self.needs_layer:
                return self._deferred(desc, 1, lambda o: o + other)
            return Objective(lambda T: self(T) + other, desc, self.layers, self.validators, 1, signs=self.signs)
        return self._combine(self, as_objective(other), tf.add, "+", 1)

    def __radd__(self, other: "ObjectiveLike") -> "Objective":
        if isinstance(other, numbers.Number):
            return self.__add__(other)  # lets sum([...]) start from 0
        return as_objective(other).__add__(self)

    def __sub__(self, other: "ObjectiveLike") -> "Objective":
        if isinstance(other, numbers.Number):
            return self + (-other)
        return self._combine(self, as_objective(other), tf.subtract, "-", 1)

    def __rsub__(self, other: "ObjectiveLike") -> "Objective":
        return (-self) + other if isinstance(other, numbers.Number) else as_objective(other) - self

    def __neg__(self) -> "Objective":
        if self.needs_layer:
            return self._deferred(f"-{self._wrapped(3)}", 2, lambda o: -o)
        return Objective(lambda T: -self(T), f"-{self._wrapped(3)}", self.layers, self.validators, 2,
                         signs=lucid_compat.scaled(self.signs, -1))

    def __mul__(self, other: Union["Objective", float]) -> "Objective":
        if isinstance(other, numbers.Number):
            if other == 1:
                return self
            desc = f"{other:g} * {self._wrapped(2)}"
            if self.needs_layer:
                return self._deferred(desc, 2, lambda o: other * o)
            return Objective(lambda T: other * self(T), desc, self.layers, self.validators, 2,
                             signs=lucid_compat.scaled(self.signs, other))
        return self._combine(self, as_objective(other), tf.multiply, "*", 2)

    __rmul__ = __mul__

    def __truediv__(self, other: Union["Objective", float]) -> "Objective":
        if isinstance(other, numbers.Number):
            return self * (1.0 / other)
        return self._combine(self, as_objective(other), tf.divide, "/", 2)


ObjectiveLike = Union[Objective, str]

def as_objective(obj: ObjectiveLike) -> Objective:
    """An objective from an Objective or the ``"layer:channel"`` shorthand."""
    if isinstance(obj, Objective):
        return obj
    if isinstance(obj, str):
        layer, sep, ch = obj.rpartition(":")
        if not sep or not ch.strip().lstrip("-").isdigit():
            raise ValueError(f"objective string must be 'layer:channel', e.g. 'mixed4d:42', got '{obj}'")
        return channel(layer, int(ch))
    if callable(obj):
        raise TypeError(f"{obj!r} is a plain function T -> value (Lucid's way); here an objective is an Objective: "
                        f"decorate its factory with @wrap_objective, or run Lucid code through lucid_atlas.lucid")
    raise TypeError(f"not an objective: {obj!r}")


def wrap_objective(fn: Callable[..., Callable[[Accessor], tf.Tensor]] | None = None) -> Callable[..., Objective]:
    """Decorator: a factory of ``T -> value`` functions becomes a factory of Objectives.

    Layers the objective reads are found from the arguments named ``layer``/``layer_name``/
    ``layer1``/``layer2``, so they are validated and fetched automatically. Works bare
    (``@wrap_objective``) and called, as Lucid writes it (``@wrap_objective()``).
    """
    import inspect

    if fn is None:
        return wrap_objective

    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def factory(*args, **kwargs) -> Objective:
        bound = signature.bind(*args, **kwargs)
        layers = [v for k, v in bound.arguments.items()
                  if k in ("layer", "layer_name", "layer1", "layer2") and isinstance(v, str)]
        shown = ", ".join(_short(v) for v in bound.arguments.values())
        return Objective(fn(*args, **kwargs), f"{fn.__name__}({shown})", layers)
    return factory


def _short(value) -> str:
    if isinstance(value, (np.ndarray, tf.Tensor)):
        return f"<{'x'.join(map(str, np.shape(value)))}>"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---- helpers -------------------------------------------------------------------------------------


def _select(t: tf.Tensor, batch: int | None) -> tf.Tensor:
    return t if batch is None else t[batch:batch + 1]


def _spatial_mean(t: tf.Tensor) -> tf.Tensor:
    """Mean over every axis but the batch: [B, ...] -> [B]."""
    return tf.reduce_mean(tf.reshape(t, [tf.shape(t)[0], -1]), axis=1)


def _spatial_sum(t: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.reshape(t, [tf.shape(t)[0], -1]), axis=1)


def _channel_check(layer: str, ch: int) -> Validator:
    return lambda model: model.check_channel(layer, ch)


def _vector_check(layer: str, vec) -> Validator:
    def check(model):
        depth = model.layer(layer).depth
        if np.shape(vec)[-1] != depth:
            raise ModelError(f"direction for layer '{layer}' has {np.shape(vec)[-1]} values but the "
                             f"layer has {depth} channels")
    return check


def _at_position(acts: tf.Tensor, x: int | None, y: int | None) -> tf.Tensor:
    """[B, H, W, C] -> [B, C] at (x, y) (column, row), default the center; dense layers pass through."""
    if acts.shape.rank == 2:
        return acts
    shape = tf.shape(acts)
    col = shape[2] // 2 if x is None else x
    row = shape[1] // 2 if y is None else y
    return acts[:, row, col]


def _batched_vec(vec, rank: int) -> tf.Tensor:
    """A direction [C] or per-image [B, C] reshaped to broadcast against rank-``rank`` activations."""
    v = tf.convert_to_tensor(vec, tf.float32)
    if v.shape.rank == 1:
        return v
    return tf.reshape(v, [tf.shape(v)[0]] + [1] * (rank - 2) + [tf.shape(v)[-1]])


def _masked_to_batch(values: tf.Tensor, batch: int | None, n: tf.Tensor) -> tf.Tensor:
    if batch is None:
        return values
    return tf.scatter_nd([[batch]], values, [n])


def _per_batch(layer_fn: Callable[[tf.Tensor], tf.Tensor], layer: str, batch: int | None):
    def inner(T: Accessor) -> tf.Tensor:
        acts = T(layer)
        values = layer_fn(_select(acts, batch))
        return _masked_to_batch(values, batch, tf.shape(acts)[0])
    return inner


# ---- built-in objectives (Lucid parity) ------------------------------------------------------------


def neuron(layer: str, ch: int, x: int | None = None, y: int | None = None, batch: int | None = None) -> Objective:
    """One unit: channel ``ch`` at spatial position (x, y), default the center.

    :param layer: layer name (``model.layer_names``); an unknown name fails naming the valid ones.
    :param ch: channel index in [0, depth); out of range fails naming the depth.
    :param x: column of the unit in the layer's map (default: the centre).
    :param y: row of the unit (default: the centre).
    :param batch: only this image of the batch (default: every image).
    """
    fn = _per_batch(lambda a: _at_position(a, x, y)[:, ch], layer, batch)
    where = "" if x is None and y is None else f", x={x}, y={y}"
    return Objective(fn, f"neuron({layer}, {ch}{where})", [layer], [_channel_check(layer, ch)])


def channel(layer: str, ch: int, batch: int | None = None) -> Objective:
    """A whole channel: the mean of ``ch`` over all spatial positions.

    :param layer: layer name (``model.layer_names``); an unknown name fails naming the valid ones.
    :param ch: channel index in [0, depth); out of range fails naming the depth.
    :param batch: only this image of the batch (default: every image).
    """
    fn = _per_batch(lambda a: _spatial_mean(a[..., ch]), layer, batch)
    extra = "" if batch is None else f", batch={batch}"
    return Objective(fn, f"channel({layer}, {ch}{extra})", [layer], [_channel_check(layer, ch)])


def _dot_cossim(acts: tf.Tensor, vec: tf.Tensor, cossim_pow: float, floor: float = 0.1) -> tf.Tensor:
    """dot(acts, vec) × max(floor, cos)^pow along channels, for every position."""
    dot = tf.reduce_sum(acts * vec, -1)
    if not cossim_pow:
        return dot
    cos = dot / (tf.norm(acts, axis=-1) * tf.norm(vec, axis=-1) + 1e-6)
    return dot * tf.maximum(floor, cos) ** cossim_pow


def direction(layer: str, vec, batch: int | None = None, cossim_pow: float = 0) -> Objective:
    """Activations along a direction [C] (or one per image [B, C]), averaged over positions.

    :param layer: layer name.
    :param vec: the direction, [C] for every image or [B, C] one per image (C = the layer's depth).
    :param batch: only this image of the batch (default: every image).
    :param cossim_pow: 0 for the plain dot product; n > 0 multiplies it by max(0.1, cos)^n.
    """
    def inner(T):
        acts = T(layer)
        v = _batched_vec(vec, acts.shape.rank)
        return _masked_to_batch(_spatial_mean(_dot_cossim(_select(acts, batch), v, cossim_pow)),
                                batch, tf.shape(acts)[0])
    return Objective(inner, f"direction({layer}, <{np.shape(vec)[-1]}>"
                     + (f", cossim_pow={cossim_pow:g})" if cossim_pow else ")"), [layer],
                     [_vector_check(layer, vec)])


def direction_neuron(layer: str, vec, x: int | None = None, y: int | None = None,
                     batch: int | None = None, cossim_pow: float = 0) -> Objective:
    """A direction at one spatial position (default the center)."""
    def inner(T):
        acts = T(layer)
        at = _at_position(_select(acts, batch), x, y)
        return _masked_to_batch(_dot_cossim(at, _batched_vec(vec, 2), cossim_pow), batch, tf.shape(acts)[0])
    return Objective(inner, f"direction_neuron({layer}, <{np.shape(vec)[-1]}>)", [layer],
                     [_vector_check(layer, vec)])


def direction_cossim(layer: str, vec, cossim_pow: float = 4, whitening=None, x: int | None = None,
                     y: int | None = None, batch: int | None = None) -> Objective:
    """The activation-atlas objective: dot × max(0.1, cos)^pow at the center neuron.

    :param layer: layer name.
    :param vec: [C], or one direction per image [B, C] (many atlas cells in one batch).
    :param cossim_pow: the power n of max(0.1, cos)^n (4 in Lucid's notebook, 2 for our icons).
    :param whitening: a [C, C] matrix (such as the inverse covariance) applied to ``vec`` for the
        dot product, as Lucid's ``direction_neuron_cossim_S`` does; None: not whitened.
    :param x: column of the neuron in the layer's map (default: the centre).
    :param y: row of the neuron (default: the centre).
    :param batch: only this image of the batch (default: every image).
    """
    S = None if whitening is None else tf.constant(np.asarray(whitening, np.float32))

    def inner(T):
        acts = T(layer)
        at = _at_position(_select(acts, batch), x, y)
        v = _batched_vec(vec, 2)
        vs = v if S is None else tf.linalg.matvec(S, v, transpose_a=True)
        dot = tf.reduce_sum(at * vs, -1)
        cos = dot / (tf.norm(at, axis=-1) * tf.norm(vs, axis=-1) + 1e-6)
        return _masked_to_batch(dot * tf.maximum(0.1, cos) ** cossim_pow, batch, tf.shape(acts)[0])
    return Objective(inner, f"direction_cossim({layer}, <{np.shape(vec)[-1]}>, pow={cossim_pow:g})",
                     [layer], [_vector_check(layer, vec)])


def direction_recipe(layer: str, vec, cossim_pow: float = 2, whitening=None, x: int | None = None,
                     y: int | None = None) -> Objective:
    """The objective of Lucid's activation-atlas recipe (``direction_neuron_cossim_S``), as it rendered
    the published atlases: d = mean over channels of acts·(S v) at the center neuron, times
    max(0.1, d / (1e-4 + |acts|))^pow. ``vec`` is [C] or one direction per image [B, C]."""
    S = None if whitening is None else tf.constant(np.asarray(whitening, np.float32))

    def inner(T):
        at = _at_position(T(layer), x, y)
        v = _batched_vec(vec, 2)
        vs = v if S is None else tf.linalg.matvec(S, v, transpose_a=True)
        dot = tf.reduce_mean(at * vs, -1)
        cos = dot / (1e-4 + tf.norm(at, axis=-1))
        return dot * tf.maximum(0.1, cos) ** cossim_pow
    return Objective(inner, f"direction_recipe({layer}, <{np.shape(vec)[-1]}>, pow={cossim_pow:g})",
                     [layer], [_vector_check(layer, vec)])


def tensor_direction(layer: str, vec, batch: int | None = None, cossim_pow: float = 0) -> Objective:
    """A spatially varying direction [H, W, C] (or [B, H, W, C]) matched position by position."""
    def inner(T):
        acts = _select(T(layer), batch)
        v = tf.convert_to_tensor(vec, tf.float32)
        if v.shape.rank == 3:
            v = v[None]
        v = tf.image.resize(v, tf.shape(acts)[1:3]) if v.shape.rank == 4 else v
        return _masked_to_batch(_spatial_mean(_dot_cossim(acts, v, cossim_pow)), batch, tf.shape(T(layer))[0])
    return Objective(inner, f"tensor_direction({layer}, <{'x'.join(map(str, np.shape(vec)))}>)", [layer],
                     [_vector_check(layer, vec)])


def deepdream(layer: str) -> Objective:
    """DeepDream: the mean squared activation of a whole layer."""
    return Objective(lambda T: _spatial_mean(T(layer) ** 2), f"deepdream({layer})", [layer])


def class_logit(label: int | str, batch: int | None = None) -> Objective:
    """A class's logit (before softmax); ``label`` is an index, class name or synset."""
    if batch is not None and not isinstance(batch, (int, np.integer)):
        raise TypeError(f"class_logit takes (label, batch=None), got a second argument {batch!r}: Lucid's "
                        f"class_logit(layer, label) is class_logit(label) here (the model knows its logits layer)")

    def check(model):
        model.class_index(label)

    def inner(T):
        logits = T("logits")
        idx = T.model.class_index(label)
        return _masked_to_batch(_select(logits, batch)[:, idx], batch, tf.shape(logits)[0])
    return Objective(inner, f"class_logit({label!r})" if isinstance(label, str) else f"class_logit({label})",
                     ["logits"], [check])


def total_variation(layer: str = INPUT) -> Objective:
    """Total variation (a penalty: subtract it): sum of absolute neighbor differences."""
    def inner(T):
        t = T(layer)
        return _spatial_sum(tf.abs(t[:, 1:] - t[:, :-1])) + _spatial_sum(tf.abs(t[:, :, 1:] - t[:, :, :-1]))
    return Objective(inner, "total_variation()" if layer == INPUT else f"total_variation({layer})", [layer])


def L1(layer: str = INPUT, constant: float = 0.0, batch: int | None = None) -> Objective:
    """L1 norm of ``T(layer) - constant`` per image (a penalty: subtract it)."""
    fn = _per_batch(lambda a: _spatial_sum(tf.abs(a - constant)), layer, batch)
    return Objective(fn, f"L1({'' if layer == INPUT else layer}{'' if not constant else f', {constant:g}'})", [layer])


def L2(layer: str = INPUT, constant: float = 0.0, epsilon: float = 1e-6, batch: int | None = None) -> Objective:
    """L2 norm of ``T(layer) - constant`` per image (a penalty: subtract it)."""
    fn = _per_batch(lambda a: tf.sqrt(epsilon + _spatial_sum((a - constant) ** 2)), layer, batch)
    return Objective(fn, f"L2({'' if layer == INPUT else layer}{'' if not constant else f', {constant:g}'})", [layer])


def blur_input_each_step() -> Objective:
    """A penalty whose gradient step equals blurring the input a little every step (subtract it)."""
    def inner(T):
        t = T(INPUT)
        blurred = tf.stop_gradient(gaussian_blur(t, 1.0, 1))
        return 0.5 * _spatial_sum((t - blurred) ** 2)
    return Objective(inner, "blur_input_each_step()", [INPUT])


def _layer_less(name: str, factory: Callable[[str], Objective]) -> Objective:
    """``name()`` without a layer: it takes the layer of the terms it is combined with."""
    def unbound(T):
        raise ValueError(f"{name}() has no layer: give it one, or add it to an objective on one layer")
    return Objective(unbound, f"{name}()", binder=factory)


def alignment(layer: str | None = None, decay_ratio: float = 2.0) -> Objective:
    """How much neighbouring batch images differ at ``layer`` (a penalty: subtract it); without a
    layer it takes the layer of the terms it is combined with."""
    if layer is None:
        return _layer_less("alignment", lambda l: alignment(l, decay_ratio))

    def inner(T):
        acts = T(layer)
        n = acts.shape[0]
        if n is None or n < 2:
            return tf.zeros([])
        total = tf.zeros([])
        for d in range(1, 5):
            if d >= n:
                break
            diff = tf.reduce_mean((acts[:-d] - acts[d:]) ** 2, axis=list(range(1, acts.shape.rank)))
            total += tf.reduce_sum(diff) / decay_ratio ** d
        return total
    return Objective(inner, f"alignment({layer})", [layer], signs=lucid_compat.term_sign("alignment"))


def diversity(layer: str | None = None) -> Objective:
    """Lucid's diversity: minus the mean Gram-matrix cosine between different images of the batch
    (a reward: ``channel(...) + k * diversity()`` makes the batch's images differ).

    :param layer: the layer whose Gram matrices are compared; None: the layer of the terms it is
        combined with (an error names the choices when they read several layers, or none).
    """
    if layer is None:
        return _layer_less("diversity", diversity)

    def inner(T):
        acts = T(layer)
        n = tf.shape(acts)[0]
        flat = tf.reshape(acts, [n, -1, acts.shape[-1]])
        grams = tf.matmul(flat, flat, transpose_a=True)
        grams = tf.math.l2_normalize(tf.reshape(grams, [n, -1]), axis=1, epsilon=1e-10)
        sims = tf.matmul(grams, grams, transpose_b=True)
        off_diagonal = tf.reduce_sum(sims) - tf.linalg.trace(sims)
        return -off_diagonal / tf.cast(n, tf.float32)
    return Objective(inner, f"diversity({layer})", [layer], signs=lucid_compat.term_sign("diversity"))


def input_diff(orig_img) -> Objective:
    """RMS distance from a reference image in [0, 1] (a penalty: subtract it)."""
    ref = tf.constant(np.asarray(orig_img, np.float32))

    def inner(T):
        t = T(INPUT)
        r = tf.image.resize(ref[None] if ref.shape.rank == 3 else ref, tf.shape(t)[1:3])
        return tf.sqrt(_spatial_mean((t - r) ** 2))
    return Objective(inner, "input_diff(<image>)", [INPUT])


def channel_interpolate(layer1: str, ch1: int, layer2: str, ch2: int) -> Objective:
    """Images across the batch morph from channel ``ch1`` of ``layer1`` to ``ch2`` of ``layer2``."""
    def inner(T):
        a1, a2 = T(layer1), T(layer2)
        n = tf.shape(a1)[0]
        w = tf.cast(tf.range(n), tf.float32) / tf.maximum(1.0, tf.cast(n - 1, tf.float32))
        return (1 - w) * _spatial_mean(a1[..., ch1]) + w * _spatial_mean(a2[..., ch2])
    return Objective(inner, f"channel_interpolate({layer1}, {ch1}, {layer2}, {ch2})", [layer1, layer2],
                     [_channel_check(layer1, ch1), _channel_check(layer2, ch2)])


def penalize_boundary_complexity(w: int = 20, C: float = 0.5, mask=None, mean: bool = False) -> Objective:
    """Keeps a border of width ``w`` plain (near gray ``C`` and smooth); already negated. ``mean``:
    averaged over the image's pixels and channels instead of summed (Lucid), so its size does not
    change its weight."""
    if not isinstance(w, (int, np.integer)):
        raise TypeError(f"penalize_boundary_complexity takes the border width w first, got {w!r}: Lucid's "
                        f"penalize_boundary_complexity(shape, w) is penalize_boundary_complexity(w) here "
                        f"(the image's shape is read at render time)")
    def inner(T):
        t = T(INPUT)
        if mask is None:
            h, wd = tf.shape(t)[1], tf.shape(t)[2]
            rows = tf.range(h)[:, None]
            cols = tf.range(wd)[None, :]
            inside = (rows >= w) & (rows < h - w) & (cols >= w) & (cols < wd - w)
            m = tf.cast(~inside, tf.float32)[None, :, :, None]
        else:
            m = tf.constant(np.asarray(mask, np.float32))
        blurred = gaussian_blur(t, 1.5, 5)
        diffs = (blurred - t) ** 2 + 0.8 * (t - C) ** 2
        total = _spatial_sum(diffs * m)
        if mean:
            total = total / tf.cast(tf.reduce_prod(tf.shape(t)[1:]), tf.float32)
        return -total
    return Objective(inner, f"penalize_boundary_complexity(w={w})", [INPUT])


def radial_weights(h: int, w: int, centre: float) -> np.ndarray:
    """[h, w] weights from ``centre`` at the middle to 1 at the corners, growing with the squared
    radius: where a penalty should be weakest (the object) and strongest (the surroundings)."""
    ys = (np.arange(h) + 0.5) / h - 0.5
    xs = (np.arange(w) + 0.5) / w - 0.5
    radius2 = (ys[:, None] ** 2 + xs[None, :] ** 2) / 0.5
    return (centre + (1.0 - centre) * radius2).astype(np.float32)


def penalize_opacity(centre: float = 0.25) -> Objective:
    """The mean opacity of an RGBA image, weighed by distance from its centre (``centre`` at the
    middle, 1 at the corners, growing with the squared radius); already negated. With an alpha
    parameterization it keeps what the objective does not need transparent, and the object centred."""
    def inner(T):
        t = T(INPUT)
        if t.shape[-1] != 4:
            raise ValueError("penalize_opacity needs an RGBA image: param.image(..., alpha=True)")
        prior = tf.constant(radial_weights(t.shape[1], t.shape[2], centre))
        return -tf.reduce_mean(t[..., 3] * prior, axis=[1, 2])
    return Objective(inner, f"penalize_opacity(centre={centre:g})", [INPUT])


def relative_to(term: ObjectiveLike, reference: ObjectiveLike, floor: float = 1e-3) -> Objective:
    """``term`` × each image's current value of ``reference`` (at least ``floor``, no gradient through
    it): a regularizer whose weight keeps its meaning on any model and layer, since adding it to
    ``reference`` steers like maximizing log(reference) + term, whatever the reference's scale."""
    term, reference = as_objective(term), as_objective(reference)

    def inner(T):
        scale = tf.stop_gradient(tf.maximum(reference.per_image(T), floor))
        return term.per_image(T) * scale
    return Objective(inner, f"relative_to({term}, {reference})", term.layers + reference.layers,
                     term.validators + reference.validators)


def objective_sum(objectives: Sequence[ObjectiveLike]) -> Objective:
    """The sum of several objectives (same as ``sum(objectives)``)."""
    return sum(as_objective(o) for o in objectives)


__getattr__ = lucid_compat.name_lookup(__name__, lucid_compat.OBJECTIVES_HINTS)
