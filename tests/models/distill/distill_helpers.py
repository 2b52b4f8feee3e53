"""Tiny student/teacher configs and raw batches shared by the distillation tests."""
import copy

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def mit(embed=8, in_channels=3, cls='MixVisionTransformer'):
    return dict(type=cls, in_channels=in_channels, embed_dims=embed, num_stages=4,
                num_layers=[1, 1, 1, 1], num_heads=[1, 2, 5, 8], patch_sizes=[7, 3, 3, 3],
                sr_ratios=[8, 4, 2, 1], out_indices=(0, 1, 2, 3), mlp_ratio=2, qkv_bias=True,
                drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0)


def head(num_classes=4, embed=8):
    return dict(type='SegformerHead', in_channels=[embed, 2 * embed, 5 * embed, 8 * embed],
                in_index=[0, 1, 2, 3], channels=16, dropout_ratio=0.0, num_classes=num_classes,
                norm_cfg=dict(type='BN', requires_grad=True), align_corners=False,
                loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                                 avg_non_ignore=True))


def student_cfg(num_classes=4, size=(32, 40)):
    return dict(type='EncoderDecoder',
                data_preprocessor=dict(type='SegDataPreProcessor', mean=MEAN, std=STD,
                                       bgr_to_rgb=False, pad_val=0, seg_pad_val=255, size=size),
                backbone=mit(), decode_head=head(num_classes), train_cfg=dict(),
                test_cfg=dict(mode='whole'))


def teacher_cfg(num_classes=4, modalities=('rgb', 'thermal'), rgb_mean=(0.0, 0.0, 0.0),
                rgb_std=(255.0, 255.0, 255.0)):
    """Teacher with a normalisation deliberately different from the student's (RGB / 255)."""
    mean = dict(rgb=list(rgb_mean), thermal=[100.0], depth=[5.0])
    std = dict(rgb=list(rgb_std), thermal=[40.0], depth=[2.0])
    return dict(type='MultiModalEncoderDecoder', modalities=tuple(modalities),
                data_preprocessor=dict(type='MultiModalDataPreprocessor',
                                       mean={m: mean[m] for m in modalities},
                                       std={m: std[m] for m in modalities}),
                backbone=mit(cls='MiT'), fusion=dict(type='SFF', reduction=4, spatial_attn=True),
                decode_head=head(num_classes), train_cfg=dict(), test_cfg=dict(mode='whole'))


def make_batch(n=2, sizes=None, with_label=True, seed=0, modalities=('rgb', 'thermal')):
    """Raw packed batch as the dataloader yields it: list of per-sample dicts + data samples."""
    g = torch.Generator().manual_seed(seed)
    sizes = sizes or [(32, 40)] * n
    inputs, samples = [], []
    for h, w in sizes:
        item = {}
        for m in modalities:
            if m == 'rgb':
                item[m] = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
            else:
                item[m] = torch.rand(1, h, w, generator=g) * 250.0
        inputs.append(item)
        s = SegDataSample()
        if with_label:
            s.gt_sem_seg = PixelData(data=torch.randint(0, 4, (1, h, w), generator=g))
        s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


