"""Lucid's ``param.color``: colors from a decorrelated space, squashed or clipped into [0, 1]."""

from __future__ import annotations


from ....optvis import param as ours

color_correlation_svd_sqrt = ours.COLOR_CORRELATION_SVD_SQRT
max_norm_svd_sqrt = ours.MAX_NORM_SVD_SQRT
color_mean = [float(c) for c in ours.COLOR_MEAN]


def to_valid_rgb(t, decorrelate: bool = False, sigmoid: bool = True):
    """The innermost axis of ``t`` as RGB in [0, 1]: optionally decorrelated, then sigmoid or clipped."""
    return ours.to_valid_rgb(t, decorrelate, sigmoid)


__all__ = ["color_correlation_svd_sqrt", "color_mean", "max_norm_svd_sqrt", "to_valid_rgb"]
