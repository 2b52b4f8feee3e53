"""MST-Distill configs: every file parses; the stage configs build (random teachers) with the
expected stage, experts and MaskNet sizes; the recipes chain the stages with load_mode='all'."""

import glob
import os.path as osp
import warnings

import pytest
from mmengine.config import Config

from mst_helpers import build

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))))
MST = osp.join(ROOT, 'configs', 'distill', 'mst')
EMBEDDED = 'segformer_mit-t_{}_synthetic-rgbd-128x160.py'
NYU = 'segformer_mit-b2-to-b0_{}_nyudv2-rgbd-480x640.py'


@pytest.mark.parametrize('name', [EMBEDDED.format('600it'), NYU.format('44k')])
def test_recipe_chains_three_stages(name):
    recipe = Config.fromfile(osp.join(MST, 'mst_' + name))
    assert [s['name'] for s in recipe.stages] == ['stage1', 'stage2', 'stage3']
    stages = [Config.fromfile(osp.join(MST, s['config'])).model.stage for s in recipe.stages]
    assert stages == ['warmup', 'mask', 'route']
    assert [s.get('load_mode') for s in recipe.stages[1:]] == ['all', 'all']
    assert [s.get('load_from') for s in recipe.stages[1:]] == ['stage1', 'stage2']


def test_embedded_student_budget_equals_the_twin():
    iters = {
        i: Config.fromfile(
            glob.glob(osp.join(MST, f'mst-stage{i}_*synthetic-rgbd*'))[0]
        ).train_cfg.max_iters
        for i in (1, 2, 3)
    }
    assert iters == {1: 150, 2: 150, 3: 450}
    twin = Config.fromfile(
        osp.join(ROOT, 'configs/students/segformer_mit-t_600it_synthetic-rgbd-128x160.py')
    )
    assert iters[1] + iters[3] == twin.train_cfg.max_iters


def _build(path):
    cfg = Config.fromfile(path)
    for spec in cfg.model.teachers.values():
        spec['checkpoint'] = None
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return cfg, build(cfg.model)


@pytest.mark.parametrize('stage', [1, 2, 3])
def test_embedded_stage_configs_build(stage):
    path = glob.glob(osp.join(MST, f'mst-stage{stage}_*synthetic-rgbd*'))[0]
    cfg, model = _build(path)
    assert model.stage == ('warmup', 'mask', 'route')[stage - 1]
    assert model.expert_names == ['rgbd_stage4', 'rgbd_head', 'depth_stage4', 'depth_head']
    assert {k: m.channels for k, m in model.masknets.items()} == {
        'rgbd_stage4': 128,
        'rgbd_head': 64,
        'depth_stage4': 128,
        'depth_head': 64,
    }
    assert (
        model.teachers.depth.backbone.in_channels == 1
        if hasattr(model.teachers.depth.backbone, 'in_channels')
        else True
    )
    assert tuple(cfg.train_dataloader.dataset.modalities) == ('rgb', 'depth')


def test_nyudv2_stage_config_builds():
    path = osp.join(MST, 'mst-stage2_' + NYU.format('2k'))
    cfg, model = _build(path)
    assert model.student.decode_head.num_classes == 40
    assert {k: m.hidden_dim for k, m in model.masknets.items()} == {
        'rgbd_stage4': 30,
        'rgbd_head': 48,
        'depth_stage4': 30,
        'depth_head': 48,
    }
    assert 'custom_keys' not in cfg.optim_wrapper.get('paramwise_cfg', {})
