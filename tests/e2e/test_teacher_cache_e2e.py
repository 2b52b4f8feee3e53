"""End to end, offline distillation through the real tools as subprocesses, on tiny v3 data:
``tools/cache_teacher.py`` -> ``tools/train.py`` (2 iterations of the kd-cached config, from the
cache) -> ``tools/test.py``. The teacher is a random-weight checkpoint of the v3 RGB-T config."""

import json
import os.path as osp
import sys

import pytest
from e2e_helpers import run_tool

from crossmodal.utils import checkpoints

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'teacher_cache'))
from cache_helpers import KD_CACHED_CFG, KD_CFG, teacher_checkpoint, tiny_v3  # noqa: E402


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp('tc_e2e')
    return dict(base=base, data=tiny_v3(base / 'v3'), ckpt=teacher_checkpoint(base / 't.pth'))


def _tiny_cached_config(path, data, ckpt, cache):
    text = f'''
_base_ = [{KD_CACHED_CFG!r}]
data_root = {data!r}
model = dict(teacher_cache={cache!r}, teachers=dict(rgbt=dict(checkpoint={ckpt!r})))
_dl = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
train_dataloader = _dl
val_dataloader = _dl
test_dataloader = _dl
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=2)]
randomness = dict(seed=0, deterministic=True)
'''
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def test_cache_then_train_from_it_then_test(setup):
    base, data, ckpt = setup['base'], setup['data'], setup['ckpt']
    cache = str(base / 'cache')
    proc = run_tool(
        'tools/cache_teacher.py', KD_CFG, '--out', cache, '--topk', '4', '--no-progress',
        '--cfg-options', f'model.teachers.rgbt.checkpoint={ckpt}',
        f'train_dataloader.dataset.data_root={data}', f'val_dataloader.dataset.data_root={data}',
        timeout=120,
    )
    summary = json.loads(proc.stdout[proc.stdout.index('{'):])
    assert summary['samples'] == 8 and summary['written'] == 8
    assert summary['ratio'] == pytest.approx((4 * 3 + 2) / 16)  # k = 4 of 8 classes
    cfg = _tiny_cached_config(base / 'kd_cached_tiny.py', data, ckpt, cache)
    work = str(base / 'work')
    proc = run_tool('tools/train.py', cfg, '--work-dir', work, timeout=180)
    log = proc.stdout + proc.stderr
    assert 'distill.loss_kd' in log and 'Iter(train) [2/2]' in log
    state = checkpoints.state_dict_of(checkpoints.load(osp.join(work, 'iter_2.pth')))
    assert state and not [k for k in state if k.startswith('teachers.')]  # no teacher was built
    run_tool('tools/test.py', cfg, osp.join(work, 'iter_2.pth'), '--work-dir', work, timeout=180)
    res = json.load(open(osp.join(work, 'test_results.json')))
    assert res['model'] == 'DistillSegmentor' and 0.0 <= res['metrics']['mIoU'] <= 100.0
