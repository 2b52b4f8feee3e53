"""Smoke test of every ``tools/benchmark.py`` subcommand at tiny size (no timing asserts)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CWD = 'configs/distill/cwd/cwd_segformer_mit-b2-to-b0_80k_nyudv2-rgbd-480x640.py'
STUDENT = 'configs/students/segformer_mit-b0_80k_nyudv2-rgbd-480x640.py'


def _bench(*argv):
    res = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'benchmark.py'), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


def test_subcommands_are_all_covered():
    sys.path.insert(0, os.path.join(ROOT, 'tools'))
    import benchmark

    assert set(benchmark.SUBCOMMANDS) == {'kernels', 'train-step', 'infer', 'methods'}


def test_kernels_cli_tiny():
    out = _bench(
        'kernels',
        '--device',
        'cpu',
        '--in-process',
        '--sizes',
        '32',
        '--dims',
        '8',
        '--dense-shape',
        '1',
        '3',
        '8',
        '8',
        '--repeats',
        '1',
        '--impls',
        'reference',
        'chunked',
        'triton_tf32',
    )
    row = out['attention_kl'][0]
    assert row['reference']['median_s'] > 0 and 'time_vs_reference' in row['chunked']
    assert 'skipped' in row['triton_tf32'] and 'skipped' in out['dense_kd']['triton_tf32']
    assert out['memory_method'].startswith('in-process')


def test_train_step_cli_tiny():
    """The real CWD config (was: ImportError _model_cfg), 1/16 size, fp32 + bf16 autocast."""
    out = _bench(
        'train-step',
        '--config',
        CWD,
        '--scale',
        '0.0625',
        '--batch-size',
        '2',
        '--iters',
        '1',
        '--warmup',
        '0',
        '--precision',
        'fp32',
        'amp',
    )
    assert out['model_type'] == 'DistillSegmentor' and out['batch_source'] == 'synthetic'
    assert out['batch_shapes']['rgb'] == [2, 3, 32, 48] and out['batch_shapes']['depth'] == [
        2,
        1,
        32,
        48,
    ]
    for p in ('fp32', 'amp'):
        r = out['results'][p]
        assert (
            r['distill_step_ms'] > 0
            and r['student_step_images_per_s'] > 0
            and r['distill_step_peak_mib'] > 0
        )
    assert out['results']['amp']['autocast_dtype'] == 'bfloat16'
    assert out['ratio'] == out['results']['fp32']['ratio']


def test_infer_cli_tiny():
    out = _bench(
        'infer',
        '--config',
        STUDENT,
        '--input-size',
        '64',
        '64',
        '--warmup',
        '0',
        '--iters',
        '1',
        '--threads',
        '1',
    )
    assert out['input_size'] == [64, 64]
    assert out['torch_eager']['median_ms'] > 0 and out['onnxruntime']['median_ms'] > 0
