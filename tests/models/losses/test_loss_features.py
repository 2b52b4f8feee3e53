"""Golden tests of the feature losses: FitNet MSE and attention transfer."""

import math

import numpy as np
import pytest
import torch

from crossmodal.models.losses import ActivationAttentionLoss as AT
from crossmodal.models.losses import FeatureMSELoss


def test_feature_mse_hand_worked():
    # C=2, 1x2 pixels; student channel 0 = [1, 2], channel 1 = [3, 4]; teacher = 0.
    # pixel 0: (1^2 + 3^2)/2 = 5 ; pixel 1: (2^2 + 4^2)/2 = 10 ; mean = 7.5 ; pixel 1 void -> 5
    s = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    t = torch.zeros(1, 2, 1, 2)
    assert FeatureMSELoss()(s, t).item() == pytest.approx(7.5)
    assert FeatureMSELoss()(s, t, torch.tensor([[[0, 255]]])).item() == pytest.approx(5.0)


def test_feature_mse_normalisations_match_numpy():
    g = torch.Generator().manual_seed(5)
    s = torch.randn(1, 4, 1, 2, generator=g)
    t = torch.randn(1, 4, 1, 2, generator=g)
    sn = s.numpy().astype(np.float64)[0, :, 0].T  # (pixels, C)
    tn = t.numpy().astype(np.float64)[0, :, 0].T
    l2 = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    ln = lambda x: (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)  # noqa: E731
    exp_l2 = ((l2(sn) - l2(tn)) ** 2).mean()
    exp_ln = ((ln(sn) - ln(tn)) ** 2).mean()
    assert FeatureMSELoss(normalize='channel_l2')(s, t).item() == pytest.approx(exp_l2, rel=1e-5)
    assert FeatureMSELoss(normalize='layernorm')(s, t).item() == pytest.approx(exp_ln, rel=1e-4)
    with pytest.raises(ValueError, match='normalize'):
        FeatureMSELoss(normalize='batch')


def test_at_hand_worked():
    # student C=2, 1x2: channel 0 = [1, 0], channel 1 = [1, 2] -> a_S = mean_c x^2 = [1, 2]
    #   normalised: [1, 2]/sqrt 5
    # teacher C=1: [3, 3] -> a_T = [9, 9] -> normalised [1, 1]/sqrt 2
    # squared distance = 2 - 2 <u, v> = 2 - 2*3/sqrt(10) = 0.102633 ; paper (un-squared) = 0.320365
    # code reduction (mean over the 2 positions) = 0.051317
    s = torch.tensor([[[[1.0, 0.0]], [[1.0, 2.0]]]])
    t = torch.full((1, 1, 1, 2), 3.0)
    assert AT()(s, t).item() == pytest.approx(0.102633, abs=1e-6)
    assert AT(squared=False)(s, t).item() == pytest.approx(math.sqrt(0.1026334), abs=1e-6)
    assert AT(average_positions=True)(s, t).item() == pytest.approx(0.051317, abs=1e-6)


def test_at_resizes_teacher_map_and_masks_void():
    s = torch.tensor([[[[1.0, 0.0]], [[1.0, 2.0]]]])
    t_small = torch.full((1, 1, 1, 2), 3.0)
    t_big = torch.full((1, 7, 2, 4), 3.0)  # other channels and size: constant map after resize
    assert AT()(s, t_big).item() == pytest.approx(AT()(s, t_small).item(), abs=1e-6)
    # void pixel 1: only position 0 remains, both maps normalise to [1] -> distance 0
    assert AT()(s, t_small, torch.tensor([[[0, 255]]])).item() == pytest.approx(0.0, abs=1e-7)
    s2 = s.clone().requires_grad_(True)
    out = AT(squared=False)(s2, t_small, torch.full((1, 1, 2), 255))
    out.backward()
    assert out.item() == 0.0 and torch.isfinite(s2.grad).all()


def test_at_loss_is_a_deprecated_alias():
    from mmseg.registry import MODELS

    from crossmodal.models.losses import ATLoss, deprecation

    deprecation._WARNED.discard('ATLoss')
    with pytest.warns(FutureWarning, match="'ATLoss' is deprecated; use 'ActivationAttentionLoss'"):
        old = MODELS.build(dict(type='ATLoss', squared=False, loss_weight=2.0))
    assert isinstance(old, ATLoss) and isinstance(old, AT) and old.loss_name == 'loss_at'
    s = torch.tensor([[[[1.0, 0.0]], [[1.0, 2.0]]]])
    t = torch.full((1, 1, 1, 2), 3.0)
    assert old(s, t).item() == AT(squared=False, loss_weight=2.0)(s, t).item()
