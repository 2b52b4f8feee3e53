"""Smoke test of the kernels benchmark worker (no timing asserts: it only has to run and report)."""

import pytest

from crossmodal.benchmarks.kernels import run_case


@pytest.mark.parametrize(
    'case',
    [
        dict(op='attention_kl', impl='chunked', device='cpu', B=1, h=1, N=40, d=8, repeats=1),
        dict(op='dense_kd', impl='reference', device='cpu', shape=[1, 3, 9, 10], repeats=1),
    ],
)
def test_run_case_reports_time_and_memory(case):
    out = run_case(case)
    assert set(out) >= {'median_s', 'times_s', 'peak_mib', 'loss'}
    assert len(out['times_s']) == 1 and out['peak_mib'] >= 0 and out['loss'] > 0
