"""The microscope site on a tiny model: every page's data and file, a rerun that does nothing, the
toolbox's own pictures and crops, resumption after a kill, bad input in one line, Ray's same files."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from lucid_atlas import models
from lucid_atlas.io import storage
from lucid_atlas.microscope import MicroscopeError, MicroscopeSettings, build, parse_units
from lucid_atlas.microscope.pages import read_script
from lucid_atlas.microscope.units import unit_files
from lucid_atlas.models.base import ModelError
from lucid_atlas.optvis.gallery import UnitRenderer
from lucid_atlas.toolbox import vis
from lucid_atlas.toolbox.saliency import receptive_fraction
from lucid_atlas.toolbox.topk import LayerMaxima, crop_side, top_crops

from .conftest import CLASSES

SETTINGS = MicroscopeSettings(size=24, steps=8, batch=5, class_k=9, crop=24, thumb=16)


@pytest.fixture(scope="module")
def model(tiny_path):
    return models.load(tiny_path, image_shape=(32, 32, 3))


@pytest.fixture(scope="module")
def site(model, labelled_images, tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    summary = build(model, ["conv1", "conv2"], labelled_images, str(root / "site"), settings=SETTINGS,
                    cache=str(root / "cache"), progress=False)
    return str(root / "site"), str(root / "cache"), summary


def _pngs(folder: str) -> dict[str, bytes]:
    return {os.path.relpath(os.path.join(r, f), folder): open(os.path.join(r, f), "rb").read()
            for r, _, files in os.walk(folder) for f in files if f.endswith((".png", ".webp"))}


def test_every_page_has_its_data_and_files(site):
    folder, _cache, summary = site
    assert {k: (v["units"], v["rendered"], v["skipped_images"]) for k, v in summary["layers"].items()} == \
        {"conv1": (8, 8, 1), "conv2": (12, 12, 1)}
    model_data = read_script(os.path.join(folder, "data", "model.js"))
    assert set(model_data["built"]) == {"conv1", "conv2"} and model_data["n_images"] == 16
    assert {layer["name"] for layer in model_data["layers"]} >= {"conv1", "conv2"}
    for name, depth in (("conv1", 8), ("conv2", 12)):
        layer = read_script(os.path.join(folder, model_data["built"][name]["script"]))
        assert [u["n"] for u in layer["units"]] == list(range(depth)) and layer["depth"] == depth
        assert layer["shape"] == ([16, 16] if name == "conv1" else [8, 8])
        for unit in layer["units"]:
            for rel in (unit["image"], unit["thumb"], *(t["src"] for t in unit["top"])):
                assert os.path.getsize(os.path.join(folder, rel)) > 0
            assert len(unit["top"]) == 9  # 15 readable images
            assert {t["label"] for t in unit["top"]} <= set(CLASSES)
            assert sum(n for _, n in unit["classes"]) == 9 and unit["score"] >= 0
            with Image.open(os.path.join(folder, unit["image"])) as img:
                assert img.size == (24, 24)
        assert max(u["score"] for u in layer["units"]) > 0
        # the units differ: each renders its own channel
        a, b = (np.asarray(Image.open(os.path.join(folder, u["image"])), float) for u in layer["units"][:2])
        assert np.abs(a - b).mean() > 2
    assert not [f for _, _, files in os.walk(folder) for f in files if ".tmp-" in f]
    with Image.open(summary["sheet"]) as sheet:  # the strongest units of each layer, a row per layer
        assert sheet.height > 2 * 24 and sheet.width > 8 * 24


def test_a_rerun_does_no_work(site, model, labelled_images):
    folder, cache, _ = site
    before = _pngs(folder)
    again = build(model, ["conv1", "conv2"], labelled_images, folder, settings=SETTINGS, cache=cache,
                  progress=False)
    assert [v["rendered"] for v in again["layers"].values()] == [0, 0]
    assert _pngs(folder) == before


def test_the_toolbox_shows_the_same_pictures_and_crops(site, model, labelled_images):
    folder, cache, _ = site
    unit = 7
    files = unit_files("conv2", unit)
    shown = vis.render_unit(model, "conv2", unit, SETTINGS.preset, cache=cache)  # read from the shared cache
    assert shown == open(os.path.join(folder, files.image), "rb").read()
    maxima = LayerMaxima(model, "conv2", storage_paths(labelled_images), cache)
    assert maxima.complete  # the microscope's pass, read back
    side = crop_side(receptive_fraction(model, "conv2"), SETTINGS.crop_context, SETTINGS.min_crop)
    theirs = [np.asarray(Image.fromarray(np.uint8(np.round(crop * 255))).resize((24, 24), Image.LANCZOS), float)
              for _item, crop in top_crops(maxima, unit, side, 9)]
    assert len(theirs) == 9
    for rank in range(len(theirs)):
        ours = np.asarray(Image.open(os.path.join(folder, files.crop(rank))), float)
        distance = [np.abs(ours - t).mean() for t in theirs]
        assert int(np.argmin(distance)) == rank  # the same region of the same image (up to JPEG)


def storage_paths(folder: str) -> list[str]:
    from lucid_atlas.io.images import resolve_paths

    return resolve_paths(folder)


def test_a_unit_renders_alike_alone_and_in_a_batch(model):
    renderer = UnitRenderer(model, "conv2", size=24, steps=8)
    alone = renderer.render([3])[0]
    batch = renderer.render([1, 2, 3, 4, 5])
    assert np.abs(alone - batch[2]).max() < 1e-4
    assert np.abs(batch[0] - batch[1]).mean() > 0.01
    negative = renderer.render([3], negative=True)[0]
    assert np.abs(negative - alone).mean() > 0.01


def test_extras_on_request(model, labelled_images, tmp_path):
    settings = MicroscopeSettings(size=24, steps=4, batch=4, crop=24, thumb=16, diversity=3, negative=True)
    build(model, ["conv2"], labelled_images, str(tmp_path / "s"), units="0:2", settings=settings,
          cache=str(tmp_path / "c"), progress=False)
    layer = read_script(str(tmp_path / "s" / "data" / "layer_conv2.js"))
    assert [u["n"] for u in layer["units"]] == [0, 1]
    with Image.open(tmp_path / "s" / layer["units"][0]["diversity"]) as img:
        assert img.size == (3 * 24, 24)
    assert os.path.exists(tmp_path / "s" / layer["units"][0]["negative"])


def test_bad_input_says_one_clear_thing(model, labelled_images, tmp_path):
    with pytest.raises(ModelError, match="conv2"):
        build(model, ["conv9"], labelled_images, str(tmp_path / "a"), progress=False)
    with pytest.raises(MicroscopeError, match="no spatial map"):
        build(model, ["scores"], labelled_images, str(tmp_path / "a"), progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MicroscopeError, match="no images"):
        build(model, ["conv2"], str(tmp_path / "empty"), str(tmp_path / "a"), progress=False)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.png").write_bytes(b"no")
    with pytest.raises(MicroscopeError, match="could be read"):
        build(model, ["conv2"], str(tmp_path / "junk"), str(tmp_path / "a"), cache=str(tmp_path / "c"),
              progress=False)
    assert parse_units("0:3,7", 12) == [0, 1, 2, 7]
    for bad, message in (("12", "has 12 units"), ("a:b", "range like")):
        with pytest.raises(MicroscopeError, match=message):
            parse_units(bad, 12)


def test_the_command_line_builds_and_views_a_site(site, tiny_path, labelled_images, tmp_path, capsys):
    from lucid_atlas import cli

    folder, cache, _ = site
    args = ["microscope", "--model", tiny_path, "--layers", "conv2", "--images", labelled_images, "--out", folder,
            "--cache", cache, "--size", "24", "--steps", "8", "--batch", "5", "--no-progress", "--json"]
    assert cli.main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["layers"]["conv2"]["rendered"] == 0  # the same renders as the build above (--size/--steps)
    assert cli.main(["view", folder]) == 0 and folder in capsys.readouterr().out
    assert not os.path.exists(os.path.join(folder, "viewer"))  # a microscope site is served as it is
    for bad, message in ((["--layers", "scores"], "no spatial map"), (["--layers", "conv7"], "conv2"),
                         (["--layers", "conv2", "--units", "99"], "has 12 units")):
        assert cli.main(args[:3] + ["--images", labelled_images, "--out", str(tmp_path / "x"), *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1


def test_a_full_disk_stops_cleanly_and_keeps_what_was_written(model, labelled_images, tmp_path, monkeypatch):
    real = storage.atomic_write_bytes
    writes = {"n": 0}

    def filling(path, data):
        writes["n"] += 1
        if writes["n"] > 30:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(storage, "atomic_write_bytes", filling)
    site = tmp_path / "s"
    with pytest.raises(MicroscopeError, match="disk is full.*resume"):
        build(model, ["conv2"], labelled_images, str(site), settings=SETTINGS, cache=str(tmp_path / "c"),
              progress=False)
    assert not (site / "data" / "layer_conv2.js").exists()  # the layer is not shown as built
    for data in _pngs(str(site)).values():
        Image.open(io.BytesIO(data)).load()  # every file written is whole
    monkeypatch.setattr(storage, "atomic_write_bytes", real)
    summary = build(model, ["conv2"], labelled_images, str(site), settings=SETTINGS, cache=str(tmp_path / "c"),
                    progress=False)
    assert 0 < summary["layers"]["conv2"]["rendered"] < 12  # only what was missing


def _command(model_path, images, out, cache):
    return [sys.executable, "-m", "lucid_atlas.cli", "microscope", "--model", model_path, "--layers", "conv2",
            "--images", images, "--size", "24", "--steps", "80", "--batch", "2", "--out", out, "--cache", cache,
            "--no-progress", "--json"]


@pytest.mark.slow
def test_killed_then_rerun_equals_uninterrupted(tiny_path, labelled_images, tmp_path):
    whole = str(tmp_path / "whole")
    subprocess.run(_command(tiny_path, labelled_images, whole, whole + "_cache"), check=True, capture_output=True,
                   timeout=300)
    part = str(tmp_path / "part")
    proc = subprocess.Popen(_command(tiny_path, labelled_images, part, part + "_cache"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    units = os.path.join(part, "units", "conv2")
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None and not (
            os.path.isdir(units) and any(f.endswith(".png") for f in os.listdir(units))):
        time.sleep(0.05)
    killed = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert killed, "the build finished before it could be killed"
    assert not os.path.exists(os.path.join(part, "data", "layer_conv2.js"))
    done = subprocess.run(_command(tiny_path, labelled_images, part, part + "_cache"), check=True,
                          capture_output=True, text=True, timeout=300)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert 0 < summary["layers"]["conv2"]["rendered"] < 12
    assert _pngs(part) == _pngs(whole)


@pytest.mark.slow
def test_ray_writes_the_same_files(site, tiny_path, labelled_images, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'lucid-atlas[distributed]'")
    from lucid_atlas.atlas import executors

    local = site[0]
    model = models.load(tiny_path, image_shape=(32, 32, 3))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    executor = executors.RayExecutor(workers=2)
    try:
        remote = build(model, ["conv2"], labelled_images, str(tmp_path / "ray"), settings=SETTINGS,
                       cache=str(tmp_path / "rc"), executor=executor, progress=False)
    finally:
        executor.shutdown()
        ray.shutdown()
    assert remote["layers"]["conv2"]["rendered"] == 12
    units = os.path.join("units", "conv2")
    ours = {k: v for k, v in _pngs(str(tmp_path / "ray")).items() if k.startswith(units)}
    assert len(ours) == 12 * 11 and ours == {k: v for k, v in _pngs(local).items() if k.startswith(units)}
