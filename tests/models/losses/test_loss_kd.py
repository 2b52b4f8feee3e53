"""Golden tests of the dense Hinton KD loss."""

import math

import numpy as np
import pytest
import torch

from crossmodal.models.losses import KDLoss


def _np_kd(s, t, tau, valid):
    """Independent numpy reference: tau^2 * mean over valid pixels of KL(p_T || p_S)."""

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    p_t, p_s = softmax(t / tau), softmax(s / tau)
    kl = (p_t * (np.log(p_t) - np.log(p_s))).sum(axis=1)
    return tau**2 * kl[valid].mean()


def test_kd_hand_worked():
    # K=2, one pixel. Student logits [0, 0] -> p_S = [1/2, 1/2].
    # Teacher logits [2 ln 3, 0] with tau=2 -> [ln 3, 0] -> p_T = [3/4, 1/4].
    # KL = 3/4 ln(3/4 / 1/2) + 1/4 ln(1/4 / 1/2) = 0.75*0.405465 - 0.25*0.693147 = 0.130812
    # loss = tau^2 * KL = 4 * 0.130812 = 0.523248
    s = torch.zeros(1, 2, 1, 1)
    t = torch.tensor([2 * math.log(3), 0.0]).view(1, 2, 1, 1)
    assert KDLoss(tau=2.0)(s, t).item() == pytest.approx(0.523248, abs=1e-6)
    assert KDLoss(tau=2.0, loss_weight=0.5)(s, t).item() == pytest.approx(0.261624, abs=1e-6)


def test_kd_matches_numpy_with_void():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(1, 3, 1, 2, generator=g)
    t = torch.randn(1, 3, 1, 2, generator=g)
    gt = torch.tensor([[[2, 255]]])
    valid = np.array([[[True, False]]])
    expected = _np_kd(s.numpy().astype(np.float64), t.numpy().astype(np.float64), 3.0, valid)
    assert KDLoss(tau=3.0)(s, t, gt).item() == pytest.approx(expected, rel=1e-5)
    expected_all = _np_kd(
        s.numpy().astype(np.float64), t.numpy().astype(np.float64), 3.0, np.ones((1, 1, 2), bool)
    )
    assert KDLoss(tau=3.0)(s, t).item() == pytest.approx(expected_all, rel=1e-5)


def test_kd_zero_when_equal_and_bad_tau():
    x = torch.randn(2, 4, 3, 3)
    assert KDLoss(tau=2.0)(x, x.clone()).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match='tau'):
        KDLoss(tau=0.0)


def test_class_weighted_kd_golden():
    """Two pixels (classes 0 and 1), weights 0.25 / 1: the loss is the weight-normalised mean of
    the per-pixel KLs, hand-computed: KL(t || s) = sum t log(t / s)."""
    import math

    import pytest
    import torch

    from crossmodal.models.losses.kd import KDLoss

    s = torch.tensor([[[[0.0, 0.0]], [[0.0, math.log(3.0)]]]])  # (1, 2, 1, 2)
    t = torch.tensor([[[[math.log(3.0), 0.0]], [[0.0, 0.0]]]])
    gt = torch.tensor([[[0, 1]]])
    # pixel 0: t = (3/4, 1/4), s = (1/2, 1/2); pixel 1: t = (1/2, 1/2), s = (1/4, 3/4)
    kl0 = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    kl1 = 0.5 * math.log(2.0) + 0.5 * math.log(2.0 / 3.0)
    loss = KDLoss(tau=1.0, class_weight=[0.25, 1.0])(s, t, gt)
    assert float(loss) == pytest.approx((0.25 * kl0 + kl1) / 1.25, rel=1e-6)
    assert float(KDLoss(tau=1.0)(s, t, gt)) == pytest.approx((kl0 + kl1) / 2, rel=1e-6)
    void = torch.tensor([[[255, 1]]])
    assert float(KDLoss(tau=1.0, class_weight=[0.25, 1.0])(s, t, void)) == pytest.approx(kl1)
    with pytest.raises(ValueError, match='train-id labels'):
        KDLoss(class_weight=[1.0, 1.0])(s, t, None)
    with pytest.raises(ValueError, match="impl='torch'"):
        KDLoss(class_weight=[1.0, 1.0], impl='chunked')
