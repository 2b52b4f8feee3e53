"""End to end, as a user runs it: a folder of unlabelled paired recordings -> an unlabelled dataset
(data_prep/paired_frames.py) -> DHO distillation on labelled + unlabelled batches (tools/train.py)
-> alpha on the val split (tools/select_alpha.py) -> test (tools/test.py) -> export of one stock
SegFormer (tools/export.py --alpha) that plain mmseg loads.

Tiny everything: 8 labelled 64x80 synthetic RGB-T frames, 6 unlabelled ones from another seed,
the shipped DHO config with its tiny MiTs, a random teacher, 4 iterations.
"""

import glob
import json
import os.path as osp
import shutil

import pytest
import torch
from e2e_helpers import ROOT, run_tool

DHO = osp.join(ROOT, 'configs', 'distill', 'dho',
               'dho_segformer_mit-t_600it_synthetic-rgbt-128x160.py')


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    from data_prep.synthetic import generate

    base = tmp_path_factory.mktemp('semi')
    lab = base / 'labelled'
    generate(str(lab), 'rgbt', num=10, height=64, width=80, test_fraction=0.2, progress=False)
    other = base / 'other'
    generate(str(other), 'rgbt', num=6, seed=7, height=64, width=80, test_fraction=0.0,
             progress=False)
    rec = base / 'recordings'  # what a robot team has: paired frames, no labels
    for folder in ('RGB', 'Thermal'):
        shutil.copytree(other / folder, rec / folder)
    return dict(labelled=str(lab), recordings=str(rec), pool=str(base / 'pool'), base=base)


def write_config(path, labelled, pool):
    text = f"""
_base_ = [{DHO!r}]
pipe = [dict(type='LoadMultiModalFromFile'),
        dict(type='JointGeometricAug', transforms=[dict(type='HorizontalFlip', p=0.5)]),
        dict(type='MultiModalRandomCrop', crop_size=(48, 64)),
        dict(type='PackMultiModalInputs')]
test_pipe = [dict(type='LoadMultiModalFromFile'), dict(type='PackMultiModalInputs')]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='MixedBatchSampler', labelled_per_batch=2),
    dataset=dict(_delete_=True, type='MixedLabelDataset',
                 labelled=dict(type='RGBXSegDataset', data_root={labelled!r}, split='train',
                               modalities=('rgb', 'thermal'), pipeline=pipe),
                 unlabelled=dict(type='RGBXSegDataset', data_root={pool!r}, split='unlabelled',
                                 modalities=('rgb', 'thermal'), pipeline=pipe)))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root={labelled!r}, split='test', pipeline=test_pipe))
test_dataloader = val_dataloader
model = dict(teachers=dict(rgbt=dict(checkpoint=None)))
train_cfg = dict(max_iters=4, val_interval=4)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=4)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=4))
randomness = dict(seed=0)
"""
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def test_recordings_to_mixed_dho_training_to_exported_stock_student(roots, tmp_path):
    # 1. the unlabelled recordings become a dataset with the labelled set's classes (the CLI is
    # tests/data_prep/test_paired_frames.py's; in-process here saves a tool start)
    from data_prep.paired_frames import main as paired_frames

    assert paired_frames(['--src', roots['recordings'], '--out', roots['pool'], '--classes-from',
                          osp.join(roots['labelled'], 'meta.json'), '--quiet']) == 0
    pool_meta = json.load(open(osp.join(roots['pool'], 'meta.json')))
    assert pool_meta['unlabelled_splits'] == ['unlabelled']
    assert not osp.exists(osp.join(roots['pool'], 'Label'))

    # 2. mixed training: 2 labelled + 2 unlabelled frames per batch
    cfg = write_config(tmp_path / 'dho_mixed.py', roots['labelled'], roots['pool'])
    work = str(tmp_path / 'work')
    run_tool('tools/train.py', cfg, '--work-dir', work)
    scalars = sorted(glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')))[-1]
    steps = [json.loads(line) for line in open(scalars) if '"iter"' in line and 'loss' in line]
    assert len(steps) == 4
    for s in steps:  # both parts logged, every batch half labelled
        assert s['batch.labelled'] == 0.5
        assert s['student.decode.loss_ce'] > 0 and s['distill.loss_kd'] >= 0
    ckpt = osp.join(work, 'iter_4.pth')
    assert osp.isfile(ckpt)

    # 3. alpha on the val split, 4. test at the config's alpha
    sweep_out = str(tmp_path / 'alpha.json')
    run_tool('tools/select_alpha.py', cfg, work, '--split', 'val', '--no-progress',
             '--out', sweep_out)
    sweep = json.load(open(sweep_out))
    assert set(sweep['mIoU']) == {'0', '0.25', '0.5', '0.75', '1'}
    test_out = str(tmp_path / 'test.json')
    run_tool('tools/test.py', cfg, ckpt, '--work-dir', str(tmp_path / 'test'), '--out', test_out)
    tested = json.load(open(test_out))
    miou = tested.get('metrics', tested)['mIoU']
    assert miou == pytest.approx(sweep['config_alpha_mIoU'], abs=0.01)

    # 5. export at the chosen alpha: one stock SegformerHead that plain mmseg loads
    out_dir = str(tmp_path / 'export')
    run_tool('tools/export.py', cfg, ckpt, '--format', 'pth', '--out-dir', out_dir,
             '--alpha', str(sweep['best_alpha']))
    pth = glob.glob(osp.join(out_dir, '*.pth'))
    conf = [p for p in glob.glob(osp.join(out_dir, '*.py'))]
    assert len(pth) == 1 and len(conf) == 1
    sd = torch.load(pth[0], weights_only=True)['state_dict']
    assert 'decode_head.conv_seg.weight' in sd and not any('conv_seg_kd' in k for k in sd)
    from mmseg.apis import init_model

    plain = init_model(conf[0], pth[0], device='cpu')
    assert type(plain.decode_head).__name__ == 'SegformerHead'
