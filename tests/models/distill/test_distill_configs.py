"""Every distillation config parses, follows the naming grammar, and points at existing configs."""

import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'distill', '*', '*.py')))
# mmseg's grammar <method>_<backbone>[_...]_<schedule>_<dataset>-<crop>.py,
# schedule like 80k / 600it
NAME = re.compile(r'^[a-z0-9-]+(_[a-z0-9-]+)+_\d+(k|it)_[a-z0-9-]+-\d+x\d+\.py$')


def test_there_are_kd_cwd_gkd_configs():
    methods = {osp.basename(osp.dirname(p)) for p in CONFIGS}
    assert {'kd', 'cwd', 'gkd'} <= methods
    datasets = {'synthetic-rgbt', 'nyudv2-rgbd', 'mfnet-rgbt'}
    for d in datasets:
        assert any(d in osp.basename(p) for p in CONFIGS), d


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(p) for p in CONFIGS])
def test_distill_config(path):
    assert NAME.match(osp.basename(path)), osp.basename(path)
    cfg = Config.fromfile(path)
    if 'stages' in cfg:  # a multi-stage recipe for tools/train_stages.py
        for stage in cfg.stages:
            assert osp.isfile(osp.join(osp.dirname(path), stage['config']))
        return
    model = cfg.model
    if model.type != 'DistillSegmentor':  # methods with their own model (FSKD, RTFDNet): parse only
        return
    assert osp.isfile(model.student), model.student
    ds = cfg.train_dataloader.dataset
    # a MixedLabelDataset (labelled + unlabelled frames): every part obeys the same rules
    parts = [ds[k] for k in ('labelled', 'unlabelled')] if ds.type == 'MixedLabelDataset' else [ds]
    for part in parts:
        for spec in model.teachers.values():
            assert osp.isfile(spec['config']), spec['config']
            t_mods = tuple(Config.fromfile(spec['config']).model.modalities)
            assert tuple(spec['modalities']) == t_mods
            assert tuple(spec['modalities']) == tuple(part.modalities)
        # the distiller's pipelines pack a dict of modalities (not a stacked student tensor)
        packs = [t for t in part.pipeline if t['type'] == 'PackMultiModalInputs']
        assert packs and not packs[-1].get('stack', False)
