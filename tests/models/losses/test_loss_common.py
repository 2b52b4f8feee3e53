"""Properties shared by every dense KD loss: registry, void masking, gradients, resizing."""

import pytest
import torch

from mmseg.registry import MODELS

CASES = [
    dict(type='KDLoss', tau=2.0),
    dict(type='KDLoss', tau=2.0, impl='chunked'),
    dict(type='CWDLoss', tau=2.0),
    dict(type='DKDLoss', alpha=1.0, beta=2.0, tau=2.0),
    dict(type='BiLDLoss', top_k=3, tau=2.0),
    dict(type='BiLDLoss', dynamic_k='kneedle', min_k=2, max_k_fraction=1.0),
    dict(type='BiLDLoss', top_k=2, use_differences=False),
    dict(type='BiLDLoss', top_k=3, reverse_kl=True),
    dict(type='PLDLoss', tau=2.0),
    dict(type='TAIDLoss', t_start=0.5),
    dict(type='FeatureMSELoss'),
    dict(type='FeatureMSELoss', normalize='channel_l2'),
    dict(type='ActivationAttentionLoss'),
]
IDS = [f"{c['type']}-{i}" for i, c in enumerate(CASES)]


def _inputs(seed=0, k=4, h=2, w=3):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(2, k, h, w, generator=g)
    t = torch.randn(2, k, h, w, generator=g)
    gt = torch.randint(0, k, (2, h, w), generator=g)
    return s, t, gt


@pytest.mark.parametrize('cfg', CASES, ids=IDS)
def test_void_pixel_changes_nothing(cfg):
    loss = MODELS.build(cfg)
    s, t, gt = _inputs()
    gt[0, 1, 2] = 255
    gt[1, 0, 0] = 255
    base = loss(s, t, gt).item()
    s2, t2 = s.clone(), t.clone()
    s2[0, :, 1, 2] = torch.tensor([9.0, -3.0, 5.0, 0.5])
    t2[1, :, 0, 0] = torch.tensor([-7.0, 4.0, 1.0, 2.0])
    assert loss(s2, t2, gt).item() == pytest.approx(base, rel=1e-5, abs=1e-7)
    # and a valid pixel does matter
    s3 = s.clone()
    s3[0, :, 0, 0] = torch.tensor([9.0, -3.0, 5.0, 0.5])
    assert loss(s3, t, gt).item() != pytest.approx(base, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize('cfg', CASES, ids=IDS)
def test_gradient_reaches_student_only(cfg):
    loss = MODELS.build(cfg)
    s, t, gt = _inputs(seed=1)
    s.requires_grad_(True)
    t.requires_grad_(True)
    gt[0, 0, 0] = 255
    out = loss(s, t, gt)
    assert out.dim() == 0 and torch.isfinite(out)
    out.backward()
    assert t.grad is None
    assert torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0


@pytest.mark.parametrize('cfg', CASES, ids=IDS)
def test_teacher_and_labels_are_resized(cfg):
    loss = MODELS.build(cfg)
    s, t, gt = _inputs(seed=2)
    gt[1, 1, 1] = 255
    base = loss(s, t, gt).item()
    # block-constant 2x maps: bilinear (align_corners=False) halving returns the original exactly,
    # nearest halving of the labels too
    t_big = t.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    gt_big = gt.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)
    assert loss(s, t_big, gt).item() == pytest.approx(base, rel=1e-5)
    assert loss(s, t, gt_big).item() == pytest.approx(base, rel=1e-5)


@pytest.mark.parametrize('cfg', CASES, ids=IDS)
def test_all_void_is_a_connected_zero(cfg):
    loss = MODELS.build(cfg)
    s, t, gt = _inputs(seed=3)
    s.requires_grad_(True)
    out = loss(s, t, torch.full_like(gt, 255))
    assert out.item() == 0.0
    out.backward()
    assert torch.isfinite(s.grad).all()


def test_requires_labels_flags_and_bad_shapes():
    flags = {c['type']: MODELS.get(c['type']).requires_labels for c in CASES}
    assert flags == {
        'KDLoss': False,
        'CWDLoss': False,
        'DKDLoss': True,
        'BiLDLoss': False,
        'PLDLoss': True,
        'TAIDLoss': False,
        'FeatureMSELoss': False,
        'ActivationAttentionLoss': False,
    }
    kd = MODELS.build(dict(type='KDLoss'))
    with pytest.raises(ValueError, match='batch sizes'):
        kd(torch.randn(2, 3, 2, 2), torch.randn(1, 3, 2, 2))
    with pytest.raises(ValueError, match='class counts'):
        kd(torch.randn(1, 3, 2, 2), torch.randn(1, 4, 2, 2))
    with pytest.raises(ValueError, match='gt must be'):
        kd(torch.randn(1, 3, 2, 2), torch.randn(1, 3, 2, 2), torch.zeros(2, 2, dtype=torch.long))
