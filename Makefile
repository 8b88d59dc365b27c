VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-all lint bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m skillode.cli solve resource --power-law 2 --n 10 --eta 0.019 --N0 0.003 --steps 3000 --out out/solve
	$(PY) -m skillode.cli derive --all --out out/DERIVATIONS.md
	$(PY) -m skillode.cli reproduce --quick --out out/reproduction

# The linter, the formatter's check and the type checker guard the layout before the tests run.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ''

bench: $(STAMP)
	$(PY) -m pytest -q -m benchmark -s benchmarks/bench_*.py

clean:
	rm -rf $(VENV) out
