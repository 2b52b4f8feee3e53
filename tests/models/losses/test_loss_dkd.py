"""Golden tests of dense DKD."""

import math

import numpy as np
import pytest
import torch

from crossmodal.models.losses import DKDLoss


def _np_dkd(s, t, gt, alpha, beta, tau):
    """Independent numpy reference for pixels given as rows s, t: (P, K), gt: (P,)."""
    out = []
    for zs, zt, g in zip(s / tau, t / tau, gt):
        ps = np.exp(zs - zs.max())
        ps /= ps.sum()
        pt = np.exp(zt - zt.max())
        pt /= pt.sum()
        bs = np.array([ps[g], 1 - ps[g]])
        bt = np.array([pt[g], 1 - pt[g]])
        tckd = (bt * np.log(bt / bs)).sum()
        nt = [k for k in range(len(zs)) if k != g]
        hs = ps[nt] / ps[nt].sum()
        ht = pt[nt] / pt[nt].sum()
        nckd = (ht * np.log(ht / hs)).sum()
        out.append(tau**2 * (alpha * tckd + beta * nckd))
    return float(np.mean(out))


def test_dkd_hand_worked():
    # K=3, one pixel, gt=0, tau=1, alpha=1, beta=8.
    # student [0,0,0] -> p_S = [1/3,1/3,1/3], b_S = [1/3, 2/3], p^_S = [1/2, 1/2]
    # teacher [ln 6, ln 3, 0] -> p_T = [0.6, 0.3, 0.1], b_T = [0.6, 0.4], p^_T = [0.75, 0.25]
    # TCKD = 0.6 ln(0.6/(1/3)) + 0.4 ln(0.4/(2/3)) = 0.352672 - 0.204330 = 0.148342
    # NCKD = 0.75 ln 1.5 + 0.25 ln 0.5 = 0.130812
    # L = 1 * 0.148342 + 8 * 0.130812 = 1.194838
    s = torch.zeros(1, 3, 1, 1)
    t = torch.tensor([math.log(6), math.log(3), 0.0]).view(1, 3, 1, 1)
    gt = torch.zeros(1, 1, 1, dtype=torch.long)
    assert DKDLoss(alpha=1.0, beta=8.0, tau=1.0)(s, t, gt).item() == pytest.approx(
        1.194838, abs=1e-5
    )
    assert DKDLoss(alpha=1.0, beta=0.0, tau=1.0)(s, t, gt).item() == pytest.approx(
        0.148342, abs=1e-6
    )


def test_dkd_matches_numpy_with_void():
    g = torch.Generator().manual_seed(2)
    s = torch.randn(1, 4, 1, 3, generator=g)
    t = torch.randn(1, 4, 1, 3, generator=g)
    gt = torch.tensor([[[3, 255, 1]]])
    rows_s = s.numpy().astype(np.float64)[0, :, 0].T
    rows_t = t.numpy().astype(np.float64)[0, :, 0].T
    keep = [0, 2]
    expected = _np_dkd(rows_s[keep], rows_t[keep], np.array([3, 1]), 1.0, 2.0, 4.0)
    assert DKDLoss(alpha=1.0, beta=2.0, tau=4.0)(s, t, gt).item() == pytest.approx(
        expected, rel=1e-5
    )


def test_dkd_needs_labels_and_valid_ids():
    s, t = torch.randn(1, 3, 2, 2), torch.randn(1, 3, 2, 2)
    assert DKDLoss.requires_labels is True
    with pytest.raises(ValueError, match='requires ground-truth'):
        DKDLoss()(s, t)
    with pytest.raises(ValueError, match='outside'):
        DKDLoss()(s, t, torch.full((1, 2, 2), 7))
