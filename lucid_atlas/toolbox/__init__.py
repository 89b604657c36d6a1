"""The Deep Visualization Toolbox (Yosinski et al. 2015) in the browser: every unit of a layer
responding live to an image, an upload, a video or the webcam; a unit's top images from a folder,
its feature visualizations and its gradients.

``Toolbox`` computes (no server state); ``ToolboxServer`` is the aiohttp application around it;
``serve`` runs it (``lucid-atlas toolbox``).
"""

from .engine import InputError, LayerView, Toolbox, decode_image
from .server import RunningServer, ToolboxServer, ToolboxSettings, serve, start
from .topk import LayerMaxima, top_crops

__all__ = ["InputError", "LayerView", "Toolbox", "decode_image", "ToolboxServer", "ToolboxSettings", "serve",
           "start", "RunningServer", "LayerMaxima", "top_crops"]
