"""Decoupled knowledge distillation (DKD), dense form.

Zhao, Cui, Song, Qiu & Liang, "Decoupled Knowledge Distillation", CVPR 2022.
Per pixel with ground-truth class g and ``p = softmax(z / tau)``:

* TCKD = KL(b_T || b_S) with the binary distribution ``b = [p_g, 1 - p_g]``;
* NCKD = KL(p^_T || p^_S) with ``p^ = softmax over the non-target classes of z / tau``
  (the target logit removed);
* L = tau**2 * (alpha * TCKD + beta * NCKD), averaged over the valid (non-void) pixels.

Both terms are computed in log space (``log(1 - p_g) = logsumexp(non-target) - logsumexp(all)``),
so no probability is clamped. Requires labels: void pixels are excluded.
The paper's linear warm-up of the KD weight is available through
:class:`crossmodal.models.losses.schedules.LossWeightSchedule` (``kind='linear_warmup'``).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from .dense import DenseDistillLoss, masked_mean
from .sparse_targets import check_mode


def _binary_and_nontarget_logprobs(z: torch.Tensor, target_mask: torch.Tensor):
    """Return (log b (B,2,H,W), log p^ (B,K,H,W) with 0 at the target) for logits ``z`` (already /
    tau)."""
    lse_all = torch.logsumexp(z, dim=1)
    z_nt = z.masked_fill(target_mask, float('-inf'))
    lse_nt = torch.logsumexp(z_nt, dim=1)
    z_g = (z * target_mask).sum(1)
    log_b = torch.stack([z_g - lse_all, lse_nt - lse_all], dim=1)
    log_hat = z_nt - lse_nt[:, None]
    log_hat = torch.where(target_mask, torch.zeros_like(log_hat), log_hat)
    return log_b, log_hat


@MODELS.register_module()
class DKDLoss(DenseDistillLoss):
    """Dense DKD loss (docs/methods/losses.md §6.2). Needs labels (``requires_labels = True``).

    Args:
        loss_weight: multiplier of the returned loss.
        alpha: weight of TCKD (target-class KD), default 1.
        beta: weight of NCKD (non-target-class KD), default 8 (CIFAR reference; retune for
            segmentation, e.g. 1-2).
        tau: temperature (> 0); the loss is scaled by ``tau**2``. Default 4.
        ignore_index: void train id in ``gt``; void pixels are excluded.
        detach_teacher: stop gradients into the teacher (default True).
        loss_name: logging name.
        sparse_mode: how sparse (top-k) teacher logits from a teacher cache are completed:
            ``'residual'`` (default: the residual probability mass spread uniformly over the
            classes outside the top-k) or ``'renorm'`` (top-k probabilities renormalised);
            :mod:`crossmodal.models.losses.sparse_targets`. Dense teachers ignore it.

    Forward: ``(student_logits (B,K,H,W), teacher_logits (B,K,H',W') or SparseLogits, gt
    (B,H'',W''))`` -> scalar. Teacher resized bilinearly to (H, W) (sparse: nearest), gt
    nearest-resized to (H, W). ``K >= 2`` is required.
    """

    requires_labels = True

    def __init__(
        self,
        loss_weight: float = 1.0,
        alpha: float = 1.0,
        beta: float = 8.0,
        tau: float = 4.0,
        ignore_index: int = 255,
        detach_teacher: bool = True,
        loss_name: str = 'loss_dkd',
        sparse_mode: str = 'residual',
    ) -> None:
        super().__init__(loss_weight, ignore_index, detach_teacher, loss_name)
        self.sparse_mode = check_mode(sparse_mode, 'DKDLoss')
        if tau <= 0:
            raise ValueError(f'DKDLoss: tau must be > 0, got {tau}')
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.tau = float(tau)

    def forward(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        gt: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        s, t, gt, valid = self.prepare(student_logits, teacher_logits, gt)
        k = s.shape[1]
        if k < 2:
            raise ValueError(f'DKDLoss needs at least 2 classes, got {k}')
        safe_gt = torch.where(valid, gt, torch.zeros_like(gt))
        target = F.one_hot(safe_gt, k).permute(0, 3, 1, 2).bool()  # (B, K, H, W)
        log_b_s, log_hat_s = _binary_and_nontarget_logprobs(s / self.tau, target)
        log_b_t, log_hat_t = _binary_and_nontarget_logprobs(t / self.tau, target)
        tckd = (log_b_t.exp() * (log_b_t - log_b_s)).sum(1)
        hat_t = log_hat_t.exp().masked_fill(target, 0.0)
        nckd = (hat_t * (log_hat_t - log_hat_s)).sum(1)
        per_pixel = self.alpha * tckd + self.beta * nckd
        return self.loss_weight * self.tau**2 * masked_mean(per_pixel, valid)
