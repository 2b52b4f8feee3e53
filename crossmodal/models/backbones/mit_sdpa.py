"""SegFormer's MiT attention through ``torch.nn.functional.scaled_dot_product_attention``.

mmseg's :class:`EfficientMultiheadAttention` (SegFormer, Xie et al. NeurIPS 2021: spatial-reduction
conv + LayerNorm on keys/values, then multi-head attention) calls ``nn.MultiheadAttention``,
which materialises the (N x N/sr^2) attention matrix on every backend. This module computes the
same function with the same parameters (``attn.in_proj_weight``, ``attn.in_proj_bias``,
``attn.out_proj.*``, ``sr.*``, ``norm.*``) through SDPA, which dispatches to flash /
memory-efficient kernels on GPUs. Parameter names and the state_dict are unchanged, so stock
mmseg MiT / SegFormer checkpoints load as they are, and exported students stay stock mmseg.

Attention dropout: stock draws its mask inside ``nn.MultiheadAttention``, SDPA draws its own, so
with ``attn_drop_rate > 0`` in train mode the two agree in distribution, not sample by sample.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmseg.models.backbones.mit import EfficientMultiheadAttention, MixVisionTransformer
from mmseg.models.utils import nchw_to_nlc, nlc_to_nchw
from mmseg.registry import MODELS

WHERE = 'crossmodal/models/backbones/mit_sdpa.py'


class SDPAEfficientMultiheadAttention(EfficientMultiheadAttention):
    """Drop-in subclass of mmseg's EfficientMultiheadAttention; only ``forward`` differs.

    forward(x (B, N, C), hw_shape (H, W), identity=None) -> (B, N, C). Needs batch_first=True (as
    MiT).
    """

    def forward(self, x, hw_shape, identity=None):
        if identity is None:
            identity = x
        q, k, v = project_qkv(self, x, hw_shape)
        mha = self.attn
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=mha.dropout if self.training else 0.0
        )
        B, N, C = x.shape
        out = F.linear(out.transpose(1, 2).reshape(B, N, C), mha.out_proj.weight, mha.out_proj.bias)
        return identity + self.dropout_layer(self.proj_drop(out))


def project_qkv(module: EfficientMultiheadAttention, x: torch.Tensor, hw_shape):
    """Per-head queries, keys and values of a (stock or SDPA) EfficientMultiheadAttention.

    x: (B, N, C) tokens entering the attention (after norm1), hw_shape: (H, W) with N = H*W.
    Returns q (B, h, N, C/h) and k, v (B, h, M, C/h), M = N / sr_ratio^2 (spatially reduced keys).
    softmax(q k^T / sqrt(C/h)) is the module's attention map, so these feed
    :class:`crossmodal.models.losses.AttentionMapKDLoss` (with tau = sqrt(C/h)) from a forward
    hook on the attention module, without materialising the map.
    """
    if x.dim() != 3:
        raise ValueError(f'{WHERE}: project_qkv expects (B, N, C) tokens, got {tuple(x.shape)}')
    if module.sr_ratio > 1:
        x_kv = module.norm(nchw_to_nlc(module.sr(nlc_to_nchw(x, hw_shape))))
    else:
        x_kv = x
    mha = module.attn
    B, N, C = x.shape
    heads = mha.num_heads
    d = C // heads
    w_q, w_k, w_v = mha.in_proj_weight.chunk(3)
    if mha.in_proj_bias is not None:
        b_q, b_k, b_v = mha.in_proj_bias.chunk(3)
    else:
        b_q = b_k = b_v = None
    q = F.linear(x, w_q, b_q).view(B, N, heads, d).transpose(1, 2)
    k = F.linear(x_kv, w_k, b_k).view(B, -1, heads, d).transpose(1, 2)
    v = F.linear(x_kv, w_v, b_v).view(B, -1, heads, d).transpose(1, 2)
    return q, k, v


def _check_supported(m: EfficientMultiheadAttention, name: str) -> None:
    mha = m.attn
    if not m.batch_first:
        raise ValueError(
            f'{WHERE}: {name} has batch_first=False; the SDPA attention needs batch_first=True '
            '(what MixVisionTransformer builds)'
        )
    if (
        not mha._qkv_same_embed_dim
        or mha.bias_k is not None
        or mha.bias_v is not None
        or mha.add_zero_attn
    ):
        raise ValueError(
            f'{WHERE}: {name}.attn uses kdim/vdim, bias_k/bias_v or add_zero_attn, '
            'which the SDPA attention does not implement'
        )


def use_sdpa_attention(model: torch.nn.Module) -> torch.nn.Module:
    """Switch every stock EfficientMultiheadAttention in ``model`` to the SDPA forward, in place.

    Only the class (i.e. the forward) changes; modules, parameters and state_dict keys stay
    the same. Returns ``model``. Raises ValueError if no such module is found.
    """
    found = 0
    for name, m in model.named_modules():
        if type(m) is EfficientMultiheadAttention:
            _check_supported(m, name)
            m.__class__ = SDPAEfficientMultiheadAttention
            found += 1
        elif type(m) is SDPAEfficientMultiheadAttention:
            found += 1
    if not found:
        raise ValueError(
            f'{WHERE}: {type(model).__name__} contains no mmseg EfficientMultiheadAttention'
        )
    return model


def use_mmseg_attention(model: torch.nn.Module) -> torch.nn.Module:
    """Inverse of :func:`use_sdpa_attention` (back to stock nn.MultiheadAttention), in place."""
    for m in model.modules():
        if type(m) is SDPAEfficientMultiheadAttention:
            m.__class__ = EfficientMultiheadAttention
    return model


@MODELS.register_module()
class MixVisionTransformerSDPA(MixVisionTransformer):
    """mmseg's MixVisionTransformer with a switch for the attention implementation.

    Args:
        attn_impl: 'sdpa' (default; F.scaled_dot_product_attention) or 'mmseg' (stock
            nn.MultiheadAttention). Every other keyword is MixVisionTransformer's.
    Same parameters and state_dict keys as the stock backbone, so checkpoints load either way.
    """

    def __init__(self, *args, attn_impl: str = 'sdpa', **kwargs):
        if attn_impl not in ('sdpa', 'mmseg'):
            raise ValueError(f'{WHERE}: attn_impl must be "sdpa" or "mmseg", got {attn_impl!r}')
        super().__init__(*args, **kwargs)
        self.attn_impl = attn_impl
        if attn_impl == 'sdpa':
            use_sdpa_attention(self)
