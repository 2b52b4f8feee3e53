"""Tiny RTFDNet builders shared by the RTFDNet tests."""
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

NUM_CLASSES = 3


def tiny_cfg(**kwargs):
    cfg = dict(
        type='RTFDNet',
        modalities=('rgb', 'thermal'),
        data_preprocessor=dict(type='MultiModalDataPreprocessor',
                               mean=dict(rgb=[123.675, 116.28, 103.53], thermal=[100.0]),
                               std=dict(rgb=[58.395, 57.12, 57.375], thermal=[40.0])),
        backbone=dict(type='MiT', embed_dims=8, num_stages=4, num_layers=[1, 1, 1, 1],
                      num_heads=[1, 2, 2, 4], patch_sizes=[7, 3, 3, 3], sr_ratios=[8, 4, 2, 1],
                      out_indices=(0, 1, 2, 3), mlp_ratio=2, qkv_bias=True, drop_path_rate=0.0),
        decode_head=dict(type='SegformerHead', in_channels=[8, 16, 16, 32], in_index=[0, 1, 2, 3],
                         channels=16, dropout_ratio=0.0, num_classes=NUM_CLASSES,
                         norm_cfg=dict(type='BN', requires_grad=True), align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                                          avg_non_ignore=True)),
        akd_reduction=4)
    cfg.update(kwargs)
    return cfg


def build(**kwargs):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(tiny_cfg(**kwargs))


def batch(b=2, h=32, w=48, void=True):
    g = torch.Generator().manual_seed(1)
    inputs = {'rgb': torch.randn(b, 3, h, w, generator=g), 'thermal': torch.randn(b, 1, h, w, generator=g)}
    samples = []
    for i in range(b):
        gt = torch.randint(0, NUM_CLASSES, (1, h, w), generator=g)
        if void:
            gt[:, :4] = 255
        s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                                        padding_size=[0, 0, 0, 0]))
        s.gt_sem_seg = PixelData(data=gt)
        samples.append(s)
    return inputs, samples
