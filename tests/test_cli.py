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


@pytest.mark.slow
def test_zoom_video_grows_then_zooms_through_the_channels(capsys, lite0, tmp_path):
    assert cli.main(["zoom-video", "--channels", "1,2", "--start-size", "32", "--octaves", "2", "--octave-steps", "4",
                     "--size", "32", "--frames", "4", "--steps-per-frame", "1", "--frames-per-channel", "2",
                     "--out", str(tmp_path), "--json", "--no-progress"]) == 0
    summary = _last_json(capsys)
    assert summary["channels"] == [1, 2] and summary["frames"] == 4
    from PIL import Image
    with Image.open(summary["gif"]) as gif:
        assert gif.n_frames == 4 and gif.size == (32, 32)
    assert Image.open(summary["octaves"]).size[0] > 32


def test_atlas_command_on_embedded_images(capsys, lite0, tmp_path):
    assert cli.main(["atlas", "--grid", "3", "--positions", "4", "--min-count", "1", "--n-neighbors", "10",
                     "--icon-size", "24", "--steps", "2", "--batch", "8", "--out", str(tmp_path),
                     "--json", "--no-progress"]) == 0
    summary = _last_json(capsys)
    assert summary["layer"] == "block12_expanded" and summary["rows"] == 4 * summary["images"]
    from PIL import Image
    assert Image.open(summary["grids"]["3"]["atlas"]).size == (72, 72)
    assert (tmp_path / "atlas_3.json").exists() and (tmp_path / "atlas_3_labelled.png").exists()


@pytest.fixture(scope="module")
def tiny_keras_file(tmp_path_factory):
    """A tiny classifier saved as a .keras file, and a folder with images of its class 2."""
    import numpy as np
    import tensorflow as tf
    from PIL import Image

    keras = tf.keras
    inputs = keras.Input((24, 24, 3))
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="feat",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=1))(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(5, name="scores",
                             kernel_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=2))(x)
    root = tmp_path_factory.mktemp("tiny_cli")
    path = str(root / "tiny.keras")
    keras.Model(inputs, out).save(path)
    rng = np.random.default_rng(0)
    for cls in range(5):
        (root / "images" / f"class_{cls}").mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (30, 30, 3), dtype=np.uint8)).save(
                root / "images" / f"class_{cls}" / f"{i}.png")
    return path, str(root / "images")


def test_atlas_from_vector_pages_on_a_keras_model(capsys, tiny_keras_file, tmp_path):
    """--vectors works for any model: pages stored one by one (float16 here), laid out and rendered;
    a Keras model cannot classify a lone vector, so the atlas says it has no class names."""
    import numpy as np

    model, _ = tiny_keras_file
    pages = []
    for k, rows in enumerate((300, 200)):
        pages.append(str(tmp_path / f"page{k}.npy"))
        np.save(pages[-1], np.abs(np.random.default_rng(k).normal(size=(rows, 6))).astype(np.float32))
    assert cli.main(["atlas", "--model", model, "--layer", "feat", "--vectors", *pages, "--grid", "3",
                     "--icon-size", "16", "--steps", "2", "--dtype", "float16", "--out", str(tmp_path / "atlas"),
                     "--json", "--no-progress"]) == 0
    summary = _last_json(capsys)
    assert summary["rows"] == 500 and summary["grids"]["3"]["cells"] > 0
    assert np.load(tmp_path / "atlas" / "activations" / "acts-00000.npy").dtype == np.float16
    assert cli.main(["atlas", "--model", model, "--layer", "feat", "--vectors", str(tmp_path / "nope.npy"),
                     "--out", str(tmp_path / "bad")]) == 2
    assert "not a readable .npy page" in capsys.readouterr().err


def test_class_atlas_and_compare_contracts(capsys, tiny_keras_file, tmp_path):
    model, images = tiny_keras_file
    common = ["--model", model, "--images", images, "--layer", "feat", "--positions", "6", "--top-k", "60",
              "--icon-size", "16", "--steps", "4", "--activations", str(tmp_path / "acts"), "--json",
              "--no-progress"]
    assert cli.main(["class-atlas", "--class", "class 1", "--grid", "4", "--out", str(tmp_path / "ca"),
                     *common]) == 0
    summary = _last_json(capsys)
    assert summary["class"] == "class 1" and summary["atlas"].endswith(".png")
    assert cli.main(["compare-classes", "--classes", "1", "class 3", "--grid", "5", "--out",
                     str(tmp_path / "cc"), *common]) == 0
    summary = _last_json(capsys)
    assert summary["classes"] == ["class 1", "class 3"] and len(summary["candidates"]) == 8


