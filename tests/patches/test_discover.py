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
