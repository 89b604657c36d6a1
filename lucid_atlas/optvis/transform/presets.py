"""Named transform lists: Lucid's standard list, the Activation Atlas notebook's, Lucid's atlas
recipe's, and the wider zooms and turns of our icons."""

from __future__ import annotations

from .. import lucid_compat
from .transforms import Transform, crop_or_pad_to, jitter, pad, random_rotate, random_scale


def _standard_transforms() -> list[Transform]:
    """Lucid's standard list: pad 12 (0.5), jitter 8, scale 0.9..1.1, rotate -10..10 (+ zeros), jitter 4."""
    return [
        pad(12, mode="constant", constant_value=0.5),
        jitter(8),
        random_scale([1 + (i - 5) / 50.0 for i in range(11)]),
        random_rotate(list(range(-10, 11)) + 5 * [0]),
        jitter(4),
    ]


# Lucid's standard list: pad 12 (0.5), jitter 8, scale 0.9..1.1, rotate -10..10 (+ zeros), jitter 4;
# usable as a list (Lucid's ``transform.standard_transforms``) or called (``standard_transforms()``).
standard_transforms = lucid_compat.CallableList(_standard_transforms())


def atlas_transforms(size: int = 80) -> list[Transform]:
    """The Activation Atlas article's icon transforms (pad, jitter, scale, rotate), for 80 px icons.

    For other icon sizes the pad and jitter amounts scale with ``size`` so the crop keeps the
    same share of the icon (at 48 px the article's jitters would leave the model 14 px).
    """
    px = _icon_px(size, 80)
    return [
        pad(px(2), mode="constant", constant_value=0.5),
        jitter(px(4)),
        jitter(px(4)),
        jitter(px(8)),
        jitter(px(8)),
        jitter(px(8)),
        random_scale([0.995 ** n for n in range(-5, 80)] + [0.998 ** n for n in 2 * list(range(20, 40))]),
        random_rotate(list(range(-20, 20)) + list(range(-10, 10)) + list(range(-5, 5)) + 5 * [0]),
        jitter(px(2)),
    ]


def _icon_px(size: int, reference: int):
    """Pixel amounts given for a ``reference`` icon size, scaled to ``size`` (at least 1)."""
    return lambda n: max(1, round(n * size / reference))


def atlas_recipe_transforms(size: int = 80) -> list[Transform]:
    """The transforms of Lucid's activation-atlas recipe (``recipes/activation_atlas/render.py``),
    which rendered the published atlases: pad 16 (gray), jitters 4, 4, 8, 8, 8, scale 0.92–0.96,
    rotate ±20°, jitter 2, then crop or pad (black) back to the icon size; amounts are for 80 px
    icons and scale with ``size``. The model sees the whole icon, shifted about."""
    px = _icon_px(size, 80)
    return [
        pad(px(16), mode="constant", constant_value=0.5),
        jitter(px(4)), jitter(px(4)), jitter(px(8)), jitter(px(8)), jitter(px(8)),
        random_scale([0.998 ** n for n in range(20, 40)]),
        random_rotate(list(range(-20, 20)) + list(range(-10, 10)) + list(range(-5, 5)) + 5 * [0]),
        jitter(px(2)),
        crop_or_pad_to(size, size),
    ]


def wide_transforms(size: int = 64) -> list[Transform]:
    """Stronger transformation robustness for icons: pad 4, jitter 6, scale 0.8–1.6, rotate ±15°,
    jitter 3 (amounts for 64 px icons, scaled with ``size``). Each image is zoomed by its own
    factor on a canvas 1.2× the icon (the median factor), so parts and whole objects both pay."""
    px = _icon_px(size, 64)
    return [
        pad(px(4), mode="constant", constant_value=0.5),
        jitter(px(6)),
        random_scale([0.8 + 0.05 * k for k in range(17)]),
        random_rotate(list(range(-15, 16))),
        jitter(px(3)),
    ]
