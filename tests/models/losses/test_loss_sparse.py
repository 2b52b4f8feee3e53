"""Sparse (top-k) teacher targets of KD, CWD and DKD (crossmodal/models/losses/sparse_targets.py).

Golden tests: with k = K every sparse loss equals its dense form; hand-computed cases with k < K
for both treatments of the truncated mass ('residual': spread uniformly, 'renorm').
"""

import math

import pytest
import torch

from crossmodal.models.losses import CWDLoss, DKDLoss, FeatureMSELoss, KDLoss
from crossmodal.models.losses.sparse_targets import (
    SparseLogits,
    nearest_index,
    resize_nearest,
    topk_sparse,
)


def _pair(b=2, k=5, h=6, w=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(b, k, h, w, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randn(b, k, h, w, generator=g, dtype=torch.float64) * 3
    gt = torch.randint(0, k, (b, h, w), generator=g)
    gt[0, 0, :3] = 255
    return s, t, gt


LOSSES = [
    lambda m: KDLoss(tau=2.0, sparse_mode=m),
    lambda m: KDLoss(tau=1.0, impl='chunked', sparse_mode=m),
    lambda m: KDLoss(tau=2.0, class_weight=[1, 2, 0.5, 1, 3], sparse_mode=m),
    lambda m: CWDLoss(tau=4.0, sparse_mode=m),
    lambda m: DKDLoss(tau=4.0, alpha=1.0, beta=2.0, sparse_mode=m),
]


@pytest.mark.parametrize('mode', ['residual', 'renorm'])
@pytest.mark.parametrize('make', LOSSES)
def test_sparse_with_k_equal_num_classes_equals_dense(make, mode):
    s, t, gt = _pair()
    loss = make(mode)
    dense = loss(s, t, gt)
    (g_dense,) = torch.autograd.grad(dense, s)
    sparse = loss(s, topk_sparse(t, k=5), gt)
    (g_sparse,) = torch.autograd.grad(sparse, s)
    assert torch.allclose(sparse, dense, rtol=1e-12, atol=1e-12)
    assert torch.allclose(g_sparse, g_dense, rtol=1e-10, atol=1e-12)


def test_sparse_at_another_resolution_is_nearest_resampled():
    s, _, gt = _pair(h=4, w=6)
    t = torch.randn(2, 5, 8, 12, dtype=torch.float64)
    sp = topk_sparse(t, k=5)
    got = KDLoss(tau=2.0)(s, sp, gt)
    want = KDLoss(tau=2.0)(s, resize_nearest(t, (4, 6)), gt)
    assert torch.allclose(got, want, rtol=1e-12)
    # nearest-exact: output (i, j) <- source (2i + 1, 2j + 1) for a factor of 2
    assert torch.equal(resize_nearest(t, (4, 6)), t[:, :, 1::2, 1::2])


@pytest.mark.parametrize(
    'src, dst', [((96, 128), (24, 32)), ((9, 12), (3, 4)), ((7, 10), (3, 4)), ((6, 5), (1, 5))]
)
def test_resize_nearest_integer_factor_shortcut_equals_the_index_rule(src, dst):
    """Integer factors take a strided view; it must pick exactly the pixels of nearest_index."""
    x = torch.arange(2 * 3 * src[0] * src[1]).view(2, 3, *src)
    rows, cols = nearest_index(src[0], dst[0]), nearest_index(src[1], dst[1])
    assert torch.equal(resize_nearest(x, dst), x[..., rows, :][..., cols])


def _one_pixel(zt, zs, k):
    t = torch.tensor(zt, dtype=torch.float64).view(1, -1, 1, 1)
    s = torch.tensor(zs, dtype=torch.float64).view(1, -1, 1, 1)
    return s, topk_sparse(t, k)


def test_kd_hand_computed_top1_of_three_classes():
    # teacher logits [2, 0, -1], student uniform; k = 1 keeps class 0
    s, sp = _one_pixel([2.0, 0.0, -1.0], [0.0, 0.0, 0.0], k=1)
    z = math.exp(2) + 1 + math.exp(-1)
    p0 = math.exp(2) / z
    r = 1 - p0  # residual mass, spread over the two other classes
    q = [p0, r / 2, r / 2]
    want_residual = sum(qi * math.log(qi / (1 / 3)) for qi in q)
    got = KDLoss(tau=1.0, sparse_mode='residual')(s, sp)
    assert got.item() == pytest.approx(want_residual, rel=1e-12)
    # renorm: the teacher is one-hot on class 0 -> KL = log 3
    got = KDLoss(tau=1.0, sparse_mode='renorm')(s, sp)
    assert got.item() == pytest.approx(math.log(3), rel=1e-12)


def test_kd_hand_computed_top2_of_four_classes_with_temperature():
    # teacher [3, 1, 0, 0] (tail classes equal: the residual is exact at every temperature)
    zt, zs, tau = [3.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.5, -0.5], 2.0
    s, sp = _one_pixel(zt, zs, k=2)

    def softmax(z):
        e = [math.exp(v / tau) for v in z]
        return [v / sum(e) for v in e]

    pt, ps = softmax(zt), softmax(zs)
    want = tau**2 * sum(a * math.log(a / b) for a, b in zip(pt, ps))
    got = KDLoss(tau=tau, sparse_mode='residual')(s, sp)
    assert got.item() == pytest.approx(want, rel=1e-12)
    q = softmax(zt[:2])
    want = tau**2 * sum(a * math.log(a / b) for a, b in zip(q, ps[:2]))
    got = KDLoss(tau=tau, sparse_mode='renorm')(s, sp)
    assert got.item() == pytest.approx(want, rel=1e-12)


def test_cwd_hand_computed_top1_two_pixels():
    # K = 3, two pixels; teacher logits per pixel, k = 1
    zt = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 1.0]], dtype=torch.float64)  # (pixel, class)
    zs = torch.zeros(1, 3, 1, 2, dtype=torch.float64)
    t = zt.t().reshape(1, 3, 1, 2)
    sp = topk_sparse(t, 1)
    # pixel 0 keeps class 0 (tail classes 1, 2 -> log((1 + e^-1) / 2)); pixel 1 keeps class 1
    # (a tie with class 2; topk picks the first) -> tail logit log(e^0 + e^1) - log 2
    tail0 = math.log((1 + math.exp(-1)) / 2)
    tail1 = math.log((1 + math.e) / 2)
    recon = [[2.0, tail0, tail0], [tail1, 1.0, tail1]]  # (pixel, class)
    want = 0.0
    for c in range(3):  # spatial softmax per channel; student uniform over the two pixels
        e = [math.exp(recon[i][c]) for i in range(2)]
        p = [v / sum(e) for v in e]
        want += sum(pi * math.log(pi / 0.5) for pi in p)
    want /= 3
    got = CWDLoss(tau=1.0, sparse_mode='residual')(zs, sp)
    assert got.item() == pytest.approx(want, rel=1e-12)


