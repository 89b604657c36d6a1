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

The package's rooms: :mod:`.core` (the algebra), :mod:`.units` (neurons, channels, directions,
classes), :mod:`.batch` (diversity, alignment), :mod:`.penalties`, :mod:`.parts` (shared pieces).
"""

from __future__ import annotations

from .. import lucid_compat
from .batch import alignment, diversity
from .core import INPUT, Accessor, Objective, ObjectiveLike, Validator, as_objective, wrap_objective
from .parts import dot_cossim
from .penalties import (
    L1, L2, blur_input_each_step, input_diff, objective_sum, penalize_boundary_complexity, penalize_opacity,
    radial_weights, relative_to, total_variation,
)
from .units import (
    channel, channel_interpolate, class_logit, deepdream, direction, direction_cossim, direction_neuron,
    direction_recipe, neuron, tensor_direction, whiten,
)

__all__ = [
    "INPUT", "L1", "L2", "Accessor", "Objective", "ObjectiveLike", "Validator", "alignment", "as_objective",
    "blur_input_each_step", "channel", "channel_interpolate", "class_logit", "deepdream", "direction",
    "direction_cossim", "direction_neuron", "direction_recipe", "diversity", "dot_cossim", "input_diff",
    "neuron", "objective_sum", "penalize_boundary_complexity", "penalize_opacity", "radial_weights",
    "relative_to", "tensor_direction", "total_variation", "whiten", "wrap_objective",
]

__getattr__ = lucid_compat.name_lookup(__name__, lucid_compat.OBJECTIVES_HINTS)
