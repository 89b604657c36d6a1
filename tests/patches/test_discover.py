import pytest

from lucid_atlas.atlas.render import IconSettings
from lucid_atlas.patches.discover import CandidateSettings, split_variants


def test_candidate_recipes_are_icon_presets_at_patch_size():
    settings = CandidateSettings(sizes=(48,), steps=32, recipes=("default", "notebook"))
    notebook = settings.icon_settings("notebook", 48, seed=3)
    assert notebook == IconSettings.notebook(size=48, steps=32, tries=1, seed=3)
    assert settings.icon_settings("default", 48, 3).transforms != notebook.transforms


def test_an_unknown_candidate_recipe_names_the_valid_ones():
    with pytest.raises(ValueError, match="notebook"):
        CandidateSettings(recipes=("fancy",))
    with pytest.raises(ValueError, match="positive"):
        CandidateSettings(sizes=())


def test_variants_split_in_two_halves():
    import numpy as np

    tune, test = split_variants(np.zeros((10, 4, 4, 3)))
    assert len(tune) == 5 and len(test) == 5
    with pytest.raises(ValueError, match="--augment"):
        split_variants(np.zeros((1, 4, 4, 3)))


def test_quick_subset_spreads_over_every_source_image():
    import numpy as np

    from lucid_atlas.patches.discover import quick_subset

    variants = np.arange(50)  # e.g. 5 source images × 10 variants, grouped by image
    picked = quick_subset(variants, 12)
    assert len(set(picked)) == 12 and picked[0] == 0 and picked[-1] == 49
    assert {int(v) // 10 for v in picked} == set(range(5))
    assert len(quick_subset(variants, 80)) == 50


def test_screening_in_rounds_keeps_the_one_patch_that_works(red_detector):
    import numpy as np

    from lucid_atlas.patches.discover import ScreenSettings, discover

    rng = np.random.default_rng(0)
    plain = np.clip(0.5 + 0.05 * rng.standard_normal((40, 32, 32, 3)), 0, 1).astype(np.float32)
    dull = [(f"grey {k}", np.full((8, 8, 3), k / 80, np.float32)) for k in range(59)]
    red = np.zeros((8, 8, 3), np.float32)
    red[..., 0] = 1.0
    candidates = dull[:30] + [("red square", red)] + dull[30:]
    found = discover(red_detector, plain, 1, 0, candidates=candidates, ratios=(0.2, 0.4), progress=False,
                     screen_settings=ScreenSettings(quick_variants=4, shortlist=8, finalists=3))
    assert found.best == "red square" and found.held_out[0]["dynamic_rate"] == 1.0
    screen = found.trials["screen"]
    assert sorted(r["patch"] for r in screen) == sorted(name for name, _ in candidates)  # each listed once
    assert [r["screened_on"] for r in screen].count("4 variants") == 60 - 8
    assert len(found.candidates) == 3


def test_a_try_is_the_same_picture_alone_or_with_other_directions(red_detector, tmp_path):
    import numpy as np

    from lucid_atlas.patches.discover import render_candidates

    directions = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]], np.float32)
    names = ["red", "plain", "both"]
    icons = IconSettings.preset("default", size=32, steps=6, tries=1)
    together = render_candidates(red_detector, "feat", directions, names, folder=str(tmp_path / "a"), whitening=None,
                                 icons=icons, tries=2,
                                 label="default", progress=False)
    alone = render_candidates(red_detector, "feat", directions, names, folder=str(tmp_path / "b"), whitening=None,
                              icons=icons, tries=1,
                              label="default", progress=False, only=[2], origin={"layer": "feat"})
    assert len(together) == 6 and [c.name for c in alone] == ["both, default 32 px, try 0"]
    same = next(c for c in together if c.name == alone[0].name)
    np.testing.assert_array_equal(same.patch, alone[0].patch)
    assert alone[0].origin == {"layer": "feat", "direction": "both", "recipe": "default", "size": 32, "try": 0}
    other = next(c for c in together if c.name == "both, default 32 px, try 1")
    assert np.abs(other.patch - same.patch).max() > 0.01  # another try is another picture
