# Every target builds its own virtual environment from pyproject.toml first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install test test-slow bench run lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Three workers (pytest-xdist) on a two-core machine: a third of a worker's time is spent waiting
# (kernels starting, fsyncs, a daemon's timers), which the third fills: in alternating runs 3 took
# 66-81 s, 2 took 78-92 s and 4 took 73 s. Work stealing: a worker that runs out takes tests
# queued for another, so all finish together.
# Bytecode is cached (in __pycache__, ignored by git) even where PYTHONDONTWRITEBYTECODE is set: the
# suite starts a few hundred Python processes (daemons, clients, kernels), and without the cache
# each compiles omegad anew, and each worker rewrites every test module's asserts anew.
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -n 3 --dist worksteal

test-slow: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -s -m slow

bench: $(STAMP)
	$(PY) bench/run.py

run: $(STAMP)
	$(VENV)/bin/omegacli

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build *.egg-info
