"""Kill the atlas command mid-collection and mid-rendering; the rerun finishes the identical atlas."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from .conftest import save_tiny_classifier, write_random_images

keras = tf.keras


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill")
    model_path = save_tiny_classifier(str(root / "tiny.keras"))
    return model_path, write_random_images(root / "images", 48), root


def _command(model_path, images, out):
    return [sys.executable, "-m", "lucid_atlas.cli", "atlas", "--model", model_path, "--layer", "feat",
            "--images", images, "--grid", "4", "--positions", "4", "--min-count", "1", "--n-neighbors", "10",
            "--icon-size", "24", "--steps", "60", "--batch", "2", "--shard-images", "8", "--out", out,
            "--no-progress", "--json"]


def _run_and_kill_when(cmd, ready, timeout=180):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None and not ready():
        time.sleep(0.05)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return killed


@pytest.mark.slow
def test_killed_twice_then_rerun_equals_uninterrupted(setup):
    model_path, images, root = setup
    whole, part = str(root / "whole"), str(root / "part")
    subprocess.run(_command(model_path, images, whole), check=True, capture_output=True, timeout=300)

    acts = os.path.join(part, "activations")
    cmd = _command(model_path, images, part)
    killed_in_collect = _run_and_kill_when(cmd, lambda: os.path.exists(os.path.join(acts, "manifest.json")))
    shards = len([f for f in os.listdir(acts) if f.startswith("acts-")])
    def icon_written():
        folders = [os.path.join(part, f) for f in os.listdir(part) if f.startswith("icons_4_")]
        return any(f.endswith(".png") for folder in folders for f in os.listdir(folder))
    killed_in_render = _run_and_kill_when(cmd, icon_written)
    assert killed_in_collect and 1 <= shards < 6  # stopped between shards (48 images / 8 per shard)
    assert killed_in_render
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    a = np.asarray(Image.open(os.path.join(whole, "atlas_4.png")))
    b = np.asarray(Image.open(os.path.join(part, "atlas_4.png")))
    np.testing.assert_array_equal(a, b)
