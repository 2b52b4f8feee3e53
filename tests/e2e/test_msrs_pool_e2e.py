"""The 48 real MSRS RGB-thermal pairs (../shared/data/real/msrs, no labels) as an unlabelled pool:
converted by data_prep/paired_frames.py, loaded without labels, and distilled on by the documented
command (tools/train.py on the shipped label-free KD config) at the full 480x640 resolution, with a
tiny random teacher and a tiny student in place of MiT-B2 / MiT-B0 (2 iterations).

Skips when ../shared is absent (``shared_real``). The frames stay in shared/ (licence:
shared/data/real/msrs/SOURCES.md); the converted copy lives in a temporary folder.
"""

import glob
import json
import math
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from e2e_helpers import ROOT, run_tool
from fixtures import HEADS_2, student_cfg, teacher_cfg

from data_prep import mfnet, paired_frames
from data_prep.check import main as check_main

SHARED = os.environ.get('CROSSMODAL_SHARED') or osp.abspath(osp.join(ROOT, '..', 'shared'))
MSRS = osp.join(SHARED, 'data', 'real', 'msrs')
CONFIG = osp.join(
    ROOT,
    'configs',
    'distill',
    'kd',
    'kd_segformer_mit-b2-to-b0_80k_msrs-unlabelled-rgbt-480x640.py',
)


@pytest.fixture(scope='module')
def msrs_pool(tmp_path_factory):
    """The converted pool (once per module: ~3 s for the 48 frames)."""
    if not osp.isdir(MSRS):  # the tests also take ``shared_real``, which skips the same way
        pytest.skip('../shared/data/real is not present')
    out = tmp_path_factory.mktemp('pool') / 'msrs'
    paired_frames.convert(MSRS, str(out), classes_like='mfnet', quiet=True)
    return str(out)


def test_msrs_converts_to_48_unlabelled_pairs(shared_real, msrs_pool, capsys):
    stems = open(osp.join(msrs_pool, 'unlabelled.txt')).read().split()
    assert len(stems) == len(set(stems)) == 48
    assert sum(s.endswith('D') for s in stems) == sum(s.endswith('N') for s in stems) == 24
    assert stems == sorted(osp.splitext(n)[0] for n in os.listdir(osp.join(MSRS, 'RGB')))
    assert not osp.exists(osp.join(msrs_pool, 'Label'))
    meta = json.load(open(osp.join(msrs_pool, 'meta.json')))
    assert meta['splits'] == {'unlabelled': 'unlabelled.txt'}
    assert meta['unlabelled_splits'] == ['unlabelled']
    assert meta['classes'] == list(mfnet.CLASSES) and len(meta['palette']) == 9
    for stem in (stems[0], stems[-1]):  # lossless copies of the source pixels
        src_rgb = cv2.imread(osp.join(MSRS, 'RGB', f'{stem}.png'), cv2.IMREAD_COLOR)
        src_t = cv2.imread(osp.join(MSRS, 'Thermal', f'{stem}.png'), cv2.IMREAD_GRAYSCALE)
        rgb = cv2.imread(osp.join(msrs_pool, 'RGB', f'{stem}.png'), cv2.IMREAD_UNCHANGED)
        th = cv2.imread(osp.join(msrs_pool, 'Thermal', f'{stem}.png'), cv2.IMREAD_UNCHANGED)
        assert rgb.shape == (480, 640, 3) and th.shape == (480, 640)
        assert np.array_equal(rgb, src_rgb) and np.array_equal(th, src_t)
    # tools/check_dataset.py's code path (data_prep/check.py main), exit status 0
    capsys.readouterr()
    assert check_main([msrs_pool, '--json']) == 0
    report = json.loads(capsys.readouterr().out)
    assert report['ok'] and report['problems'] == []
    assert report['summary']['counts'] == {'unlabelled': 48}
    assert report['summary']['image_sizes'] == {'480x640': 48}


def test_pool_loads_without_labels(shared_real, msrs_pool):
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    from crossmodal.datasets import DatasetLayoutError, RGBXSegDataset

    pipeline = [dict(type='LoadMultiModalFromFile'), dict(type='PackMultiModalInputs')]
    with DefaultScope.overwrite_default_scope('mmseg'):  # the transforms are mmseg's
        ds = RGBXSegDataset(
            msrs_pool, split='unlabelled', modalities=('rgb', 'thermal'), pipeline=pipeline
        )
    assert len(ds) == 48 and not ds.with_label and ds.metainfo['classes'] == mfnet.CLASSES
    batch = pseudo_collate([ds[0], ds[47]])
    assert batch['inputs']['rgb'][0].shape == (3, 480, 640)
    assert batch['inputs']['thermal'][1].shape == (1, 480, 640)
    assert all('gt_sem_seg' not in s for s in batch['data_samples'])
    with pytest.raises(DatasetLayoutError, match='holds frames without labels'):
        RGBXSegDataset(msrs_pool, split='unlabelled', modalities=('rgb',), with_label=True)


def _tiny_run_config(path, pool):
    """The shipped config with the MiT-B2 teacher and MiT-B0 student swapped for tiny random ones
    (same 9 classes, same input sizes), a 2-frame batch, no worker processes, 2 iterations."""
    student = student_cfg(num_classes=9, size=(480, 640), num_heads=HEADS_2)
    teacher = teacher_cfg(num_classes=9, num_heads=HEADS_2, size=(480, 640))
    text = f"""
_base_ = [{CONFIG!r}]
model = dict(student=dict(_delete_=True, **{student!r}),
             teachers=dict(teacher=dict(config=dict(_delete_=True, **{teacher!r}))))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root={pool!r}))
train_cfg = dict(max_iters=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2),
                     visualization=dict(draw=False))
randomness = dict(seed=0)
"""
    path.write_text(text)
    return str(path)


def test_train_tool_distils_on_the_pool_at_480x640(shared_real, msrs_pool, tmp_path):
    """The documented command: tools/train.py <config> --cfg-options
    model.teachers.teacher.checkpoint=... (None: a random teacher, tests only)."""
    from mmengine.config import Config

    cfg_path = _tiny_run_config(tmp_path / 'kd_msrs_tiny.py', msrs_pool)
    work = tmp_path / 'work'
    run_tool(
        osp.join('tools', 'train.py'),
        cfg_path,
        '--work-dir',
        str(work),
        '--cfg-options',
        'model.teachers.teacher.checkpoint=None',
        timeout=240,
    )
    # the run used the pool at full resolution, label-free, without validation
    cfg = Config.fromfile(str(work / 'kd_msrs_tiny.py'))
    ds = cfg.train_dataloader.dataset
    assert ds.data_root == msrs_pool and ds.split == 'unlabelled'
    assert [t for t in ds.pipeline if t['type'] == 'MultiModalRandomCrop'][0]['crop_size'] == (
        480,
        640,
    )
    assert cfg.model.with_label is False and cfg.model.teachers.teacher.checkpoint is None
    assert cfg.model.student.data_preprocessor.size == (480, 640)
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    (scalars,) = glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))
    rows = [json.loads(ln) for ln in open(scalars) if ln.strip()]
    kd = [r['distill.loss_kd'] for r in rows if 'distill.loss_kd' in r]
    assert len(kd) == 2 and all(math.isfinite(v) and v >= 0 for v in kd), rows
    assert not any(k.startswith('student.') for r in rows for k in r), rows  # no task loss
    ckpt = work / 'iter_2.pth'
    assert ckpt.is_file()
    import torch

    sd = torch.load(str(ckpt), map_location='cpu', weights_only=False)['state_dict']
    assert any(k.startswith('student.backbone.') for k in sd)
