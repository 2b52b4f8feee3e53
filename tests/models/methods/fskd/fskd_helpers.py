"""Tiny FSKD model configs shared by the FSKD tests (embed dims 8, one layer per stage; the tiny
MiT from tests/fixtures.py)."""

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import fixtures
from fixtures import HEADS_4

MIT = fixtures.mit(cls='MiT', in_channels=4, num_heads=HEADS_4, drop=False)
STAGES = fixtures.stage_channels(num_heads=HEADS_4)


def head_cfg(scales=(10.0, 1.0, 1.0), names=('chm', 'pai', 'fhd'), channels=16):
    return dict(
        type='SegformerRegressionHead',
        target_names=names,
        target_scales=list(scales),
        in_channels=STAGES,
        in_index=[0, 1, 2, 3],
        channels=channels,
        dropout_ratio=0.0,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
    )


def student_cfg(mean=(100.0, 100.0, 100.0, 100.0), std=(50.0, 50.0, 50.0, 50.0), **head_kw):
    return dict(
        type='RegressionEncoderDecoder',
        backbone=dict(MIT),
        decode_head=head_cfg(**head_kw),
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=list(mean),
            std=list(std),
            bgr_to_rgb=False,
            size=(32, 32),
        ),
    )


def teacher_cfg(fusion_stages=(2, 3), **head_kw):
    return dict(
        type='FSKDTeacher',
        backbone=dict(MIT),
        lidar_backbone=dict(MIT, in_channels=3),
        planar_channels=[0, 1, 2],
        profile_channels=[3, 4, 5, 6],
        profile_hidden=8,
        lidar_in_channels=7,
        fusion_stages=fusion_stages,
        decode_head=head_cfg(**head_kw),
        data_preprocessor=dict(type='MultiModalDataPreprocessor'),
    )


def samples(b=2, k=3, h=32, w=32, nan_rows=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(b):
        gt = torch.rand(k, h, w, generator=g) * 5
        gt[:, :nan_rows] = float('nan')
        ds = SegDataSample()
        ds.gt_regression = PixelData(data=gt)
        ds.set_metainfo(dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        out.append(ds)
    return out
