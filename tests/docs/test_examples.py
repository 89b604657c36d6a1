"""Every Python code block of the README and the documentation pages runs, page by page (a page's
blocks in order, in one fresh interpreter, as a reader would paste them), so an example that stops
working fails the suite."""

from __future__ import annotations

import glob
import hashlib
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGES = [os.path.join(ROOT, "README.md")] + sorted(
    p for p in glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)
    if os.sep + "notebooks" + os.sep not in p)
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)


def python_blocks(path: str) -> list[str]:
    """The page's ```python blocks, in order."""
    with open(path, encoding="utf-8") as f:
        return BLOCK.findall(f.read())


def unique_examples() -> list[tuple[str, str]]:
    """(page, its blocks joined) for every page with Python, a page whose code repeats another's once."""
    seen, out = set(), []
    for page in PAGES:
        code = "\n".join(python_blocks(page))
        digest = hashlib.sha1(code.encode()).hexdigest()
        if code.strip() and digest not in seen:
            seen.add(digest)
            out.append((os.path.relpath(page, ROOT), code))
    return out


def test_the_examples_are_found():
    assert python_blocks(os.path.join(ROOT, "README.md")), "the README has a Python example"
    pages = [page for page, _ in EXAMPLES]
    assert os.path.join("docs", "feature-visualization.md") in pages and len(pages) >= 5, pages


EXAMPLES = unique_examples()


@pytest.mark.slow
@pytest.mark.parametrize("page,code", EXAMPLES, ids=[page for page, _ in EXAMPLES])
def test_page_examples_run(page, code, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg")
    env.pop("LUCID_ATLAS_REQUIRE_BROWSER", None)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, f"{page}'s Python example failed:\n{result.stderr[-3000:]}"
