"""WeightedCrossEntropyLoss: golden value by hand, void pixels, mmseg head integration."""

import math

import pytest
import torch

import crossmodal  # noqa: F401
from crossmodal.models.losses import WeightedCrossEntropyLoss


def test_golden_two_pixels_with_void():
    # pixel A: logits (0, 0), label 0 -> CE = ln 2; pixel B: logits (ln 3, 0), label 1 -> CE = ln 4
    # pixel C: void. class weights (1, 3): (1 * ln2 + 3 * ln4) / (1 + 3) = 7 ln2 / 4
    logits = torch.tensor([[[[0.0, math.log(3.0), 5.0]], [[0.0, 0.0, -5.0]]]])  # (1, 2, 1, 3)
    label = torch.tensor([[[0, 1, 255]]])
    loss = WeightedCrossEntropyLoss(class_weight=[1.0, 3.0], loss_weight=2.0)(logits, label)
    assert loss.item() == pytest.approx(2.0 * 7 * math.log(2.0) / 4, rel=1e-6)


def test_all_void_is_zero_with_gradient():
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    loss = WeightedCrossEntropyLoss(class_weight=[1, 1, 1])(logits, torch.full((1, 2, 2), 255))
    loss.backward()
    assert loss.item() == 0.0 and logits.grad is not None


def test_wrong_number_of_weights():
    with pytest.raises(ValueError, match='2 values for 3 classes'):
        WeightedCrossEntropyLoss(class_weight=[1, 2])(
            torch.randn(1, 3, 2, 2), torch.zeros(1, 2, 2).long()
        )


def test_works_as_segformer_head_loss():
    from mmseg.registry import MODELS

    head = MODELS.build(
        dict(
            type='SegformerHead',
            in_channels=[4, 4, 4, 4],
            in_index=[0, 1, 2, 3],
            channels=8,
            num_classes=3,
            norm_cfg=dict(type='BN'),
            loss_decode=dict(type='WeightedCrossEntropyLoss', class_weight=[0.5, 1, 1]),
        )
    )
    feats = [torch.randn(2, 4, 8 // 2**i, 8 // 2**i) for i in range(4)]
    logits = head(feats)
    losses = head.loss_by_feat(logits, [_sample() for _ in range(2)])
    assert 'loss_ce' in losses and losses['loss_ce'] > 0


def _sample():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    s = SegDataSample()
    lab = torch.randint(0, 3, (1, 32, 32))
    lab[0, :4] = 255
    s.gt_sem_seg = PixelData(data=lab)
    return s
