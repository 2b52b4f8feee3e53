"""MST-Distill's GateNet: routes each image (or pixel) to one of J specialised teachers.

MST-Distill (ACM MM 2025, arXiv 2507.07015), stage 3; dense layout as in the released code
(``GateNet_dense``; docs/methods/mst.md (b)) on the student's logits z_S (B, K, h, w)::

    1x1 conv K -> 2K, ReLU, depthwise 3x3 stride 2, ReLU, GAP, Linear 2K -> J   -> (B, J)

``per_pixel=True`` is this project's dense extension (docs/methods/mst.md (e)3, not in the code):
the depthwise conv keeps stride 1 and a 1x1 conv 2K -> J replaces GAP + Linear, giving (B, J, h, w)
gate logits at the student's logit resolution. The softmax over J is applied by the caller.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


@MODELS.register_module()
class GateNet(nn.Module):
    """Gate logits over ``num_experts`` teachers from (B, K, h, w) student logits.

    Args:
        num_classes: K, channels of the input logits.
        num_experts: J, number of specialised teachers.
        per_pixel: False (code): (B, J) per image; True (extension): (B, J, h, w) per pixel.
    """

    def __init__(self, num_classes: int, num_experts: int, per_pixel: bool = False) -> None:
        super().__init__()
        if num_classes < 1 or num_experts < 1:
            raise ValueError(
                f'GateNet: need num_classes >= 1 and num_experts >= 1, got '
                f'{num_classes}, {num_experts}'
            )
        hidden = 2 * num_classes
        self.num_classes = int(num_classes)
        self.num_experts = int(num_experts)
        self.per_pixel = bool(per_pixel)
        self.point = nn.Conv2d(num_classes, hidden, 1)
        self.depthwise = nn.Conv2d(
            hidden, hidden, 3, stride=1 if per_pixel else 2, padding=1, groups=hidden
        )
        self.out = (
            nn.Conv2d(hidden, num_experts, 1) if per_pixel else nn.Linear(hidden, num_experts)
        )

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        if logits.dim() != 4 or logits.shape[1] != self.num_classes:
            raise ValueError(
                f'GateNet({self.num_classes} classes) expects (B, {self.num_classes}, '
                f'h, w) logits, got {tuple(logits.shape)}'
            )
        x = F.relu(self.depthwise(F.relu(self.point(logits))))
        if self.per_pixel:
            return self.out(x)  # (B, J, h, w)
        return self.out(x.mean(dim=(2, 3)))  # (B, J)
