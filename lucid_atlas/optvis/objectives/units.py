"""Objectives on units and directions: a neuron, a channel, a direction (plain, at a neuron, with a
cosine, Lucid's atlas recipe, spatially varying), DeepDream, a class logit, channel interpolation."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .core import Objective
from .parts import (_at_position, _batched_vec, _channel_check, _masked_to_batch, _per_batch, _select,
                    _spatial_mean, _vector_check, dot_cossim)


def whiten(vec, whitening) -> tf.Tensor:
    """The direction(s) [C] or [B, C] as the whitened objectives compare them with activations:
    Sᵀv for each direction v (Lucid's ``direction_neuron_cossim_S``); ``whitening`` None: v as is.

    Computed once for a fixed direction; a caller whose directions change between renders (a
    ``tf.Variable``) can store them whitened and pass ``whitening=None``, instead of the step
    reading the [C, C] matrix once per image at every step."""
    v = tf.convert_to_tensor(vec, tf.float32)
    if whitening is None:
        return v
    return tf.linalg.matvec(tf.convert_to_tensor(whitening, tf.float32), v, transpose_a=True)


def _whitened_direction(vec, whitening):
    """A callable giving the whitened direction: precomputed when ``vec`` is fixed, else at each call."""
    if whitening is None or isinstance(vec, tf.Variable) or not tf.executing_eagerly():
        S = None if whitening is None else tf.constant(np.asarray(whitening, np.float32))
        return lambda: _batched_vec(whiten(vec, S), 2)
    fixed = _batched_vec(whiten(vec, whitening), 2)
    return lambda: fixed


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
        return _masked_to_batch(_spatial_mean(dot_cossim(_select(acts, batch), v, cossim_pow)),
                                batch, tf.shape(acts)[0])
    return Objective(inner, f"direction({layer}, <{np.shape(vec)[-1]}>"
                     + (f", cossim_pow={cossim_pow:g})" if cossim_pow else ")"), [layer],
                     [_vector_check(layer, vec)])


def direction_neuron(layer: str, vec, x: int | None = None, y: int | None = None,
                     *, batch: int | None = None, cossim_pow: float = 0) -> Objective:
    """A direction at one spatial position (default the center)."""
    def inner(T):
        acts = T(layer)
        at = _at_position(_select(acts, batch), x, y)
        return _masked_to_batch(dot_cossim(at, _batched_vec(vec, 2), cossim_pow), batch, tf.shape(acts)[0])
    return Objective(inner, f"direction_neuron({layer}, <{np.shape(vec)[-1]}>)", [layer],
                     [_vector_check(layer, vec)])


def direction_cossim(layer: str, vec, cossim_pow: float = 4, whitening=None, *, x: int | None = None,
                     y: int | None = None, batch: int | None = None) -> Objective:
    """The activation-atlas objective: dot × max(0.1, cos)^pow at the center neuron.

    :param layer: layer name.
    :param vec: [C], or one direction per image [B, C] (many atlas cells in one batch).
    :param cossim_pow: the power n of max(0.1, cos)^n (4 in Lucid's notebook, 0.75 for our icons).
    :param whitening: a [C, C] matrix (such as the inverse covariance) applied to ``vec`` for the
        dot product, as Lucid's ``direction_neuron_cossim_S`` does; None: not whitened.
    :param x: column of the neuron in the layer's map (default: the centre).
    :param y: row of the neuron (default: the centre).
    :param batch: only this image of the batch (default: every image).
    """
    direction = _whitened_direction(vec, whitening)

    def inner(T):
        acts = T(layer)
        at = _at_position(_select(acts, batch), x, y)
        vs = direction()
        return _masked_to_batch(dot_cossim(at, vs, cossim_pow), batch, tf.shape(acts)[0])
    return Objective(inner, f"direction_cossim({layer}, <{np.shape(vec)[-1]}>, pow={cossim_pow:g})",
                     [layer], [_vector_check(layer, vec)])


def direction_recipe(layer: str, vec, cossim_pow: float = 2, whitening=None, *, x: int | None = None,
                     y: int | None = None) -> Objective:
    """The objective of Lucid's activation-atlas recipe (``direction_neuron_cossim_S``), as it rendered
    the published atlases: d = mean over channels of acts·(S v) at the center neuron, times
    max(0.1, d / (1e-4 + |acts|))^pow. ``vec`` is [C] or one direction per image [B, C]."""
    direction = _whitened_direction(vec, whitening)

    def inner(T):
        at = _at_position(T(layer), x, y)
        vs = direction()
        return dot_cossim(at, vs, cossim_pow, eps=1e-4, reduce="mean", vector_norm=False)
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
        return _masked_to_batch(_spatial_mean(dot_cossim(acts, v, cossim_pow)), batch, tf.shape(T(layer))[0])
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


def channel_interpolate(layer1: str, ch1: int, layer2: str, ch2: int) -> Objective:
    """Images across the batch morph from channel ``ch1`` of ``layer1`` to ``ch2`` of ``layer2``."""
    def inner(T):
        a1, a2 = T(layer1), T(layer2)
        n = tf.shape(a1)[0]
        w = tf.cast(tf.range(n), tf.float32) / tf.maximum(1.0, tf.cast(n - 1, tf.float32))
        return (1 - w) * _spatial_mean(a1[..., ch1]) + w * _spatial_mean(a2[..., ch2])
    return Objective(inner, f"channel_interpolate({layer1}, {ch1}, {layer2}, {ch2})", [layer1, layer2],
                     [_channel_check(layer1, ch1), _channel_check(layer2, ch2)])
