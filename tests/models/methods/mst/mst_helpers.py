"""Tiny MST-Distill models and batches (embed 8, 32x40 px) shared by the MST tests."""
import copy

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
DEPTH_MEAN, DEPTH_STD = [6.0], [3.0]


def mit(cls='MixVisionTransformer', in_channels=3, embed=8):
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


def student_cfg(size=(32, 40)):
    return dict(type='EncoderDecoder',
                data_preprocessor=dict(type='SegDataPreProcessor', mean=MEAN, std=STD,
                                       bgr_to_rgb=False, pad_val=0, seg_pad_val=255, size=size),
                backbone=mit(), decode_head=head(), train_cfg=dict(), test_cfg=dict(mode='whole'))


def depth_teacher_cfg(size=(32, 40)):
    """Stock depth-only SegFormer (the cross-modal teacher A)."""
    return dict(type='EncoderDecoder',
                data_preprocessor=dict(type='SegDataPreProcessor', mean=DEPTH_MEAN, std=DEPTH_STD,
                                       bgr_to_rgb=False, pad_val=0, seg_pad_val=255, size=size),
                backbone=mit(in_channels=1), decode_head=head(), train_cfg=dict(),
                test_cfg=dict(mode='whole'))


def rgbd_teacher_cfg():
    """RGB-D SFF SegFormer (the multimodal teacher T)."""
    return dict(type='MultiModalEncoderDecoder', modalities=('rgb', 'depth'),
                data_preprocessor=dict(type='MultiModalDataPreprocessor',
                                       mean=dict(rgb=MEAN, depth=DEPTH_MEAN),
                                       std=dict(rgb=STD, depth=DEPTH_STD)),
                backbone=mit(cls='MiT'), fusion=dict(type='SFF', reduction=4, spatial_attn=True),
                decode_head=head(), train_cfg=dict(), test_cfg=dict(mode='whole'))


MASK_LAYERS = dict(rgbd=dict(stage4='fusions.3', head='decode_head.fusion_conv'),
                   depth=dict(stage4='backbone[3]', head='decode_head.fusion_conv'))
EXPERTS = ['rgbd_stage4', 'rgbd_head', 'depth_stage4', 'depth_head']


def mst_cfg(stage, rgbd_ckpt=None, depth_ckpt=None, **kw):
    cfg = dict(type='MSTDistillSegmentor', student=student_cfg(), stage=stage,
               teachers=dict(rgbd=dict(config=rgbd_teacher_cfg(), checkpoint=rgbd_ckpt,
                                       modalities=('rgb', 'depth')),
                             depth=dict(config=depth_teacher_cfg(), checkpoint=depth_ckpt,
                                        modalities=('depth', ))),
               mask_layers=copy.deepcopy(MASK_LAYERS), student_modalities=('rgb', ))
    cfg.update(kw)
    return cfg


def build(cfg):
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg)


def make_batch(n=2, size=(32, 40), seed=0, void=True):
    """Raw packed batch (rgb uint8, depth float metres, labels with a void strip)."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    inputs, samples = [], []
    for _ in range(n):
        inputs.append({'rgb': torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8),
                       'depth': torch.rand(1, h, w, generator=g) * 10.0})
        label = torch.randint(0, 4, (1, h, w), generator=g)
        if void:
            label[:, :2] = 255
        s = SegDataSample(gt_sem_seg=PixelData(data=label))
        s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)
