"""The documentation site builds with ``mkdocs build --strict`` and reads in Chromium: the home page
opens, the API reference lists the objectives with their parameters, the command-line page has
every subcommand."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from this checkout into a scratch folder."""
    pytest.importorskip("mkdocs", reason="pip install -e '.[docs]' (make test installs it)")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "WARNING -" not in result.stderr, result.stderr[-4000:]
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    """The built site on a local web server (as a user previews it, or a host serves it)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_every_page_and_module_is_built(site):
    for page in ("index.html", "getting-started/index.html", "studies/index.html", "cli/index.html",
                 "notebooks/01_first_visualization/index.html", "api/index.html",
                 "api/lucid_atlas.optvis.objectives/index.html", "api/lucid_atlas.lucid.optvis.render/index.html"):
        assert (site / page).is_file(), page
    assert (site / "images" / "atlas_imagenet_block12_20.jpg").is_file()


@pytest.mark.browser
def test_the_site_reads_in_chromium(browser, served):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(served + "/index.html")
    assert "lucid_atlas" in page.title()
    assert page.locator("img[alt^='activation atlas']").first.evaluate("img => img.naturalWidth") > 0

    page.goto(served + "/api/lucid_atlas.optvis.objectives/")
    text = page.inner_text("article")
    for signature in ("channel(", "direction_cossim(", "diversity("):
        assert signature in text, signature
    for parameter in ("layer: str", "cossim_pow", "whitening"):
        assert parameter in text, parameter

    page.goto(served + "/cli/")
    text = page.inner_text("article")
    for command in ("lucid-atlas atlas", "lucid-atlas class-atlas", "lucid-atlas toolbox", "--icons"):
        assert command in text, command
    assert not errors, errors
    page.close()
