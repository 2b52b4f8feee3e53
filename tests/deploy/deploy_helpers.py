"""Helpers of the deploy tests: a tiny stock mmseg SegFormer student config and synthetic data."""
import numpy as np

CLASSES = ['sky', 'road', 'tree', 'car']
PALETTE = [[70, 130, 180], [128, 64, 128], [107, 142, 35], [0, 0, 142]]
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def tiny_student_model_cfg(num_classes=len(CLASSES), embed_dims=8):
    """A stock mmseg SegFormer (MiT + SegformerHead) small enough for CPU tests."""
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=MEAN, std=STD, bgr_to_rgb=False,
                               pad_val=0, seg_pad_val=255, size_divisor=32),
        backbone=dict(type='MixVisionTransformer', in_channels=3, embed_dims=embed_dims,
                      num_stages=4, num_layers=[1, 1, 1, 1], num_heads=[1, 2, 4, 8],
                      patch_sizes=[7, 3, 3, 3], sr_ratios=[8, 4, 2, 1], out_indices=(0, 1, 2, 3),
                      mlp_ratio=2, qkv_bias=True, drop_rate=0.0, attn_drop_rate=0.0,
                      drop_path_rate=0.0),
        decode_head=dict(type='SegformerHead', in_channels=[embed_dims * h for h in (1, 2, 4, 8)],
                         in_index=[0, 1, 2, 3], channels=16, dropout_ratio=0.1,
                         num_classes=num_classes, norm_cfg=dict(type='BN', requires_grad=True),
                         align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False,
                                          loss_weight=1.0)),
        train_cfg=dict(), test_cfg=dict(mode='whole'))


def synthetic_batch(n=4, h=64, w=64, seed=0):
    """RGB uint8 images whose class is given by the colour of a region (learnable quickly)."""
    rng = np.random.default_rng(seed)
    imgs, labels = [], []
    for _ in range(n):
        lab = np.zeros((h, w), np.uint8)
        cuts = np.sort(rng.choice(np.arange(2, w - 2), size=3, replace=False))
        for k, (a, b) in enumerate(zip([0, *cuts], [*cuts, w])):
            lab[:, a:b] = k
        img = np.asarray(PALETTE, np.float32)[lab]
        img = np.clip(img + rng.normal(0, 20, img.shape), 0, 255).astype(np.uint8)
        imgs.append(img)
        labels.append(lab)
    return imgs, labels
