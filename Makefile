# gpelib — two commands do everything, each sets up its own virtual environment first:
#   make reproduce   regenerate every figure and table (papermill over notebooks/, profile $(PROFILE))
#   make test        the whole test suite: ruff, lint-imports, pytest + nbval over every notebook in the smoke profile
#   make test-paper  the paper profile end to end on fake data sets in every real layout (a dry run; CI runs it too)
# The environment is requirements.lock, installed with hashes (make lock refreshes it).
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.gpelib-installed
PROFILE ?= $(or $(GPE_PROFILE),quick)
ARGS    ?=
LOCK    := requirements.lock
# torch/torchvision as a matched pair (PyPI's torchvision 0.29.1 wants exactly this torch)
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
UNLOCKED ?=
LOCK_ARGS ?=

.PHONY: setup lock reproduce test test-paper test-fast lint bench kernel clean-runs docs

# Every dependency at the exact version and sha256 of requirements.lock (Linux x86_64, Python 3.11; `make lock`
# writes it from pyproject.toml with the pins below), then gpelib itself in editable mode without dependencies.
# Elsewhere (another Python or platform): make setup UNLOCKED=1 resolves pyproject.toml's ranges instead.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	if [ "$(UNLOCKED)" = 1 ]; then \
		$(BIN)/python -m pip install --quiet $(TORCH_PINS) && \
		$(BIN)/python -m pip install --quiet -e ".[notebooks,test]"; \
	else \
		$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK) && \
		$(BIN)/python -m pip install --quiet --no-deps -e .; \
	fi
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (gpelib)" >/dev/null
	touch $(STAMP)

setup: $(STAMP)

# Refresh requirements.lock from pyproject.toml (extras notebooks + test) and TORCH_PINS with uv, installed into the
# venv when missing. Pins already in the lock are kept where they still fit; LOCK_ARGS=--upgrade moves every package
# to its newest release. Then `make setup` installs exactly the new lock.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m uv --version >/dev/null 2>&1 || $(BIN)/python -m pip install --quiet uv
	printf '%s\n' $(TORCH_PINS) | $(BIN)/python -m uv pip compile pyproject.toml - --extra notebooks --extra test \
		--generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--custom-compile-command "make lock" --quiet $(LOCK_ARGS) -o $(LOCK)

reproduce: $(STAMP)
	$(BIN)/python reproduce/run_all.py --profile $(PROFILE) $(ARGS)

# The API reference: every module's docstrings rendered by pdoc into docs/api/index.html (not committed; a test in
# `make test` builds it too, so it cannot break unnoticed)
docs: $(STAMP)
	$(BIN)/python reproduce/api_docs.py docs/api

# ruff, then the house's floors (pyproject.toml's import-linter layers contract: imports only go down, no circles)
lint: $(STAMP)
	$(BIN)/ruff check gpelib tests notebooks reproduce
	$(BIN)/lint-imports --no-cache

# Every test trains from nothing: checkpoints and classifier caches go to a fresh temporary folder ($GPE_RUNS_DIR),
# never to runs/, so no test passes on models that older code trained (issue 30)
test: $(STAMP) lint
	runs=$$(mktemp -d) && trap 'rm -rf "$$runs"' EXIT && \
	GPE_RUNS_DIR=$$runs GPE_PROFILE=smoke TQDM_DISABLE=1 MPLBACKEND=Agg PYTHONHASHSEED=0 \
		$(BIN)/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider -q $(ARGS)

# Every notebook's paper profile through the runner, on fake MNIST/CIFAR10/CelebA/CelebA-HQ/Tiny ImageNet trees, at
# budgets × 1e-3 (capped): reproduce/dry_run.py; it writes only into a temporary folder
test-paper: $(STAMP)
	TQDM_DISABLE=1 MPLBACKEND=Agg PYTHONHASHSEED=0 $(BIN)/python reproduce/dry_run.py $(ARGS)

test-fast: $(STAMP)
	TQDM_DISABLE=1 MPLBACKEND=Agg $(BIN)/python -m pytest tests -q -p no:cacheprovider $(ARGS)

bench: $(STAMP)
	$(BIN)/python reproduce/bench_gme.py $(ARGS)

kernel: $(STAMP)
	$(BIN)/python -m ipykernel install --user --name gpelib --display-name "Python 3 (gpelib)"

clean-runs:
	rm -rf runs
