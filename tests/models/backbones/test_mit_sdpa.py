"""MiT with SDPA attention: same parameters, same outputs as stock mmseg."""

import copy

import pytest
import torch
from mmseg.models.backbones.mit import EfficientMultiheadAttention, MixVisionTransformer
from mmseg.registry import MODELS

from crossmodal.models.backbones.mit_sdpa import (
    MixVisionTransformerSDPA,
    SDPAEfficientMultiheadAttention,
    use_mmseg_attention,
    use_sdpa_attention,
)

TINY = dict(
    in_channels=3,
    embed_dims=8,
    num_stages=2,
    num_layers=[1, 2],
    num_heads=[1, 2],
    patch_sizes=[7, 3],
    strides=[4, 2],
    sr_ratios=[2, 1],
    out_indices=(0, 1),
    mlp_ratio=2,
)


def _stock(**kw):
    torch.manual_seed(0)
    m = MixVisionTransformer(**TINY, **kw)
    m.init_weights()
    # non-trivial biases so the bias paths are exercised
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return m


@pytest.mark.parametrize('train', [False, True])
def test_sdpa_matches_stock(train):
    stock = _stock()
    sdpa = use_sdpa_attention(copy.deepcopy(stock))
    assert sum(type(m) is SDPAEfficientMultiheadAttention for m in sdpa.modules()) == 3
    stock.train(train)
    sdpa.train(train)
    x = torch.randn(2, 3, 36, 44)
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    outs1, outs2 = stock(x1), sdpa(x2)
    for a, b in zip(outs1, outs2):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    sum(o.square().sum() for o in outs1).backward()
    sum(o.square().sum() for o in outs2).backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-4, rtol=1e-4)
    for (n1, p1), (n2, p2) in zip(stock.named_parameters(), sdpa.named_parameters()):
        assert n1 == n2
        torch.testing.assert_close(p1.grad, p2.grad, atol=1e-4, rtol=1e-4, msg=n1)


def test_state_dict_round_trip_and_registered_backbone():
    stock = _stock()
    sd = stock.state_dict()
    backbone = MODELS.build(dict(type='MixVisionTransformerSDPA', attn_impl='sdpa', **TINY))
    assert isinstance(backbone, MixVisionTransformerSDPA)
    assert list(backbone.state_dict().keys()) == list(sd.keys())
    backbone.load_state_dict(sd, strict=True)
    back = MixVisionTransformer(**TINY)
    back.load_state_dict(backbone.state_dict(), strict=True)
    stock.eval(), backbone.eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        for a, b in zip(stock(x), backbone(x)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    mm = MODELS.build(dict(type='MixVisionTransformerSDPA', attn_impl='mmseg', **TINY))
    assert all(type(m) is not SDPAEfficientMultiheadAttention for m in mm.modules())
    use_mmseg_attention(backbone)
    assert sum(type(m) is EfficientMultiheadAttention for m in backbone.modules()) == 3


def test_bad_arguments():
    with pytest.raises(ValueError, match='attn_impl'):
        MixVisionTransformerSDPA(attn_impl='flash', **TINY)
    with pytest.raises(ValueError, match='no mmseg EfficientMultiheadAttention'):
        use_sdpa_attention(torch.nn.Linear(2, 2))


def test_project_qkv_reproduces_the_attention_map():
    from crossmodal.models.backbones.mit_sdpa import project_qkv

    stock = _stock().eval()
    attn = stock.layers[0][1][0].attn  # sr_ratio 2, one head
    attn2 = stock.layers[1][1][0].attn  # sr_ratio 1, two heads
    for module, (H, W), C in ((attn, (4, 6), 8), (attn2, (3, 5), 16)):
        x = torch.randn(2, H * W, C)
        q, k, _ = project_qkv(module, x, (H, W))
        heads = module.attn.num_heads
        x_kv = x
        if module.sr_ratio > 1:
            from mmseg.models.utils import nchw_to_nlc, nlc_to_nchw

            x_kv = module.norm(nchw_to_nlc(module.sr(nlc_to_nchw(x, (H, W)))))
        with torch.no_grad():
            _, weights = module.attn(
                x.transpose(0, 1),
                x_kv.transpose(0, 1),
                x_kv.transpose(0, 1),
                need_weights=True,
                average_attn_weights=False,
            )
            mine = torch.softmax(q @ k.transpose(-1, -2) / (C // heads) ** 0.5, dim=-1)
        assert mine.shape == weights.shape == (2, heads, H * W, x_kv.shape[1])
        torch.testing.assert_close(mine, weights, atol=1e-5, rtol=1e-5)
