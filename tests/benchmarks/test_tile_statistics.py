"""The atlas picture statistics of benchmarks/bench_quality.py on synthetic tiles with known answers."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "benchmarks"))
import bench_quality as bq  # noqa: E402

SIDE = 80


def flat(value=128, rgb=None):
    tile = np.full((SIDE, SIDE, 3), value, np.uint8)
    if rgb is not None:
        tile[:] = rgb
    return tile


def checkerboard(period=1):
    yy, xx = np.mgrid[:SIDE, :SIDE]
    board = (((yy // period) + (xx // period)) % 2) * 255
    return np.repeat(board[..., None], 3, -1).astype(np.uint8)


def disc(radius=12, value=255, ground=128):
    yy, xx = np.mgrid[:SIDE, :SIDE]
    tile = np.full((SIDE, SIDE), ground, np.uint8)
    tile[(yy - SIDE / 2 + 0.5) ** 2 + (xx - SIDE / 2 + 0.5) ** 2 <= radius ** 2] = value
    return np.repeat(tile[..., None], 3, -1)


def test_a_flat_grey_tile_is_calm_and_unclipped():
    tile = flat(128)
    assert bq.clipped_share([tile]) == 0.0
    assert bq.mean_saturation([tile]) == 0.0
    assert bq.high_frequency_share(tile) == 0.0
    assert bq.central_edge_energy(tile) == 0.25  # no edges: counted as spread evenly


def test_clipping_and_saturation_of_pure_colours():
    red = flat(rgb=(255, 0, 0))
    assert bq.clipped_share([red]) == 1.0
    assert bq.mean_saturation([red]) == 1.0
    half = flat(rgb=(200, 100, 100))
    assert bq.mean_saturation([half]) == pytest.approx(0.5)
    assert bq.clipped_share([half, red]) == 0.5


def test_a_pixel_checkerboard_is_all_high_frequency_and_a_large_one_is_not():
    assert bq.high_frequency_share(checkerboard(1)) == pytest.approx(1.0)
    assert bq.high_frequency_share(checkerboard(20)) < 0.1  # only the square wave's harmonics


def test_a_centred_disc_has_its_edges_in_the_central_quarter():
    assert bq.central_edge_energy(disc(12)) == pytest.approx(1.0)
    # edges evenly everywhere (a fine checkerboard): the central square's area share
    assert bq.central_edge_energy(checkerboard(2)) == pytest.approx(0.25, abs=0.02)
    # a ring close to the border: nothing central
    ring = disc(36, value=0, ground=128)
    assert bq.central_edge_energy(ring) < 0.01


def test_neighbour_likeness_of_a_grid_of_copies_is_zero():
    tiles = {(r, c): disc(10 + r + c) for r in range(4) for c in range(4)}
    same = {(r, c): disc(12) for r in range(4) for c in range(4)}
    assert bq.neighbour_likeness(same)["neighbour_likeness"] == pytest.approx(0.0, abs=1e-9)
    assert bq.neighbour_likeness(tiles)["adjacent_pairs"] == 24


def test_neighbour_likeness_of_two_regions_is_known_and_shuffling_loses_it():
    # left half one picture, right half its negative: thumbnails correlate +1 within, -1 across
    a = disc(16, value=255, ground=0)
    b = 255 - a
    tiles = {(r, c): (a if c < 4 else b) for r in range(8) for c in range(8)}
    # adjacent pairs: 8 rows × 7 horizontal (one crossing per row) + 7 × 8 vertical = 112, 8 crossing
    adjacent = (112 - 8 - 8) / 112
    n = 64
    random_pairs = (2 * 32 * 31 - 2 * 32 * 32) / (n * (n - 1))
    got = bq.neighbour_likeness(tiles)["neighbour_likeness"]
    assert got == pytest.approx(adjacent - random_pairs, abs=1e-3)
    keys = list(tiles)
    rng = np.random.default_rng(0)
    shuffled = {k: tiles[keys[j]] for k, j in zip(keys, rng.permutation(len(keys)))}
    assert abs(bq.neighbour_likeness(shuffled)["neighbour_likeness"]) < 0.3 * got
    # the control the bench reports beside it: tiles permuted among their positions
    assert abs(bq.neighbour_likeness(tiles)["neighbour_likeness_permuted"]) < 0.1 * got


def test_tile_statistics_reads_an_atlas_picture(tmp_path):
    from PIL import Image

    picture = np.full((SIDE * 3, SIDE * 3, 3), 255, np.uint8)
    picture[:SIDE, :SIDE] = disc(12)
    picture[:SIDE, SIDE:2 * SIDE] = checkerboard(1)
    path = tmp_path / "atlas.png"
    Image.fromarray(picture).save(path)
    tiles = bq.cut_tiles(str(path), 3)
    assert sorted(tiles) == [(0, 0), (0, 1)]
    stats = bq.tile_statistics(tiles)
    assert stats["adjacent_pairs"] == 1
    assert stats["high_frequency"] == pytest.approx((bq.high_frequency_share(disc(12)) + 1.0) / 2, abs=1e-3)
