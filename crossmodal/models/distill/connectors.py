"""Connectors: trainable adapters from student features to the teacher's shape (training only).

Every connector is dropped at export (:mod:`crossmodal.models.distill.export`). A connector whose
``needs_teacher`` is True is called as ``connector(student_feat, teacher_feat)``; the others as
``connector(student_feat)``.

* :class:`ConvConnector`: 1x1 convolution (+ optional BN), (B, C_s, H, W) -> (B, C_t, H, W)
  (FitNets' regressor, Romero et al., ICLR 2015; CWD on features, Shu et al., ICCV 2021).
* :class:`LinearConnector`: a linear map over channels, for (B, C_s, H, W) maps or (B, N, C_s)
  tokens.

Method-specific connectors live in their method's package (GKD's ``QSDConnector``:
:mod:`crossmodal.models.methods.gkd.connector`).
"""

from __future__ import annotations

import torch
import torch.nn as nn
from mmseg.registry import MODELS


def _check_channels(x: torch.Tensor, dim: int, expected: int, name: str) -> None:
    if x.shape[dim] != expected:
        raise ValueError(
            f'{name}: expected {expected} input channels, got a tensor of shape {tuple(x.shape)}'
        )


@MODELS.register_module()
class ConvConnector(nn.Module):
    """1x1 conv connector: (B, in_channels, H, W) -> (B, out_channels, H, W).

    Args:
        in_channels: student channels C_s.
        out_channels: teacher channels C_t.
        norm: add a BatchNorm2d after the conv (as mmrazor's ConvModuleConnector with norm_cfg).
    """

    needs_teacher = False

    def __init__(self, in_channels: int, out_channels: int, norm: bool = False) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=not norm)
        self.norm = nn.BatchNorm2d(out_channels) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f'ConvConnector expects (B, C, H, W), got {tuple(x.shape)}')
        _check_channels(x, 1, self.in_channels, 'ConvConnector')
        return self.norm(self.conv(x))


@MODELS.register_module()
class LinearConnector(nn.Module):
    """Linear map over channels: (B, C_s, H, W) -> (B, C_t, H, W) or (B, N, C_s) -> (B, N, C_t)."""

    needs_teacher = False

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.linear = nn.Linear(in_channels, out_channels, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            _check_channels(x, 1, self.in_channels, 'LinearConnector')
            return self.linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        if x.dim() == 3:
            _check_channels(x, 2, self.in_channels, 'LinearConnector')
            return self.linear(x)
        raise ValueError(f'LinearConnector expects (B, C, H, W) or (B, N, C), got {tuple(x.shape)}')
