"""Shared pieces of crossmodal's composite models that derive from mmengine's ``BaseModel``.

mmseg's ``BaseSegmentor`` dispatches ``forward(mode=...)`` but also demands a single
``backbone``/``decode_head``; the distillers and co-training models (``DistillSegmentor``,
``CroDiNoKD``, ``FSKDDistiller``) hold several segmentors instead, so they take the dispatch from
:class:`ModeDispatchModel`.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from mmengine.model import BaseModel


class ModeDispatchModel(BaseModel):
    """``forward(inputs, data_samples, mode)`` -> ``loss`` / ``predict`` / ``_forward`` (mmseg's
    modes).

    Subclasses implement ``loss(inputs, data_samples)``, ``predict(inputs, data_samples)`` and
    ``_forward(inputs, data_samples)`` (raw logits, tensor mode).
    """

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}"; only supports loss, predict and tensor')


def stack_labels(data_samples: Optional[Sequence]) -> Optional[torch.Tensor]:
    """(B, H, W) ground-truth train ids of a batch, or None when any sample has no
    ``gt_sem_seg``."""
    if not data_samples or not all(hasattr(s, 'gt_sem_seg') for s in data_samples):
        return None
    return torch.stack([s.gt_sem_seg.data for s in data_samples])[:, 0]
