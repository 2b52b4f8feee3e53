"""Activation-based attention transfer (AT) between feature maps: :class:`ActivationAttentionLoss`.

Not to be confused with :class:`~crossmodal.models.losses.AttentionMapKDLoss`, which distils a
transformer's attention *matrices* (softmax(q k^T)); this loss compares spatial maps computed from
the activations of a conv/transformer stage. ``ATLoss`` is its deprecated old name.

Zagoruyko & Komodakis, "Paying More Attention to Attention", ICLR 2017. The spatial attention map
of a (B, C, H, W) feature is ``a = mean_c |F_c|**p`` (p = 2 by default), flattened and
L2-normalised per sample; the loss is the distance between the student's and the teacher's
normalised maps, averaged over the batch.

* Default (``squared=True, average_positions=False``): squared L2 distance
  ``|| a_S/||a_S|| - a_T/||a_T|| ||_2**2`` summed over positions.
* ``squared=False``: the paper's Eq. 2 un-squared p-norm (p = 2) of the difference.
* ``average_positions=True``: the released code's reduction, squared differences averaged over the
  positions (``(at(x) - at(y)).pow(2).mean()``).
The paper's ``beta/2`` factor is expressed through ``loss_weight``.

Channels may differ (the map has no channel axis). The teacher map is resized bilinearly to the
student's (H, W). When ``gt`` is given (nearest-resized to (H, W)), void positions are zeroed in
both maps before normalisation; a sample without any valid position contributes 0.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from .dense import DenseDistillLoss, resize_to
from .deprecation import warn_deprecated_alias


def attention_map(x: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """(B, C, H, W) -> (B, 1, H, W) spatial attention ``mean_c |x|**p`` (not normalised)."""
    return x.abs().pow(p).mean(dim=1, keepdim=True)


@MODELS.register_module()
class ActivationAttentionLoss(DenseDistillLoss):
    """Activation-based attention-transfer loss (Zagoruyko & Komodakis 2017;
    docs/methods/losses.md).

    Args:
        loss_weight: multiplier of the returned loss.
        p: exponent of the attention map (default 2).
        squared: squared L2 distance (default) or the paper's un-squared norm.
        average_positions: average over positions instead of summing (released code behaviour).
        ignore_index: void train id in ``gt`` (optional).
        detach_teacher: stop gradients into the teacher (default True).
        loss_name: logging name.

    Forward: ``(student_feat (B,Cs,H,W), teacher_feat (B,Ct,H',W'), gt or None)`` -> scalar.
    """

    requires_labels = False

    def __init__(
        self,
        loss_weight: float = 1.0,
        p: float = 2.0,
        squared: bool = True,
        average_positions: bool = False,
        ignore_index: int = 255,
        detach_teacher: bool = True,
        loss_name: str = 'loss_at',
    ) -> None:
        super().__init__(loss_weight, ignore_index, detach_teacher, loss_name)
        if p <= 0:
            raise ValueError(f'{type(self).__name__}: p must be > 0, got {p}')
        self.p = float(p)
        self.squared = bool(squared)
        self.average_positions = bool(average_positions)

    def forward(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        gt: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        # maps first (channels may differ), then the shared resizing / label handling
        a_s = attention_map(student_logits, self.p)
        a_t = attention_map(
            teacher_logits.detach() if self.detach_teacher else teacher_logits, self.p
        )
        a_t = resize_to(a_t, a_s.shape[-2:])
        a_s, a_t, _, valid = self.prepare(a_s, a_t, gt)
        b = a_s.shape[0]
        a_s = a_s.reshape(b, -1)
        a_t = a_t.reshape(b, -1)
        if valid is not None:
            m = valid.reshape(b, -1).to(a_s.dtype)
            a_s = a_s * m
            a_t = a_t * m
        diff = F.normalize(a_s, dim=1, eps=1e-12) - F.normalize(a_t, dim=1, eps=1e-12)
        sq = diff.pow(2)
        per_sample = sq.mean(1) if self.average_positions else sq.sum(1)
        if not self.squared:
            root = per_sample.clamp_min(1e-24).sqrt()
            per_sample = torch.where(per_sample > 0, root, per_sample * 0.0)
        return self.loss_weight * per_sample.mean()


@MODELS.register_module()
class ATLoss(ActivationAttentionLoss):
    """Deprecated alias of :class:`ActivationAttentionLoss` (same arguments and value; warns
    once)."""

    def __init__(self, *args, **kwargs) -> None:
        warn_deprecated_alias('ATLoss', 'ActivationAttentionLoss')
        super().__init__(*args, **kwargs)
