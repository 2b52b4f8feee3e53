"""Tiny RTFDNet builders shared by the RTFDNet tests (tiny MiT and head from tests/fixtures.py)."""

import torch

import fixtures
from fixtures import HEADS_2, sample

NUM_CLASSES = 3


def tiny_cfg(**kwargs):
    cfg = dict(
        type='RTFDNet',
        modalities=('rgb', 'thermal'),
        data_preprocessor=dict(
            type='MultiModalDataPreprocessor',
            mean=dict(rgb=fixtures.MEAN, thermal=fixtures.THERMAL_MEAN),
            std=dict(rgb=fixtures.STD, thermal=fixtures.THERMAL_STD),
        ),
        backbone=fixtures.mit(cls='MiT', in_channels=None, num_heads=HEADS_2),
        decode_head=fixtures.seg_head(NUM_CLASSES, num_heads=HEADS_2),
        akd_reduction=4,
    )
    cfg.update(kwargs)
    return cfg


def build(**kwargs):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    init_default_scope('mmseg')
    torch.manual_seed(0)
    return MODELS.build(tiny_cfg(**kwargs))


def batch(b=2, h=32, w=48, void=True):
    """Preprocessed tensors ``{'rgb': (b, 3, h, w), 'thermal': (b, 1, h, w)}`` and data samples."""
    g = torch.Generator().manual_seed(1)
    inputs = {
        'rgb': torch.randn(b, 3, h, w, generator=g),
        'thermal': torch.randn(b, 1, h, w, generator=g),
    }
    samples = []
    for i in range(b):
        gt = torch.randint(0, NUM_CLASSES, (1, h, w), generator=g)
        if void:
            gt[:, :4] = 255
        samples.append(sample(h, w, gt, padding_size=[0, 0, 0, 0]))
    return inputs, samples
