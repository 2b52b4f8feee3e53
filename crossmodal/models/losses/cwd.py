"""Channel-wise distillation (CWD), for logits or feature maps.

Shu, Liu, Gao, Yan & Shen, "Channel-wise Knowledge Distillation for Dense Prediction", ICCV 2021.
Each channel c of each sample n is turned into a distribution over the spatial positions,
``phi(z)_{n,c,i} = softmax_i(z_{n,c,i} / tau)``, and

    L = tau**2 / (N * C) * sum_{n,c} sum_i phi(z_T)_{n,c,i}
        * (log phi(z_T)_{n,c,i} - log phi(z_S)_{n,c,i})

i.e. the KL divergence is **summed over the spatial positions** and averaged over (sample, channel)
pairs, as in the paper (not averaged over pixels like the per-pixel losses).

Void pixels: when ``gt`` is given, void positions (``ignore_index``) are excluded from the spatial
softmax of both teacher and student (they get zero probability mass) — the reference implementations
include them. A sample whose pixels are all void contributes nothing and is not counted in N.
Labels are optional (``requires_labels = False``).
Works on features too: student and teacher must have the same number of channels (put a 1x1
connector in front otherwise).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from .dense import DenseDistillLoss
from .sparse_targets import check_mode


@MODELS.register_module()
class CWDLoss(DenseDistillLoss):
    """Channel-wise distillation loss (docs/methods/losses.md §6.3).

    Args:
        loss_weight: multiplier (mmrazor's PSPNet Cityscapes logits config uses 5 with tau=1).
        tau: spatial-softmax temperature (> 0); the loss is scaled by ``tau**2``.
        ignore_index: void train id; void pixels are excluded from the spatial softmax.
        detach_teacher: stop gradients into the teacher (default True).
        loss_name: logging name.
        sparse_mode: how sparse (top-k) teacher logits from a teacher cache are completed:
            ``'residual'`` (default: the residual probability mass spread uniformly over the
            classes outside the top-k) or ``'renorm'`` (top-k probabilities renormalised);
            :mod:`crossmodal.models.losses.sparse_targets`. Dense teachers ignore it.
            With ``'renorm'`` a class outside a pixel's top-k gets (almost) no spatial mass
            there (logit ``ABSENT_LOGIT``).

    Forward: ``(student (B,C,H,W), teacher (B,C,H',W') or SparseLogits, gt (B,H'',W'') or None)``
    -> scalar. Teacher resized bilinearly to (H, W) (sparse: nearest), gt nearest-resized.
    """

    requires_labels = False

    def __init__(
        self,
        loss_weight: float = 1.0,
        tau: float = 1.0,
        ignore_index: int = 255,
        detach_teacher: bool = True,
        loss_name: str = 'loss_cwd',
        sparse_mode: str = 'residual',
    ) -> None:
        super().__init__(loss_weight, ignore_index, detach_teacher, loss_name)
        self.sparse_mode = check_mode(sparse_mode, 'CWDLoss')
        if tau <= 0:
            raise ValueError(f'CWDLoss: tau must be > 0, got {tau}')
        self.tau = float(tau)

    def forward(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        gt: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        s, t, _, valid = self.prepare(student_logits, teacher_logits, gt)
        b, c = s.shape[:2]
        s = s.flatten(2) / self.tau  # (B, C, HW)
        t = t.flatten(2) / self.tau
        if valid is None:
            valid = torch.ones(b, s.shape[-1], dtype=torch.bool, device=s.device)
        else:
            valid = valid.flatten(1)
        has_valid = valid.any(dim=1)  # (B,)
        # samples without any valid pixel: keep their softmax finite, then drop them
        keep = (valid | ~has_valid[:, None])[:, None, :]  # (B, 1, HW)
        log_ps = F.log_softmax(s.masked_fill(~keep, float('-inf')), dim=-1)
        log_pt = F.log_softmax(t.masked_fill(~keep, float('-inf')), dim=-1)
        log_ps = torch.where(keep, log_ps, torch.zeros_like(log_ps))
        log_pt = torch.where(keep, log_pt, torch.zeros_like(log_pt))
        kl = (log_pt.exp() * (log_pt - log_ps) * keep).sum(-1)  # (B, C)
        kl = kl * has_valid[:, None].to(kl.dtype)
        count = (has_valid.sum() * c).to(kl.dtype).clamp_min(1.0)  # all-void batch -> 0 / 1
        return self.loss_weight * self.tau**2 * kl.sum() / count
