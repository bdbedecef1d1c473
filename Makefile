# The two commands a fresh clone needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint format clean browser

# The venv gets uv first and installs with it: the test extras take seconds instead of the minute
# and more that pip takes to resolve and unpack them.
# --compile-bytecode: where PYTHONDONTWRITEBYTECODE is set (as on CI machines), a fresh venv would
# otherwise compile pandas, scikit-learn and dask again in every process a test starts.
INSTALL := $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python

$(BIN)/python:
	@echo "Creating $(VENV) and installing uv into it…"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	@echo "Installing pipetool and the example's libraries into $(VENV)…"
	$(INSTALL) -e '.[example]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	@echo "Installing pipetool with its test extras into $(VENV)…"
	$(INSTALL) -e '.[test]'
	touch $@

run: $(VENV)/.run-installed
	PATH="$(CURDIR)/$(BIN):$$PATH" pipetool repro -j 2
	PATH="$(CURDIR)/$(BIN):$$PATH" pipetool metrics show

# Whole test files per worker (--dist loadfile): a module's shared fixture (an example project run
# once, a Dask cluster, a browser) is made once, not once on each worker.
test: $(VENV)/.test-installed browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m compileall -q pipetool  # the editable install's own modules, for the same reason
	PATH="$(CURDIR)/$(BIN):$$PATH" python -m pytest -n 2 --dist loadfile -q
	PATH="$(CURDIR)/$(BIN):$$PATH" pipetool verify -j 2

# The UI's browser tests drive Debian's Chromium through its chromedriver. As root with apt-get,
# install them when missing (refreshing the package lists only if the install fails); otherwise
# the browser tests skip, and this says so.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y -q chromium chromium-driver || \
		{ apt-get update -q && apt-get install -y -q chromium chromium-driver; } || \
		echo "Could not install Chromium: the browser tests will skip."; \
	else echo "Chromium or chromedriver missing (apt-get install chromium chromium-driver): the browser tests will skip."; fi

# What `make test` checks first; `make format` fixes what it can.
lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache

# Benchmarks (bench/README.md). BENCH_ARGS passes options on, e.g. `make bench BENCH_ARGS=--quick`.
DVC_VENV    := bench/.venv-dvc
DVC_VERSION ?= 3.67.1

.PHONY: bench bench-compare bench-install

# pipetool as users have it (a regular install, not editable) in its own venv: the run times no
# editable-install import hook, and edits made while it runs do not change what it measures.
BENCH_VENV := bench/.venv-pipetool

$(BENCH_VENV)/bin/python:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --upgrade pip
	$(BENCH_VENV)/bin/pip install -q .

# The transfers workload's S3 part needs s3fs and moto's server (the same S3 API the tests use),
# and for DVC its S3 plugin (dvc-s3, DVC's `s3` extra): added here to a DVC venv made before it.
bench-install: | $(BENCH_VENV)/bin/python
	$(BENCH_VENV)/bin/pip install -q '.[s3]' 'moto[server]>=5.0'
	$(BENCH_VENV)/bin/pip install -q --no-deps --force-reinstall .
	rm -rf build
	if [ -x $(DVC_VENV)/bin/pip ]; then $(DVC_VENV)/bin/pip install -q 'dvc[s3]==$(DVC_VERSION)'; fi

bench: bench-install
	$(BENCH_VENV)/bin/python bench/run.py $(BENCH_ARGS)

# DVC lives in its own venv, never a dependency of pipetool.
$(DVC_VENV)/.installed:
	$(PYTHON) -m venv $(DVC_VENV)
	$(DVC_VENV)/bin/pip install -q --upgrade pip
	$(DVC_VENV)/bin/pip install -q 'dvc[s3]==$(DVC_VERSION)'
	touch $@

bench-compare: bench-install $(DVC_VENV)/.installed
	$(BENCH_VENV)/bin/python bench/run.py --tool both --dvc $(DVC_VENV)/bin/dvc --write-results $(BENCH_ARGS)
