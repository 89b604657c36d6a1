# Two quick-start commands: `make run` (main job, offline, embedded defaults) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: setup run test bench clean

$(BIN)/lucid-atlas: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

setup: $(BIN)/lucid-atlas

run: setup
	$(BIN)/lucid-atlas evaluate efficientnet_lite0 default --out $(OUT)/evaluate/predictions.json

test: setup
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
