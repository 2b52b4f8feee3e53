"""Helpers of the deploy tests: a tiny stock mmseg SegFormer student config (tests/fixtures.py)
and synthetic data."""

import numpy as np

import fixtures
from fixtures import HEADS_4, MEAN, STD  # noqa: F401

CLASSES = ['sky', 'road', 'tree', 'car']
PALETTE = [[70, 130, 180], [128, 64, 128], [107, 142, 35], [0, 0, 142]]


def tiny_student_model_cfg(num_classes=len(CLASSES), embed_dims=8):
    """A stock mmseg SegFormer (MiT + SegformerHead) small enough for CPU tests."""
    return fixtures.student_cfg(
        num_classes,
        size=None,
        size_divisor=32,
        embed=embed_dims,
        num_heads=HEADS_4,
        head=fixtures.seg_head(
            num_classes,
            embed_dims,
            HEADS_4,
            dropout_ratio=0.1,
            loss_decode=fixtures.ce_loss(avg_non_ignore=False),
        ),
    )


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