def test_unknown_class_names_the_closest(capsys, tiny_keras_file, tmp_path):
    model, images = tiny_keras_file
    assert cli.main(["class-atlas", "--model", model, "--class", "clas 9", "--images", images,
                     "--out", str(tmp_path), "--json"]) == 2
    err = capsys.readouterr().err
    assert "no class 'clas 9'" in err and "class 0" in err and "Traceback" not in err


def test_patch_with_a_file_on_a_tiny_model(capsys, tiny_keras_file, tmp_path):
    import numpy as np
    from PIL import Image

    model, images = tiny_keras_file
    patch = tmp_path / "patch.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(patch)
    assert cli.main(["patch", "--model", model, "--source", "class 2", "--target", "class 4", "--patch",
                     str(patch), "--images", images, "--augment", "5", "--out", str(tmp_path / "p"),
                     "--json"]) == 0
    summary = _last_json(capsys)
    assert summary["variants"] == 20 and summary["patch_result"]["images"] == 20
    assert set(summary["outputs"]) >= {"md", "csv", "json", "chart", "examples", "patch"}
    assert cli.main(["patch", "--model", model, "--source", "class 2", "--target", "class 4", "--patch",
                     str(patch), "--images", str(tmp_path), "--out", str(tmp_path / "p2")]) == 2
    assert "no images of class 'class 2'" in capsys.readouterr().err


def test_patch_folder_gives_one_table_wherever_the_images_live(capsys, tiny_keras_file, tmp_path):
    import shutil

    import numpy as np
    from PIL import Image

    model, images = tiny_keras_file
    folder = tmp_path / "patches"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for k in range(10):
        Image.fromarray(rng.integers(0, 255, (10 + k, 10 + k, 3), dtype=np.uint8)).save(folder / f"p{k}.png")
    moved = shutil.copytree(images, tmp_path / "elsewhere" / "images")
    tables = []
    for source in (images, str(moved)):
        assert cli.main(["patch", "--model", model, "--source", "class 2", "--target", "class 4", "--patch",
                         str(folder), "--images", source, "--augment", "6", "--out", str(tmp_path / "r"),
                         "--no-progress"]) == 0
        out = capsys.readouterr().out
        table = [line for line in out.splitlines() if line.startswith("| ")]
        assert len(table) == 1 + 10 + 1 and table[-1].startswith("| random noise")  # header, 10 patches, noise
        tables.append(table)
    assert tables[0] == tables[1]  # augmentations seeded by file name, not by where the folder is
    for ext in ("md", "csv", "json"):
        assert (tmp_path / "r" / f"patch_report.{ext}").exists()
    assert (tmp_path / "r" / "patch_rates.png").exists() and (tmp_path / "r" / "patch_examples.png").exists()


def test_seed_spread_rescoring_the_first_seed_reproduces_the_table(capsys, tiny_keras_file, tmp_path):
    import numpy as np
    from PIL import Image

    model, images = tiny_keras_file
    patch = tmp_path / "patch.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(patch)
    assert cli.main(["patch", "--model", model, "--source", "class 2", "--target", "class 4", "--patch",
                     str(patch), "--images", images, "--augment", "5", "--spread-seeds", "3", "--out",
                     str(tmp_path / "p"), "--json", "--no-progress"]) == 0
    summary = _last_json(capsys)
    spread = summary["seed_spread"]
    assert spread["seeds"] == [0, 1, 2] and len(spread["runs"]) == 3
    assert spread["runs"][0]["dynamic_rate"] == summary["patch_result"]["dynamic_rate"]
    assert spread["dynamic_rate"]["min"] <= spread["dynamic_rate"]["mean"] <= spread["dynamic_rate"]["max"]


