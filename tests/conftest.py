"""Shared fixtures: where the ImageNet samples are, and a per-session weight cache."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_SAMPLES = os.path.join(os.path.dirname(REPO), "shared", "imagenet-samples")


@pytest.fixture(scope="session")
def imagenet_samples() -> str:
    """Path of ../shared/imagenet-samples, or skip the test with the reason."""
    if not os.path.isdir(SHARED_SAMPLES):
        pytest.skip(f"../shared/imagenet-samples not found at {SHARED_SAMPLES}")
    return SHARED_SAMPLES


@pytest.fixture(scope="session")
def lite0():
    """The real EfficientNet-Lite0, converted once per test session."""
    from lucid_atlas import models

    return models.load("efficientnet_lite0")
