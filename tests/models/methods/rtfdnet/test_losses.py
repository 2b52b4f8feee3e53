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


def test_cmdr_logit_class_weighted_golden_by_hand():
    # logits (1, K=2, 1, 2): fused argmax pixel0 -> 1, pixel1 -> 0
    fused = _lg([0.0, 3.0], [1.0, 0.0])
    zr = _lg([1.0, 0.0], [0.0, 2.0])  # pixel0: target 1, logits (1, 0) ; pixel1: target 0, (0, 2)
    # CE pixel0 = -log softmax(1, 0)[1] = log(1 + e)
    # CE pixel1 = -log softmax(0, 2)[0] = log(1 + e^2)
    ce0, ce1 = math.log(1 + math.e), math.log(1 + math.e**2)
    w = [0.25, 2.0]  # w[target]: pixel0 -> w[1] = 2, pixel1 -> w[0] = 0.25
    want = (2.0 * ce0 + 0.25 * ce1) / (2.0 + 0.25)
    loss = CMDRLogitLoss(class_weight=w, loss_weight=0.5)
    assert loss([zr], fused).item() == pytest.approx(0.5 * want, rel=1e-6)
    # the same number as torch's weighted CE (target-class weights, normalised by their sum)
    ref = torch.nn.functional.cross_entropy(zr, fused.argmax(1), weight=torch.tensor(w))
    assert loss([zr], fused).item() == pytest.approx(0.5 * ref.item(), rel=1e-6)
    # unweighted and all-ones weights: the plain mean
    assert CMDRLogitLoss()([zr], fused).item() == pytest.approx((ce0 + ce1) / 2, rel=1e-6)
    assert CMDRLogitLoss(class_weight=[1, 1])([zr], fused).item() == pytest.approx(
        (ce0 + ce1) / 2, rel=1e-6
    )
    with pytest.raises(ValueError, match='non-negative'):
        CMDRLogitLoss(class_weight=[-1.0, 1.0])


def test_rdr_class_weighted_golden():
    zm = _lg([3.0, 1.0], [0.0, 2.0])  # unimodal argmax 0 ; 1
    fused = _lg([1.0, 2.0], [5.0, -1.0])  # fused argmax 1 ; 0 ; |3 - 1| = 2 ; |2 - (-1)| = 3
    k = 2
    # pixels weighted by the fused argmax class: pixel0 -> w[1] = 1, pixel1 -> w[0] = 0.25
    got = RDRLoss(class_weight=[0.25, 1.0])([zm], fused).item()
    assert got == pytest.approx((1.0 * 2 + 0.25 * 3) / (k * 1.25))
    assert RDRLoss(class_weight=[1.0, 1.0])([zm], fused).item() == pytest.approx(5 / 4)
    gt = torch.tensor([[[1, 255]]])  # void pixel 1 out: the weight cancels
    assert RDRLoss(class_weight=[0.25, 1.0])([zm], fused, gt).item() == pytest.approx(2 / k)
    with pytest.raises(ValueError, match='3 entries'):
        RDRLoss(class_weight=[1.0, 1.0, 1.0])([zm], fused)


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


def test_cmdr_feature_golden_separate_mlps():
    # one modality, one stage, C = 2, hidden = 1 (reduction 2); the earlier p / q gate
    loss = CMDRFeatureLoss(
        [2], num_modalities=1, reduction=2, gate_mlps='separate', loss_weight=0.5
    )
    _set_mlp(loss.mlps_uni[0][0], [[1.0, 0.0]], [[1.0], [1.0]])  # p = (1, 1)/sqrt2
    _set_mlp(loss.mlps_fused[0][0], [[1.0, 0.0]], [[1.0], [-1.0]])  # q = (1, -1)/sqrt2
    fm = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # (1, 2, 1, 2), positive -> ReLU passes
    ff = torch.tensor([[[[0.0, 1.0]], [[1.0, 1.0]]]])
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    a = [sig(2 * 0.5), sig(2 * -0.5)]  # sigmoid(C * p * q)
    sq = [(1 - 0) ** 2, (2 - 1) ** 2, (3 - 1) ** 2, (4 - 1) ** 2]
    expect = 0.5 * (a[0] ** 2 * (sq[0] + sq[1]) + a[1] ** 2 * (sq[2] + sq[3])) / 4
    assert loss([[fm]], [ff]).item() == pytest.approx(expect, rel=1e-5)


