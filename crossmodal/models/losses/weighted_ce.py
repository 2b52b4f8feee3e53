"""``WeightedCrossEntropyLoss``: class-weighted pixel CE that handles void pixels.

mmseg 1.2.2's ``CrossEntropyLoss(class_weight=...)`` indexes the weight vector with every label
in a Python loop to build its average factor: it is slow, and it raises ``IndexError`` as soon as
a batch holds an ignore-index pixel (e.g. crop padding). This loss is PyTorch's weighted
``cross_entropy``: the mean over non-void pixels, each pixel weighted by its class weight,
normalised by the sum of those weights.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS


@MODELS.register_module()
class WeightedCrossEntropyLoss(nn.Module):
    """Class-weighted CE for decode heads (drop-in for mmseg's ``loss_decode``).

    Args:
        class_weight: one weight per class (None = unweighted).
        loss_weight: multiplier of the loss.
        loss_name: log key; must start with ``loss_`` (mmseg convention).

    ``forward(cls_score (B, K, H, W), label (B, H, W) long, weight=None, ignore_index=255)``
    """

    def __init__(
        self,
        class_weight: Optional[Sequence[float]] = None,
        loss_weight: float = 1.0,
        loss_name: str = 'loss_ce',
        **unused,
    ):
        super().__init__()
        self.class_weight = None if class_weight is None else list(map(float, class_weight))
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(
        self,
        cls_score: torch.Tensor,
        label: torch.Tensor,
        weight=None,
        ignore_index: int = 255,
        **kwargs,
    ) -> torch.Tensor:
        cw = None
        if self.class_weight is not None:
            if len(self.class_weight) != cls_score.shape[1]:
                raise ValueError(
                    f'class_weight has {len(self.class_weight)} values for '
                    f'{cls_score.shape[1]} classes'
                )
            cw = cls_score.new_tensor(self.class_weight)
        if (label != ignore_index).sum() == 0:
            return cls_score.sum() * 0.0
        loss = F.cross_entropy(
            cls_score, label, weight=cw, ignore_index=ignore_index, reduction='mean'
        )
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        return self._loss_name
