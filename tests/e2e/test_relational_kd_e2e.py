"""End-to-end: the three relational/dense KD configs (configs/distill/relational/) train a student.

Each config runs as shipped (its model, losses, taps, pipelines) for 2 iterations on a tiny
generated RGB-T dataset (10 frames of 64x80, padded to the configs' 128x160 crop), with a
random-init teacher checkpoint built from the configs' own teacher config. Checks: every
``distill.*`` loss is logged, finite and > 0 on both iterations, and the student's weights change.
"""

import glob
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'distill', 'relational', '*_synthetic-rgbt-*.py'))
)
EXPECTED_KEY = {
    'dense-kd': 'distill.loss_dense_kd',
    'affinity-kd': 'distill.loss_affinity_kd',
    'attn-kd': 'distill.loss_attn_kd',
}


class _Record(Hook):
    """Keeps the student's weights at the start of training and every iteration's log_vars."""

    def __init__(self):
        self.initial, self.outputs = None, []

    def before_train(self, runner):
        self.initial = {k: v.detach().clone() for k, v in runner.model.student.state_dict().items()}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.outputs.append(dict(outputs))


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    import crossmodal  # noqa: F401

    teacher_cfgs = {Config.fromfile(p).model.teachers.rgbt.config for p in CONFIGS}
    assert len(teacher_cfgs) == 1, teacher_cfgs
    with DefaultScope.overwrite_default_scope('mmseg'):
        teacher = MODELS.build(Config.fromfile(teacher_cfgs.pop()).model)
    path = tmp_path_factory.mktemp('teacher') / 'iter_0.pth'
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, str(path))
    return str(path)


def test_there_are_three_relational_configs():
    assert sorted(osp.basename(p).split('_')[0] for p in CONFIGS) == sorted(EXPECTED_KEY)


@pytest.mark.parametrize('config', CONFIGS, ids=[osp.basename(p).split('_')[0] for p in CONFIGS])
def test_relational_config_trains_student(config, tmp_path, tiny_rgbt, teacher_ckpt):
    from mmengine.runner import Runner

    import crossmodal
    from crossmodal.utils.runner_setup import load_run_config

    wrapper = tmp_path / 'cfg.py'
    wrapper.write_text(f"""
_base_ = [{config!r}]
data_root = {tiny_rgbt!r}
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
model = dict(teachers=dict(rgbt=dict(checkpoint={teacher_ckpt!r})))
train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=2)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2),
                     visualization=dict(type='SegVisualizationHook', draw=False))
""")
    crossmodal.register_all_modules(init_default_scope=False)
    cfg = load_run_config(str(wrapper), None, str(tmp_path / 'work'))
    runner = Runner.from_cfg(cfg)
    record = _Record()
    runner.register_hook(record)
    runner.train()

    key = EXPECTED_KEY[osp.basename(config).split('_')[0]]
    assert len(record.outputs) == 2
    for out in record.outputs:
        distill = {k: v for k, v in out.items() if k.startswith('distill.')}
        assert set(distill) == {key}, out.keys()
        value = float(distill[key])
        assert torch.isfinite(torch.tensor(value)) and value > 0, (key, value)
        assert 'student.decode.loss_ce' in out
    final = runner.model.student.state_dict()
    changed = [
        k
        for k, v in record.initial.items()
        if v.is_floating_point() and not torch.equal(v, final[k])
    ]
    assert any(k.startswith('backbone.') for k in changed)
    assert any(k.startswith('decode_head.') for k in changed)
    assert osp.isfile(osp.join(str(tmp_path / 'work'), 'iter_2.pth'))