FM = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # (1, 2, 1, 2): pooled (1.75, 3.75)
FF = torch.tensor([[[[0.0, 1.0]], [[1.0, 1.0]]]])  # pooled (0.75, 1.0)
SQ = [(1 - 0) ** 2, (2 - 1) ** 2, (3 - 1) ** 2, (4 - 1) ** 2]


def _sig(v):
    return 1 / (1 + math.exp(-v))


def test_cmdr_feature_golden_shared_mlp():
    # paper/code gate: one MLP p for both sides; p(v) = (v0 - v1, v0 + v1) (hidden = 2, r = 1)
    loss = CMDRFeatureLoss([2], num_modalities=1, reduction=1, loss_weight=0.5)
    assert not hasattr(loss, 'mlps_uni')
    _set_mlp(loss.mlps[0], [[1.0, 0.0], [0.0, 1.0]], [[1.0, -1.0], [1.0, 1.0]])
    # unimodal: pooled (1.75, 3.75) -> (-2, 5.5) ; fused: (0.75, 1) -> (-0.25, 1.75)
    p = [-2.0 / math.hypot(2, 5.5), 5.5 / math.hypot(2, 5.5)]
    q = [-0.25 / math.hypot(0.25, 1.75), 1.75 / math.hypot(0.25, 1.75)]
    a = [_sig(2 * p[0] * q[0]), _sig(2 * p[1] * q[1])]
    assert min(a) > 0.5  # same-signed descriptors: the gate stays open
    expect = 0.5 * (a[0] ** 2 * (SQ[0] + SQ[1]) + a[1] ** 2 * (SQ[2] + SQ[3])) / 4
    assert loss([[FM]], [FF]).item() == pytest.approx(expect, rel=1e-5)
    # gate_norm='mean': a / mean(a)
    loss.gate_norm = 'mean'
    an = [v / (sum(a) / 2) for v in a]
    expect = 0.5 * (an[0] ** 2 * (SQ[0] + SQ[1]) + an[1] ** 2 * (SQ[2] + SQ[3])) / 4
    assert loss([[FM]], [FF]).item() == pytest.approx(expect, rel=1e-5)
    g = loss.gate(0, 0, FM, FF)
    assert g.mean().item() == pytest.approx(1.0, rel=1e-6)


def test_cmdr_feature_detach_gate_trains_only_the_features():
    fm = FM.clone().requires_grad_(True)
    for detach in (False, True):
        torch.manual_seed(0)
        loss = CMDRFeatureLoss([2], num_modalities=1, reduction=1, detach_gate=detach)
        fm.grad = None
        value = loss([[fm]], [FF])
        value.backward()
        a = loss.gate(0, 0, FM, FF).detach()[:, :, None, None]
        assert value.item() == pytest.approx(((a * FM - a * FF) ** 2).mean().item(), rel=1e-6)
        mlp_grad = loss.mlps[0][0].weight.grad
        if detach:
            assert mlp_grad is None  # nothing reaches the gate
            assert not loss.gate(0, 0, fm, FF).requires_grad
            # d/dF^m of mean(a^2 (F^m - F^f)^2) with a constant
            assert torch.allclose(fm.grad, 2 * a**2 * (FM - FF) / 4)
        else:
            assert mlp_grad is not None and mlp_grad.abs().sum() > 0
    with pytest.raises(ValueError, match='gate_norm'):
        CMDRFeatureLoss([2], gate_norm='l2')
    with pytest.raises(ValueError, match='gate_mlps'):
        CMDRFeatureLoss([2], gate_mlps='per-modality')


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
    assert loss.mlps[0][0].weight.grad is not None  # learned gate is trained
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
    assert isinstance(CMDRFeatureLoss([2]).mlps, nn.ModuleList)
    assert isinstance(CMDRFeatureLoss([2], gate_mlps='separate').mlps_uni, nn.ModuleList)
