"""Rendering cells and assembling the atlas: icons cached, resumed atlas equals the uninterrupted one."""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import numpy as np
import pytest
from PIL import Image

from lucid_atlas.atlas import assemble, grid
from lucid_atlas.atlas.pipeline import AtlasSettings, build_atlas
from lucid_atlas.atlas.render import IconSettings, icon_path, render_cells

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "benchmarks"))
import bench_quality  # noqa: E402  (the tile statistics the README reports)

FAST = IconSettings(size=24, steps=4, batch=4, seed=0)


def _cells(depth=6, n=3):
    rng = np.random.default_rng(0)
    return [grid.Cell(r, c, 5, rng.normal(size=depth).astype(np.float32), [(1, 0.6)], [0])
            for r in range(n) for c in range(n) if (r + c) % 2 == 0]


def test_render_cells_writes_and_reuses_icons(tiny_model, tmp_path):
    cells = _cells()
    icons = render_cells(tiny_model, "feat", cells, str(tmp_path), FAST, progress=False)
    assert len(icons) == len(cells) and all(v.shape == (24, 24, 3) for v in icons.values())
    first = Image.open(icon_path(str(tmp_path), cells[0]))
    stamp = (tmp_path / icon_path(str(tmp_path), cells[0]).split("/")[-1]).stat().st_mtime_ns
    again = render_cells(tiny_model, "feat", cells, str(tmp_path), FAST, progress=False)
    assert (tmp_path / icon_path(str(tmp_path), cells[0]).split("/")[-1]).stat().st_mtime_ns == stamp
    np.testing.assert_allclose(again[(0, 0)], np.asarray(first) / 255.0, atol=1e-6)


def test_tries_keep_the_best(tiny_model, tmp_path):
    cells = _cells()[:2]
    icons = render_cells(tiny_model, "feat", cells, str(tmp_path), IconSettings(24, 4, tries=2, batch=4),
                         progress=False)
    assert len(icons) == 2


def test_an_icon_does_not_depend_on_its_batch(tiny_model, tmp_path):
    """--batch is a speed setting: each icon's noise, transforms and gradient are its own."""
    cells = _cells()
    one = render_cells(tiny_model, "feat", cells, str(tmp_path / "b1"), IconSettings(24, 6, batch=1), progress=False)
    many = render_cells(tiny_model, "feat", cells, str(tmp_path / "b5"), IconSettings(24, 6, batch=5), progress=False)
    for key in one:
        assert np.abs(one[key] - many[key]).max() <= 2 / 255  # PNG rounding
    assert np.abs(one[(0, 0)] - one[(0, 2)]).mean() > 0.01  # cells differ


def test_natural_spectrum_icons_render_independently_of_their_batch(tiny_model, tmp_path):
    """Phase-only icons (MACO's fixed natural spectrum) render, are their own whatever the batch, and
    name a cache of their own; the default's cache key is what it was before the field existed."""
    cells = _cells()
    natural = IconSettings(24, 6, batch=1, spectrum="natural")
    one = render_cells(tiny_model, "feat", cells, str(tmp_path / "b1"), natural, progress=False)
    many = render_cells(tiny_model, "feat", cells, str(tmp_path / "b5"), dataclasses.replace(natural, batch=5),
                        progress=False)
    for key in one:
        assert np.abs(one[key] - many[key]).max() <= 2 / 255  # PNG rounding
    lucid = render_cells(tiny_model, "feat", cells, str(tmp_path / "lucid"), IconSettings(24, 6, batch=5),
                         progress=False)
    assert np.abs(one[(0, 0)] - lucid[(0, 0)]).mean() > 0.01
    assert natural.key() != dataclasses.replace(natural, spectrum="lucid").key()
    assert IconSettings().key() == "f9dcb68e"  # the README atlas's icon folder, icons_20_f9dcb68e
    # the presets pin their rate and steps: their icons, and the patch candidates rendered with them, stay
    assert {name: IconSettings.preset(name).key() for name in ("vivid", "notebook", "calm_opaque", "published")} == {
        "vivid": "434496e2", "notebook": "1d4ad2c6", "calm_opaque": "859712ae", "published": "a5df1722"}


