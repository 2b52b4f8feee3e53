"""Masked dense regression losses (NaN target = no data), e.g. for CHM / PAI / FHD (FSKD,
docs/methods/fskd.md (b)).

All losses take ``pred`` and ``target`` of shape (N, K, H, W) (or (N, H, W) = one target) and
compute, for each target channel k, the mean of the element loss over pixels whose target is finite
(and whose optional pixel ``weight`` is > 0), then

    loss = loss_weight * sum_k w_k * mean_{valid pixels of k} l(pred_k - target_k)

with per-target weights ``target_weights`` (default all 1). A channel with no valid pixel in the
batch contributes 0 (with a zero gradient). NaNs in ``pred`` are NOT masked (they propagate).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmseg.registry import MODELS


class _MaskedRegressionLoss(nn.Module):
    """Base class; subclasses define :meth:`element_loss` on the masked difference."""

    default_name = 'loss_reg'

    def __init__(
        self,
        loss_weight: float = 1.0,
        target_weights: Optional[Sequence[float]] = None,
        loss_name: Optional[str] = None,
    ):
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.target_weights = None if target_weights is None else [float(w) for w in target_weights]
        self._loss_name = loss_name or self.default_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def element_loss(self, diff: torch.Tensor) -> torch.Tensor:
        """Per-element loss of ``pred - target`` (abstract: every registered subclass defines
        it)."""
        raise NotImplementedError(f'{type(self).__name__} must define element_loss(diff)')

    def forward(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        weight: Optional[torch.Tensor] = None,
        ignore_index=None,
        **kwargs,
    ) -> torch.Tensor:
        """pred, target: (N, K, H, W) or (N, H, W); weight: optional non-negative pixel weights of
        shape (N, H, W) or (N, K, H, W). ``ignore_index`` is accepted for mmseg decode-head
        compatibility and unused (NaN marks no data). Returns a scalar."""
        if pred.shape != target.shape:
            raise ValueError(
                f'{type(self).__name__}: pred {tuple(pred.shape)} and target '
                f'{tuple(target.shape)} must have the same shape'
            )
        if pred.dim() == 3:
            pred, target = pred.unsqueeze(1), target.unsqueeze(1)
            if weight is not None and weight.dim() == 3:
                weight = weight.unsqueeze(1)
        if pred.dim() != 4:
            raise ValueError(
                f'{type(self).__name__}: expected (N,K,H,W) or (N,H,W), got {tuple(pred.shape)}'
            )
        k = pred.shape[1]
        tw = self.target_weights or [1.0] * k
        if len(tw) != k:
            raise ValueError(
                f'{type(self).__name__}: {len(tw)} target_weights for {k} target channels'
            )
        target = target.to(pred.dtype)
        valid = torch.isfinite(target)
        if weight is None:
            w = valid.to(pred.dtype)
        else:
            if weight.dim() == 4 and weight.shape[1] == 1 and k > 1:
                weight = weight.expand_as(pred)
            elif weight.dim() == 3:
                weight = weight.unsqueeze(1).expand_as(pred)
            w = torch.where(valid, weight.to(pred.dtype), torch.zeros_like(pred))
        diff = torch.where(
            valid,
            pred - torch.where(valid, target, torch.zeros_like(target)),
            torch.zeros_like(pred),
        )
        el = self.element_loss(diff) * w
        num = el.sum(dim=(0, 2, 3))
        den = w.sum(dim=(0, 2, 3))
        per_target = num / den.clamp_min(torch.finfo(pred.dtype).tiny)
        per_target = torch.where(den > 0, per_target, torch.zeros_like(per_target))
        tw_t = torch.tensor(tw, dtype=pred.dtype, device=pred.device)
        return self.loss_weight * (per_target * tw_t).sum()


@MODELS.register_module()
class MaskedL1Loss(_MaskedRegressionLoss):
    """Masked mean absolute error, l(d) = |d|."""

    default_name = 'loss_reg_l1'

    def element_loss(self, diff):
        return diff.abs()


@MODELS.register_module()
class MaskedMSELoss(_MaskedRegressionLoss):
    """Masked mean squared error, l(d) = d^2."""

    default_name = 'loss_reg_mse'

    def element_loss(self, diff):
        return diff * diff


@MODELS.register_module()
class MaskedSmoothL1Loss(_MaskedRegressionLoss):
    """Masked smooth L1 / Huber (torch ``smooth_l1_loss`` convention):
    l(d) = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta; beta = 0 is L1."""

    default_name = 'loss_reg_smoothl1'

    def __init__(self, beta: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if beta < 0:
            raise ValueError(f'beta must be >= 0, got {beta}')
        self.beta = float(beta)

    def element_loss(self, diff):
        a = diff.abs()
        if self.beta == 0:
            return a
        return torch.where(a < self.beta, 0.5 * a * a / self.beta, a - 0.5 * self.beta)
