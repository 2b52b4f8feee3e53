"""Registered relational / dense KD losses: golden values on tiny hand-computed cases."""

import math

import pytest
import torch
from mmseg.registry import MODELS


def _kl(t_logits, s_logits):
    zt = sum(math.exp(v) for v in t_logits)
    zs = sum(math.exp(v) for v in s_logits)
    return sum(
        math.exp(a) / zt * ((a - math.log(zt)) - (b - math.log(zs)))
        for a, b in zip(t_logits, s_logits)
    )


def test_dense_kd_loss_golden():
    loss = MODELS.build(
        dict(type='KDLoss', tau=2.0, loss_weight=0.5, impl='chunked', loss_name='loss_dense_kd')
    )
    assert loss.loss_name == 'loss_dense_kd'
    # B=1, K=2, H=1, W=2; second pixel labelled 255 (ignored)
    z_s = torch.tensor([[[[0.0, 5.0]], [[2.0, -5.0]]]], requires_grad=True)
    z_t = torch.tensor([[[[1.0, 0.0]], [[1.0, 0.0]]]])
    labels = torch.tensor([[[3, 255]]])
    expected = 0.5 * 4.0 * _kl([0.5, 0.5], [0.0, 1.0])
    got = loss(z_s, z_t, labels)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    got.backward()
    # dL/dz_s = w * tau^2 * (p_s - p_t) / tau / n_valid at the valid pixel, 0 at the ignored one
    p_s0 = 1 / (1 + math.exp(1.0))
    assert z_s.grad[0, 0, 0, 0].item() == pytest.approx(0.5 * 2.0 * (p_s0 - 0.5), rel=1e-5)
    assert z_s.grad[0, :, 0, 1].abs().sum().item() == 0.0
    # a full-resolution bool mask is resized to the logits by nearest neighbour
    ign = torch.tensor([[[False, False, True, True]]])
    assert loss(z_s, z_t, ign).item() == pytest.approx(expected, rel=1e-5)


def test_attention_map_kd_loss_golden():
    loss = MODELS.build(dict(type='AttentionMapKDLoss', tau=1.0, loss_weight=2.0, impl='chunked'))
    # one head as (B, N, d): 2 queries, 2 keys, d=1
    q_s = torch.tensor([[[1.0], [0.0]]])
    k_s = torch.tensor([[[1.0], [-1.0]]])
    q_t = torch.tensor([[[0.0], [2.0]]])
    k_t = torch.tensor([[[1.0], [0.0]]])
    # student scores [[1, -1], [0, 0]]; teacher scores [[0, 0], [2, 0]]
    rows = [_kl([0.0, 0.0], [1.0, -1.0]), _kl([2.0, 0.0], [0.0, 0.0])]
    got = loss((q_s, k_s), (q_t, k_t))
    assert got.item() == pytest.approx(2.0 * sum(rows) / 2, rel=1e-5)
    got = loss((q_s, k_s), (q_t, k_t), gt=torch.tensor([[True, False]]))
    assert got.item() == pytest.approx(2.0 * rows[1], rel=1e-5)
    with pytest.raises(ValueError, match='hw_shape'):
        loss((q_s, k_s), (q_t, k_t), gt=torch.zeros(1, 1, 2, dtype=torch.bool))
    got = loss((q_s, k_s), (q_t, k_t), gt=torch.tensor([[[True, False]]]), hw_shape=(1, 2))
    assert got.item() == pytest.approx(2.0 * rows[1], rel=1e-5)


def test_affinity_kd_loss_golden_and_gradient():
    loss = MODELS.build(dict(type='AffinityKDLoss', tau=0.5, impl='chunked'))
    # 1x2 image; student pixels (1, 0) and (0, 1): cosines [[1, 0], [0, 1]]
    # teacher pixels (1,) and (-1,): cosines [[1, -1], [-1, 1]]
    f_s = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]], requires_grad=True)
    f_t = torch.tensor([[[[2.0, -3.0]]]])
    row = _kl([2.0, -2.0], [2.0, 0.0])
    got = loss(f_s, f_t)
    assert got.item() == pytest.approx(row, rel=1e-5)  # both rows are the same by symmetry
    got.backward()
    assert torch.isfinite(f_s.grad).all() and f_s.grad.abs().sum() > 0
    assert loss(f_s, f_t, torch.tensor([[[False, True]]])).item() == pytest.approx(row, rel=1e-5)