@pytest.mark.parametrize("bad", ["missing.png", "broken.png"])
def test_a_missing_or_unreadable_patch_is_a_one_line_error(capsys, tiny_keras_file, tmp_path, bad):
    model, images = tiny_keras_file
    (tmp_path / "broken.png").write_bytes(b"not a png")
    assert cli.main(["patch", "--model", model, "--source", "class 2", "--target", "class 4", "--patch",
                     str(tmp_path / bad), "--images", images, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert bad in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.shared
@pytest.mark.slow
def test_patch_contract_on_imagenet_samples(capsys, lite0, imagenet_samples, tmp_path):
    import os

    patch = os.path.join(imagenet_samples, "n10565667_scuba_diver.JPEG")
    assert cli.main(["patch", "--source", "snorkel", "--target", "scuba diver", "--patch", patch,
                     "--images", imagenet_samples, "--augment", "50", "--out", str(tmp_path), "--json"]) == 0
    summary = _last_json(capsys)
    p, noise = summary["patch_result"], summary["noise_baseline"]
    assert summary["variants"] == 50 and p["images"] == 50 and p["correct_before"] >= 25
    for row in (p, noise):
        assert 0 <= row["static_rate"] <= row["dynamic_rate"] <= 1
        assert 0 <= row["p_target_before"] <= 1 and 0 <= row["p_target_after_dynamic"] <= 1
    assert p["patch_class"] == "scuba diver" and p["dynamic_rate"] > noise["dynamic_rate"]


def test_patch_auto_on_a_tiny_model(capsys, tiny_keras_file, tmp_path):
    model, images = tiny_keras_file
    assert cli.main(["patch", "--model", model, "--source", "class 2", "--target", "class 1", "--patch", "auto",
                     "--images", images, "--augment", "4", "--layer", "feat", "--positions", "6", "--top-k", "60",
                     "--grid", "4", "--icon-size", "16", "--steps", "4", "--patch-size", "12,20", "--patch-steps",
                     "4", "--candidates", "1", "--out", str(tmp_path), "--json", "--no-progress"]) == 0
    summary = _last_json(capsys)
    # 1 cell + up to 3 row-mean directions, 2 tries, 2 sizes, 2 recipes; half of the 16 variants held out
    assert summary["held_out"] == 8 and summary["variants"] == 16
    assert 8 <= summary["rendered_candidates"] <= 32 and summary["photo_candidates"] > 0
    rendered = [c for c in summary["candidates"] if not c.startswith("photo")]
    assert rendered and all(c.endswith(("try 0", "try 1")) for c in rendered)
    rows = json.loads((tmp_path / "candidates.json").read_text())["screen"]
    assert len(rows) == len(summary["candidates"]) and len(summary["finalists"]) == 12
    photos = [r["origin"] for r in rows if r["patch"].startswith("photo")]
    # photos come with their image, class and position, and never from the source or the target class
    assert all({"image", "class", "position"} <= set(o) for o in photos)
    assert not {o["class"] for o in photos} & {"class 1", "class 2"}
    assert (tmp_path / "patch_winner.png").exists()
    assert summary["patch_result"]["images"] == 8 and summary["noise_baseline"]["patch"] == "random noise"
    assert {"vivid 12 px", "vivid 20 px", "notebook 12 px", "notebook 20 px"} <= {
        part for c in summary["candidates"] for part in c.split(", ")}
    assert len(list(tmp_path.glob("candidates_class_1_notebook_*"))) == 2
    assert (tmp_path / "patch_report.md").exists() and (tmp_path / "comparison").is_dir()


@pytest.fixture(scope="module")
def two_layer_keras_file(tiny_keras_file, tmp_path_factory):
    """A tiny classifier with two spatial layers ('feat', 'feat2'), and tiny_keras_file's images."""
    import tensorflow as tf

    keras = tf.keras
    inputs = keras.Input((24, 24, 3))
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="feat",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=1))(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="feat2",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=3))(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(5, name="scores",
                             kernel_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=2))(x)
    path = str(tmp_path_factory.mktemp("two_layers") / "two.keras")
    keras.Model(inputs, out).save(path)
    return path, tiny_keras_file[1]


