"""Golden tests of Plackett-Luce distillation."""

import math

import numpy as np
import pytest
import torch

from crossmodal.models.losses import PLDLoss


def _np_pld_pixel(zs, zt, first, tau):
    """Independent reference: explicit permutation and tail sums."""
    rest = sorted([k for k in range(len(zt)) if k != first], key=lambda k: -zt[k])
    perm = [first] + rest
    pt = np.exp(zt / tau - (zt / tau).max())
    pt /= pt.sum()
    total = 0.0
    for r, c in enumerate(perm):
        tail = np.log(np.sum(np.exp([zs[j] for j in perm[r:]])))
        total += pt[c] * (tail - zs[c])
    return total


def test_pld_hand_worked():
    # K=3, one pixel, gt=1, tau=1. Teacher z_T = [ln 3, 0, ln 2] -> p_T = [1/2, 1/6, 1/3].
    # pi* = (1, 0, 2): gt first, then by teacher logit. alpha = [1/6, 1/2, 1/3].
    # Student z_S = [0, 0, 0]: tail log-sum-exps = [ln 3, ln 2, 0], each minus z_S = 0.
    # L = ln3/6 + ln2/2 + 0 = 0.183102 + 0.346574 = 0.529676
    t = torch.tensor([math.log(3), 0.0, math.log(2)]).view(1, 3, 1, 1)
    s = torch.zeros(1, 3, 1, 1)
    gt = torch.ones(1, 1, 1, dtype=torch.long)
    assert PLDLoss(tau=1.0)(s, t, gt).item() == pytest.approx(0.529676, abs=1e-6)


def test_pld_matches_numpy_and_void_policies():
    g = torch.Generator().manual_seed(4)
    s = torch.randn(1, 4, 1, 2, generator=g)
    t = torch.randn(1, 4, 1, 2, generator=g)
    sn = s.numpy().astype(np.float64)[0, :, 0].T
    tn = t.numpy().astype(np.float64)[0, :, 0].T
    gt = torch.tensor([[[2, 255]]])
    p0 = _np_pld_pixel(sn[0], tn[0], 2, 2.0)
    assert PLDLoss(tau=2.0)(s, t, gt).item() == pytest.approx(p0, rel=1e-5)
    p1 = _np_pld_pixel(sn[1], tn[1], int(np.argmax(tn[1])), 2.0)
    out = PLDLoss(tau=2.0, void_policy='teacher_argmax')(s, t, gt)
    assert out.item() == pytest.approx((p0 + p1) / 2, rel=1e-5)


def test_pld_needs_labels():
    assert PLDLoss.requires_labels is True
    with pytest.raises(ValueError, match='requires ground-truth'):
        PLDLoss()(torch.randn(1, 3, 2, 2), torch.randn(1, 3, 2, 2))
    with pytest.raises(ValueError, match='void_policy'):
        PLDLoss(void_policy='drop')
