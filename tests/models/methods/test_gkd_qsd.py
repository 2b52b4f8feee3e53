"""Tests of GKD: the QSD module, the feature loss (golden case) and the masking utilities."""

import math

import pytest
import torch

from mmseg.registry import MODELS

from crossmodal.models.methods.gkd import (
    GKDFeatureLoss,
    PatchMasker,
    QuerySoftDistiller,
    mask_image_patches,
    mask_tokens,
    random_token_mask,
)

LN3 = math.log(3)


def _set_identity(qsd):
    """q = LN(S), v = LN(S): identity projections without bias, LayerNorm with unit affine."""
    with torch.no_grad():
        for lin in (qsd.q_proj, qsd.v_proj):
            lin.weight.copy_(torch.eye(lin.weight.shape[0], lin.weight.shape[1]))
            lin.bias.zero_()


def _golden_inputs():
    # student map (B=1, C_s=2, 1x2): token 1 = [1, 0], token 2 = [0, 1]
    s = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])
    # teacher map (B=1, C_t=2, 1x2): token 1 = [ln 3, 0], token 2 = [0, 0]
    t = torch.tensor([[[[LN3, 0.0]], [[0.0, 0.0]]]])
    return s, t


def test_qsd_hand_worked_attention_and_output():
    # LN([1,0]) = [1,-1], LN([0,1]) = [-1,1] (up to eps); q = v = these.
    # logits q_i . t_j: row 1 = [ln 3, 0] -> A_1 = [3/4, 1/4];
    # row 2 = [-ln 3, 0] -> A_2 = [1/4, 3/4]
    # S'_1 = 3/4 [1,-1] + 1/4 [-1,1] = [0.5, -0.5]; S'_2 = [-0.5, 0.5]
    s, t = _golden_inputs()
    qsd = QuerySoftDistiller(2, 2)
    _set_identity(qsd)
    out, attn = qsd(s, t, return_attn=True)
    assert out.shape == (1, 2, 1, 2)
    assert attn[0].tolist() == [
        pytest.approx([0.75, 0.25], abs=1e-5),
        pytest.approx([0.25, 0.75], abs=1e-5),
    ]
    tokens = out.flatten(2).transpose(1, 2)[0]
    assert tokens.tolist() == [
        pytest.approx([0.5, -0.5], abs=1e-5),
        pytest.approx([-0.5, 0.5], abs=1e-5),
    ]


def test_qsd_scale_attn():
    # with 1/sqrt(2): A_1 = [p, 1-p], p = sigmoid(ln3/sqrt 2) = 0.684998 -> S'_1 = [2p-1, 1-2p]
    s, t = _golden_inputs()
    qsd = QuerySoftDistiller(2, 2, scale_attn=True)
    _set_identity(qsd)
    _, attn = qsd(s, t, return_attn=True)
    assert attn[0, 0].tolist() == pytest.approx([0.684998, 0.315002], abs=1e-5)


def test_qsd_shapes_backward_and_errors():
    qsd = MODELS.build(dict(type='QuerySoftDistiller', student_dims=8, teacher_dims=12))
    s = torch.randn(2, 6, 8, requires_grad=True)
    t = torch.randn(2, 6, 12)
    out = qsd(s, t)
    assert out.shape == (2, 6, 12)
    out.pow(2).mean().backward()
    assert (
        s.grad is not None
        and qsd.q_proj.weight.grad is not None
        and qsd.v_proj.weight.grad is not None
    )
    with pytest.raises(ValueError, match='same \\(B, N\\)'):
        qsd(s, torch.randn(2, 5, 12))
    with pytest.raises(ValueError, match='C_s=8'):
        qsd(torch.randn(2, 6, 7), t)


def _golden_loss(**kw):
    loss = GKDFeatureLoss(2, 2, **kw)
    for q in (loss.qsd_feat, loss.qsd_mask, loss.qsd_cls):
        if q is not None:
            _set_identity(q)
    return loss


def test_gkd_loss_hand_worked():
    s, t = _golden_inputs()
    # L_feat: S' = [[0.5,-0.5],[-0.5,0.5]] vs T = [[ln3,0],[0,0]]
    #   = ((0.5 - 1.098612)^2 + 0.25 + 0.25 + 0.25) / 4 = (0.358336 + 0.75)/4 = 0.277084
    # L_cls: GAP(S) = [0.5,0.5] -> LN = [0,0] -> W_v 0 + 0 = [0,0]; GAP(T) = [ln3/2, 0]
    #   = (0.549306^2 + 0)/2 = 0.150869
    # L_mask with S_masked tokens [1,0],[1,0]: LN -> [1,-1] both; A rows = [3/4,1/4]; out = [1,-1]
    # both
    #   all tokens: ((1 - ln3)^2 + 1 + 1 + 1)/4 = (0.009727 + 3)/4 = 0.752431
    #   masked token (2) only: (1 + 1)/2 = 1
    s_masked = torch.tensor([[[[1.0, 1.0]], [[0.0, 0.0]]]])
    out = _golden_loss()(s, t, s_masked)
    assert out['loss_feat'].item() == pytest.approx(0.277084, abs=1e-5)
    assert out['loss_cls'].item() == pytest.approx(0.150869, abs=1e-5)
    assert out['loss_mask'].item() == pytest.approx(0.752431, abs=1e-5)
    only = _golden_loss(mask_loss_on='masked', lambda_feat=2.0, lambda_cls=0.0, loss_weight=0.5)
    out = only(s, t, s_masked, token_mask=torch.tensor([[False, True]]))
    assert set(out) == {'loss_feat', 'loss_mask'}
    assert out['loss_mask'].item() == pytest.approx(0.5 * 1.0, abs=1e-5)
    assert out['loss_feat'].item() == pytest.approx(0.5 * 2.0 * 0.277084, abs=1e-5)
    # released-code L_fea: one MSE over [cls; tokens] = (4*0.277084 + 2*0.150869)/6 = 0.235012
    code = _golden_loss(feat_includes_cls=True, lambda_mask=0.0)
    assert code(s, t)['loss_feat'].item() == pytest.approx(0.235012, abs=1e-5)


