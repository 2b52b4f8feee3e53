"""MST-Distill's MaskNet: a per-image channel mask that turns a teacher into a *specialised*
teacher.

MST-Distill (Li et al., "MST-Distill: Mixture of Specialized Teachers for Cross-Modal Knowledge
Distillation", ACM MM 2025, arXiv 2507.07015), stage 2; layout as in the released code
(github.com/Gray-OREO/MST-Distill, ``KD_methods/MST.py``, ``MaskNet_2d``; docs/methods/mst.md (b))::

    x (B, C, H, W) --depthwise 3x3 s2 -> 1x1 conv -> BN -> ReLU -> GAP--> v (B, C)
      --Linear C -> C*h--> (B, C, h): C channel tokens of width h
      --multi-head self-attention over the C tokens (``heads`` heads, no residual)--> (B, C, h)
      --Linear h -> 1, sigmoid--> m (B, C) in (0, 1)

and the hooked feature is replaced by ``m[:, :, None, None] * x``.

Size knob (``hidden_dim_factor``): ``h = floor(C / (hidden_dim_factor * heads)) * heads``. The code
hard-codes factor 2 (h = 255 for C = 512: the C -> C*h embedding alone is 67 M parameters); the
project default is 4 (docs/methods/mst.md, defaults). The embedding still grows as C^3 / factor:
pick a larger factor for wide features (the NYUDv2 config documents its choice).
"""

from __future__ import annotations

import torch
import torch.nn as nn
from mmseg.registry import MODELS


def masknet_hidden_dim(channels: int, hidden_dim_factor: float = 4, heads: int = 3) -> int:
    """Token width ``h = floor(C / (hidden_dim_factor * heads)) * heads`` (>= ``heads``)."""
    if channels < 1 or heads < 1 or hidden_dim_factor <= 0:
        raise ValueError(
            f'MaskNet: need channels >= 1, heads >= 1, hidden_dim_factor > 0; got '
            f'{channels}, {heads}, {hidden_dim_factor}'
        )
    h = int(channels // (hidden_dim_factor * heads)) * heads
    return max(h, heads)


@MODELS.register_module()
class MaskNet(nn.Module):
    """Channel-mask generator for one hooked (B, C, H, W) teacher feature (see the module
    docstring).

    Args:
        channels: C, channels of the hooked feature.
        hidden_dim_factor: token-width divisor (``h`` formula above); code: 2, project default 4.
        heads: attention heads over the channel tokens (code ``mask_head_num`` = 3).
        hidden_dim: explicit token width ``h`` (must be divisible by ``heads``); overrides the
            factor.

    Forward: ``x`` (B, C, H, W) -> mask (B, C) with values in (0, 1).
    """

    def __init__(
        self, channels: int, hidden_dim_factor: float = 4, heads: int = 3, hidden_dim: int = None
    ) -> None:
        super().__init__()
        h = (
            hidden_dim
            if hidden_dim is not None
            else masknet_hidden_dim(channels, hidden_dim_factor, heads)
        )
        if h % heads:
            raise ValueError(f'MaskNet: hidden_dim {h} must be divisible by heads {heads}')
        self.channels = int(channels)
        self.hidden_dim = int(h)
        self.heads = int(heads)
        self.reduce = nn.Sequential(
            nn.Conv2d(channels, channels, 3, stride=2, padding=1, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.embed = nn.Linear(channels, channels * h)
        self.attn = nn.MultiheadAttention(h, heads, batch_first=True)
        self.fc = nn.Linear(h, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(
                f'MaskNet({self.channels}) expects a (B, {self.channels}, H, W) feature, '
                f'got {tuple(x.shape)}'
            )
        v = self.reduce(x).flatten(1)  # (B, C)
        tokens = self.embed(v).view(x.shape[0], self.channels, self.hidden_dim)  # (B, C, h)
        out, _ = self.attn(tokens, tokens, tokens, need_weights=False)
        return torch.sigmoid(self.fc(out).squeeze(-1))  # (B, C)
