"""The objective algebra: :class:`Objective` (a function of the activation accessor ``T``, its
description, the layers it reads, its checks), its operators, the ``"layer:channel"`` shorthand
and :func:`wrap_objective`."""

from __future__ import annotations

import functools
import numbers
from typing import Callable, Iterable, Union

import numpy as np
import tensorflow as tf

from ...models.base import ModelError
from .. import lucid_compat

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
        from .units import channel

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
