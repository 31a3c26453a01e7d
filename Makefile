# gpelib — two commands do everything, each sets up its own virtual environment first:
#   make reproduce   regenerate every figure and table (papermill over notebooks/, profile $(PROFILE))
#   make test        the whole test suite: pytest + nbval over every notebook in the smoke profile
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.gpelib-installed
PROFILE ?= quick
ARGS    ?=

.PHONY: setup reproduce test test-fast lint bench kernel clean-runs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch/torchvision first, as a matched pair (SPEC/README: PyPI's torchvision wants this torch)
	$(BIN)/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install --quiet -e ".[notebooks,test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (gpelib)" >/dev/null
	touch $(STAMP)

setup: $(STAMP)

reproduce: $(STAMP)
	$(BIN)/python reproduce/run_all.py --profile $(PROFILE) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check gpelib tests notebooks reproduce

test: $(STAMP) lint
	GPE_PROFILE=smoke TQDM_DISABLE=1 MPLBACKEND=Agg PYTHONHASHSEED=0 \
		$(BIN)/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider -q $(ARGS)

test-fast: $(STAMP)
	TQDM_DISABLE=1 MPLBACKEND=Agg $(BIN)/python -m pytest tests -q -p no:cacheprovider $(ARGS)

bench: $(STAMP)
	$(BIN)/python reproduce/bench_gme.py $(ARGS)

kernel: $(STAMP)
	$(BIN)/python -m ipykernel install --user --name gpelib --display-name "Python 3 (gpelib)"

clean-runs:
	rm -rf runs
