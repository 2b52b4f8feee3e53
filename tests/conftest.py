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


@pytest.fixture(scope='session', autouse=True)
def _one_torch_thread():
    """One intra-op torch thread in the test process (the 2 cores are shared by the xdist workers
    and the tools they start: no oversubscription; 3-4x faster here for the small models).
    Restored afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
