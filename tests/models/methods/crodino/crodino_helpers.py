"""Tiny CroDiNo-KD builders shared by tests/models/methods/crodino (tiny MiT / head / batches from
tests/fixtures.py)."""

import copy

import torch

import fixtures
from fixtures import HEADS_2

NUM_CLASSES = 3
RGB_MEAN = fixtures.MEAN
RGB_STD = fixtures.STD


def stock_cfg(in_channels=3, mean=RGB_MEAN, std=RGB_STD, channels=16, class_weight=None):
    loss = fixtures.ce_loss()
    if class_weight is not None:
        loss = dict(type='WeightedCrossEntropyLoss', class_weight=class_weight)
    return fixtures.student_cfg(
        NUM_CLASSES,
        in_channels,
        mean,
        std,
        size=(32, 48),
        num_heads=HEADS_2,
        head=fixtures.seg_head(NUM_CLASSES, num_heads=HEADS_2, channels=channels, loss_decode=loss),
    )


def crodino_cfg(**kwargs):
    cfg = dict(
        type='CroDiNoKD',
        models=dict(rgb=stock_cfg(), depth=stock_cfg(1, [6.0], [3.0])),
        contrastive=dict(pixels_per_img=16, stride_factor=2),
    )
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
    return fixtures.raw_batch(
        b,
        (h, w),
        ('rgb', 'depth'),
        num_classes=NUM_CLASSES,
        void_rows=4 if void else 0,
        seed=seed,
        padding_size=True,
    )
