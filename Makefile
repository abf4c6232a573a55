# `make demo` runs the main job end to end (offline); `make test` runs the test suite.
# Both install what they need: a virtual env with the package, and a Chromium if none is found.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser demo test lint docs notebook-html bench clean

# uv installs the same releases pip picks (checked: the same `pip freeze`) in 35-36 s against
# pip's 70-73 s on the AMX Xeon (uv's cache empty), downloading and compiling on both cores; pip
# is the fallback.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv && $(BIN)/uv pip install --quiet --system-certs \
		--python $(BIN)/python --compile-bytecode -e '.[dev]' || { \
		echo "uv could not install: installing with pip"; $(BIN)/pip install --quiet -e '.[dev]'; }
	touch $@

install: $(STAMP)

# Playwright's own browser if installed, else a system Chromium; else Debian's package.
browser: install
	@$(BIN)/python -m collector.browser >/dev/null 2>&1 || { \
		echo "no Chromium found: installing Debian's chromium package"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@echo "browser: $$($(BIN)/python -m collector.browser)"

demo: browser
	$(BIN)/python scripts/demo.py

# The documentation site (MkDocs Material) into site/; --strict: a broken link, a page left out
# of the nav, a command or docstring reference that no longer loads is an error.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# The tutorial notebook executed with its own figures and rendered for docs/ (about 4 min).
notebook-html: browser
	$(BIN)/jupyter nbconvert --to html --execute --ExecutePreprocessor.timeout=1800 \
		--CoalesceStreamsPreprocessor.enabled=True \
		--output-dir docs/notebook notebooks/happy-vs-sad.ipynb

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # the layers and no circles: [tool.importlinter] in pyproject.toml

# Two workers, one a core: on a 2-core machine the suite is CPU-bound (a third worker took
# 520 s against two's 500 s on the AMX machine). A test file stays on one worker, so its module
# fixtures (the demo run, a trained model) are built once; files go out in collection order, the
# demo's first (tests/conftest.py), not largest-first. The demo's fixture (a smaller loop than
# `make demo`'s): 42 s on a 2-core AMX Xeon. --durations: where the time went, in CI's log too.
test: browser lint docs
	$(BIN)/pytest -q --numprocesses=auto --maxprocesses=2 --dist loadfile --no-loadscope-reorder --durations=20

# Benchmarks compare against other tools; those live in their own env to keep ours clean.
.venv-bench/.installed:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet img2dataset imagededup
	touch $@

# The `fer` package pins clash with ours (facenet-pytorch, moviepy): its FER2013 model and Haar
# faces need only these, so it is installed without its other dependencies.
.venv-fer/.installed:
	$(PYTHON) -m venv .venv-fer
	.venv-fer/bin/pip install --quiet tensorflow 'opencv-contrib-python-headless<5' pandas tqdm requests \
		'setuptools<81' pillow matplotlib
	.venv-fer/bin/pip install --quiet --no-deps fer
	touch $@

bench: install .venv-bench/.installed .venv-fer/.installed
	$(BIN)/python bench/collect_throughput.py --img2dataset .venv-bench/bin/img2dataset
	$(BIN)/python bench/dedupe_quality.py --python-imagededup .venv-bench/bin/python
	$(BIN)/python bench/cross_scrape.py --fer-python .venv-fer/bin/python
	$(BIN)/python bench/whole_frame.py
	$(BIN)/python bench/faces_kfold.py --fer-python .venv-fer/bin/python
	$(BIN)/python bench/serve_throughput.py
	$(BIN)/python bench/planted_junk.py

clean:
	rm -rf $(VENV) .venv-bench .venv-fer demo-data site .pytest_cache .ruff_cache