def test_coarse_to_fine_icons_render_independently_of_their_batch(tiny_model, tmp_path):
    """Icons whose first steps run at a smaller size, then enlarged and refined: each is its own
    whatever the batch, the right size, and not the all-full-size icon."""
    cells = _cells()
    coarse = IconSettings(24, 8, batch=1, coarse=0.5, coarse_scale=0.5)
    assert (coarse.coarse_size(), coarse.coarse_steps()) == (12, 4)
    one = render_cells(tiny_model, "feat", cells, str(tmp_path / "b1"), coarse, progress=False)
    many = render_cells(tiny_model, "feat", cells, str(tmp_path / "b5"), dataclasses.replace(coarse, batch=5),
                        progress=False)
    for key in one:
        assert one[key].shape == (24, 24, 3)
        assert np.abs(one[key] - many[key]).max() <= 2 / 255  # PNG rounding
    full = render_cells(tiny_model, "feat", cells, str(tmp_path / "full"), IconSettings(24, 8, batch=5),
                        progress=False)
    assert np.abs(one[(0, 0)] - full[(0, 0)]).mean() > 0.01
    assert coarse.key() != dataclasses.replace(coarse, coarse=0.0).key()
    for bad in (dict(coarse=1.0), dict(coarse=0.5, coarse_scale=0.0), dict(coarse=0.5, spectrum="natural")):
        with pytest.raises(ValueError, match="coarse"):
            IconSettings(**bad)


def test_icon_presets():
    published = IconSettings.published()
    assert (published.size, published.steps, published.tries, published.cossim_pow) == (80, 1024, 4, 2.0)
    assert published.transforms == "published" and published.objective == "recipe" and published.boundary > 0
    assert IconSettings.preset("notebook", steps=8).steps == 8
    for bad in (dict(transforms="fancy"), dict(objective="logit"), dict(batch=0), dict(spectrum="pink")):
        try:
            IconSettings(**bad)
        except ValueError as exc:
            assert str(exc)
        else:
            raise AssertionError(f"{bad} accepted")


def test_atlas_image_places_icons(tmp_path):
    cells = [grid.Cell(0, 1, 3, np.zeros(2)), grid.Cell(2, 0, 9, np.zeros(2))]
    icons = {(0, 1): np.zeros((8, 8, 3)), (2, 0): np.ones((8, 8, 3)) * np.array([1.0, 0, 0])}
    img = np.asarray(assemble.atlas_image(cells, icons, 3, 8))
    assert img.shape == (24, 24, 3)
    assert (img[0:8, 8:16] == 0).all()  # black icon at row 0, col 1
    assert (img[16:24, 0:8] == [255, 0, 0]).all()
    assert (img[8:16, 8:16] == 255).all()  # empty cell stays blank
    lab = assemble.labelled(assemble.atlas_image(cells, icons, 3, 8), [grid.Cell(2, 0, 9, np.zeros(2), [(0, 1.0)])],
                            ["red"], 3)
    assert lab.size == (24, 24)


def test_build_atlas_resumes_to_the_same_atlas(tiny_model, image_dir, tmp_path):
    settings = AtlasSettings(layer="feat", grids=(3,), positions=6, min_count=1, n_neighbors=5,
                             metric="euclidean")
    whole = build_atlas(tiny_model, image_dir, str(tmp_path / "whole"), settings, FAST, progress=False)
    part_dir = tmp_path / "part"
    build_atlas(tiny_model, image_dir, str(part_dir), settings, FAST, progress=False)
    for icon in list((part_dir / f"icons_3_{FAST.key()}").glob("*.png"))[::2]:
        icon.unlink()  # as if the run had died half-way through rendering
    resumed = build_atlas(tiny_model, image_dir, str(part_dir), settings, FAST, progress=False)
    a = np.asarray(Image.open(whole["grids"]["3"]["atlas"]))
    b = np.asarray(Image.open(resumed["grids"]["3"]["atlas"]))
    np.testing.assert_array_equal(a, b)
    desc = json.loads((part_dir / "atlas_3.json").read_text())
    # other icon settings render into a folder of their own: the cached icons are never reused for them
    other = dataclasses.replace(FAST, steps=5)
    again = build_atlas(tiny_model, image_dir, str(part_dir), settings, other, progress=False)
    assert (part_dir / f"icons_3_{other.key()}").is_dir() and other.key() != FAST.key()
    assert dataclasses.replace(FAST, batch=1).key() == FAST.key()  # batch is a speed setting
    assert not np.array_equal(np.asarray(Image.open(again["grids"]["3"]["atlas"])), b)
    assert desc["grid"] == 3 and sum(c["count"] for c in desc["cells"]) == whole["rows"]
    assert 0 <= whole["trustworthiness"] <= 1 and set(whole["stage_seconds"]) == {
        "collect", "whitening", "layout", "grid_3", "render", "assemble"}
    assert {"top_classes", "icon", "example_images"} <= set(desc["cells"][0])


