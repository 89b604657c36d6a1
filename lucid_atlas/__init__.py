"""lucid_atlas: feature visualization and activation atlases on TensorFlow 2.

``lucid_atlas.show(images)`` puts pictures inline in a notebook (a PNG file elsewhere); the
engine lives in ``optvis`` (objectives, param, transform, render), atlases in ``atlas``.
"""

__all__ = ["show"]


def __getattr__(name: str):
    if name == "show":  # imported on first use: `import lucid_atlas` stays light
        from .io.show import show

        return show
    raise AttributeError(f"module 'lucid_atlas' has no attribute '{name}'")
