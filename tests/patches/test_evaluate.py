"""Flip-rate arithmetic against a hand-computed table, and a full patch trial on a tiny model."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from lucid_atlas.patches import evaluate

keras = tf.keras
SOURCE, TARGET = 2, 5


def test_success_rates_match_a_hand_computed_table():
    # 5 images; image 3 is misclassified before (so it never counts). 2 corners × 2 ratios.
    before = np.array([2, 2, 2, 7, 2])
    after = np.array([
        [[5, 5], [2, 5]],   # flips at 3 configs
        [[2, 2], [2, 5]],   # flips only at corner 1, ratio 1
        [[2, 2], [2, 2]],   # never flips
        [[5, 5], [5, 5]],   # wrong before: ignored
        [[1, 5], [3, 2]],   # flips only at corner 0, ratio 1
    ])
    # Per-config flips over the 4 correct images: (0,0)=1, (0,1)=2, (1,0)=0, (1,1)=2.
    rates = evaluate.success_rates(before, after, SOURCE, TARGET)
    assert rates["correct_before"] == 4
    assert rates["static_config"] == (0, 1) and rates["static_flips"] == 2 and rates["static_rate"] == 0.5
    assert rates["dynamic_flips"] == 3 and rates["dynamic_rate"] == 0.75
    assert rates["per_config_rate"] == [[0.25, 0.5], [0.0, 0.5]]
    fixed = evaluate.success_rates(before, after, SOURCE, TARGET, config=(1, 0))
    assert fixed["static_flips"] == 0 and fixed["static_rate"] == 0.0 and fixed["dynamic_rate"] == 0.75


def test_no_correct_images_gives_zero_rates_not_nan():
    rates = evaluate.success_rates(np.array([1, 1]), np.full((2, 1, 1), TARGET), SOURCE, TARGET)
    assert rates["correct_before"] == 0 and rates["static_rate"] == 0.0 and rates["dynamic_rate"] == 0.0


def test_run_patch_on_a_tiny_model_reports_flips_and_writes_outputs(red_detector, tmp_path):
    images = np.full((6, 32, 32, 3), 0.4, np.float32)
    red = np.zeros((8, 8, 3), np.float32)
    red[..., 0] = 1.0
    trial = evaluate.run_patch(red_detector, images, red, source=1, target=0, name="red square",
                               ratios=(0.1, 0.3))
    assert trial.top1_after.shape == (6, 4, 2) and trial.patch_class == 0
    row = evaluate.summarize(trial, red_detector.labels)
    assert row["correct_before"] == 6 and row["dynamic_rate"] == 1.0
    assert row["p_target_after_static"] > row["p_target_before"]
    assert row["p_target_change_dynamic"] == pytest.approx(row["p_target_after_dynamic"] - row["p_target_before"])
    paths = evaluate.write_report([row], str(tmp_path), note="tiny")
    assert "| red square |" in open(paths["md"]).read()
    assert json.load(open(paths["json"]))["rows"][0]["dynamic_flips"] == 6
    chart = evaluate.probability_chart(trial, red_detector.labels, str(tmp_path / "chart.png"))
    with Image.open(chart) as img:
        colors = img.convert("RGB").getcolors(1 << 16)
    assert len(colors) > 10  # lines and text were drawn
    noise = evaluate.summarize(evaluate.run_patch(red_detector, images, np.full((8, 8, 3), 0.4, np.float32), 1, 0,
                                                  "random noise", ratios=(0.1, 0.3)), red_detector.labels)
    bars = evaluate.rates_chart([row, noise], str(tmp_path / "rates.png"))
    with Image.open(bars) as img:
        dark_blue = np.all(np.asarray(img.convert("RGB")) == (31, 119, 180), axis=-1).sum()
    assert dark_blue > 100  # the red square's dynamic bar (100 %) is drawn
    assert os.path.exists(evaluate.example_sheet(red_detector, images, red, trial, config=(0, 1),
                                                 path=str(tmp_path / "examples.png")))


def test_images_must_be_at_model_size(red_detector):
    with pytest.raises(ValueError, match="32x32"):
        evaluate.run_patch(red_detector, np.zeros((1, 16, 16, 3), np.float32), np.zeros((4, 4, 3)), 0, 1)