def test_bad_inputs_get_clear_messages(tiny_model, image_dir, tmp_path):
    import pytest

    with pytest.raises(ValueError, match="grid sizes must be positive"):
        build_atlas(tiny_model, image_dir, str(tmp_path / "a"), AtlasSettings(layer="feat", grids=(0,)), FAST)
    with pytest.raises(ValueError, match="no spatial dimensions"):
        build_atlas(tiny_model, image_dir, str(tmp_path / "b"), AtlasSettings(layer="scores"), FAST)
    with pytest.raises(ValueError, match="a grid needs at least"):
        build_atlas(tiny_model, image_dir, str(tmp_path / "c"),
                    AtlasSettings(layer="feat", positions=1, min_count=20), FAST)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        build_atlas(tiny_model, str(empty), str(tmp_path / "d"), AtlasSettings(layer="feat"), FAST)


def test_density_shading_fades_sparse_cells():
    cells = [grid.Cell(0, 0, 1, np.zeros(2)), grid.Cell(0, 1, 100, np.zeros(2))]
    icons = {(0, 0): np.zeros((8, 8, 3)), (0, 1): np.zeros((8, 8, 3))}
    img = np.asarray(assemble.atlas_image(cells, icons, 2, 8, density=True)).astype(int)
    assert img[0:8, 0:8].mean() > 100 and img[0:8, 8:16].mean() < 5  # sparse cell faded, dense stays black


def test_non_finite_activations_are_reported():
    import pytest

    from lucid_atlas.atlas.pipeline import _check_rows

    rows = np.ones((20, 4), np.float32)
    rows[3, 1] = np.nan
    rows[7, 0] = np.inf
    with pytest.raises(ValueError, match="2 collected activation rows contain NaN or inf"):
        _check_rows(rows, AtlasSettings(layer="feat"))


def test_streamed_atlas_equals_the_in_memory_one(tiny_model, image_dir, tmp_path):
    """Rows streamed shard by shard (as for a million rows) give the in-memory atlas's layout and
    cell directions (to float rounding), and a rerun reads every stage back; float16 storage
    halves the shards."""
    base = AtlasSettings(layer="feat", grids=(3,), positions=6, min_count=1, n_neighbors=5, metric="euclidean",
                         shard_images=4)
    memory = build_atlas(tiny_model, image_dir, str(tmp_path / "memory"), base, FAST, progress=False)
    streamed_settings = dataclasses.replace(base, in_memory_rows=0)
    stages = []
    streamed = build_atlas(tiny_model, image_dir, str(tmp_path / "streamed"), streamed_settings, FAST,
                           progress=False, on_stage=stages.append)
    assert stages == ["collect", "whitening", "layout", "grid_3", "render_3", "assemble_3"]
    assert memory["rows"] == streamed["rows"]
    np.testing.assert_array_equal(np.load(tmp_path / "memory" / "layout_umap.npy"),
                                  np.load(tmp_path / "streamed" / "layout_umap.npy"))
    a, b = (np.load(tmp_path / name / "atlas_3_directions.npz") for name in ("memory", "streamed"))
    np.testing.assert_array_equal(a["rows"], b["rows"])
    np.testing.assert_allclose(a["directions"], b["directions"], rtol=1e-5, atol=1e-6)
    again = build_atlas(tiny_model, None, str(tmp_path / "streamed"), streamed_settings, FAST, progress=False,
                        collected=True)
    assert max(again["stage_seconds"][k] for k in ("whitening", "layout", "grid_3")) < 1
    half = dataclasses.replace(streamed_settings, dtype="float16")
    build_atlas(tiny_model, image_dir, str(tmp_path / "half"), half, FAST, progress=False)
    size = {name: sum(np.load(f).nbytes for f in (tmp_path / name / "activations").glob("acts-*.npy"))
            for name in ("streamed", "half")}
    assert size["half"] * 2 == size["streamed"]


