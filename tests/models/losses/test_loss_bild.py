"""Golden tests of BiLD and its dynamic-k (DBiLD) variant."""

import itertools
import math

import numpy as np
import pytest
import torch

from crossmodal.models.losses import BiLDLoss
from crossmodal.models.losses.bild import kneedle_k


def _np_kl(a, b):
    p = np.exp(a - a.max())
    p /= p.sum()
    q = np.exp(b - b.max())
    q /= q.sum()
    return float((p * np.log(p / q)).sum())


def _np_bild_pixel(zs, zt, k, tau, both=True):
    """Independent reference for one pixel with loops over rank pairs."""

    def led(leader):
        idx = np.argsort(-leader, kind='stable')[:k]
        pairs = list(itertools.combinations(range(k), 2))
        dt = np.array([(zt[idx[i]] - zt[idx[j]]) / tau for i, j in pairs])
        ds = np.array([(zs[idx[i]] - zs[idx[j]]) / tau for i, j in pairs])
        return _np_kl(dt, ds)

    return led(zt) + (led(zs) if both else 0.0)


def test_bild_hand_worked():
    # K=3, one pixel, top_k=3, tau=1. Teacher z_T = [2, 1, 0], student z_S = [0, 1, 3].
    # Teacher-led: order (0,1,2); pairs (0,1),(0,2),(1,2)
    #   d_T = [1, 2, 1] -> softmax = [0.211942, 0.576117, 0.211942]
    #   d_S = [-1, -3, -2] -> softmax = [0.665241, 0.090031, 0.244728]
    #   KL = 0.211942 ln(0.211942/0.665241) + 0.576117 ln(0.576117/0.090031)
    #        + 0.211942 ln(0.211942/0.244728) = -0.242527 + 1.069436 - 0.030455 = 0.796453
    # Student-led: order (2,1,0): d_T = [-1, -2, -1], d_S = [2, 3, 1]
    #   softmax(d_T) = [0.422319, 0.155362, 0.422319]; softmax(d_S) = [0.244728, 0.665241, 0.090031]
    #   KL = 0.657205
    # L = 0.796453 + 0.657205 = 1.453659
    t = torch.tensor([2.0, 1.0, 0.0]).view(1, 3, 1, 1)
    s = torch.tensor([0.0, 1.0, 3.0]).view(1, 3, 1, 1)
    assert BiLDLoss(top_k=3, tau=1.0)(s, t).item() == pytest.approx(1.453659, abs=1e-5)
    assert BiLDLoss(top_k=3, tau=1.0, both_directions=False)(s, t).item() == pytest.approx(
        0.796453, abs=1e-5
    )


def test_bild_matches_numpy_topk_and_void():
    g = torch.Generator().manual_seed(3)
    s = torch.randn(1, 5, 1, 2, generator=g) * 2
    t = torch.randn(1, 5, 1, 2, generator=g) * 2
    sn = s.numpy().astype(np.float64)[0, :, 0].T
    tn = t.numpy().astype(np.float64)[0, :, 0].T
    exp = [_np_bild_pixel(sn[i], tn[i], 4, 2.0) for i in range(2)]
    assert BiLDLoss(top_k=4, tau=2.0)(s, t).item() == pytest.approx(np.mean(exp), rel=1e-5)
    gt = torch.tensor([[[255, 0]]])
    assert BiLDLoss(top_k=4, tau=2.0)(s, t, gt).item() == pytest.approx(exp[1], rel=1e-5)
    # top_k larger than K is clamped to K
    exp5 = np.mean([_np_bild_pixel(sn[i], tn[i], 5, 2.0) for i in range(2)])
    assert BiLDLoss(top_k=8, tau=2.0)(s, t).item() == pytest.approx(exp5, rel=1e-5)