def test_losses_train_a_tiny_student_step():
    """A few SGD steps on each loss reduce it (sanity of the gradient direction)."""
    torch.manual_seed(0)
    for cfg, make in [
        (
            dict(type='KDLoss', tau=2.0, impl='auto'),
            lambda: (torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6)),
        ),
        (
            dict(type='AffinityKDLoss', tau=0.3),
            lambda: (torch.randn(2, 5, 6, 6), torch.randn(2, 3, 6, 6)),
        ),
    ]:
        loss = MODELS.build(cfg)
        s, t = make()
        s.requires_grad_()
        opt = torch.optim.SGD([s], lr=1.0)
        first = loss(s, t).item()
        for _ in range(5):
            opt.zero_grad()
            val = loss(s, t)
            val.backward()
            opt.step()
        assert loss(s, t).item() < first


def test_errors():
    with pytest.raises(ValueError, match='tau must be'):
        MODELS.build(dict(type='KDLoss', tau=0, impl='auto'))
    with pytest.raises(ValueError, match='impl must be'):
        MODELS.build(dict(type='KDLoss', impl='fused'))
    loss = MODELS.build(dict(type='KDLoss', impl='auto'))
    with pytest.raises(ValueError, match='gt must be'):
        loss(
            torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2), torch.zeros(2, 2, 2, dtype=torch.long)
        )
    with pytest.raises(ValueError, match='class counts differ'):
        loss(torch.zeros(1, 2, 2, 2), torch.zeros(1, 3, 2, 2))


@pytest.mark.parametrize('impl', ['chunked', 'reference', 'auto'])
def test_dense_kd_loss_matches_kd_loss_with_resized_teacher_and_labels(impl):
    """impl='chunked' etc.: same value and gradient as the composed impl='torch', incl. bilinear
    teacher resize and void labels."""
    g = torch.Generator().manual_seed(0)
    z_s = torch.randn(2, 5, 6, 8, generator=g, requires_grad=True)
    z_t = torch.randn(2, 5, 12, 16, generator=g)
    gt = torch.randint(0, 5, (2, 24, 32), generator=g)
    gt[:, :8] = 255
    fused = MODELS.build(dict(type='KDLoss', tau=3.0, loss_weight=0.7, impl=impl))
    composed = MODELS.build(dict(type='KDLoss', tau=3.0, loss_weight=0.7))
    a = fused(z_s, z_t, gt)
    (ga,) = torch.autograd.grad(a, z_s)
    b = composed(z_s, z_t, gt)
    (gb,) = torch.autograd.grad(b, z_s)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(ga, gb, atol=1e-7, rtol=1e-5)


def test_dense_kd_loss_is_a_deprecated_alias_of_kd_loss():
    """The old name still builds KDLoss (impl='auto', loss_name='loss_dense_kd'), same value and
    gradient, with one FutureWarning per process."""
    from crossmodal.models.losses import DenseKDLoss, KDLoss, deprecation

    deprecation._WARNED.discard('DenseKDLoss')
    with pytest.warns(FutureWarning, match="'DenseKDLoss' is deprecated; use 'KDLoss'"):
        old = MODELS.build(dict(type='DenseKDLoss', tau=2.0, loss_weight=0.5))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter('error')
        MODELS.build(dict(type='DenseKDLoss'))  # no second warning
    assert isinstance(old, KDLoss) and isinstance(old, DenseKDLoss)
    assert (old.impl, old.loss_name, old.tau, old.loss_weight) == (
        'auto',
        'loss_dense_kd',
        2.0,
        0.5,
    )
    new = MODELS.build(dict(type='KDLoss', tau=2.0, loss_weight=0.5, impl='auto'))
    g = torch.Generator().manual_seed(3)
    z_s = torch.randn(2, 4, 5, 6, generator=g, requires_grad=True)
    z_t = torch.randn(2, 4, 5, 6, generator=g)
    gt = torch.randint(0, 4, (2, 5, 6), generator=g)
    gt[0, 0] = 255
    a, b = old(z_s, z_t, gt), new(z_s, z_t, gt)
    assert a.item() == b.item()
    torch.testing.assert_close(torch.autograd.grad(a, z_s)[0], torch.autograd.grad(b, z_s)[0])


