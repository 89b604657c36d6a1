"""A built wheel carries the files the package reads at run time (page assets, label tables, spectra)."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_wheel_contains_the_pages_and_label_tables(tmp_path):
    pytest.importorskip("setuptools", reason="the wheel is built with this venv's setuptools (no download)")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", REPO, "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = glob.glob(str(tmp_path / "lucid_atlas-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in ("lucid_atlas/toolbox/assets/index.html", "lucid_atlas/toolbox/assets/toolbox.js",
                 "lucid_atlas/toolbox/assets/toolbox.css", "lucid_atlas/atlas/viewer_assets/viewer.js",
                 "lucid_atlas/microscope/assets/index.html", "lucid_atlas/microscope/assets/microscope.js",
                 "lucid_atlas/optvis/data/natural_spectrum.npz"):
        assert path in names, path
    assert any(n.startswith("lucid_atlas/models/data/") and n.endswith(".tsv") for n in names)
