"""Smoke test of ``tools/benchmark.py train-step --teacher-cache`` at tiny size (no timing
asserts): the cached step is timed against the online one on a real batch of a tiny v3 split."""

import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tests', 'teacher_cache'))
from cache_helpers import KD_CFG, data_options, kd_config, teacher_checkpoint, tiny_v3  # noqa: E402


def test_train_step_with_teacher_cache(tmp_path):
    from crossmodal.teacher_cache.writer import cache_teachers

    data = tiny_v3(tmp_path / 'v3')
    work = tmp_path / 'teacher_work'  # the teacher named by its work dir, as the configs do
    work.mkdir()
    ckpt = teacher_checkpoint(work / 'iter_1.pth')
    cache = str(tmp_path / 'cache')
    cache_teachers(kd_config(data, ckpt), cache, topk=3, progress=False)
    opts = [f'{k}={v}' for k, v in data_options(data, str(work)).items()]
    res = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'benchmark.py'), 'train-step', '--config',
         KD_CFG, '--teacher-cache', cache, '--batch-size', '2', '--iters', '1', '--warmup', '0',
         '--cfg-options', *opts],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert out['batch_source'] == 'train_dataloader' and out['teacher_weights'] == {'rgbt': ckpt}
    r = out['results']['fp32']
    assert r['cached_step_ms'] > 0 and r['online_step_ms'] == r['distill_step_ms'] > 0
    assert out['cached_ratio'] == pytest.approx(r['cached_step_ms'] / r['online_step_ms'], rel=1e-3)
    assert out['teacher_cache']['losses'] == ['loss_kd']
    assert set(out['teacher_cache']['pipeline_ms_per_sample']) == {'online', 'cached'}