def test_bild_without_differences():
    # top-2 teacher classes (0, 1) with tau=1: KL(softmax([2,1]) || softmax([0,1])) one direction.
    # softmax([2,1]) = [0.731059, 0.268941]; softmax([0,1]) = [0.268941, 0.731059]
    # KL = 0.731059 ln(0.731059/0.268941) + 0.268941 ln(0.268941/0.731059) = 0.462117
    t = torch.tensor([2.0, 1.0, 0.0]).view(1, 3, 1, 1)
    s = torch.tensor([0.0, 1.0, 3.0]).view(1, 3, 1, 1)
    out = BiLDLoss(top_k=2, tau=1.0, use_differences=False, both_directions=False)(s, t)
    assert out.item() == pytest.approx(0.462117, abs=1e-5)


def test_bild_reverse_kl():
    # same top-2 case, reverse direction: KL(softmax([0,1]) || softmax([2,1]))
    # = 0.268941 ln(0.268941/0.731059) + 0.731059 ln(0.731059/0.268941) = 0.462117 (symmetric here)
    # and a non-symmetric check against numpy with 3 selected logits
    t = torch.tensor([2.0, 1.0, 0.0]).view(1, 3, 1, 1)
    s = torch.tensor([0.0, 1.0, 3.0]).view(1, 3, 1, 1)
    out = BiLDLoss(top_k=2, tau=1.0, use_differences=False, both_directions=False, reverse_kl=True)
    assert out(s, t).item() == pytest.approx(0.462117, abs=1e-5)
    rev = BiLDLoss(top_k=3, tau=1.0, use_differences=False, both_directions=False, reverse_kl=True)
    assert rev(s, t).item() == pytest.approx(
        _np_kl(np.array([0.0, 1.0, 3.0]), np.array([2.0, 1.0, 0.0])), rel=1e-5
    )


def test_kneedle_k_hand_worked():
    # sorted probs [0.5, 0.3, 0.1, 0.05, 0.03, 0.02]; x = r/5; y = (p - 0.02)/0.48
    # y = [1, 0.583, 0.167, 0.0625, 0.0208, 0]; 1 - x - y = [0, 0.217, 0.433, 0.3375, 0.179, 0]
    # knee at rank 2 -> k = 3.  A straight line has no knee -> k = 1.
    p = torch.tensor([[0.5, 0.3, 0.1, 0.05, 0.03, 0.02], [0.3, 0.25, 0.2, 0.15, 0.1, 0.0]])
    assert kneedle_k(p).tolist() == [3, 1]


def test_dbild_dynamic_k_equals_fixed_k_at_the_knee():
    probs = torch.tensor([0.5, 0.3, 0.1, 0.05, 0.03, 0.02])
    t = probs.log().view(1, 6, 1, 1)
    s = torch.tensor([0.3, -0.2, 1.0, 0.5, 0.0, -1.0]).view(1, 6, 1, 1)
    dyn = BiLDLoss(dynamic_k='kneedle', min_k=2, max_k_fraction=1.0, tau=1.0, both_directions=False)
    fixed = BiLDLoss(top_k=3, tau=1.0, both_directions=False)
    assert dyn(s, t).item() == pytest.approx(fixed(s, t).item(), rel=1e-6)
    # min_k clamps the knee upward, max_k_fraction clamps downward
    at4 = BiLDLoss(top_k=4, tau=1.0, both_directions=False)(s, t).item()
    dyn4 = BiLDLoss(
        dynamic_k='kneedle', min_k=4, max_k_fraction=1.0, tau=1.0, both_directions=False
    )
    assert dyn4(s, t).item() == pytest.approx(at4, rel=1e-6)
    at2 = BiLDLoss(top_k=2, tau=1.0, both_directions=False)(s, t).item()
    dyn2 = BiLDLoss(
        dynamic_k='kneedle', min_k=2, max_k_fraction=0.34, tau=1.0, both_directions=False
    )
    assert dyn2(s, t).item() == pytest.approx(at2, rel=1e-6)


def test_bild_bad_args():
    with pytest.raises(ValueError, match='dynamic_k'):
        BiLDLoss(dynamic_k='elbow')
    assert math.isfinite(BiLDLoss(top_k=1)(torch.randn(1, 3, 2, 2), torch.randn(1, 3, 2, 2)).item())
