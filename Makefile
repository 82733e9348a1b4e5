# Two commands: `make run` and `make test`. Both build .venv/ on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: install run test lint bench score

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m bot warmup
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot serve --host $(HOST) --port $(PORT)

test: $(STAMP) lint
	bash scripts/ensure-chromium.sh
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check bot intents region_data tests scripts benchmarks
	$(BIN)/ruff format --check bot intents region_data tests scripts benchmarks
	$(BIN)/mypy

score: $(STAMP)
	BOT_PYTHON=$(BIN)/python $(BIN)/python ../shared/eval/score.py ../shared/eval/dev.tsv --show-errors

bench: $(STAMP)
	$(BIN)/python benchmarks/classify_bench.py