def test_patch_auto_pools_the_candidates_of_several_layers(capsys, two_layer_keras_file, tmp_path):
    model, images = two_layer_keras_file
    args = ["patch", "--model", model, "--source", "class 2", "--target", "class 1", "--patch", "auto", "--images",
            images, "--augment", "4", "--layer", "feat,feat2", "--positions", "6", "--top-k", "60", "--grid", "4",
            "--icon-size", "16", "--steps", "4", "--patch-size", "12,20", "--patch-steps", "4", "--candidates", "1",
            "--rendered-directions", "2", "--json", "--no-progress"]
    assert cli.main([*args, "--out", str(tmp_path / "run")]) == 0
    summary = _last_json(capsys)
    assert summary["layers"] == ["feat", "feat2"] and summary["layer"] in ("feat", "feat2")
    assert summary["comparison"] is None and summary["origin"]["layer"] == summary["layer"]
    names = summary["candidates"]
    assert {n.split(" ")[0] for n in names} == {"feat", "feat2"}  # every candidate names its layer
    # every direction is sketched (first recipe, smallest size, try 0); two get every rendering
    rendered = [n for n in names if " photo " not in n]
    full = {n.split(", ")[0] for n in rendered if n.endswith("try 1")}
    sketched = {n.split(", ")[0] for n in rendered if n.endswith("vivid 12 px, try 0")}
    assert len(full) == 2 and full < sketched and len(sketched) >= 4
    assert len(rendered) == len(sketched) - 2 + 2 * 2 * 2 * 2  # other sketches + 2 recipes × 2 sizes × 2 tries
    photos = [n for n in names if " photo " in n]
    assert photos and len(set(photos)) == len(photos)
    for layer in ("feat", "feat2"):
        folder = tmp_path / "run" / f"comparison_{layer}"
        assert (folder / "activations").is_dir() and not list(folder.glob("*.png"))  # no atlas icons drawn
    screen = json.loads((tmp_path / "run" / "candidates.json").read_text())["screen"]
    assert sorted(r["patch"] for r in screen) == sorted(names)
    # the collections are reused when named, one per layer; a wrong count is one clear line
    reuse = ",".join(str(tmp_path / "run" / f"comparison_{layer}" / "activations") for layer in ("feat", "feat2"))
    assert cli.main([*args, "--activations", reuse, "--out", str(tmp_path / "again")]) == 0
    again = _last_json(capsys)
    assert again["patch"] == summary["patch"] and again["patch_result"] == summary["patch_result"]
    assert cli.main([*args, "--activations", reuse.split(",")[0], "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "one --activations folder per layer" in err and err.count("\n") == 1
    assert cli.main([*args[:13], "--layer", "feat,nope", *args[15:], "--out", str(tmp_path / "bad2")]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "feat2" in err and "Traceback" not in err


def test_toolbox_bad_layer_or_busy_port_is_one_clear_line(capsys, tiny_keras_file, tmp_path):
    import socket

    model, images = tiny_keras_file
    assert cli.main(["toolbox", "--model", model, "--images", images, "--layer", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "feat" in err  # the valid layer is named
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["toolbox", "--model", model, "--images", images, "--port", str(port),
                         "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--port" in err


def _options(parser) -> dict:
    """Every subcommand's options as the snapshot stores them (flags, default, choices, nargs, help)."""
    import argparse

    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: [{"flags": list(a.option_strings) or [a.dest],
                    "default": repr(a.default) if not callable(a.default) else "callable",
                    "choices": list(a.choices) if a.choices else None, "nargs": repr(a.nargs), "help": a.help}
                   for a in command._actions]
            for name, command in sub.choices.items()}


def test_every_subcommand_keeps_its_options():
    """The options of every subcommand equal the snapshot taken before the CLI became a package
    (tests/data/cli_options.json): a refactor must not drop, rename or change one."""
    import json
    import os

    with open(os.path.join(os.path.dirname(__file__), "data", "cli_options.json")) as f:
        before = json.load(f)
    assert _options(cli.build_parser()) == before


def test_a_coarse_share_out_of_range_is_one_line(capsys, tmp_path):
    assert cli.main(["atlas", "--coarse", "1.5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "coarse" in err and "[0, 1)" in err


def test_an_anneal_share_out_of_range_is_one_line(capsys, tmp_path):
    assert cli.main(["atlas", "--anneal", "1.5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "anneal" in err and "[0, 1]" in err


def test_lr_of_an_atlas_command_sets_its_icons_learning_rate():
    """--lr reaches the icons (it was shown in atlas --help but ignored); unset, the preset's own."""
    from lucid_atlas.atlas.render import IconSettings
    from lucid_atlas.cli.common import icon_settings

    parser = cli.build_parser()
    assert icon_settings(parser.parse_args(["atlas", "--lr", "0.02"])).learning_rate == 0.02
    assert icon_settings(parser.parse_args(["class-atlas", "--class", "wok", "--lr", "0.03"])).learning_rate == 0.03
    assert icon_settings(parser.parse_args(["atlas"])).learning_rate == IconSettings().learning_rate
    assert icon_settings(parser.parse_args(["atlas", "--icons", "vivid"])).learning_rate == 0.05
