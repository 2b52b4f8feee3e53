"""Golden tests of the masked regression losses (values worked by hand)."""

import math

import pytest
import torch

import crossmodal  # noqa: F401  (registers the modules)
from mmseg.registry import MODELS

from crossmodal.models.losses.regression import MaskedL1Loss, MaskedMSELoss, MaskedSmoothL1Loss

NAN = float('nan')
# (N=1, K=2, H=1, W=2)
# target ch0 = [1, NaN], pred ch0 = [3, 5] -> only pixel 0 counts: d = 2
# target ch1 = [0, 4],   pred ch1 = [1, 1] -> d = 1, -3
PRED = [[[[3.0, 5.0]], [[1.0, 1.0]]]]
TARGET = [[[[1.0, NAN]], [[0.0, 4.0]]]]


def tensors():
    return torch.tensor(PRED, requires_grad=True), torch.tensor(TARGET)


@pytest.mark.parametrize(
    'loss,expected',
    [
        # L1: ch0 mean |2| = 2; ch1 (1 + 3)/2 = 2; weights (1, 0.5) -> 2 + 1 = 3
        (MaskedL1Loss(target_weights=[1.0, 0.5]), 3.0),
        # MSE: ch0 4; ch1 (1 + 9)/2 = 5 -> 4 + 2.5 = 6.5
        (MaskedMSELoss(target_weights=[1.0, 0.5]), 6.5),
        # SmoothL1 beta 1: |2| -> 2 - 0.5 = 1.5; |1| -> 1 - 0.5 = 0.5, |3| -> 2.5 (mean 1.5)
        # -> 1.5 + 0.75 = 2.25
        (MaskedSmoothL1Loss(beta=1.0, target_weights=[1.0, 0.5]), 2.25),
        # SmoothL1 beta 4 (all quadratic, 0.5 d^2 / 4): ch0 0.5; ch1 (0.125 + 1.125)/2 = 0.625
        # -> 0.5 + 0.3125
        (MaskedSmoothL1Loss(beta=4.0, target_weights=[1.0, 0.5]), 0.8125),
        # loss_weight scales everything: 2 * (2 + 2)
        (MaskedL1Loss(loss_weight=2.0), 8.0),
    ],
)
def test_golden_values(loss, expected):
    pred, target = tensors()
    assert loss(pred, target).item() == pytest.approx(expected)


def test_gradients_ignore_nan_targets():
    pred, target = tensors()
    MaskedL1Loss()(pred, target).backward()
    # d/dpred of |pred - t| / n_valid: ch0 px0 sign(2)/1 = 1, px1 (NaN target) 0; ch1 +1/2, -1/2
    assert torch.equal(pred.grad, torch.tensor([[[[1.0, 0.0]], [[0.5, -0.5]]]]))


def test_all_nan_channel_contributes_zero_and_finite_grad():
    pred = torch.tensor([[[[1.0, 2.0]], [[1.0, 1.0]]]], requires_grad=True)
    target = torch.tensor([[[[NAN, NAN]], [[0.0, 3.0]]]])
    loss = MaskedMSELoss()(pred, target)
    assert loss.item() == pytest.approx((1 + 4) / 2)
    loss.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad[0, 0].abs().sum() == 0


def test_pixel_weights_and_3d_input():
    pred, target = tensors()
    # weights (1, 3) on both channels: ch0 only px0 valid -> 2; ch1 (1*1 + 3*3)/(1 + 3) = 2.5 -> 4.5
    w = torch.tensor([[[1.0, 3.0]]])
    assert MaskedL1Loss()(pred, target, weight=w).item() == pytest.approx(4.5)
    # (N, H, W) = a single target: |3 - 1| only -> 2
    assert MaskedL1Loss()(pred[:, 0], target[:, 0]).item() == pytest.approx(2.0)


def test_registry_and_errors():
    loss = MODELS.build(dict(type='MaskedSmoothL1Loss', beta=0.5, loss_name='loss_chm'))
    assert loss.loss_name == 'loss_chm'
    with pytest.raises(ValueError, match='same shape'):
        MaskedL1Loss()(torch.zeros(1, 2, 2, 2), torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match='target_weights'):
        MaskedL1Loss(target_weights=[1.0])(torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2))
    assert math.isnan(
        MaskedL1Loss()(torch.tensor([[[NAN]]]), torch.tensor([[[1.0]]])).item()
    )  # NaN pred propagates
