"""Golden tests of the RTFDNet losses on tiny hand-computed cases."""

import math

import pytest
import torch
import torch.nn as nn

from crossmodal.models.methods.rtfdnet import CMDRFeatureLoss, CMDRLogitLoss, RDRLoss


def _lg(*pix):
    """Logits (1, K, 1, W) from per-pixel lists."""
    return torch.tensor(pix, dtype=torch.float32).t().reshape(1, len(pix[0]), 1, len(pix))


def test_cmdr_logit_golden():
    fused = _lg([2.0, 0.0], [0.0, 1.0])  # argmax: pixel0 -> 0, pixel1 -> 1
    zr = _lg([0.0, 0.0], [1.0, 0.0])  # CE: log 2 ; log(1 + e)
    zx = fused.clone()  # CE: log(1 + e^-2) ; log(1 + e^-1)
    ce_r = [math.log(2), math.log(1 + math.e)]
    ce_x = [math.log(1 + math.exp(-2)), math.log(1 + math.exp(-1))]
    gt = torch.tensor([[[0, 255]]])
    # void pixel 1 excluded (default)
    got = CMDRLogitLoss(loss_weight=2.0)([zr, zx], fused, gt)
    assert got.item() == pytest.approx(2.0 * (ce_r[0] + ce_x[0]), rel=1e-5)
    # released behaviour: every pixel counts
    got = CMDRLogitLoss(mask_void=False)([zr, zx], fused, gt)
    assert got.item() == pytest.approx(sum(ce_r) / 2 + sum(ce_x) / 2, rel=1e-5)
    # class-weighted by the pseudo-label (fused argmax) class: pixel0 -> class 0 (w 0.25),
    # pixel1 -> class 1 (w 1); weighted mean = sum(w * ce) / sum(w)
    got = CMDRLogitLoss(mask_void=False, class_weight=[0.25, 1.0])([zr, zx], fused, gt)
    want = sum((0.25 * c[0] + 1.0 * c[1]) / 1.25 for c in (ce_r, ce_x))
    assert got.item() == pytest.approx(want, rel=1e-5)
    # with the void pixel excluded only pixel0 counts: the weight cancels
    got = CMDRLogitLoss(class_weight=[0.25, 1.0])([zr, zx], fused, gt)
    assert got.item() == pytest.approx(ce_r[0] + ce_x[0], rel=1e-5)
    with pytest.raises(ValueError, match='3 entries'):
        CMDRLogitLoss(class_weight=[1.0, 1.0, 1.0])([zr, zx], fused, gt)


def test_rdr_golden():
    zm = _lg([3.0, 1.0], [0.0, 2.0])  # argmax 0 ; 1
    fused = _lg([1.0, 2.0], [5.0, -1.0])  # |3 - 1| = 2 ; |2 - (-1)| = 3
    k = 2
    assert RDRLoss()([zm], fused).item() == pytest.approx((2 + 3) / (k * 2))
    # fused max-prob: pixel0 e^2/(e+e^2) = 0.731, pixel1 ~0.9975 -> threshold 0.8 keeps pixel 1
    assert RDRLoss(conf_thr=0.8)([zm], fused).item() == pytest.approx(3 / (k * 1))
    gt = torch.tensor([[[1, 255]]])
    assert RDRLoss(loss_weight=0.5)([zm, zm], fused, gt).item() == pytest.approx(
        0.5 * 2 * 2 / (k * 1)
    )
    assert RDRLoss(mask_void=False)([zm], fused, gt).item() == pytest.approx(5 / 4)


def _set_mlp(mlp, w1, w2):
    with torch.no_grad():
        mlp[0].weight.copy_(torch.tensor(w1))
        mlp[0].bias.zero_()
        mlp[2].weight.copy_(torch.tensor(w2))
        mlp[2].bias.zero_()


def test_cmdr_feature_golden():
    # one modality, one stage, C = 2, hidden = 1 (reduction 2)
    loss = CMDRFeatureLoss([2], num_modalities=1, reduction=2, loss_weight=0.5)
    _set_mlp(loss.mlps_uni[0][0], [[1.0, 0.0]], [[1.0], [1.0]])  # p = (1, 1)/sqrt2
    _set_mlp(loss.mlps_fused[0][0], [[1.0, 0.0]], [[1.0], [-1.0]])  # q = (1, -1)/sqrt2
    fm = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # (1, 2, 1, 2), positive -> ReLU passes
    ff = torch.tensor([[[[0.0, 1.0]], [[1.0, 1.0]]]])
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    a = [sig(2 * 0.5), sig(2 * -0.5)]  # sigmoid(C * p * q)
    sq = [(1 - 0) ** 2, (2 - 1) ** 2, (3 - 1) ** 2, (4 - 1) ** 2]
    expect = 0.5 * (a[0] ** 2 * (sq[0] + sq[1]) + a[1] ** 2 * (sq[2] + sq[3])) / 4
    assert loss([[fm]], [ff]).item() == pytest.approx(expect, rel=1e-5)


def test_cmdr_feature_stage_average_and_detach():
    torch.manual_seed(0)
    loss = CMDRFeatureLoss([2, 4], num_modalities=2, reduction=2)
    fm = [
        [torch.randn(1, 2, 2, 2, requires_grad=True), torch.randn(1, 4, 1, 1, requires_grad=True)]
        for _ in range(2)
    ]
    ff = [torch.randn(1, 2, 2, 2, requires_grad=True), torch.randn(1, 4, 1, 1, requires_grad=True)]
    total = loss(fm, ff)
    # manual: sum_m mean_i MSE(a F^m, a F^f)
    manual = 0
    for m in range(2):
        for i in range(2):
            a = loss.gate(m, i, fm[m][i], ff[i].detach())[:, :, None, None]
            manual = manual + ((a * fm[m][i] - a * ff[i]) ** 2).mean() / 2
    assert total.item() == pytest.approx(manual.item(), rel=1e-5)
    total.backward()
    assert all(f.grad is None for f in ff)  # detached target (paper)
    assert all(f.grad is not None for f in fm[0])
    assert loss.mlps_uni[0][0][0].weight.grad is not None  # learned gate is trained
    # released code: fused side receives gradient too
    loss2 = CMDRFeatureLoss([2, 4], num_modalities=2, reduction=2, detach_fused=False)
    loss2(fm, ff).backward()
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in ff)


def test_cmdr_feature_random_alpha_is_released_behaviour():
    loss = CMDRFeatureLoss([4], num_modalities=1, alpha='random')
    assert not list(loss.parameters())
    fm, ff = torch.randn(1, 4, 2, 2), torch.randn(1, 4, 2, 2)
    torch.manual_seed(0)
    v1 = loss([[fm]], [ff])
    v2 = loss([[fm]], [ff])
    assert v1.item() != v2.item()  # a new random gate on every call
    with pytest.raises(ValueError, match='alpha'):
        CMDRFeatureLoss([4], alpha='fixed')


def test_losses_reject_bad_shapes():
    with pytest.raises(ValueError, match='differ'):
        RDRLoss()([torch.zeros(1, 2, 2, 2)], torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match='label size'):
        CMDRLogitLoss()(
            [torch.zeros(1, 2, 2, 2)], torch.zeros(1, 2, 2, 2), torch.zeros(1, 4, 4).long()
        )
    with pytest.raises(ValueError, match='stages'):
        CMDRFeatureLoss([2, 2], num_modalities=1)(
            [[torch.zeros(1, 2, 1, 1)]], [torch.zeros(1, 2, 1, 1)]
        )
    assert isinstance(CMDRFeatureLoss([2]).mlps_uni, nn.ModuleList)
