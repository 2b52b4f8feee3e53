"""Plackett-Luce distillation (PLD), dense form — **[RECON]** from the paper's summaries.

Bassam, Zhu & Bian, "PLD: A Choice-Theoretic List-Wise Knowledge Distillation", NeurIPS 2025
(arXiv 2506.12542). The full paper text was not available; the formula below follows
docs/methods/losses.md §6.5. Per pixel:

* teacher-optimal permutation pi*: the ground-truth class first, then the remaining classes by
  descending teacher logit;
* weights ``alpha_r = softmax(z_T / tau)[pi*_r]`` (teacher confidence of the class at rank r);
* ``L = sum_r alpha_r * (logsumexp_{j >= r} z_S[pi*_j] - z_S[pi*_r])`` (a weighted Plackett-Luce
  negative log-likelihood of pi* under the student; the student logits are not divided by tau).

The r = 1 term is a teacher-weighted cross-entropy on the gt class, so PLD is meant to replace
"CE + KD". Averaged over valid pixels. Void pixels: ``void_policy='skip'`` excludes them;
``'teacher_argmax'`` keeps them with the teacher's argmax as the rank-1 class. Requires labels.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from .dense import DenseDistillLoss, masked_mean


@MODELS.register_module()
class PLDLoss(DenseDistillLoss):
    """Dense PLD loss (docs/methods/losses.md §6.5). Needs labels (``requires_labels = True``).

    Args:
        loss_weight: multiplier of the returned loss.
        tau: temperature of the teacher weights ``alpha`` (default 1).
        void_policy: ``'skip'`` (void pixels excluded) or ``'teacher_argmax'`` (void pixels use the
            teacher's top class as rank 1, i.e. pi* = the teacher's ranking).
        ignore_index: void train id in ``gt``.
        detach_teacher: stop gradients into the teacher (default True).
        loss_name: logging name.

    Forward: ``(student_logits (B,K,H,W), teacher_logits (B,K,H',W'), gt (B,H'',W''))`` -> scalar.
    Teacher resized bilinearly to (H, W), gt nearest-resized to (H, W).
    """

    requires_labels = True

    def __init__(
        self,
        loss_weight: float = 1.0,
        tau: float = 1.0,
        void_policy: str = 'skip',
        ignore_index: int = 255,
        detach_teacher: bool = True,
        loss_name: str = 'loss_pld',
    ) -> None:
        super().__init__(loss_weight, ignore_index, detach_teacher, loss_name)
        if tau <= 0:
            raise ValueError(f'PLDLoss: tau must be > 0, got {tau}')
        if void_policy not in ('skip', 'teacher_argmax'):
            raise ValueError(
                f"PLDLoss: void_policy must be 'skip' or 'teacher_argmax', got {void_policy!r}"
            )
        self.tau = float(tau)
        self.void_policy = void_policy

    def forward(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        gt: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        s, t, gt, valid = self.prepare(student_logits, teacher_logits, gt)
        with torch.no_grad():
            first = torch.where(valid, gt, t.argmax(dim=1))  # rank-1 class per pixel
            key = t.detach().clone()
            key.scatter_(1, first[:, None], float('inf'))
            order = key.sort(dim=1, descending=True, stable=True)[1]  # (B, K, H, W) = pi*
            alpha = F.softmax(t.detach() / self.tau, dim=1).gather(1, order)
        s_perm = s.gather(1, order)
        # logsumexp over the tail j >= r: reverse, cumulative logsumexp, reverse back
        tail_lse = torch.logcumsumexp(s_perm.flip(1), dim=1).flip(1)
        per_pixel = (alpha * (tail_lse - s_perm)).sum(1)
        mask = valid if self.void_policy == 'skip' else None
        return self.loss_weight * masked_mean(per_pixel, mask)
