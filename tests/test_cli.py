"""The lucid-atlas command as a user runs it: JSON last lines, clear errors, non-zero exits."""

from __future__ import annotations

import json

import pytest

from lucid_atlas import cli


def _last_json(capsys):
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1])


def test_models_lists_the_zoo(capsys):
    assert cli.main(["models", "--json"]) == 0
    summary = _last_json(capsys)
    assert "efficientnet_lite0" in summary["models"] and summary["default"] == "efficientnet_lite0"


def test_layers_of_unknown_model_fails_with_names(capsys):
    assert cli.main(["layers", "no_such_net"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'no_such_net'" in err and "efficientnet_lite0" in err and "Traceback" not in err


def test_layers_json(capsys, lite0):
    assert cli.main(["layers", "efficientnet_lite0", "--json"]) == 0
    summary = _last_json(capsys)
    assert summary["layers"][1] == {"name": "stem", "depth": 32, "kind": "conv"}
    assert summary["n_classes"] == 1000


def test_evaluate_default_images_gives_per_image_predictions(capsys, lite0, tmp_path):
    out = tmp_path / "pred.json"
    assert cli.main(["evaluate", "efficientnet_lite0", "default", "--json", "--no-progress",
                     "--out", str(out)]) == 0
    summary = _last_json(capsys)
    assert summary["n"] >= 10 and summary["top1"] is None
    preds = json.loads(out.read_text())["predictions"]
    chelsea = next(p for p in preds if p["image"].endswith("chelsea.png"))
    assert any("cat" in t["class"] for t in chelsea["top"][:5])


@pytest.mark.shared
def test_evaluate_labelled_folder_json(capsys, lite0, imagenet_samples):
    assert cli.main(["evaluate", "efficientnet_lite0", imagenet_samples, "--limit", "20",
                     "--json", "--no-progress"]) == 0
    summary = _last_json(capsys)
    assert summary["n"] == 20 and summary["n_labelled"] == 20 and summary["top1"] > 0.6
    assert set(summary) >= {"n", "top1", "top5"}


def test_neuron_contract(capsys, lite0, tmp_path):
    out = tmp_path / "neuron"
    assert cli.main(["neuron", "--model", "efficientnet_lite0", "--layer", "block5_expanded", "--channel", "7",
                     "--size", "48", "--steps", "4,12", "--out", str(out), "--json", "--no-progress"]) == 0
    summary = _last_json(capsys)
    assert len(summary["images"]) == 2 and all((out / p.split("/")[-1]).exists() for p in summary["images"])
    assert set(summary["objective_values"]) == {"4", "12"}
    assert summary["sheet"].endswith(".png")


def test_neuron_channel_out_of_range_is_one_clear_line(capsys, lite0, tmp_path):
    assert cli.main(["neuron", "--layer", "block5_expanded", "--channel", "999", "--out", str(tmp_path),
                     "--steps", "2"]) == 2
    err = capsys.readouterr().err
    assert "has 240 channels" in err and "Traceback" not in err


def test_layer_sheet_writes_labelled_sheet(capsys, lite0, tmp_path):
    assert cli.main(["layer-sheet", "--layers", "block2_expanded,block9_expanded", "--channels", "2",
                     "--size", "32", "--steps", "3", "--out", str(tmp_path), "--json", "--no-progress"]) == 0
    summary = _last_json(capsys)
    assert set(summary["layers"]) == {"block2_expanded", "block9_expanded"}
    from PIL import Image
    assert Image.open(summary["sheet"]).size[0] > 64


def test_atlas_command_on_embedded_images(capsys, lite0, tmp_path):
    assert cli.main(["atlas", "--grid", "3", "--positions", "4", "--min-count", "1", "--n-neighbors", "10",
                     "--icon-size", "24", "--steps", "2", "--batch", "8", "--out", str(tmp_path),
                     "--json", "--no-progress"]) == 0
    summary = _last_json(capsys)
    assert summary["layer"] == "block12_expanded" and summary["rows"] == 4 * summary["images"]
    from PIL import Image
    assert Image.open(summary["grids"]["3"]["atlas"]).size == (72, 72)
    assert (tmp_path / "atlas_3.json").exists() and (tmp_path / "atlas_3_labelled.png").exists()