def test_dkd_hand_computed_top1_of_three_classes():
    # teacher [2, 0, -1], k = 1, label 1 (outside the top-1), student uniform, tau 1
    s, sp = _one_pixel([2.0, 0.0, -1.0], [0.0, 0.0, 0.0], k=1)
    gt = torch.tensor([[[1]]])
    z = math.exp(2) + 1 + math.exp(-1)
    p0 = math.exp(2) / z
    r = (1 - p0) / 2  # each tail class
    b_t = [r, 1 - r]  # [p_target, 1 - p_target]
    tckd = sum(a * math.log(a / b) for a, b in zip(b_t, [1 / 3, 2 / 3]))
    hat = [p0 / (p0 + r), r / (p0 + r)]  # non-target classes 0 and 2
    nckd = sum(a * math.log(a / 0.5) for a in hat)
    got = DKDLoss(tau=1.0, alpha=1.0, beta=2.0, sparse_mode='residual')(s, sp, gt)
    assert got.item() == pytest.approx(tckd + 2.0 * nckd, rel=1e-12)
    # renorm: target probability 0 -> TCKD = log(1 / (2/3)); NCKD: one-hot on class 0 -> log 2
    got = DKDLoss(tau=1.0, alpha=1.0, beta=2.0, sparse_mode='renorm')(s, sp, gt)
    assert got.item() == pytest.approx(math.log(1.5) + 2.0 * math.log(2), rel=1e-9)


def test_densify_residual_softmax_keeps_topk_probabilities():
    t = torch.randn(2, 6, 3, 4, dtype=torch.float64)
    sp = topk_sparse(t, 2)
    p = t.softmax(1)
    q = sp.densify('residual').softmax(1)
    assert torch.allclose(q.gather(1, sp.indices), p.gather(1, sp.indices), rtol=1e-12)
    assert torch.allclose(q.sum(1), torch.ones(2, 3, 4, dtype=torch.float64))
    r = sp.densify('renorm').softmax(1)
    assert torch.allclose(r.gather(1, sp.indices).sum(1), torch.ones(2, 3, 4, dtype=torch.float64))


def test_bad_mode_and_loss_without_sparse_support_are_refused():
    with pytest.raises(ValueError, match='sparse_mode'):
        KDLoss(sparse_mode='bin')
    s, t, _ = _pair()
    with pytest.raises(TypeError, match='dense teacher tensors only'):
        FeatureMSELoss()(s, topk_sparse(t, 2))
    with pytest.raises(ValueError, match='values and indices'):
        SparseLogits(t[:, :2], t[:, :3].long(), t[:, :1], 5)
