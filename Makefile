# crossmodal — `make demo` (main job on the embedded dataset) and `make test` (the test suite).
# Both set up a virtual environment in .venv on first use; nothing needs to be installed by hand.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.crossmodal-installed
TEST_STAMP := $(VENV)/.crossmodal-test-installed
PYTEST_ARGS ?= -q
# pytest-xdist workers: the suite is mostly single-threaded tool subprocesses, so two workers on two
# cores nearly halve its wall time (each worker runs torch with one thread: tests/conftest.py)
PYTEST_WORKERS ?= 2

.PHONY: setup setup-test demo test clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(PY)
	bash tools/install_torch.sh $(PIP)
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP) requirements-test.txt
	$(PIP) install -q -r requirements-test.txt
	touch $(TEST_STAMP)

setup: $(STAMP)

setup-test: $(TEST_STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py

test: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS) tests

clean:
	rm -rf work_dirs data/synthetic_*
