"""Tiny CroDiNo-KD builders shared by tests/models/test_crodino_*.py."""
import copy

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

NUM_CLASSES = 3
RGB_MEAN = [123.675, 116.28, 103.53]
RGB_STD = [58.395, 57.12, 57.375]


def stock_cfg(in_channels=3, mean=RGB_MEAN, std=RGB_STD, channels=16, class_weight=None):
    loss = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True)
    if class_weight is not None:
        loss = dict(type='WeightedCrossEntropyLoss', class_weight=class_weight)
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=mean, std=std, bgr_to_rgb=False,
                               pad_val=0, seg_pad_val=255, size=(32, 48)),
        backbone=dict(type='MixVisionTransformer', in_channels=in_channels, embed_dims=8, num_stages=4,
                      num_layers=[1, 1, 1, 1], num_heads=[1, 2, 2, 4], patch_sizes=[7, 3, 3, 3],
                      sr_ratios=[8, 4, 2, 1], out_indices=(0, 1, 2, 3), mlp_ratio=2, qkv_bias=True,
                      drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0),
        decode_head=dict(type='SegformerHead', in_channels=[8, 16, 16, 32], in_index=[0, 1, 2, 3],
                         channels=channels, dropout_ratio=0.0, num_classes=NUM_CLASSES,
                         norm_cfg=dict(type='BN', requires_grad=True), align_corners=False,
                         loss_decode=loss),
        train_cfg=dict(), test_cfg=dict(mode='whole'))


def crodino_cfg(**kwargs):
    cfg = dict(type='CroDiNoKD',
               models=dict(rgb=stock_cfg(), depth=stock_cfg(1, [6.0], [3.0])),
               contrastive=dict(pixels_per_img=16, stride_factor=2))
    cfg.update(kwargs)
    return copy.deepcopy(cfg)


def build(**kwargs):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(crodino_cfg(**kwargs))


def raw_batch(b=2, h=32, w=48, void=True, seed=1):
    """Dataloader-style batch: raw uint8 RGB and float depth (metres) per sample + labels."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(b):
        inputs.append({'rgb': torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8),
                       'depth': torch.rand(1, h, w, generator=g) * 10})
        gt = torch.randint(0, NUM_CLASSES, (1, h, w), generator=g)
        if void:
            gt[:, :4] = 255
        s = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                                        padding_size=[0, 0, 0, 0]))
        s.gt_sem_seg = PixelData(data=gt)
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)
