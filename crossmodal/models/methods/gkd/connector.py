"""GKD's QSD as a connector (any feature loss can then compare the distilled map with the
teacher's).

Connector protocol: :mod:`crossmodal.models.distill.connectors` (``needs_teacher = True``: called as
``connector(student_feat, teacher_feat)``).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS

from .qsd import QuerySoftDistiller, flatten_tokens, unflatten_tokens


@MODELS.register_module()
class QSDConnector(nn.Module):
    """QSD as a connector: (student (B, C_s, H, W), teacher (B, C_t, H', W')) -> (B, C_t, H, W).

    The teacher map is bilinearly resampled to the student's grid (docs/methods/gkd.md (e).1) and
    used as keys; the output is the student's distilled map in the teacher's dimension, to be
    compared with the teacher map by any feature loss (e.g. ``FeatureMSELoss``). For GKD's full
    objective (incl. the masked branch) use ``GKDFeatureLoss``, which owns its QSD modules.
    """

    needs_teacher = True

    def __init__(self, in_channels: int, out_channels: int, scale_attn: bool = False) -> None:
        super().__init__()
        self.qsd = QuerySoftDistiller(in_channels, out_channels, scale_attn=scale_attn)

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        if student.dim() != 4 or teacher.dim() != 4:
            raise ValueError(
                f'QSDConnector expects (B, C, H, W) maps, got {tuple(student.shape)} '
                f'and {tuple(teacher.shape)}'
            )
        grid = tuple(student.shape[-2:])
        if tuple(teacher.shape[-2:]) != grid:
            teacher = F.interpolate(teacher, size=grid, mode='bilinear', align_corners=False)
        out = self.qsd(flatten_tokens(student), flatten_tokens(teacher.detach()))
        return unflatten_tokens(out, grid)
