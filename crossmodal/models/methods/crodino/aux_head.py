"""Shared auxiliary decoder D_aux of CroDiNo-KD (reconstruction, docs/methods/crodino.md (b)/(e)).

A light head (optional dropout + 1x1 conv, z_dim -> K) applied to the modality-invariant features of
**both** co-trained models, so the invariant part must be task-sufficient and interchangeable across
modalities. It is an mmseg ``BaseDecodeHead`` so its CE (``loss_by_feat``: logits resized to the
label size, ``loss_decode`` with ``ignore_index``, plus ``acc_seg``) is exactly the main heads'
loss. Training-only: dropped at export.
"""

from __future__ import annotations

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class CroDiNoAuxHead(BaseDecodeHead):
    """``conv_seg(dropout(z_inv))``: (B, z_dim, h, w) -> (B, K, h, w) (reconstruction).

    Args:
        in_channels: z_dim (channels of the invariant features).
        num_classes, dropout_ratio, loss_decode, ignore_index, align_corners: as in mmseg's
            ``BaseDecodeHead`` (``channels`` is set to ``in_channels``: no hidden layer).
    """

    def __init__(self, in_channels: int, num_classes: int, **kwargs) -> None:
        kwargs.pop('channels', None)
        super().__init__(
            in_channels=in_channels, channels=in_channels, num_classes=num_classes, **kwargs
        )

    def forward(self, inputs):
        x = inputs[self.in_index] if isinstance(inputs, (list, tuple)) else inputs
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'CroDiNoAuxHead expects a (B, {self.in_channels}, h, w) tensor, got '
                f'{getattr(x, "shape", type(x).__name__)}'
            )
        return self.cls_seg(x)
