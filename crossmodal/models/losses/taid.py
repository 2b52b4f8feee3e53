"""Temporally adaptive interpolated distillation (TAID), dense form.

Shing, Misaki, Bao, Yokoi & Akiba, "TAID: Temporally Adaptive Interpolated Distillation for
Efficient Knowledge Transfer in Language Models", ICLR 2025 (code: SakanaAI/TAID).

The target is an interpolation, in logit space, between the (detached) student and the teacher:
``p_t = softmax(((1 - t) * sg(z_S) + t * z_T) / tau)``; the loss is the forward KL
``KL(p_t || softmax(z_S / tau))`` per pixel, averaged over valid pixels (``tau = 1`` = the paper;
tau is an optional extra). ``as_cross_entropy=True`` returns the released code's quantity
``-sum p_t log q_S`` instead; it differs from the KL by the entropy of ``p_t``, which does not
depend on the student, so gradients are identical.

The interpolation parameter ``t`` grows during training. After every optimisation step the engine
calls :meth:`TAIDLoss.update` with that step's loss ``J_n``:

* ``r_n = (J_{n-1} - J_n) / (J_{n-1} + 1e-15)`` (relative improvement),
* ``m_n = beta * m_{n-1} + (1 - beta) * r_n`` (momentum),
* ``delta = alpha * sigmoid(m_n) * (1 - t_n)``,
* ``t_lin = t_start + (t_end - t_start) * step / total_steps`` (linear floor),
* ``t_{n+1} = min(t_end, max(t_lin, t_n + delta))`` (``adaptive=False``: ``min(t_end, t_lin)``).

On the first call there is no previous loss: ``r`` is taken as 0 (momentum only decays).
``t``, the momentum and the previous loss are registered buffers, so they are saved in and restored
from checkpoints with the model's ``state_dict``.
"""

from __future__ import annotations

import math
from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from .dense import DenseDistillLoss, masked_mean


@MODELS.register_module()
class TAIDLoss(DenseDistillLoss):
    """Dense TAID loss with its adaptive interpolation schedule (docs/methods/losses.md §6.6).

    Args:
        loss_weight: multiplier of the returned loss.
        t_start: initial interpolation weight of the teacher (default 0.4).
        t_end: final/maximum interpolation weight (default 1.0).
        alpha: step size of the adaptive increment (default 5e-4).
        beta: momentum coefficient of the relative loss change (default 0.99).
        adaptive: use the adaptive increment (True) or only the linear schedule (False).
        tau: optional temperature applied to both distributions (default 1 = paper).
        as_cross_entropy: return the cross-entropy (released code) instead of the KL (paper).
        ignore_index: void train id in ``gt``; void pixels are excluded.
        detach_teacher: stop gradients into the teacher (default True).
        loss_name: logging name.

    Buffers: ``t`` (current interpolation), ``momentum``, ``prev_loss`` (NaN before the first
    update). Forward: ``(student_logits (B,K,H,W), teacher_logits (B,K,H',W'), gt or None)`` ->
    scalar.
    """

    requires_labels = False

    def __init__(
        self,
        loss_weight: float = 1.0,
        t_start: float = 0.4,
        t_end: float = 1.0,
        alpha: float = 5e-4,
        beta: float = 0.99,
        adaptive: bool = True,
        tau: float = 1.0,
        as_cross_entropy: bool = False,
        ignore_index: int = 255,
        detach_teacher: bool = True,
        loss_name: str = 'loss_taid',
    ) -> None:
        super().__init__(loss_weight, ignore_index, detach_teacher, loss_name)
        if not 0.0 <= t_start <= t_end <= 1.0:
            raise ValueError(f'TAIDLoss: need 0 <= t_start <= t_end <= 1, got {t_start}, {t_end}')
        if not 0.0 <= beta < 1.0:
            raise ValueError(f'TAIDLoss: beta must be in [0, 1), got {beta}')
        if tau <= 0:
            raise ValueError(f'TAIDLoss: tau must be > 0, got {tau}')
        self.t_start = float(t_start)
        self.t_end = float(t_end)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.adaptive = bool(adaptive)
        self.tau = float(tau)
        self.as_cross_entropy = bool(as_cross_entropy)
        self.register_buffer('t', torch.tensor(self.t_start, dtype=torch.float64))
        self.register_buffer('momentum', torch.tensor(0.0, dtype=torch.float64))
        self.register_buffer('prev_loss', torch.tensor(float('nan'), dtype=torch.float64))

    @property
    def current_t(self) -> float:
        return float(self.t)

    def log_vars(self) -> dict:
        """Logged by the engine after every :meth:`update` (``distill.<name>.t``)."""
        return {'t': float(self.t)}

    def forward(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        gt: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        s, t_logits, _, valid = self.prepare(student_logits, teacher_logits, gt)
        t = float(self.t)
        target_logits = ((1.0 - t) * s.detach() + t * t_logits) / self.tau
        log_p = F.log_softmax(target_logits, dim=1)
        log_q = F.log_softmax(s / self.tau, dim=1)
        if self.as_cross_entropy:
            per_pixel = -(log_p.exp() * log_q).sum(1)
        else:
            per_pixel = (log_p.exp() * (log_p - log_q)).sum(1)
        return self.loss_weight * masked_mean(per_pixel, valid)

    @torch.no_grad()
    def update(self, loss_value: Union[float, torch.Tensor], step: int, total_steps: int) -> float:
        """Advance ``t`` after an optimisation step; returns the new ``t``.

        Args:
            loss_value: this step's TAID loss ``J_n`` (tensor or float; detached internally).
            step: the step just finished (0-based or 1-based, used only for the linear floor).
            total_steps: total number of training steps (> 0).
        """
        if total_steps <= 0:
            raise ValueError(f'TAIDLoss.update: total_steps must be > 0, got {total_steps}')
        j = float(loss_value.detach()) if torch.is_tensor(loss_value) else float(loss_value)
        if not math.isfinite(j):
            raise ValueError(f'TAIDLoss.update: loss value is not finite ({j})')
        prev = float(self.prev_loss)
        rel = 0.0 if math.isnan(prev) else (prev - j) / (prev + 1e-15)
        m = self.beta * float(self.momentum) + (1.0 - self.beta) * rel
        t = float(self.t)
        progress = min(max(step / total_steps, 0.0), 1.0)
        t_lin = self.t_start + (self.t_end - self.t_start) * progress
        if self.adaptive:
            delta = self.alpha * (1.0 / (1.0 + math.exp(-m))) * (1.0 - t)
            new_t = min(self.t_end, max(t_lin, t + delta))
        else:
            new_t = min(self.t_end, t_lin)
        self.t.fill_(new_t)
        self.momentum.fill_(m)
        self.prev_loss.fill_(j)
        return new_t