def test_kd_loss_takes_a_bool_ignore_mask_in_every_impl():
    g = torch.Generator().manual_seed(4)
    z_s, z_t = torch.randn(1, 3, 2, 4, generator=g), torch.randn(1, 3, 2, 4, generator=g)
    labels = torch.tensor([[[0, 1, 255, 2], [255, 255, 1, 0]]])
    for impl in ('torch', 'chunked', 'reference'):
        loss = MODELS.build(dict(type='KDLoss', tau=2.0, impl=impl))
        assert loss(z_s, z_t, labels == 255).item() == pytest.approx(
            loss(z_s, z_t, labels).item(), rel=1e-6
        )


def test_affinity_kd_loss_resizes_teacher_and_masks_void_rows():
    import torch.nn.functional as F

    from crossmodal.ops import affinity_kl

    g = torch.Generator().manual_seed(1)
    f_s = torch.randn(1, 4, 4, 6, generator=g)
    f_t = torch.randn(1, 7, 8, 12, generator=g)
    gt = torch.zeros(1, 8, 12, dtype=torch.long)
    gt[:, :4] = 255  # top half void -> top two student rows (of 4) are not query rows
    loss = MODELS.build(dict(type='AffinityKDLoss', tau=0.2, impl='chunked'))
    t = F.interpolate(f_t, size=(4, 6), mode='bilinear', align_corners=False)
    valid = torch.zeros(1, 4, 6, dtype=torch.bool)
    valid[:, 2:] = True
    expected = affinity_kl(f_s, t, tau=0.2, mask=valid, impl='reference')
    assert loss(f_s, f_t, gt).item() == pytest.approx(expected.item(), rel=1e-5)


def test_attention_map_kd_loss_takes_labels_and_the_pairs_hw_shape():
    """Integer train ids as ``gt`` (what DistillSegmentor passes): ignore_index rows excluded, the
    query grid read from the student pair's ``hw_shape`` (the '@qk' tap value)."""
    from crossmodal.models.distill.tap_adapters import QueryKeyPair

    loss = MODELS.build(
        dict(type='AttentionMapKDLoss', tau=1.0, loss_weight=2.0, impl='chunked', ignore_index=7)
    )
    q_s = torch.tensor([[[[1.0], [0.0]]]])
    k_s = torch.tensor([[[[1.0], [-1.0]]]])
    q_t = torch.tensor([[[[0.0], [2.0]]]])
    k_t = torch.tensor([[[[1.0], [0.0]]]])
    rows = [_kl([0.0, 0.0], [1.0, -1.0]), _kl([2.0, 0.0], [0.0, 0.0])]
    labels = torch.tensor([[[7, 7, 1, 2]]])  # (1, 1, 4) -> query grid (1, 2): [ignored, valid]
    got = loss(QueryKeyPair(q_s, k_s, (1, 2)), (q_t, k_t), gt=labels)
    assert got.item() == pytest.approx(2.0 * rows[1], rel=1e-5)
    got = loss(QueryKeyPair(q_s, k_s, (1, 2)), (q_t, k_t), gt=torch.tensor([[[0, 1, 2, 3]]]))
    assert got.item() == pytest.approx(2.0 * sum(rows) / 2, rel=1e-5)
    with pytest.raises(ValueError, match='hw_shape'):
        loss((q_s, k_s), (q_t, k_t), gt=labels)
    with pytest.raises(ValueError, match='train ids'):
        loss((q_s, k_s), (q_t, k_t), gt=labels.float())
