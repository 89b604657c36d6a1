"""Lucid's neuron_interaction notebook, ported with only its imports, model and layer names
changed (notebooks/lucid/), runs end to end and shows its pictures.

To keep the suite short, the test runs it with ``render_vis`` capped at 32 steps per render (a
cell the test puts in front; the stored notebook keeps Lucid's 512, about 90 s on 2 cores).
"""

from __future__ import annotations

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOK = os.path.join(ROOT, "notebooks", "lucid", "neuron_interaction.ipynb")

QUICK = """
import lucid_atlas.lucid.optvis.render as _render
_full_render_vis = _render.render_vis
def _quick_render_vis(model, objective_f, param_f=None, optimizer=None, transforms=None, thresholds=(512,), **kw):
    return _full_render_vis(model, objective_f, param_f, optimizer, transforms,
                            thresholds=tuple(min(t, 31) for t in thresholds), **kw)
_render.render_vis = _quick_render_vis
"""


@pytest.mark.slow
def test_lucid_notebook_runs_with_only_imports_and_layers_changed(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' (nbformat, nbclient, ipykernel)")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' (nbformat, nbclient, ipykernel)")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    sources = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert "import lucid." not in sources and "lucid_atlas.lucid" in sources
    nb.cells.insert(0, nbformat.v4.new_code_cell(QUICK))
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    pictures = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
                if "image/png" in o.get("data", {})]
    assert len(pictures) == 5  # three channel renders, a random direction, the interpolation
