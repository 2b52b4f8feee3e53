"""What a distillation loss sees of a batch that mixes labelled and unlabelled samples.

:class:`~crossmodal.datasets.mixed_labels.MixedLabelDataset` marks every sample
(``metainfo['labelled']``) and gives an unlabelled one an all-void label, so the student's
supervised loss trains on labelled pixels only. A distillation loss must instead use every sample:
the teacher teaches on the unlabelled frames too. :func:`distill_target` gives each loss the
``gt`` that does so, by the loss's declarations (:mod:`~crossmodal.models.distill.protocol`).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

LABELLED_KEY = 'labelled'


def labelled_flags(data_samples: Optional[Sequence]) -> Optional[torch.Tensor]:
    """(B,) bool: which samples of the batch carry labels; None when no sample says (a batch of
    an ordinary loader, where every sample with a ``gt_sem_seg`` is labelled)."""
    if not data_samples:
        return None
    flags = [s.metainfo.get(LABELLED_KEY) for s in data_samples]
    if all(f is None for f in flags):
        return None
    if any(f is None for f in flags):
        raise ValueError(
            'the batch mixes samples with and without metainfo["labelled"]; build the '
            'training set with MixedLabelDataset'
        )
    return torch.tensor([bool(f) for f in flags])


def padded_area(data_samples: Sequence, shape) -> torch.Tensor:
    """(B, H, W) bool, True on the pixels the data pre-processor added as padding (mmseg's
    ``stack_batch`` metainfo ``padding_size`` = (left, right, top, bottom)); all False for a
    sample without it."""
    h, w = int(shape[-2]), int(shape[-1])
    out = torch.zeros(len(data_samples), h, w, dtype=torch.bool)
    for i, s in enumerate(data_samples):
        left, right, top, bottom = (int(v) for v in s.metainfo.get('padding_size', (0, 0, 0, 0)))
        if left:
            out[i, :, :left] = True
        if right:
            out[i, :, w - right:] = True
        if top:
            out[i, :top] = True
        if bottom:
            out[i, h - bottom:] = True
    return out


def distill_target(
    module,
    spec: dict,
    gt: Optional[torch.Tensor],
    labelled: torch.Tensor,
    padded: Optional[torch.Tensor] = None,
):
    """The ``gt`` of one distillation loss on a mixed batch.

    Args:
        module: the loss module.
        spec: its loss spec (for messages: ``name``, ``type``).
        gt: (B, H, W) train ids, unlabelled samples all ``ignore_index`` (None in an unlabelled
            stage, ``with_label=False``).
        labelled: (B,) bool from :func:`labelled_flags`.
        padded: (B, H, W) bool from :func:`padded_area` (None: no padding); padding stays ignored
            on the unlabelled samples too.

    Returns:
        None when ``gt`` is None; for a loss that needs the train ids (``requires_labels``, class
        weights) the train ids themselves (it learns from the labelled samples only); for a loss
        with ``accepts_ignore_mask`` a (B, H, W) bool ignore mask: the labelled samples' void
        pixels, and only the padding of an unlabelled sample.

    Raises:
        ValueError: a loss that declares neither (it might use ``gt`` in a way a mixed batch would
            make silently wrong).
    """
    if gt is None:
        return None
    if getattr(module, 'requires_labels', False) or getattr(module, 'class_weight', None):
        return gt
    if getattr(module, 'accepts_ignore_mask', False):
        ignore_index = int(getattr(module, 'ignore_index', 255))
        mask = gt == ignore_index
        unl = ~labelled.to(mask.device)
        mask[unl] = False if padded is None else padded.to(mask.device)[unl]
        return mask
    raise ValueError(
        f'distill loss "{spec["name"]}" ({spec["type"]}) does not declare how it uses labels '
        f'(requires_labels or accepts_ignore_mask; crossmodal/models/distill/protocol.py), so it '
        f'cannot train on a batch with unlabelled samples; use it with labelled data only'
    )
