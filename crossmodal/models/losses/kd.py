"""Hinton knowledge distillation with temperature, dense form.

Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network", NIPS DL workshop 2015.
Per pixel: ``tau**2 * KL(softmax(z_T / tau) || softmax(z_S / tau))`` summed over the K classes, then
averaged over the valid (non-void) pixels. The ``tau**2`` factor keeps gradient magnitudes comparable
across temperatures. Only the distillation term is computed here: the student's own cross-entropy on
the labels is its decode head's loss, and the paper's ``alpha`` mixing is expressed through
``loss_weight`` (and the head's ``loss_weight``).
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from .dense import DenseDistillLoss, masked_mean


def kl_div_per_pixel(teacher_logits: torch.Tensor, student_logits: torch.Tensor,
                     dim: int = 1) -> torch.Tensor:
    """KL(softmax(teacher) || softmax(student)) summed over ``dim`` (inputs already divided by tau)."""
    log_p_t = F.log_softmax(teacher_logits, dim=dim)
    log_p_s = F.log_softmax(student_logits, dim=dim)
    return (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim)


@MODELS.register_module()
class KDLoss(DenseDistillLoss):
    """Dense Hinton KD loss (methods.md §6.1).

    Args:
        loss_weight: multiplier of the returned loss.
        tau: softmax temperature (> 0); the loss is scaled by ``tau**2``.
        ignore_index: void train id in ``gt``; void pixels are excluded from the mean.
        detach_teacher: stop gradients into the teacher (default True).
        loss_name: logging name.

    Forward: ``(student_logits (B,K,H,W), teacher_logits (B,K,H',W'), gt (B,H'',W'') or None)``
    -> scalar. Teacher resized bilinearly to (H, W), gt nearest-resized to (H, W).
    """

    requires_labels = False

    def __init__(self, loss_weight: float = 1.0, tau: float = 1.0, ignore_index: int = 255,
                 detach_teacher: bool = True, loss_name: str = 'loss_kd') -> None:
        super().__init__(loss_weight, ignore_index, detach_teacher, loss_name)
        if tau <= 0:
            raise ValueError(f'KDLoss: tau must be > 0, got {tau}')
        self.tau = float(tau)

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                gt: Optional[torch.Tensor] = None) -> torch.Tensor:
        s, t, _, valid = self.prepare(student_logits, teacher_logits, gt)
        kl = kl_div_per_pixel(t / self.tau, s / self.tau, dim=1)  # (B, H, W)
        return self.loss_weight * self.tau ** 2 * masked_mean(kl, valid)
