"""Every real-dataset config, as shipped, through the path a user takes (tools/check_config.py's
:func:`check_config`): the Runner builds the model, ``model.init_weights()`` loads ImageNet MiT
weights into every trainable backbone from the config's own URLs (fabricated files with the real
names, shapes and key formats in the folder searched before the hub cache), trained teachers load
from the work dirs the configs name, then one training iteration and one validation run on a stand-in
dataset written by the benchmark's converter, at 1/8 of the real resolution.

Key formats: the Runner's load uses NVlabs keys for half the configs and mmseg keys for the other
half; for every config each pretrained backbone is then loaded again from the same weights in the
other format by the same initializer and must come out identical.
"""
import math
import os
import os.path as osp

import pytest

from crossmodal.testing.config_check import check_config, list_real_configs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = [osp.relpath(p, ROOT) for p in list_real_configs(osp.join(ROOT, 'configs'))]


@pytest.fixture(scope='module')
def shared(tmp_path_factory):
    return str(tmp_path_factory.mktemp('real_configs_shared'))


def test_every_real_benchmark_has_configs():
    names = ' '.join(CONFIGS)
    for part in ('nyudv2', 'sunrgbd', 'mfnet', 'pst900', 'fmb', 'forest'):
        assert part in names, part
    assert len(CONFIGS) >= 25


def _has_no_val(config):
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, config)).get('val_dataloader') is None


@pytest.mark.parametrize('config', CONFIGS)
def test_real_config_loads_imagenet_trains_and_validates(config, shared, tmp_path):
    fmt, other = (('nvlabs', 'mmseg') if CONFIGS.index(config) % 2 else ('mmseg', 'nvlabs'))
    report = check_config(osp.join(ROOT, config), str(tmp_path), scale=0.125, iters=1, fake_weights=True,
                          fake_teachers=True, weight_format=fmt, cross_check_format=other,
                          shared_dir=shared)
    rows = report['backbones']
    trainable = [r for r in rows if r['source'] != 'teacher checkpoint']
    assert trainable, rows
    for r in trainable:  # every tensor of every trainable backbone came from the ImageNet file
        assert r['source'] == 'pretrained' and r['equal'] == r['total'] and r['format'] == fmt, r
        assert r['checkpoint'].startswith('https://download.openmmlab.com/'), r
        assert r['adapted'] == (r['in_channels'] != 3), r
    assert report['all_pretrained'] and report['cross_format_equal']
    assert report['losses_finite'], report['losses']
    assert report['metrics'], 'no validation metrics'
    # a config without validation (trained on an unlabelled pool) is scored by its test loop
    assert report['evaluated_on'] == ('test' if _has_no_val(config) else 'val')
    if 'fskd-distill' in config:  # the teacher is finite, so the distillation term is not 0
        assert report['losses']['distill.loss_kd'] > 0, report['losses']


@pytest.mark.parametrize('config', CONFIGS)
def test_real_config_states_its_batch_recipe(config):
    """batch_size is per process: every config says so and scales its LR from its own batch."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    batch = cfg.train_dataloader.batch_size
    with open(osp.join(ROOT, config)) as f:
        text = f.read()
    assert f'# Recipe: 1 GPU x {batch} images' in text
    assert cfg.auto_scale_lr.base_batch_size == batch and not cfg.auto_scale_lr.enable


def test_check_config_tool_smoke(tmp_path):
    """tools/check_config.py end to end (offline: --fake-weights), JSON report."""
    import json
    import subprocess
    import sys
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'check_config.py'),
         'configs/students/segformer_mit-b0_80k_nyudv2-rgbd-depthonly-480x640.py', '--fake-weights',
         '--scale', '0.0625', '--iters', '1', '--json', '--work-dir', str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout[out.stdout.index('{'):])
    (row, ) = report['backbones']
    assert row['module'] == 'backbone' and row['in_channels'] == 1 and row['adapted']
    assert row['equal'] == row['total'] and report['all_pretrained'] and report['losses_finite']
    # offline without the weights: the error says which file to fetch and where to put it
    env = dict(os.environ, TORCH_HOME=str(tmp_path / 'torch'), CROSSMODAL_PRETRAINED_DIR=str(tmp_path / 'none'))
    code = ('import sys, urllib.error, torch; sys.argv = sys.argv[1:]\n'
            'def offline(*a, **k): raise urllib.error.URLError("no network")\n'
            'torch.hub.download_url_to_file = offline\n'
            'import runpy; runpy.run_path(sys.argv[0], run_name="__main__")\n')
    out = subprocess.run([sys.executable, '-c', code, osp.join(ROOT, 'tools', 'check_config.py'),
                          'configs/students/segformer_mit-b0_80k_nyudv2-rgbd-480x640.py', '--scale', '0.0625',
                          '--work-dir', str(tmp_path / 'offline')],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode != 0
    assert 'PretrainedWeightsUnavailable' in out.stderr and 'mit_b0_20220624-7e0fe6dd.pth' in out.stderr
    assert 'model.backbone.init_cfg.checkpoint' in out.stderr
