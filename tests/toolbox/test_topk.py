"""Top images per channel: one pass over a folder, resumable, ranking equal to brute force."""

from __future__ import annotations


import numpy as np
import pytest

from lucid_atlas.io.images import load_image, resolve_paths
from lucid_atlas.toolbox.topk import LayerMaxima, top_crops


def test_top_images_match_brute_force_and_count_the_broken_file(tiny_classifier, image_folder, tmp_path):
    paths = resolve_paths(image_folder)
    calls = []
    maxima = LayerMaxima(tiny_classifier, "conv2", paths, str(tmp_path), shard_images=4, batch_size=3)
    maxima.compute(lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 14) and calls[-1] == (14, 14)
    assert maxima.skipped == 1
    readable = [p for p in paths if not p.endswith("img05b.png")]
    acts = tiny_classifier.activations(np.stack([load_image(p, (32, 32)) for p in readable]), "conv2")["conv2"].numpy()
    channel = 3
    best = acts[..., channel].reshape(len(readable), -1).max(axis=1)
    expected = [readable[i] for i in np.argsort(-best, kind="stable")[:9]]
    top = maxima.top(channel, 9)
    assert [t.path for t in top] == expected
    assert [t.value for t in top] == pytest.approx(sorted(best, reverse=True)[:9], rel=1e-5)
    y, x = np.unravel_index(acts[readable.index(top[0].path), ..., channel].argmax(), acts.shape[1:3])
    assert top[0].center == pytest.approx(((y + 0.5) / 8, (x + 0.5) / 8))
    crops = top_crops(maxima, channel, side=0.5, k=9)
    assert len(crops) == 9 and crops[0][1].shape == (32, 32, 3)  # half of the 2× image


class _Killed(Exception):
    pass


def test_an_interrupted_pass_resumes_to_the_same_ranking(tiny_classifier, image_folder, tmp_path):
    paths = resolve_paths(image_folder)
    whole = LayerMaxima(tiny_classifier, "conv1", paths, str(tmp_path / "a"), shard_images=4).compute()

    def die_after_two_shards(done, total):
        if done >= 8:
            raise _Killed()

    with pytest.raises(_Killed):
        LayerMaxima(tiny_classifier, "conv1", paths, str(tmp_path / "b"), shard_images=4).compute(die_after_two_shards)
    again = LayerMaxima(tiny_classifier, "conv1", paths, str(tmp_path / "b"), shard_images=4)
    assert not again.complete
    with pytest.raises(RuntimeError, match="compute"):
        again.top(0)
    seen = []
    again.compute(lambda done, total: seen.append(done))
    assert seen == [8, 12, 14]  # resumed after the two saved shards
    for channel in range(8):
        assert [t.path for t in again.top(channel)] == [t.path for t in whole.top(channel)]
