"""Golden tests of channel-wise distillation."""

import math

import numpy as np
import pytest
import torch

from crossmodal.models.losses import CWDLoss


def _np_cwd(s, t, tau, valid):
    """Independent numpy reference. s, t: (N, C, P) flattened; valid: (N, P) bool."""
    total, count = 0.0, 0
    n, c, _ = s.shape
    for i in range(n):
        v = valid[i]
        if not v.any():
            continue
        for j in range(c):
            zt, zs = t[i, j, v] / tau, s[i, j, v] / tau
            pt = np.exp(zt - zt.max())
            pt /= pt.sum()
            ps = np.exp(zs - zs.max())
            ps /= ps.sum()
            total += (pt * (np.log(pt) - np.log(ps))).sum()
            count += 1
    return tau**2 * total / count


def test_cwd_hand_worked():
    # N=1, C=2, 1x2 pixels, tau=1.
    # channel 0: student [0, 0] -> phi_S = [1/2, 1/2]; teacher [ln 3, 0] -> phi_T = [3/4, 1/4]
    #   KL = 0.75 ln 1.5 + 0.25 ln 0.5 = 0.130812
    # channel 1: student == teacher -> KL = 0
    # loss = tau^2 / (N*C) * (0.130812 + 0) = 0.065406
    s = torch.zeros(1, 2, 1, 2)
    t = torch.zeros(1, 2, 1, 2)
    t[0, 0, 0, 0] = math.log(3)
    assert CWDLoss(tau=1.0)(s, t).item() == pytest.approx(0.065406, abs=1e-6)


def test_cwd_matches_numpy_with_void_and_empty_sample():
    g = torch.Generator().manual_seed(1)
    s = torch.randn(2, 3, 2, 2, generator=g)
    t = torch.randn(2, 3, 2, 2, generator=g)
    gt = torch.tensor([[[0, 1], [255, 2]], [[255, 255], [255, 255]]])  # sample 1 fully void
    valid = (gt != 255).numpy().reshape(2, -1)
    sn = s.numpy().astype(np.float64).reshape(2, 3, -1)
    tn = t.numpy().astype(np.float64).reshape(2, 3, -1)
    expected = _np_cwd(sn, tn, 2.0, valid)
    assert CWDLoss(tau=2.0)(s, t, gt).item() == pytest.approx(expected, rel=1e-5)
    expected_all = _np_cwd(sn, tn, 2.0, np.ones((2, 4), bool))
    assert CWDLoss(tau=2.0)(s, t).item() == pytest.approx(expected_all, rel=1e-5)


def test_cwd_on_features_and_all_void():
    s = torch.randn(1, 6, 3, 3, requires_grad=True)
    t = torch.randn(1, 6, 3, 3)
    gt = torch.full((1, 3, 3), 255)
    out = CWDLoss()(s, t, gt)
    assert out.item() == 0.0
    out.backward()
    assert torch.equal(s.grad, torch.zeros_like(s))
    with pytest.raises(ValueError, match='channel'):
        CWDLoss()(s, torch.randn(1, 5, 3, 3))
