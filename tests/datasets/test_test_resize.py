"""Test-time resize: inputs resized, label kept at the stored size, scored at full resolution."""

import json
import os.path as osp

import numpy as np
import torch

import crossmodal  # noqa: F401
from crossmodal.datasets.transforms import MultiModalResize

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _sample(h=12, w=20):
    rng = np.random.default_rng(0)
    return dict(
        img=rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
        modalities=dict(
            depth=rng.random((h, w), dtype=np.float32), thermal=rng.random((h, w), dtype=np.float32)
        ),
        gt_seg_map=rng.integers(0, 5, (h, w)).astype(np.uint8),
        img_shape=(h, w),
        ori_shape=(h, w),
    )


def test_resize_keeps_label_and_sets_meta():
    out = MultiModalResize(scale=(6, 8))(_sample())
    assert out['img'].shape == (6, 8, 3)
    assert out['modalities']['depth'].shape == (6, 8) and out['modalities']['thermal'].shape == (
        6,
        8,
    )
    assert out['gt_seg_map'].shape == (12, 20)  # label untouched (test-time convention)
    assert out['img_shape'] == (6, 8) and out['ori_shape'] == (12, 20)
    assert np.allclose(out['scale_factor'], (8 / 20, 6 / 12))
    # depth is resampled nearest: every output value is an input value
    assert np.isin(out['modalities']['depth'], _sample()['modalities']['depth']).all()


def test_resize_label_option_for_training():
    out = MultiModalResize(scale=(6, 8), resize_label=True)(_sample())
    assert out['gt_seg_map'].shape == (6, 8) and out['gt_seg_map'].dtype == np.uint8


def test_pst900_config_tests_at_full_resolution(tmp_path):
    """The real PST900 RTFDNet config on a 720x1280 stand-in: tools/test.py scores at 720x1280.

    Before the fix, the test pipeline resized the label to 360x640 while ori_shape stayed 720x1280,
    so the metric's IoU crashed with an IndexError on mismatched mask shapes."""
    from data_prep.fixtures import convert_fixture
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    import tools.test as tt

    root = convert_fixture(
        'pst900',
        tmp_path / 'raw',
        tmp_path / 'PST900',
        fixture_kwargs={'hw': (720, 1280), 'n_train': 1, 'n_test': 1},
    )
    base = osp.join(ROOT, 'configs/distill/rtfdnet/rtfdnet_mit-b2_40k_pst900-360x640.py')
    model = dict(
        backbone=dict(
            embed_dims=8, num_heads=[1, 2, 2, 4], num_layers=[1, 1, 1, 1], pretrained_path=None
        ),
        decode_head=dict(in_channels=[8, 16, 16, 32], channels=16),
    )
    loader = dict(
        batch_size=1, num_workers=0, persistent_workers=False, dataset=dict(data_root=root)
    )
    cfg_path = tmp_path / 'pst.py'
    cfg_path.write_text(
        f"_base_ = [{base!r}]\nmodel = {model!r}\ntest_dataloader = {loader!r}\n"
        "default_hooks = dict(visualization=dict(type='SegVisualizationHook', draw=False))\n"
    )
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(cfg_path))
    pipe = cfg.test_dataloader.dataset.pipeline
    assert [t['type'] for t in pipe][1] == 'MultiModalResize' and tuple(pipe[1]['scale']) == (
        360,
        640,
    )
    torch.manual_seed(0)
    ckpt = tmp_path / 'pst.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict(), meta={}), ckpt)

    # the packed sample: 360x640 inputs, 720x1280 label and ori_shape
    from mmseg.registry import DATASETS

    ds = DATASETS.build(cfg.test_dataloader.dataset)
    item = ds[0]
    assert tuple(item['inputs']['rgb'].shape[1:]) == (360, 640)
    assert tuple(item['inputs']['thermal'].shape[1:]) == (360, 640)
    meta = item['data_samples'].metainfo
    assert meta['ori_shape'] == (720, 1280) and meta['img_shape'] == (360, 640)
    assert np.allclose(meta['scale_factor'], (0.5, 0.5))
    assert tuple(item['data_samples'].gt_sem_seg.data.shape) == (1, 720, 1280)

    # prediction is resized back to 720x1280 and scored there
    from crossmodal.evaluation import MultiHeadIoUMetric

    seen = {}
    orig = MultiHeadIoUMetric.process

    def spy(self, data_batch, data_samples):
        s = data_samples[0]
        seen['pred'] = tuple(s['pred_sem_seg']['data'].shape)
        seen['gt'] = tuple(s['gt_sem_seg']['data'].shape)
        return orig(self, data_batch, data_samples)

    MultiHeadIoUMetric.process = spy
    try:
        res = tt.main([str(cfg_path), str(ckpt), '--work-dir', str(tmp_path / 'wd')])
    finally:
        MultiHeadIoUMetric.process = orig
    assert seen == {'pred': (1, 720, 1280), 'gt': (1, 720, 1280)}
    assert {'mIoU', 'mIoU_rgb', 'mIoU_x', 'mIoU_fused'} <= set(res['metrics'])
    with open(tmp_path / 'wd' / 'test_results.json') as f:
        assert json.load(f)['metrics'].keys() == res['metrics'].keys()
