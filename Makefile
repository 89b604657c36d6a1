# Two quick-start commands: `make run` (activation atlas, offline, embedded defaults) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: setup browser run test docs bench clean

$(BIN)/lucid-atlas: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,docs]"
	touch $@

setup: $(BIN)/lucid-atlas

run: setup
	$(BIN)/lucid-atlas atlas --mode all --grid 10 --out $(OUT)/atlas

# Debian's Chromium for the viewer's browser tests (they skip without it, unless
# LUCID_ATLAS_REQUIRE_BROWSER=1, as in CI).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1)); } || \
	  echo "Chromium not installed (apt-get install chromium): the browser tests will skip"

test: setup browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# The documentation site (MkDocs) into site/; --strict: a broken link or reference fails the build.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

# Xplique pins TensorFlow <= 2.20; its features_visualizations run fine on 2.21, so install it
# without dependencies plus the few modules its package imports.
bench: setup
	$(BIN)/python -m pip install -q --no-deps xplique==2.0.2
	$(BIN)/python -m pip install -q -e ".[bench]"
	$(BIN)/python benchmarks/bench_render.py --json

clean:
	rm -rf $(VENV) $(OUT) site .pytest_cache
