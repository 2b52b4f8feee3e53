"""SUN RGB-D configs on a tiny stand-in written in the converter's layout (variable frame sizes)."""

import os.path as osp

import pytest
import torch
from mmengine.config import Config

import crossmodal  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT = osp.join(ROOT, 'configs/students/segformer_mit-b0_80k_sunrgbd-rgbd-480x480.py')
TEACHER = osp.join(ROOT, 'configs/teachers/rgbx-sff-segformer_mit-b2_80k_sunrgbd-rgbd-480x480.py')
DISTILL = [
    osp.join(ROOT, f'configs/distill/{m}/{m}_segformer_mit-b2-to-b0_80k_sunrgbd-rgbd-480x480.py')
    for m in ('kd', 'cwd')
]


@pytest.fixture(scope='module')
def tiny_sun(tmp_path_factory):
    """4 train + 3 test frames of 24x32 .. 27x36 (four sensors), converted by
    data_prep/sunrgbd.py."""
    from data_prep.fixtures import convert_fixture

    base = tmp_path_factory.mktemp('sun')
    return convert_fixture(
        'sunrgbd', base / 'raw', base / 'SUNRGBD', fixture_kwargs={'n_train': 4, 'n_test': 3}
    )


@pytest.mark.parametrize('path', [STUDENT, TEACHER] + DISTILL, ids=osp.basename)
def test_sunrgbd_configs_load(path):
    cfg = Config.fromfile(path)
    assert cfg.num_classes == 37 and cfg.crop_size == (480, 480) and cfg.data_root == 'data/SUNRGBD'
    assert (
        cfg.train_dataloader.dataset.split == 'train'
        and cfg.test_dataloader.dataset.split == 'test'
    )
    assert cfg.val_dataloader.batch_size == 1  # frames differ in size: whole-image test, no padding


def test_sunrgbd_dataset_matches_converter(tiny_sun):
    from mmseg.registry import DATASETS
    from mmengine.registry import init_default_scope

    init_default_scope('mmseg')
    cfg = Config.fromfile(TEACHER)
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = tiny_sun
    ds = DATASETS.build(ds_cfg)
    assert (
        len(ds) == 3 and ds.metainfo['classes'][0] == 'wall' and len(ds.metainfo['classes']) == 37
    )
    shapes = set()
    for i in range(len(ds)):
        item = ds[i]
        lab = item['data_samples'].gt_sem_seg.data
        shapes.add(tuple(lab.shape[1:]))
        assert tuple(item['inputs']['depth'].shape[1:]) == tuple(lab.shape[1:])
        assert item['inputs']['depth'].max() <= 8.0  # metres, clipped at 8 m by the converter
        assert int(lab.max()) <= 36 or int(lab.max()) == 255  # stored 1..37 -> 0..36, 0 -> 255
    assert len(shapes) > 1  # the stand-in has frames of different sizes


def test_sunrgbd_student_trains_and_validates(tiny_sun, tmp_path):
    """One training iteration (16x16 crops, padded batch) and one whole-image validation of the
    student config, via tools/train.py with --cfg-options."""
    import tools.train as tr

    tiny = f"""_base_ = [{STUDENT!r}]
loader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root={tiny_sun!r}))
train_dataloader = dict(batch_size=2, **loader)
val_dataloader = loader
test_dataloader = loader
# a tiny MiT (no ImageNet file of this size; the real-size loading is
# tests/configs/test_real_configs.py)
model = dict(backbone=dict(embed_dims=8, num_heads=[1, 2, 2, 4], num_layers=[1, 1, 1, 1],
                           sr_ratios=[2, 2, 1, 1], init_cfg=None),
             decode_head=dict(in_channels=[8, 16, 16, 32], channels=16))
train_cfg = dict(max_iters=1, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1),
                     visualization=dict(draw=False))
"""
    cfg_path = tmp_path / 'sun_tiny.py'
    cfg_path.write_text(tiny)
    # the crop (and the matching batch pad size) overridden on the command line
    argv = [
        str(cfg_path),
        '--work-dir',
        str(tmp_path / 'wd'),
        '--cfg-options',
        'train_dataloader.dataset.pipeline.2.crop_size=(16,16)',
        'model.data_preprocessor.size=(16,16)',
    ]
    seen = {}
    from crossmodal.evaluation import PerClassIoUMetric

    orig = PerClassIoUMetric.process

    def spy(self, data_batch, data_samples):
        for s in data_samples:
            seen.setdefault('shapes', []).append(tuple(s['pred_sem_seg']['data'].shape[1:]))
            assert s['pred_sem_seg']['data'].shape == s['gt_sem_seg']['data'].shape
        return orig(self, data_batch, data_samples)

    PerClassIoUMetric.process = spy
    try:
        runner = tr.main(argv)
    finally:
        PerClassIoUMetric.process = orig
    assert runner.iter == 1
    assert len(seen['shapes']) == 3 and len(set(seen['shapes'])) > 1  # whole frames, stored sizes
    assert runner.train_dataloader.dataset.pipeline.transforms[2].crop_size == (16, 16)
    assert runner.message_hub.get_scalar('val/mIoU') is not None
    assert torch.isfinite(torch.tensor(runner.message_hub.get_scalar('train/loss').current()))
