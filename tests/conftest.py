"""Shared pytest setup: import this checkout (not another one) and apply crossmodal.compat."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
# tests/ itself: the shared tiny models and batches (tests/fixtures.py) import as ``fixtures``
TESTS = os.path.dirname(os.path.abspath(__file__))
if TESTS not in sys.path:
    sys.path.insert(1, TESTS)

# Under pytest-xdist (`make test` runs two workers) each worker and the tools it starts use one
# torch thread, so the workers do not oversubscribe the cores; set before torch is imported.
if os.environ.get('PYTEST_XDIST_WORKER'):
    for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ.setdefault(_var, '1')

import pytest  # noqa: E402

import crossmodal  # noqa: E402,F401

# ../shared beside the checkout (CI and developers); CROSSMODAL_SHARED overrides it (worktrees).
SHARED = os.environ.get('CROSSMODAL_SHARED') or os.path.abspath(os.path.join(ROOT, '..', 'shared'))
SHARED_REAL = os.path.join(SHARED, 'data', 'real')


@pytest.fixture
def shared_real():
    """Path of ../shared/data/real; skips the test cleanly when it is absent."""
    if not os.path.isdir(SHARED_REAL):
        pytest.skip('../shared/data/real is not present')
    return SHARED_REAL
