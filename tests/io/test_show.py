"""show(): a labelled row of pictures, inline in a notebook, a PNG and a message elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lucid_atlas.io import show as show_module


def test_outside_a_notebook_show_writes_a_png_and_says_where(tmp_path, capsys):
    batch = np.random.default_rng(0).uniform(size=(3, 16, 16, 3)).astype(np.float32)
    path = show_module.show(batch, ["a", "b", "c"], path=str(tmp_path / "row.png"))
    assert path == str(tmp_path / "row.png") and "row.png" in capsys.readouterr().out
    with Image.open(path) as img:
        assert img.width > 3 * 128 and img.height >= 128  # one row of three, enlarged to 128 px cells


def test_show_without_a_path_writes_a_temporary_file(capsys):
    path = show_module.show(np.zeros((8, 8, 3)))
    with Image.open(path) as img:
        assert img.size == (128, 128)  # a small image enlarged without smoothing


def test_show_takes_files_lists_and_render_results(tmp_path):
    Image.new("RGB", (40, 30), (255, 0, 0)).save(tmp_path / "red.png")

    class Result:  # anything with an images list, like a RenderResult
        images = [np.zeros((2, 20, 20, 3)), np.ones((2, 20, 20, 3))]

    pic = show_module.picture([str(tmp_path / "red.png"), Result()], ["file", "r0", "r1"])
    assert pic.width > 3 * 128
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        show_module.picture([str(tmp_path / "red.png"), Result()], ["file", "r0"])
    with pytest.raises(FileNotFoundError, match="no picture"):
        show_module.show(str(tmp_path / "missing.png"))


def test_in_a_notebook_show_displays_inline(monkeypatch):
    pytest.importorskip("IPython")
    shown = []
    monkeypatch.setattr(show_module, "in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    assert show_module.show(np.zeros((2, 8, 8, 3))) is None
    assert len(shown) == 1 and shown[0].data[:8] == b"\x89PNG\r\n\x1a\n"