def test_direction_seeded_icons_are_a_function_of_their_direction(tiny_model, tmp_path):
    """seeding='direction': equal directions give equal icons wherever their cells are; 'cell' keys
    the noise by the cell, so the same direction renders differently in two cells."""
    d = np.random.default_rng(3).normal(size=6).astype(np.float32)
    cells = [grid.Cell(0, 0, 5, d), grid.Cell(2, 3, 5, d)]
    by_dir = render_cells(tiny_model, "feat", cells, str(tmp_path / "d"),
                          dataclasses.replace(FAST, seeding="direction"),
                          progress=False)
    np.testing.assert_array_equal(by_dir[(0, 0)], by_dir[(2, 3)])
    by_cell = render_cells(tiny_model, "feat", cells, str(tmp_path / "c"), dataclasses.replace(FAST, seeding="cell"),
                           progress=False)
    assert np.abs(by_cell[(0, 0)] - by_cell[(2, 3)]).mean() > 0.01


def test_the_border_penalty_keeps_its_weight_whatever_the_objective_scale(tiny_model, tmp_path):
    """The boundary term is weighed against each icon's own objective: a model whose activations are
    100× larger gets the same icons (Adam is scale-free, and so is the relative penalty), and the
    penalty does calm the border."""
    from lucid_atlas.optvis import param, render

    d = np.random.default_rng(4).normal(size=(2, 6)).astype(np.float32)
    icons = IconSettings.preset("calm_opaque", size=24, steps=24, boundary=5.0, boundary_width=4)
    images = {}
    for scale in (1.0, 100.0):
        obj = icons.objective_for("feat", d * scale, None)
        images[scale] = render.render(tiny_model, obj, lambda: param.image(24, batch=2), transforms=(),
                                      thresholds=(24,), seed=0, progress=False).images[-1]
    assert np.abs(images[1.0] - images[100.0]).max() < 0.02
    plain = render.render(tiny_model, dataclasses.replace(icons, boundary=0).objective_for("feat", d, None),
                          lambda: param.image(24, batch=2), transforms=(), thresholds=(24,), seed=0,
                          progress=False).images[-1]
    border = np.ones((24, 24), bool)
    border[4:-4, 4:-4] = False
    assert np.abs(images[1.0][:, border] - 0.5).mean() < np.abs(plain[:, border] - 0.5).mean()


def test_near_directions_give_near_icons_and_shuffling_them_loses_the_map(tiny_model, tmp_path):
    """With the default icons (seeded by direction), a grid whose directions change smoothly renders
    as a map: adjacent icons alike beyond random pairs; the same directions shuffled among the
    positions lose it (the likeness comes from the directions, not from anything shared by place)."""
    rng = np.random.default_rng(5)
    corners = rng.normal(size=(4, 6)).astype(np.float32)
    n = 6
    cells = []
    for r in range(n):
        for c in range(n):
            u, v = r / (n - 1), c / (n - 1)
            d = ((1 - u) * (1 - v) * corners[0] + (1 - u) * v * corners[1]
                 + u * (1 - v) * corners[2] + u * v * corners[3])
            cells.append(grid.Cell(r, c, 5, d))
    icons = IconSettings(size=24, steps=24, batch=12)
    mapped = render_cells(tiny_model, "feat", cells, str(tmp_path / "map"), icons, progress=False)
    order = rng.permutation(len(cells))
    shuffled_cells = [dataclasses.replace(c, direction=cells[j].direction) for c, j in zip(cells, order)]
    shuffled = render_cells(tiny_model, "feat", shuffled_cells, str(tmp_path / "shuffled"), icons, progress=False)

    def likeness(images):
        tiles = {k: (v * 255 + 0.5).astype(np.uint8) for k, v in images.items()}
        return bench_quality.neighbour_likeness(tiles)["neighbour_likeness"]

    assert likeness(mapped) > 0.1, likeness(shuffled)
    assert likeness(shuffled) < 0.5 * likeness(mapped), (likeness(mapped), likeness(shuffled))


