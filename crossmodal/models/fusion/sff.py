"""SFF: the fusion block of RTFDNet (arXiv 2603.09149), channel-gated exchange + spatial attention.

Per stage, for two modalities r and x with maps F_r, F_x of shape (B, C, H, W)
(docs/methods/rtfdnet.md (b)):

1. a_m = (GAP(F_m) + GMP(F_m)) / 2, u_m = W2_m ReLU(W1_m a_m) (C -> C/reduction -> C),
   e_m = u_m / ||u_m||.
2. l = s · (e_r ⊙ e_x), s a learnable scalar initialised to C; gate g = sigmoid(-l) (B, C):
   large where the two modalities' channel descriptors disagree (complementary channels).
3. Exchange: x1 = F_r + g ⊙ F_x, x2 = F_x + g ⊙ F_r.
4. Fusion. Paper: lightweight spatial attention, w = softmax_pair(conv1x1_r(x1), conv1x1_x(x2))
   per pixel, F = w_r x1 + w_x x2 (``spatial_attn=True``, the default). The authors' released
   code disables it and averages, F = (x1 + x2) / 2 (``spatial_attn=False`` reproduces that).
"""

from __future__ import annotations

from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


@MODELS.register_module()
class SFF(nn.Module):
    """Channel-gated exchange + spatial-attention fusion of two (B, C, H, W) maps.

    Args:
        channels: C.
        num_modalities: must be 2 (SFF is a pairwise block).
        reduction: bottleneck ratio of the channel MLPs (4 in the paper's code).
        spatial_attn: True = paper; False = released code (plain average).
    """

    def __init__(
        self, channels: int, num_modalities: int = 2, reduction: int = 4, spatial_attn: bool = True
    ):
        super().__init__()
        if num_modalities != 2:
            raise ValueError(
                f'SFF fuses exactly 2 modalities, got {num_modalities}; use ConcatFusion for more'
            )
        hidden = max(channels // reduction, 1)
        self.mlps = nn.ModuleList(
            [
                nn.Sequential(
                    nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels)
                )
                for _ in range(2)
            ]
        )
        self.scale = nn.Parameter(torch.tensor(float(channels)))
        self.spatial_attn = spatial_attn
        if spatial_attn:
            self.attn = nn.ModuleList([nn.Conv2d(channels, 1, 1, bias=False) for _ in range(2)])

    @staticmethod
    def descriptor(x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C): mean of global average and global max pooling."""
        return 0.5 * (x.mean(dim=(2, 3)) + x.amax(dim=(2, 3)))

    def gate(self, fr: torch.Tensor, fx: torch.Tensor) -> torch.Tensor:
        """Channel gate g (B, C) in (0, 1)."""
        er = F.normalize(self.mlps[0](self.descriptor(fr)), dim=1)
        ex = F.normalize(self.mlps[1](self.descriptor(fx)), dim=1)
        return torch.sigmoid(-self.scale * er * ex)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        fr, fx = feats
        g = self.gate(fr, fx)[:, :, None, None]
        x1 = fr + g * fx
        x2 = fx + g * fr
        if not self.spatial_attn:
            return 0.5 * (x1 + x2)
        w = torch.softmax(torch.cat([self.attn[0](x1), self.attn[1](x2)], dim=1), dim=1)
        return w[:, :1] * x1 + w[:, 1:] * x2


@MODELS.register_module()
class ConcatFusion(nn.Module):
    """Concatenate N maps (B, C, H, W) and project back to C with a 1x1 conv + BN + ReLU."""

    def __init__(self, channels: int, num_modalities: int = 2):
        super().__init__()
        self.proj = nn.Sequential(
            nn.Conv2d(channels * num_modalities, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, feats: List[torch.Tensor]) -> torch.Tensor:
        return self.proj(torch.cat(list(feats), dim=1))


@MODELS.register_module()
class SumFusion(nn.Module):
    """Element-wise mean of N maps (no parameters); a baseline."""

    def __init__(self, channels: int, num_modalities: int = 2):
        super().__init__()

    def forward(self, feats: List[torch.Tensor]) -> torch.Tensor:
        return torch.stack(list(feats), 0).mean(0)
