"""``CrossAttentionFusion``: RGBI tokens attend to LiDAR tokens (FSKD teacher,
docs/methods/fskd.md (b)).

FSKD (arXiv 2604.01766) states only that the teacher "fuses RGBI imagery with LiDAR-derived planar
metrics and vertical profiles via cross-attention"; no code was released, so this block is a
**reconstruction** ([RECON]):

    q  = LN(F_0) + PE,  kv = LN(SR(F_1 ⊕ ... ⊕ F_{M-1})) + PE_kv     (tokens, B x N x C)
    F  = F_0 + MHA(q, kv, kv)                                            (residual)
    F  = F + W_a · resize(F_1..M-1)        (``add_aligned``: co-located LiDAR term, our addition)
    F  = F + MLP(LN(F))                                                  (C -> mlp_ratio·C -> C)

Queries come from the first map (RGBI), keys/values from the others (LiDAR), concatenated along
the token axis. SR = strided conv + LN with stride ``sr_ratio`` (MiT's efficient attention) so the
cost is N_q x N_kv / sr². PE = fixed 2-D sine/cosine encoding of normalised (y, x) in [0, 1]
(frequencies π..2^15·π) — without it attention cannot tell *where* a LiDAR token lies (MiT features
carry little absolute position). ``add_aligned`` gives the block direct access to the co-registered
LiDAR feature under each query pixel; set it False for pure cross-attention.

Call: ``fusion([F_rgbi (B, C, H, W), F_lidar (B, C_kv, H', W'), ...]) -> (B, C, H, W)``. The
signature ``CrossAttentionFusion(channels, num_modalities)`` matches what
:class:`~crossmodal.models.segmentors.MultiModalEncoderDecoder` builds per stage.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


# Highest octave of the positional encoding: frequencies go up to 2^(PE_MAX_OCTAVES - 1)·π rad per
# unit of normalised coordinate. 2^15·π ≈ 1.0e5 rad, where float32 still resolves the angle to
# ~0.008 rad; beyond that sin/cos of a float32 angle are rounding noise, and 2^128 overflows.
PE_MAX_OCTAVES = 16


def pos_encoding_freqs(n_freq: int, device=None) -> torch.Tensor:
    """(n_freq,) angular frequencies (rad per unit coordinate) of :func:`sincos_pos_encoding`.

    n_freq <= PE_MAX_OCTAVES: the octaves 2^j·π, j = 0..n_freq-1 (unchanged from the first
    version). More frequencies: geometric between π and 2^(PE_MAX_OCTAVES-1)·π (same end points,
    finer ratio 2^((PE_MAX_OCTAVES-1)/(n_freq-1))). The first version continued the octaves, which
    reached 2^127·π = inf at 512 channels (n_freq = 128; sin(inf) = NaN made the FSKD MiT-B5 teacher
    NaN from iteration 1) and were float32 noise from about 2^24·π on (>= 100 channels)."""
    if n_freq <= PE_MAX_OCTAVES:
        exps = torch.arange(n_freq, device=device, dtype=torch.float32)
    else:
        exps = torch.linspace(0.0, PE_MAX_OCTAVES - 1, n_freq, device=device, dtype=torch.float32)
    return (2.0**exps) * math.pi


def sincos_pos_encoding(h: int, w: int, channels: int, device=None, dtype=None) -> torch.Tensor:
    """(h*w, channels) fixed 2-D encoding of normalised pixel-centre coordinates (y, x) in [0, 1].

    Half the channels encode y, half x, each as sin/cos pairs at the ``channels // 4`` frequencies
    of :func:`pos_encoding_freqs` (π, 2π, 4π, ... capped at 2^15·π, see there); every value is in
    [-1, 1]. Unused channels (when ``channels`` is not a multiple of 4) are zero. Computed in
    float32, returned in ``dtype`` (default float32)."""
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
    yy, xx = torch.meshgrid(ys, xs, indexing='ij')
    n_freq = channels // 4
    pe = torch.zeros(h * w, channels, device=device, dtype=torch.float32)
    if n_freq:
        freqs = pos_encoding_freqs(n_freq, device)
        for i, coord in enumerate((yy.reshape(-1, 1), xx.reshape(-1, 1))):
            ang = coord * freqs
            pe[:, i * 2 * n_freq : (i * 2 + 1) * n_freq] = torch.sin(ang)
            pe[:, (i * 2 + 1) * n_freq : (i * 2 + 2) * n_freq] = torch.cos(ang)
    return pe.to(dtype) if dtype is not None else pe


@MODELS.register_module()
class CrossAttentionFusion(nn.Module):
    """Cross-attention of the first map (queries) over the other maps (keys/values).

    Args:
        channels: C of the query map (and of the output).
        num_modalities: number of maps passed in (>= 2).
        kv_channels: channels of the key/value maps (default ``channels``).
        num_heads: attention heads (must divide ``channels``).
        sr_ratio: spatial reduction of the key/value maps (1 = none).
        mlp_ratio: hidden width factor of the output MLP (0 disables the MLP).
        pos_encoding: add the fixed 2-D sine/cosine encoding to queries and keys.
        add_aligned: add a 1x1 projection of the co-located key/value features (our addition).
        attn_drop: attention dropout.
    """

    def __init__(
        self,
        channels: int,
        num_modalities: int = 2,
        kv_channels: Optional[int] = None,
        num_heads: int = 1,
        sr_ratio: int = 1,
        mlp_ratio: float = 2.0,
        pos_encoding: bool = True,
        add_aligned: bool = True,
        attn_drop: float = 0.0,
    ):
        super().__init__()
        if num_modalities < 2:
            raise ValueError(
                f'CrossAttentionFusion needs >= 2 modalities (queries + keys), got {num_modalities}'
            )
        if channels % num_heads:
            raise ValueError(
                f'CrossAttentionFusion: num_heads {num_heads} must divide channels {channels}'
            )
        kv_channels = int(kv_channels or channels)
        self.channels, self.kv_channels = int(channels), kv_channels
        self.num_kv = num_modalities - 1
        self.sr_ratio = int(sr_ratio)
        self.pos_encoding = pos_encoding
        self.norm_q = nn.LayerNorm(channels)
        self.kv_proj = nn.ModuleList(
            [
                nn.Conv2d(kv_channels, channels, kernel_size=self.sr_ratio, stride=self.sr_ratio)
                for _ in range(self.num_kv)
            ]
        )
        self.norm_kv = nn.LayerNorm(channels)
        self.attn = nn.MultiheadAttention(channels, num_heads, dropout=attn_drop, batch_first=True)
        self.aligned = (
            nn.ModuleList([nn.Conv2d(kv_channels, channels, 1) for _ in range(self.num_kv)])
            if add_aligned
            else None
        )
        hidden = int(channels * mlp_ratio)
        self.mlp = (
            nn.Sequential(
                nn.LayerNorm(channels),
                nn.Linear(channels, hidden),
                nn.GELU(),
                nn.Linear(hidden, channels),
            )
            if hidden > 0
            else None
        )

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(feats) != self.num_kv + 1:
            raise ValueError(
                f'CrossAttentionFusion was built for {self.num_kv + 1} maps, got {len(feats)}'
            )
        q_map, kv_maps = feats[0], feats[1:]
        b, c, h, w = q_map.shape
        if c != self.channels:
            raise ValueError(
                f'CrossAttentionFusion: query map has {c} channels, expected {self.channels}'
            )
        q_tok = q_map.flatten(2).transpose(1, 2)  # (B, HW, C)
        q = self.norm_q(q_tok)
        if self.pos_encoding:
            q = q + sincos_pos_encoding(h, w, c, q.device, q.dtype)
        kvs = []
        for proj, m in zip(self.kv_proj, kv_maps):
            if m.shape[1] != self.kv_channels:
                raise ValueError(
                    f'CrossAttentionFusion: key/value map has {m.shape[1]} channels, '
                    f'expected {self.kv_channels}'
                )
            if m.shape[-2] < self.sr_ratio or m.shape[-1] < self.sr_ratio:
                m = F.interpolate(
                    m,
                    size=(max(m.shape[-2], self.sr_ratio), max(m.shape[-1], self.sr_ratio)),
                    mode='bilinear',
                    align_corners=False,
                )
            r = proj(m)  # (B, C, h', w')
            tok = self.norm_kv(r.flatten(2).transpose(1, 2))
            if self.pos_encoding:
                tok = tok + sincos_pos_encoding(r.shape[-2], r.shape[-1], c, tok.device, tok.dtype)
            kvs.append(tok)
        kv = torch.cat(kvs, dim=1)
        out, _ = self.attn(q, kv, kv, need_weights=False)
        x = q_tok + out
        if self.aligned is not None:
            for conv, m in zip(self.aligned, kv_maps):
                a = conv(m)
                if a.shape[-2:] != (h, w):
                    a = F.interpolate(a, size=(h, w), mode='bilinear', align_corners=False)
                x = x + a.flatten(2).transpose(1, 2)
        if self.mlp is not None:
            x = x + self.mlp(x)
        return x.transpose(1, 2).reshape(b, c, h, w)
