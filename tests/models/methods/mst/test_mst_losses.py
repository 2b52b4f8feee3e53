"""Golden tests of MST-Distill's losses: expected values by hand or an independent numpy loop."""

import math

import numpy as np
import pytest
import torch

from crossmodal.models.methods.mst.losses import (
    kd_map,
    load_balancing_loss,
    masked_teacher_kd,
    routed_kd,
)


def np_kd(student, target, tau):
    """tau^2 KL(softmax(target/tau) || softmax(student/tau)) per pixel; inputs (K, ...) numpy."""

    def softmax(z):
        e = np.exp(z - z.max(0, keepdims=True))
        return e / e.sum(0, keepdims=True)

    p_t, p_s = softmax(target / tau), softmax(student / tau)
    return tau**2 * (p_t * (np.log(p_t) - np.log(p_s))).sum(0)


# ---------------------------------------------------------------- load balancing
def test_load_balancing_kl_by_hand():
    c = torch.tensor([[0.8, 0.2], [0.4, 0.6]])
    # mean over images (0.6, 0.4); KL(U || c_bar) = 0.5 ln(0.5/0.6) + 0.5 ln(0.5/0.4)
    expected = 0.5 * (-0.1823215568) + 0.5 * 0.2231435513  # = 0.0204109973
    assert load_balancing_loss(c, 'KL').item() == pytest.approx(expected, abs=1e-6)
    # the released code's KLDivLoss(batchmean) on the length-J vector divides by J = 2 once more
    assert load_balancing_loss(c, 'KL', code_batchmean=True).item() == pytest.approx(
        expected / 2, abs=1e-6
    )


def test_load_balancing_kl_uniform_is_zero_and_three_experts():
    assert load_balancing_loss(torch.full((3, 4), 0.25), 'KL').item() == pytest.approx(0, abs=1e-7)
    c = torch.tensor([[0.5, 0.3, 0.2]])
    expected = sum((1 / 3) * math.log((1 / 3) / p) for p in (0.5, 0.3, 0.2))
    assert load_balancing_loss(c, 'KL').item() == pytest.approx(expected, abs=1e-6)
    assert load_balancing_loss(c, 'KL', True).item() == pytest.approx(expected / 3, abs=1e-6)


def test_load_balancing_cv_by_hand():
    c = torch.tensor([[0.8, 0.2], [0.4, 0.6]])
    # importance (1.2, 0.8): mean 1.0, unbiased std sqrt((0.04 + 0.04) / 1) = 0.2828427
    for flag in (False, True):  # the /J quirk is KL-only
        assert load_balancing_loss(c, 'CV', flag).item() == pytest.approx(math.sqrt(0.08), abs=1e-6)


def test_load_balancing_per_pixel_averages_images_and_pixels():
    # (B=1, J=2, h=1, w=2): pixel probabilities (0.9, 0.1) and (0.5, 0.5) -> c_bar (0.7, 0.3)
    c = torch.tensor([[[[0.9, 0.5]], [[0.1, 0.5]]]])
    expected = 0.5 * math.log(0.5 / 0.7) + 0.5 * math.log(0.5 / 0.3)
    assert load_balancing_loss(c, 'KL').item() == pytest.approx(expected, abs=1e-6)
    # importance (1.4, 0.6): mean 1, unbiased std sqrt(0.16 + 0.16) = 0.5656854
    assert load_balancing_loss(c, 'CV').item() == pytest.approx(math.sqrt(0.32), abs=1e-6)


def test_load_balancing_bad_mode():
    with pytest.raises(ValueError, match='KL'):
        load_balancing_loss(torch.full((1, 2), 0.5), 'entropy')


# ---------------------------------------------------------------- masked-teacher KD (stage 2)
def test_masked_teacher_kd_by_hand_tau1():
    # student p = softmax(ln 3, 0) = (0.75, 0.25); masked teacher logits 0 -> (0.5, 0.5)
    # KL(p_S || p_T) = 0.75 ln 1.5 + 0.25 ln 0.5 = 0.1308120
    s = torch.tensor([math.log(3.0), 0.0]).view(1, 2, 1, 1)
    t = torch.zeros(1, 2, 1, 1)
    assert masked_teacher_kd(t, s, tau=1.0).item() == pytest.approx(0.1308120, abs=1e-6)


def test_masked_teacher_kd_numpy_with_void_and_gradient_only_to_masknet():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 2, 3, generator=g)
    frozen_teacher = torch.nn.Conv2d(3, 4, 1).requires_grad_(False)
    student = torch.nn.Conv2d(3, 4, 1)
    mask_logit = torch.nn.Parameter(torch.randn(1, 3, 1, 1, generator=g))  # stands in for a MaskNet
    masked = frozen_teacher(x * torch.sigmoid(mask_logit))
    s = student(x)
    valid = torch.ones(2, 2, 3, dtype=torch.bool)
    valid[0, 0, :] = False
    loss = masked_teacher_kd(masked, s, tau=4.0, valid=valid)
    ref = np_kd(
        masked.detach().numpy().transpose(1, 0, 2, 3), s.detach().numpy().transpose(1, 0, 2, 3), 4.0
    )  # (B, h, w): KD(masked <- S)
    assert loss.item() == pytest.approx(ref[valid.numpy()].mean(), rel=1e-5)
    loss.backward()
    assert mask_logit.grad is not None and mask_logit.grad.abs().sum() > 0
    assert student.weight.grad is None  # the student is the detached target
    assert frozen_teacher.weight.grad is None