def test_gkd_loss_resamples_teacher_and_trains_student_and_qsd_only():
    loss = GKDFeatureLoss(student_dims=8, teacher_dims=12)
    s = torch.randn(2, 8, 4, 4, requires_grad=True)
    s_masked = torch.randn(2, 8, 4, 4, requires_grad=True)
    t = torch.randn(2, 12, 8, 8, requires_grad=True)  # teacher on a finer grid
    out = loss(s, t, s_masked)
    assert set(out) == {'loss_feat', 'loss_mask', 'loss_cls'}
    sum(out.values()).backward()
    assert t.grad is None
    assert s.grad.abs().sum() > 0 and s_masked.grad.abs().sum() > 0
    for q in (loss.qsd_feat, loss.qsd_mask, loss.qsd_cls):
        assert q.v_proj.weight.grad.abs().sum() > 0
    # block-constant teacher: bilinear halving gives back the coarse map exactly
    t_small = torch.randn(2, 12, 4, 4)
    t_big = t_small.repeat_interleave(2, 2).repeat_interleave(2, 3)
    a = loss(s, t_small, s_masked)
    b = loss(s, t_big, s_masked)
    for k in a:
        assert a[k].item() == pytest.approx(b[k].item(), rel=1e-5)
    assert loss.distill(s, t).shape == (2, 12, 4, 4)


def test_gkd_loss_bad_input():
    loss = GKDFeatureLoss(student_dims=8, teacher_dims=12)
    s, t = torch.randn(1, 8, 2, 2), torch.randn(1, 12, 2, 2)
    with pytest.raises(ValueError, match='student_feat_masked'):
        loss(s, t)
    with pytest.raises(ValueError, match='teacher feature'):
        loss(s, torch.randn(1, 10, 2, 2), s)
    with pytest.raises(ValueError, match='mask_loss_on'):
        GKDFeatureLoss(8, 12, mask_loss_on='some')
    assert set(GKDFeatureLoss(8, 12, lambda_mask=0.0)(s, t)) == {'loss_feat', 'loss_cls'}


def test_random_token_mask_counts():
    g = torch.Generator().manual_seed(0)
    m = random_token_mask(4, 10, mask_prob=0.5, mask_ratio=0.3, generator=g)
    assert m.shape == (4, 10) and m.dtype == torch.bool
    assert m.sum(1).tolist() == [3, 3, 0, 0]  # first half of the batch, 3 of 10 tokens each
    m2 = random_token_mask(4, 10, mask_prob=0.5, mask_ratio=0.3, generator=g)
    assert not torch.equal(m[:2], m2[:2])  # random positions
    assert random_token_mask(1, 4, mask_prob=0.5, mask_ratio=0.5).sum().item() == 2
    assert random_token_mask(3, 4, mask_prob=0.0).sum().item() == 0
    with pytest.raises(ValueError):
        random_token_mask(2, 4, mask_ratio=1.5)


def test_mask_image_patches_changes_exactly_the_masked_patches():
    img = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).view(2, 3, 4, 6) + 1.0
    # grid 2x3 of 2x2 patches; mask patch (0,1) of image 0 and patch (1,2) of image 1
    tm = torch.zeros(2, 6, dtype=torch.bool)
    tm[0, 1] = True
    tm[1, 5] = True
    out = mask_image_patches(img, tm, patch_size=2, fill='zero')
    changed = (out != img).any(1)  # (B, H, W)
    expected = torch.zeros(2, 4, 6, dtype=torch.bool)
    expected[0, 0:2, 2:4] = True
    expected[1, 2:4, 4:6] = True
    assert torch.equal(changed, expected)
    assert (out[0, :, 0:2, 2:4] == 0).all()
    mean = mask_image_patches(img, tm, patch_size=2, fill='mean')
    assert torch.allclose(mean[1, :, 3, 5], img[1].mean(dim=(1, 2)))
    with pytest.raises(ValueError, match='fill'):
        mask_image_patches(img, tm, 2, fill='noise')


def test_mask_tokens_and_patch_masker():
    tok = torch.randn(2, 4, 3)
    tm = torch.tensor([[True, False, False, True], [False] * 4])
    mt = torch.tensor([7.0, 8.0, 9.0])
    out = mask_tokens(tok, tm, mt)
    assert torch.equal(out[tm], mt.expand(2, 3))
    assert torch.equal(out[~tm], tok[~tm])
    masker = PatchMasker(patch_size=4, mask_prob=0.5, mask_ratio=0.5)
    img = torch.rand(2, 3, 8, 12) + 0.5  # strictly positive so a zero means masked
    masked, tmask = masker(img, generator=torch.Generator().manual_seed(1))
    assert tmask.shape == (2, 6) and tmask.sum(1).tolist() == [3, 0]
    assert torch.equal(masked[1], img[1])
    zero_pix = (masked[0] == 0).all(0)
    assert zero_pix.sum().item() == 3 * 16
