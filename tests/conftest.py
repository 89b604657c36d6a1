"""Shared fixtures: where the ImageNet samples are, and a per-session weight cache."""

from __future__ import annotations

import os
import shutil

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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def skip_or_fail(reason: str):
    """Skip a browser test with the reason, or fail it where the browser is required (CI)."""
    if os.environ.get("LUCID_ATLAS_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (LUCID_ATLAS_REQUIRE_BROWSER=1 requires the browser tests to run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright, with a fake camera that needs no permission prompt."""
    try:
        from playwright import sync_api
    except ImportError:
        skip_or_fail("Playwright is not installed: pip install playwright")
    if CHROMIUM is None:
        skip_or_fail("Chromium is not installed (apt-get install chromium); make test installs it as root")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
        yield b
        b.close()