@pytest.mark.parametrize("preset", ["default", "calm_opaque"])
def test_calm_icons_keep_their_border_plain_and_their_grain_low(tiny_model, tmp_path, preset):
    """The default (transparent surroundings, blur) and calm_opaque (radial border penalty, blur): the
    border is nearer gray than the centre, and the icons have less fine grain than the vivid preset's;
    both still raise their objective."""
    from lucid_atlas.optvis import render

    cells = _cells()
    calm = IconSettings.preset(preset, size=32, steps=48, batch=8)
    vivid = IconSettings.preset("vivid", size=32, steps=48, batch=8)
    images = {}
    for name, icons in (("calm", calm), ("vivid", vivid)):
        images[name] = np.stack(list(render_cells(tiny_model, "feat", cells, str(tmp_path / name), icons,
                                                  progress=False).values()))
    border = np.ones((32, 32), bool)
    border[6:-6, 6:-6] = False
    calm_border = np.abs(images["calm"][:, border] - 0.5).mean()
    assert calm_border < np.abs(images["calm"][:, ~border] - 0.5).mean()
    assert calm_border < np.abs(images["vivid"][:, border] - 0.5).mean()

    def grain(batch):
        return np.mean([bench_quality.high_frequency_share((img * 255 + 0.5).astype(np.uint8)) for img in batch])
    assert grain(images["calm"]) < grain(images["vivid"])
    d = np.stack([c.direction for c in cells])
    obj = calm.objective_for("feat", d, None)
    from lucid_atlas.optvis import param
    result = render.render(tiny_model, obj, lambda: param.image(32, batch=len(d), decay_power=calm.decay_power,
                                                                alpha=bool(calm.alpha)),
                           transforms=calm.transform_list(), thresholds=(1, 48), seed=0, progress=False,
                           image_ops=calm.image_ops())
    assert result.values[-1].mean() > result.values[0].mean()


def test_transparent_icons_fade_to_the_ground_away_from_the_centre(tiny_model):
    """alpha > 0: RGBA icons whose opacity is penalized more away from the centre; the icon shown is
    the optimized RGBA image on the gray ground."""
    from lucid_atlas.atlas.render import ICON_GROUND, on_ground
    from lucid_atlas.optvis import objectives, param, render

    d = np.random.default_rng(6).normal(size=(4, 6)).astype(np.float32)
    icons = IconSettings(size=32, steps=96, alpha=10.0, boundary=0.0, blur=0.0)
    result = render.render(tiny_model, icons.objective_for("feat", d, None),
                           lambda: param.image(32, batch=4, alpha=True), transforms=icons.transform_list(),
                           thresholds=(96,), seed=0, progress=False)
    rgba = result.images[-1]
    alpha = rgba[..., 3]
    border = np.ones((32, 32), bool)
    border[8:-8, 8:-8] = False
    assert alpha[:, border].mean() < 0.5 * alpha[:, ~border].mean()
    shown = on_ground(rgba)
    assert shown.shape == (4, 32, 32, 3)
    np.testing.assert_allclose(shown, rgba[..., :3] * rgba[..., 3:] + ICON_GROUND * (1 - rgba[..., 3:]), atol=1e-6)
    with np.testing.assert_raises(ValueError):
        render.objective_values(tiny_model, objectives.penalize_opacity(), param.image(16))


def test_annealed_icons_render_independently_of_their_batch(tiny_model, tmp_path):
    """Icons whose learning rate falls over their last steps (also after coarse steps): each is its own
    whatever the batch, not the constant-rate icon, and cached under a key of its own."""
    cells = _cells()
    for settings in (IconSettings(24, 8, batch=1, anneal=0.5),
                     IconSettings(24, 8, batch=1, anneal=0.5, coarse=0.5, coarse_scale=0.5)):
        one = render_cells(tiny_model, "feat", cells, str(tmp_path / f"b1{settings.key()}"), settings, progress=False)
        many = render_cells(tiny_model, "feat", cells, str(tmp_path / f"b5{settings.key()}"),
                            dataclasses.replace(settings, batch=5), progress=False)
        for key in one:
            assert np.abs(one[key] - many[key]).max() <= 2 / 255  # PNG rounding
        constant = dataclasses.replace(settings, anneal=0.0)
        plain = render_cells(tiny_model, "feat", cells, str(tmp_path / f"c{constant.key()}"), constant, progress=False)
        assert np.abs(one[(0, 0)] - plain[(0, 0)]).mean() > 0.002
        assert settings.key() != constant.key()
    with pytest.raises(ValueError, match="anneal"):
        IconSettings(anneal=1.5)
