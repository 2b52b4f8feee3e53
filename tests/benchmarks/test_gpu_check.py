"""``bash tools/gpu_check.sh --dry-run``: every part at tiny size on the CPU, one JSON object on
stdout with the keys of the GPU run, no part erroring. Also the structure of the two settings."""

import json
import os
import subprocess
import sys

import pytest

from crossmodal.benchmarks import gpu_check

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: Keys every successful part reports (docs/benchmarks.md "GPU check" explains each).
PART_KEYS = {
    'environment': {
        'device_type',
        'device_name',
        'compute_capability',
        'torch',
        'triton',
        'cuda',
        'cudnn',
        'onnxruntime',
        'onnxruntime_providers',
        'free_memory_mib',
        'total_memory_mib',
        'device_count',
        'cpu_count',
        'seconds',
    },
    'kernels': {'tests', 'benchmark', 'seconds'},
    'train_throughput': {'nyudv2_cwd_b2_to_b0', 'mfnet_rtfdnet_b2', 'seconds'},
    'smoke': {
        'config',
        'iters',
        'iterations_run',
        'losses_finite',
        'loss_mean_first',
        'loss_mean_last',
        'loss_decreasing',
        'checkpoint_written',
        'checkpoint_reloaded_equal',
        'passed',
        'optim_wrapper',
        'autocast_dtype',
        'seconds',
    },
    'inference': {
        'input_size',
        'export',
        'torch_eager',
        'torch_compile',
        'onnxruntime_cuda',
        'onnxruntime_cpu',
        'seconds',
    },
}
TRAIN_KEYS = {
    'config',
    'batch_size',
    'batch_shapes',
    'fp32',
    'amp',
    'distill_over_student_plus_teacher',
    'cached_teacher_step',
    'cached_teacher_note',
    'seconds',
}
STEP_KEYS = {
    f'{s}_{k}'
    for s in ('student_step', 'teacher_forward', 'distill_step')
    for k in ('ms', 'images_per_s', 'peak_mib')
} | {'ratio'}


def _same_structure(a, b, path=''):
    assert type(a) is type(b) or {type(a), type(b)} <= {int, float, type(None)}, path
    if isinstance(a, dict):
        assert set(a) == set(b), f'{path}: {sorted(set(a) ^ set(b))}'
        for k in a:
            _same_structure(a[k], b[k], f'{path}.{k}')


def test_dry_and_full_settings_have_the_same_keys():
    _same_structure(gpu_check.SETTINGS['dry'], gpu_check.SETTINGS['full'])
    assert set(gpu_check.SETTINGS['full']['budgets']) == set(gpu_check.PARTS)
    assert sum(gpu_check.SETTINGS['full']['budgets'].values()) >= gpu_check.TOTAL_BUDGET_S
    assert gpu_check.TOTAL_BUDGET_S <= 480  # 8 minutes of a 10-minute command


def test_time_limit_records_a_timeout_and_goes_on():
    import time

    out = gpu_check.guarded(lambda: time.sleep(5) or {}, 0.2, 'sleeper')
    assert 'time cap' in out['error'] and out['seconds'] < 2
    assert gpu_check.guarded(lambda: {'x': 1}, 5, 'quick')['x'] == 1
    assert gpu_check.find_errors({'a': {'b': out}, 'c': [{'error': 'e'}]}) == ['a.b', 'c[0]']


def test_gpu_check_dry_run(tmp_path):
    out = tmp_path / 'gpu_check.json'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable)
    res = subprocess.run(
        ['bash', os.path.join(ROOT, 'tools', 'gpu_check.sh'), '--dry-run', '--out', str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert res.stdout.strip(), res.stderr[-3000:]
    data = json.loads(res.stdout)  # stdout is exactly one JSON object (logs went to stderr)
    assert json.loads(out.read_text()) == data
    assert set(data) == {'gpu_check', *gpu_check.PARTS}
    head = data['gpu_check']
    assert head['dry_run'] is True and head['device'] == 'cpu'
    # every part either succeeded or recorded an error; on CPU in dry-run none errored
    for part in gpu_check.PARTS:
        assert 'error' in data[part] or PART_KEYS[part] <= set(data[part]), (
            part,
            sorted(data[part]),
        )
    assert head['errors'] == [] and head['parts_failed'] == [], json.dumps(
        {e.split('.')[0]: data[e.split('.')[0]] for e in head['errors']}, indent=1
    )[-4000:]
    assert res.returncode == 0, res.stderr[-3000:]
    for name, r in data['train_throughput'].items():
        if name == 'seconds':
            continue
        assert TRAIN_KEYS <= set(r), (name, sorted(r))
        for p in ('fp32', 'amp'):
            assert STEP_KEYS <= set(r[p]) and r[p]['distill_step_ms'] > 0
        assert r['amp']['autocast_dtype'] == 'bfloat16' and r['cached_teacher_step'] is None
    tests = data['kernels']['tests']
    assert tests['passed'] >= 1 and tests['failures'] == tests['errors'] == 0
    bench = data['kernels']['benchmark']
    assert bench['impls'] == ['reference', 'chunked', 'triton', 'triton_tf32']
    assert 'skipped' in bench['attention_kl'][0]['triton_tf32']
    smoke = data['smoke']
    assert smoke['passed'] and smoke['iterations_run'] == smoke['iters']
    assert smoke['checkpoint_written'] and smoke['checkpoint_reloaded_equal']
    inf = data['inference']
    for key in ('torch_eager', 'torch_compile', 'onnxruntime_cpu'):
        assert inf[key]['median_ms'] > 0 and inf[key]['fps'] > 0
    assert 'skipped' in inf['onnxruntime_cuda'] or inf['onnxruntime_cuda']['median_ms'] > 0


@pytest.mark.parametrize('argv', [['--parts', 'nope']])
def test_gpu_check_rejects_unknown_parts(argv):
    with pytest.raises(SystemExit):
        gpu_check.main(argv)
