"""Lucid's notebooks, ported with only their imports, model, layer names (and a few TF1 idioms,
listed in each notebook's first cell) changed (notebooks/lucid/), run end to end and show their
pictures.

To keep the suite short, each runs with ``render_vis`` capped at a few steps per render (a cell
the test puts in front; the stored notebooks keep Lucid's step counts). The style-transfer
notebook's two web pictures are replaced by local ones in that cell, so it runs offline.
"""

from __future__ import annotations

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOKS = os.path.join(ROOT, "notebooks", "lucid")

QUICK = """
import lucid_atlas.lucid.optvis.render as _render
_full_render_vis = _render.render_vis
def _quick_render_vis(model, objective_f, param_f=None, optimizer=None, transforms=None, thresholds=(512,), **kw):
    return _full_render_vis(model, objective_f, param_f, optimizer, transforms,
                            thresholds=tuple(min(t, {cap}) for t in thresholds), **kw)
_render.render_vis = _quick_render_vis
"""

LOCAL_PICTURES = """
import numpy as np
import lucid_atlas.lucid.misc.io as _io
_web_load = _io.load
def _local_load(url, **kw):
    if not url.startswith("http"):
        return _web_load(url, **kw)
    y, x = np.mgrid[0:208, 0:208] / 208.0
    if "starry" in url:  # swirling stripes, with an alpha channel as the PNG has
        rgb = np.stack([0.5 + 0.5 * np.sin(30 * np.hypot(x - 0.5, y - 0.5)), 0.3 + 0 * x, 0.8 - 0.3 * y], -1)
        return np.concatenate([rgb, np.ones_like(rgb[..., :1])], -1).astype(np.float32)
    tower = (np.abs(x - 0.5) < 0.1) & (y > 0.2)
    return np.stack([0.6 - 0.3 * tower + 0.2 * y, 0.7 - 0.3 * tower, 0.9 - 0.5 * tower], -1).astype(np.float32)
_io.load = _local_load
"""


def _run(tmp_path, name: str, *first_cells: str):
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' (nbformat, nbclient, ipykernel)")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' (nbformat, nbclient, ipykernel)")
    nb = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    sources = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert "import lucid." not in sources and "from lucid." not in sources and "lucid_atlas.lucid" in sources
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")  # stored without outputs
    for k, source in enumerate(first_cells):
        nb.cells.insert(k, nbformat.v4.new_code_cell(source))
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
            if "image/png" in o.get("data", {})]


@pytest.mark.slow
def test_neuron_interaction_runs_with_only_imports_and_layers_changed(tmp_path):
    pictures = _run(tmp_path, "neuron_interaction.ipynb", QUICK.format(cap=31))
    assert len(pictures) == 5  # three channel renders, a random direction, the interpolation


@pytest.mark.slow
def test_alpha_feature_vis_runs(tmp_path):
    pictures = _run(tmp_path, "alpha_feature_vis.ipynb", QUICK.format(cap=23))
    assert len(pictures) == 2  # two rows of transparent neuron visualizations


@pytest.mark.slow
def test_style_transfer_2d_runs(tmp_path):
    pictures = _run(tmp_path, "style_transfer_2d.ipynb", QUICK.format(cap=7), LOCAL_PICTURES)
    # the two inputs, the style transfer, and three renders shown at their thresholds plus once each
    assert len(pictures) >= 6