def test_kd_map_resizes_target_and_matches_numpy():
    g = torch.Generator().manual_seed(1)
    s = torch.randn(1, 3, 2, 2, generator=g)
    t = torch.randn(1, 3, 2, 2, generator=g)
    ref = np_kd(s[0].numpy(), t[0].numpy(), 2.0)
    torch.testing.assert_close(
        kd_map(s, t, 2.0)[0], torch.from_numpy(ref).float(), rtol=1e-5, atol=1e-6
    )
    big = kd_map(torch.randn(1, 3, 4, 4), torch.randn(1, 3, 2, 2), 2.0)
    assert big.shape == (1, 4, 4)


# ---------------------------------------------------------------- routed top-k KD (stage 3)
KD = np.array(
    [  # (B=2, J=3, h=1, w=2) per-pixel KD values
        [[[1.0, 2.0]], [[3.0, 5.0]], [[7.0, 11.0]]],
        [[[13.0, 17.0]], [[19.0, 23.0]], [[29.0, 31.0]]],
    ]
)


def test_routed_kd_per_image_top1_by_hand():
    probs = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    loss, sel = routed_kd(torch.tensor(KD), probs, k=1)
    # image 0 -> expert 1 (3, 5); image 1 -> expert 0 (13, 17): mean of 4 pixels = 38 / 4
    assert loss.item() == pytest.approx(9.5)
    assert sel.tolist() == [[0, 1, 0], [1, 0, 0]]


def test_routed_kd_per_image_top2_and_void_by_hand():
    probs = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    # image 0 -> experts {1, 2}: pixels (3+7)/2 = 5, (5+11)/2 = 8
    # image 1 -> experts {0, 2}: pixels (13+29)/2 = 21, (17+31)/2 = 24
    loss, _ = routed_kd(torch.tensor(KD), probs, k=2)
    assert loss.item() == pytest.approx((5 + 8 + 21 + 24) / 4)
    valid = torch.tensor([[[True, False]], [[True, True]]])
    loss, _ = routed_kd(torch.tensor(KD), probs, k=2, valid=valid)
    assert loss.item() == pytest.approx((5 + 21 + 24) / 3)


def test_routed_kd_per_pixel_numpy_loop():
    g = torch.Generator().manual_seed(2)
    kd = torch.rand(2, 4, 3, 5, generator=g)
    probs = torch.rand(2, 4, 3, 5, generator=g).softmax(1)
    for k in (1, 2):
        loss, sel = routed_kd(kd, probs, k=k)
        p, m = probs.numpy(), kd.numpy()
        total = 0.0
        for b in range(2):
            for y in range(3):
                for x in range(5):
                    top = np.argsort(-p[b, :, y, x])[:k]
                    total += m[b, top, y, x].sum() / k
        assert loss.item() == pytest.approx(total / 30, rel=1e-6)
        assert sel.sum(1).eq(k).all() and sel.shape == probs.shape


def test_routed_kd_gate_gradient_only_with_weighting():
    kd = torch.tensor(KD)
    logits = torch.tensor(
        [[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]], dtype=torch.float64, requires_grad=True
    )
    loss, _ = routed_kd(kd, logits.softmax(1), k=1)
    assert not loss.requires_grad  # code: hard selection, no gate gradient
    loss, _ = routed_kd(kd, logits.softmax(1), k=1, weighting='prob')
    c = logits.softmax(1).detach()
    # weights c_j of the selected expert: image 0 (c01 * (3 + 5)), image 1 (c10 * (13 + 17)) / 4
    assert loss.item() == pytest.approx((c[0, 1] * 8 + c[1, 0] * 30).item() / 4)
    loss.backward()
    assert logits.grad.abs().sum() > 0
    loss_r, _ = routed_kd(kd, logits.softmax(1), k=2, weighting='renorm')
    w0 = (c[0, 1] / (c[0, 1] + c[0, 2])).item()
    w1 = (c[1, 0] / (c[1, 0] + c[1, 2])).item()
    expected = (
        w0 * 3
        + (1 - w0) * 7
        + w0 * 5
        + (1 - w0) * 11
        + w1 * 13
        + (1 - w1) * 29
        + w1 * 17
        + (1 - w1) * 31
    ) / 4
    assert loss_r.item() == pytest.approx(expected)


def test_routed_kd_bad_shapes_and_k():
    with pytest.raises(ValueError, match='k=4'):
        routed_kd(torch.tensor(KD), torch.full((2, 3), 1 / 3), k=4)
    with pytest.raises(ValueError, match='gate probabilities'):
        routed_kd(torch.tensor(KD), torch.full((2, 2), 0.5), k=1)
