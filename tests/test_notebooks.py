"""The notebooks run end to end on the default model, offline, and are stored without outputs."""

from __future__ import annotations

import glob
import json
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
LUCID_NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "lucid", "*.ipynb")))  # run in tests/lucid


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS + LUCID_NOTEBOOKS, ids=os.path.basename)
def test_notebook_is_stored_clean(path):
    with open(path) as f:
        nb = json.load(f)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, "strip outputs before committing"
        source = "".join(cell["source"])
        # no absolute paths, and no relative path leaving the repo other than ../shared
        assert not re.search(r"['\"](/|~|[A-Za-z]:\\\\)", source), source
        assert not re.search(r"\.\./(?!shared)", source), source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs(path, tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' (nbformat, nbclient, ipykernel)")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' (nbformat, nbclient, ipykernel)")
    nb = nbformat.read(path, as_version=4)
    # run in a scratch folder so outputs (out/notebooks/...) land there, with the test's interpreter
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the notebook showed no picture inline"
