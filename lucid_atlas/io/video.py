"""Animations out: GIF (Pillow) and MP4 (imageio + the ffmpeg binary that imageio-ffmpeg ships)."""

from __future__ import annotations

import io
import os
from typing import Sequence

import numpy as np
from PIL import Image

from .sheets import to_uint8
from .storage import atomic_write_bytes


def save_gif(frames: Sequence[np.ndarray], path: str, fps: float = 12.0, loop: int = 0) -> str:
    """Frames in [0, 1] (HxWx3) as an animated GIF; returns the path."""
    if not frames:
        raise ValueError("no frames to write")
    images = [Image.fromarray(to_uint8(f)).convert("P", palette=Image.ADAPTIVE) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(1000 / fps), loop=loop, optimize=False)
    atomic_write_bytes(path, buf.getvalue())
    return path


def save_mp4(frames: Sequence[np.ndarray], path: str, fps: float = 24.0) -> str:
    """Frames in [0, 1] (HxWx3) as H.264 MP4 via imageio-ffmpeg (no system ffmpeg needed)."""
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401 - provides the ffmpeg binary
    except ImportError:
        raise RuntimeError("MP4 output needs imageio-ffmpeg: pip install 'lucid-atlas[video]' "
                           "(or imageio-ffmpeg); GIF output works without it") from None
    if not frames:
        raise ValueError("no frames to write")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.mp4"
    # even sizes keep yuv420p encoders happy
    h, w = (np.asarray(frames[0]).shape[0] // 2) * 2, (np.asarray(frames[0]).shape[1] // 2) * 2
    with imageio.get_writer(tmp, fps=fps, codec="libx264", quality=8, macro_block_size=1,
                            pixelformat="yuv420p") as writer:
        for f in frames:
            writer.append_data(to_uint8(np.asarray(f)[:h, :w, :3]))
    os.replace(tmp, path)
    return path
