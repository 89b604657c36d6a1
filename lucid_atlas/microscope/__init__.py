"""Browse a whole model offline, unit by unit: a static site in the spirit of OpenAI Microscope.

``build(model, layers, images, out)`` (``lucid-atlas microscope``) writes a model page (its layers,
their depth and size, a strip of units), a page per layer (every unit's visualization as a
lazy-loaded thumbnail, sortable by how strongly the images excite it, searchable by class) and a
page per unit (its visualization, top-9 crops with their classes, where it is strongest in the
layer's atlas), all at stable ``#/layer/<name>/unit/<n>`` addresses.
"""

from .build import MicroscopeError, MicroscopeSettings, build, check_layers, parse_units

__all__ = ["MicroscopeError", "MicroscopeSettings", "build", "check_layers", "parse_units"]
