"""Lucid's spellings that our own API accepts on purpose, in one place (the idea of the single
"Deprecations" block at the end of Lucid's ``param/spatial.py``).

The core (``objectives``, ``param``, ``transform``, ``render``) keeps the project's conventions;
where a Lucid user's habit would silently do the wrong thing there, or fail with a TensorFlow
error, this module turns it into what Lucid meant or into one sentence naming ours:

- the signs of ``diversity`` and ``alignment``: Lucid subtracts its diversity (a similarity) and
  adds its alignment (minus a distance); ours are a reward and a distance, so those idioms would
  do the opposite here: an objective records the sign each of these terms enters with
  (:data:`Signs`), and :func:`warn_lucid_signs` warns when it is Lucid's;
- ``render_vis``'s Lucid keywords (``verbose``, ``use_fixed_seed``, ``relu_gradient_override``):
  :func:`render_options`;
- ``transform.standard_transforms`` used as Lucid's list or called as our function:
  :class:`CallableList`;
- Lucid's names for what is spelled differently here (``naive``, ``normalize_gradient``, …): a
  module ``__getattr__`` from :func:`name_lookup` with the hints below.

Code that exists only to run Lucid's code unchanged (its objectives' signs, ``T``, sessions,
graph tensors) lives in :mod:`lucid_atlas.lucid`; nothing here imports it.
"""

from __future__ import annotations

import warnings
from typing import Callable, Iterable, Mapping

# ---- the signs of diversity and alignment -------------------------------------------------------

# ((term name, +1 or -1), ...): the sign each diversity/alignment term enters an objective with
Signs = tuple

# Lucid's diversity is a similarity (its idiom subtracts it); its alignment is minus a distance
# (its idiom adds it). Ours are the opposite, so those idioms do the opposite here.
LUCID_SIGNS = {
    ("diversity", -1): "diversity enters this objective with a negative sign: here diversity is a reward (Lucid's "
                       "is a similarity to subtract), so this makes the batch more alike; write "
                       "`channel(...) + k * diversity()`",
    ("alignment", 1): "alignment enters this objective with a positive sign: here alignment is a distance to "
                      "subtract (Lucid's is minus a distance to add), so this pushes neighbouring images apart; "
                      "write `... - k * alignment()` to align them",
}


def term_sign(name: str) -> Signs:
    """The signs of a lone ``diversity``/``alignment`` term (it enters with +1)."""
    return ((name, 1),)


def scaled(signs: Signs, factor: float) -> Signs:
    """The signs after multiplying the objective by ``factor`` (0 drops the terms)."""
    if factor > 0:
        return signs
    return tuple((name, -sign) for name, sign in signs) if factor < 0 else ()


def combined(left: Signs, right: Signs, symbol: str) -> Signs:
    """The signs of ``left symbol right`` (``+`` or ``-``; a product or quotient has none to tell)."""
    if symbol == "+":
        return left + right
    if symbol == "-":
        return left + scaled(right, -1)
    return ()


def warn_lucid_signs(signs: Signs, stacklevel: int = 4) -> None:
    """Warn once per term that enters with Lucid's sign (here it means the opposite)."""
    for key in dict.fromkeys(signs):
        if key in LUCID_SIGNS:
            warnings.warn(LUCID_SIGNS[key], stacklevel=stacklevel)


# ---- render_vis's keywords ------------------------------------------------------------------------


def render_options(options: dict, known: Iterable[str]) -> dict:
    """Lucid's ``render_vis`` keywords mapped onto ours (``verbose`` → ``progress``,
    ``use_fixed_seed`` → ``seed``, ``relu_gradient_override`` → ``relu_gradient_steps``); the rest
    pass through, and an unknown one raises a sentence naming what ``known`` accepts."""
    options = dict(options)
    if "verbose" in options:
        options.setdefault("progress", bool(options.pop("verbose")))
    if "use_fixed_seed" in options:
        options.setdefault("seed", 0 if options.pop("use_fixed_seed") else None)
    if "relu_gradient_override" in options:
        options.setdefault("relu_gradient_steps", 16 if options.pop("relu_gradient_override") else 0)
    if "print_objectives" in options:
        raise TypeError("render_vis(print_objectives=...) is Lucid's; here the progress bar shows the objective, "
                        "and render(...).values has each image's value at each threshold (lucid_atlas.lucid's "
                        "render_vis takes print_objectives)")
    known = set(known)
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"render_vis got unknown option(s) {', '.join(unknown)}; it takes {', '.join(sorted(known))} "
                        "(and Lucid's verbose, use_fixed_seed, relu_gradient_override)")
    return options


# ---- standard_transforms as a list and as a function -------------------------------------------


class CallableList(list):
    """A list that also returns a copy of itself when called: ``standard_transforms`` works as
    ours (a function) and as Lucid's (a list)."""

    def __call__(self) -> list:
        return list(self)


# ---- Lucid's names for what is spelled differently here -----------------------------------------

OBJECTIVES_HINTS = {"blur_alpha_each_step": "there is no alpha blur objective here",
                    "handle_batch": "here each objective takes batch="}
PARAM_HINTS = {
    "laplacian_pyramid_image": "here it is laplacian_pyramid", "grayscale_image_rgb": "here it is grayscale",
    "naive": "here it is pixel_image", "bilinearly_sampled_image": "here it is bilinear_sample",
    "image_sample": "here it is sample_fft_image (then to_valid_rgb)",
    "unit_ball_L2": "here it is constrain_L2 of a tf.Variable",
    "unit_ball_L_inf": "here it is constrain_L_inf of a tf.Variable",
}
TRANSFORM_HINTS = {"normalize_gradient": "our transforms act on images only, not on gradients"}


def name_lookup(module: str, hints: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__``: Lucid's names in ``hints`` raise an AttributeError with the hint and
    ``lucid_atlas.lucid``; any other missing name raises Python's usual error."""
    def __getattr__(name: str):
        if name in hints:
            raise AttributeError(f"{module} has no '{name}' (Lucid's name): {hints[name]}; Lucid code runs "
                                 f"unchanged through lucid_atlas.lucid")
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return __getattr__
