"""End to end: tools/test.py --robustness / --drop on a tiny generated dataset (random weights)."""

import json
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from fixtures import TINY_CONFIG_MODEL

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = TINY_CONFIG_MODEL


def _write(tmp_path, base, root, name):
    loader = dict(
        batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(data_root=root)
    )
    cfg_text = (
        f"_base_ = ['{osp.join(ROOT, base)}']\n"
        f"model = {TINY!r}\n"
        f"test_dataloader = {loader!r}\n"
        "default_hooks = dict(visualization=dict(type='SegVisualizationHook', draw=False))\n"
    )
    path = tmp_path / f'{name}.py'
    path.write_text(cfg_text)
    from mmseg.registry import MODELS

    init_default_scope('mmseg')
    cfg = Config.fromfile(str(path))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = tmp_path / f'{name}.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    return str(path), str(ckpt)


def test_robustness_table_rtfdnet(tmp_path, tiny_rgbt):
    import tools.test as tt

    cfg, ckpt = _write(
        tmp_path,
        'configs/distill/rtfdnet/rtfdnet_mit-t_600it_synthetic-rgbt-128x160.py',
        tiny_rgbt,
        'rtfd',
    )
    out = tt.main([cfg, ckpt, '--work-dir', str(tmp_path / 'wd'), '--robustness', '--fill', 'mean'])
    rows = out['rows']
    assert [r['scenario'] for r in rows] == ['full', 'rgb missing', 'thermal missing']
    for r in rows:
        assert {'mIoU', 'mIoU_rgb', 'mIoU_x', 'mIoU_fused'} <= set(r['metrics'])
    # blanking thermal cannot change the RGB head's prediction
    assert rows[2]['metrics']['mIoU_rgb'] == rows[0]['metrics']['mIoU_rgb']
    assert rows[1]['metrics']['mIoU_x'] == rows[0]['metrics']['mIoU_x']
    with open(tmp_path / 'wd' / 'robustness.json') as f:
        saved = json.load(f)
    assert saved['fill'] == 'mean' and len(saved['rows']) == 3
    md = (tmp_path / 'wd' / 'robustness.md').read_text()
    assert '| thermal missing | thermal |' in md and 'mIoU_fused' in md


def test_drop_and_robustness_teacher_and_student(tmp_path, tiny_rgbt):
    import tools.test as tt

    cfg, ckpt = _write(
        tmp_path,
        'configs/teachers/rgbx-sff-segformer_mit-t_600it_synthetic-rgbt-128x160.py',
        tiny_rgbt,
        'teacher',
    )
    res = tt.main([cfg, ckpt, '--work-dir', str(tmp_path / 'wt'), '--modalities', 'rgb'])
    assert res['dropped_modalities'] == ['thermal'] and res['fill'] == 'zero'
    assert osp.isfile(tmp_path / 'wt' / 'test_results_modalities-rgb.json')  # not test_results.json
    cfg, ckpt = _write(
        tmp_path,
        'configs/students/segformer_mit-t_600it_synthetic-rgbt-128x160.py',
        tiny_rgbt,
        'student',
    )
    out = tt.main(
        [
            cfg,
            ckpt,
            '--work-dir',
            str(tmp_path / 'ws'),
            '--robustness',
            '--out',
            str(tmp_path / 'st' / 'rob.json'),
        ]
    )
    assert [r['scenario'] for r in out['rows']] == ['full', 'rgb missing']
    assert os.path.isfile(tmp_path / 'st' / 'rob.md')
