# The two commands a fresh clone needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[example]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.run-installed
	PATH="$(CURDIR)/$(BIN):$$PATH" pipetool repro -j 2
	PATH="$(CURDIR)/$(BIN):$$PATH" pipetool metrics show

test: $(VENV)/.test-installed
	PATH="$(CURDIR)/$(BIN):$$PATH" python -m pytest -n 2 -q

clean:
	rm -rf $(VENV) .pytest_cache
