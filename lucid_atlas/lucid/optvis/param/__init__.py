"""Lucid's ``lucid.optvis.param``: functions that create tf.Variables and return the image tensor.

In TensorFlow 2 a tensor is a value, not a graph node, so the renderer calls your param
function again at every step with the same variables (see ``render.make_t_image``); write
param functions exactly as for Lucid.
"""

from . import color, cppn as _cppn_module, lowres as _lowres_module, random, spatial, unit_balls  # noqa: F401
from .color import to_valid_rgb
from .cppn import cppn
from .images import grayscale_image_rgb, image
from .lowres import lowres_tensor
from .random import image_sample
from .spatial import bilinearly_sampled_image, fft_image, laplacian_pyramid, laplacian_pyramid_image, naive, \
    pixel_image

__all__ = ["bilinearly_sampled_image", "color", "cppn", "fft_image", "grayscale_image_rgb", "image",
           "image_sample", "laplacian_pyramid", "laplacian_pyramid_image", "lowres_tensor", "naive", "pixel_image",
           "random", "spatial", "to_valid_rgb", "unit_balls"]
