"""Tests of GKD: the QSD module, the feature loss (golden case) and the masking utilities."""

import functools
import math
import os
import statistics
import warnings

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS

from crossmodal.models.methods.gkd import (
    GKDFeatureLoss,
    PatchMasker,
    QuerySoftDistiller,
    mask_image_patches,
    mask_tokens,
    random_token_mask,
)
from crossmodal.models.methods.gkd.masked_student import DEFAULT_EMBED_PATH

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
STAGE1_CFG = os.path.join(
    ROOT, 'configs/distill/gkd/gkd-stage1_segformer_mit-t_300it_synthetic-rgbt-128x160.py'
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
    with pytest.warns(UserWarning, match='zero-variance'):
        out = mask_image_patches(img, tm, patch_size=2, fill='zero')
    changed = (out != img).any(1)  # (B, H, W)
    expected = torch.zeros(2, 4, 6, dtype=torch.bool)
    expected[0, 0:2, 2:4] = True
    expected[1, 2:4, 4:6] = True
    assert torch.equal(changed, expected)
    assert (out[0, :, 0:2, 2:4] == 0).all()
    assert torch.equal(
        mask_image_patches(img, tm, patch_size=2, fill=-1.5)[0, :, 0:2, 2:4],
        torch.full((3, 2, 2), -1.5),
    )
    with pytest.raises(ValueError, match='fill'):
        mask_image_patches(img, tm, 2, fill='noise')
    with pytest.raises(ValueError, match='PatchMasker'):
        mask_image_patches(img, tm, 2, fill='token')


def test_mean_fill_is_the_default_and_equals_the_channel_mean_golden():
    # channel 0 = 0..15 (mean 7.5), channel 1 = 5 everywhere except a 37 at (3, 3)
    # (mean (15 * 5 + 37) / 16 = 7.0); 2x2 grid of 2x2 patches, patch (0, 1) masked
    img = torch.zeros(1, 2, 4, 4)
    img[0, 0] = torch.arange(16.0).view(4, 4)
    img[0, 1] = 5.0
    img[0, 1, 3, 3] = 37.0
    tm = torch.tensor([[False, True, False, False]])
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the default fill does not warn
        out = mask_image_patches(img, tm, patch_size=2)
        masker = PatchMasker(patch_size=2, mask_prob=1.0, mask_ratio=0.5)
    assert masker.fill == 'mean' and masker.mask_token is None
    assert torch.equal(out[0, 0, 0:2, 2:4], torch.full((2, 2), 7.5))
    assert torch.equal(out[0, 1, 0:2, 2:4], torch.full((2, 2), 7.0))
    keep = torch.ones(4, 4, dtype=torch.bool)
    keep[0:2, 2:4] = False
    assert torch.equal(out[0][:, keep], img[0][:, keep])
    # the masker: every masked patch of every image holds that image's channel means
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(2, 3, 8, 12, generator=g)
    masked, tmask = PatchMasker(patch_size=4, mask_prob=1.0)(imgs, generator=g)
    pix = tmask.view(2, 2, 3).repeat_interleave(4, 1).repeat_interleave(4, 2)
    for b in range(2):
        mean = imgs[b].mean(dim=(1, 2))
        assert torch.allclose(masked[b][:, pix[b]], mean[:, None].expand(3, int(pix[b].sum())))
        assert torch.equal(masked[b][:, ~pix[b]], imgs[b][:, ~pix[b]])


def test_mask_tokens_and_patch_masker():
    tok = torch.randn(2, 4, 3)
    tm = torch.tensor([[True, False, False, True], [False] * 4])
    mt = torch.tensor([7.0, 8.0, 9.0])
    out = mask_tokens(tok, tm, mt)
    assert torch.equal(out[tm], mt.expand(2, 3))
    assert torch.equal(out[~tm], tok[~tm])
    masker = PatchMasker(patch_size=4, mask_prob=0.5, mask_ratio=0.5)
    img = torch.rand(2, 3, 8, 12) + 0.5
    masked, tmask = masker(img, generator=torch.Generator().manual_seed(1))
    assert tmask.shape == (2, 6) and tmask.sum(1).tolist() == [3, 0]
    assert torch.equal(masked[1], img[1])
    assert (masked[0] != img[0]).any(0).sum().item() <= 3 * 16
    with pytest.warns(UserWarning, match='zero-variance'):
        PatchMasker(fill='zero')
    with pytest.raises(ValueError, match='fill'):
        PatchMasker(fill='noise')


def test_token_fill_substitutes_a_learned_token_after_the_embedding():
    masker = PatchMasker(patch_size=4, mask_prob=1.0, mask_ratio=0.5, fill='token', token_dims=3)
    assert masker.masks_tokens and masker.mask_token.shape == (3,)
    assert 0 < masker.mask_token.abs().max() <= 0.04  # trunc-normal std 0.02, cut at 2 std
    img = torch.rand(1, 3, 8, 8)
    same, _ = masker(img)
    assert same is img  # the image is never touched
    # 2x2 grid of 4x4 patches, patch (1, 0) masked; tokens on the stride-2 grid 4x4
    tm = torch.tensor([[False, False, True, False]])
    tokens = torch.randn(1, 16, 3, requires_grad=True)
    out = masker.substitute(tokens, tm, (8, 8), hw=(4, 4))
    hit = torch.zeros(4, 4, dtype=torch.bool)
    hit[2:4, 0:2] = True
    hit = hit.flatten()
    assert torch.equal(out[0, hit], masker.mask_token.detach().expand(4, 3))
    assert torch.equal(out[0, ~hit], tokens[0, ~hit])
    out.sum().backward()
    assert masker.mask_token.grad.tolist() == [4.0, 4.0, 4.0]
    assert tokens.grad[0, hit].abs().sum() == 0
    as_map = masker.substitute(tokens.detach().transpose(1, 2).reshape(1, 3, 4, 4), tm, (8, 8))
    assert torch.equal(as_map.flatten(2).transpose(1, 2), out.detach())
    with pytest.raises(ValueError, match='token_dims=5'):
        masker.substitute(torch.randn(1, 16, 5), tm, (8, 8), hw=(4, 4))
    with pytest.raises(ValueError, match='token_dims'):
        PatchMasker(fill='token')
    with pytest.raises(ValueError, match="fill='token'"):
        PatchMasker(token_dims=3)


@functools.lru_cache(maxsize=1)
def _stage1_configs():
    cfg = Config.fromfile(STAGE1_CFG)
    return cfg, Config.fromfile(cfg.student_config)


def _stage1_masked_grads(fill, seed):
    """The stage-1 config's student MiT (from scratch, mmseg init) and masked loss L_mask on one
    1x3x64x80 image; returns (grad norm of layers.0.0.projection.bias, median grad norm of the
    other backbone parameters)."""
    cfg, student = _stage1_configs()
    spec = dict(cfg.model.distill_losses[0])
    masker_opts = dict(spec.pop('masker'))
    assert masker_opts.get('fill', 'mean') == 'mean'  # the config masks with the mean fill
    for key in ('student', 'teacher', 'name'):
        spec.pop(key)
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('mmseg'):
        backbone = MODELS.build(student.model.backbone)
        loss = MODELS.build(dict(spec, lambda_feat=0.0, lambda_cls=0.0))
    backbone.init_weights()  # what the runner does for a from-scratch student
    backbone.train()
    if fill == 'token':
        masker_opts.update(fill='token', token_dims=student.model.backbone.embed_dims)
    elif fill is not None:
        masker_opts.update(fill=fill)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        masker = PatchMasker(**masker_opts)
    dp = student.model.data_preprocessor
    mean, std = torch.tensor(dp.mean).view(1, 3, 1, 1), torch.tensor(dp.std).view(1, 3, 1, 1)
    img = (torch.rand(1, 3, 64, 80) * 255 - mean) / std  # normalised as the student sees it
    teacher = torch.randn(1, spec['teacher_dims'], 2, 3)
    masked, token_mask = masker(img)
    assert token_mask.sum() == 3  # half of the 2x3 patches of the one (masked) image
    if masker.masks_tokens:
        embed = backbone.get_submodule(DEFAULT_EMBED_PATH.split('.', 1)[1])
        with masker.tokens_masked_in(embed, token_mask, (64, 80)):
            feat = backbone(masked)[3]
    else:
        feat = backbone(masked)[3]
    loss(feat, teacher, feat)['loss_mask'].backward()
    norms = {n: p.grad.norm().item() for n, p in backbone.named_parameters() if p.grad is not None}
    bias = norms.pop('layers.0.0.projection.bias')
    return bias, statistics.median(norms.values())


def test_masked_loss_gradient_on_first_embedding_bias_is_sane():
    # bias / median grad norm, measured over seeds 0-4: mean fill (the default) 2.8-7.4, token
    # fill 1.3-2.3, zero fill 1.0e6-1.2e9 (the zero-variance LayerNorm input of the masked
    # patches); seed 0: 7.4 / 1.5 / 1.3e6
    for fill in (None, 'token'):
        bias, median = _stage1_masked_grads(fill, seed=0)
        assert 0 < bias < 100 * median, (fill, bias, median)
    bias, median = _stage1_masked_grads('zero', seed=0)
    assert bias > 1e3 * median, (bias, median)
