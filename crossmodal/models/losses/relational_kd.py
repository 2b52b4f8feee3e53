"""Registered relational / dense distillation losses built on :mod:`crossmodal.ops`.

* :class:`AttentionMapKDLoss`: KL between teacher and student attention maps given their
  queries and keys (attention-distribution transfer, MiniLM, Wang et al. NeurIPS 2020),
  computed without N x N memory by :func:`crossmodal.ops.attention_kl`.
* :class:`AffinityKDLoss`: KL between row-softmaxed pixel-affinity (cosine similarity) maps of
  teacher and student feature maps (pair-wise relational KD as in CIRKD, Yang et al. CVPR 2022,
  in its per-row KL form), via :func:`crossmodal.ops.affinity_kl`.
* :class:`DenseKDLoss`: per-pixel temperature KL between teacher and student logits, times
  tau^2 (Hinton et al. 2015), via :func:`crossmodal.ops.dense_kd`.

Every loss takes ``forward(student, teacher, ignore_mask=None)`` and returns
``loss_weight * value`` as a scalar. ``ignore_mask`` is a bool tensor, True = position excluded;
given at a different spatial size than the features (e.g. full-resolution labels), it is resized
with nearest-neighbour sampling (documented, not silent: the docstrings say so).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS

from crossmodal.ops.attention_kl import affinity_kl, attention_kl
from crossmodal.ops.dense_kd import dense_kd

WHERE = 'crossmodal/models/losses/relational_kd.py'


def resize_ignore_mask(ignore_mask: Optional[torch.Tensor], size, name: str) -> Optional[torch.Tensor]:
    """bool (B, H', W') -> bool (B, H, W) by nearest-neighbour sampling (no-op when equal)."""
    if ignore_mask is None:
        return None
    if not isinstance(ignore_mask, torch.Tensor) or ignore_mask.dim() != 3 or ignore_mask.dtype != torch.bool:
        got = ((tuple(ignore_mask.shape), ignore_mask.dtype) if isinstance(ignore_mask, torch.Tensor)
               else type(ignore_mask))
        raise ValueError(f'{WHERE}: {name} ignore_mask must be a bool (B, H, W) tensor, got {got}')
    if tuple(ignore_mask.shape[1:]) == tuple(size):
        return ignore_mask
    resized = F.interpolate(ignore_mask[:, None].float(), size=tuple(size), mode='nearest')
    return resized[:, 0] > 0.5


def _check_common(tau: float, loss_weight: float, name: str) -> None:
    if not tau > 0:
        raise ValueError(f'{WHERE}: {name} tau must be > 0, got {tau}')
    if not isinstance(loss_weight, (int, float)):
        raise ValueError(f'{WHERE}: {name} loss_weight must be a number, got {loss_weight!r}')


@MODELS.register_module()
class AttentionMapKDLoss(nn.Module):
    """Attention-map KD: mean over heads and valid query rows of KL(P_t || P_s).

    Args:
        tau: softmax temperature on the raw q.k dot products (pass tau = sqrt(d) to reproduce a
            transformer's own 1/sqrt(d) scaling).
        loss_weight: multiplier of the returned loss.
        impl: 'auto' | 'reference' | 'chunked' | 'triton' (see :func:`crossmodal.ops.attention_kl`).
        teacher_grad: let gradients reach the teacher's q, k (online distillation).
        loss_name: key under which a distiller logs the loss.

    forward(student, teacher, ignore_mask=None):
        student: (q_s, k_s) with q_s (B, h, N, d_s), k_s (B, h, M, d_s); (B, N, d) 3-D tensors
            are read as one head.
        teacher: (q_t, k_t) with q_t (B, h, N, d_t), k_t (B, h, M, d_t).
        ignore_mask: optional bool (B, N), True = query row excluded, or (B, H, W) with
            ``hw_shape=(h', w')`` given to forward when the query tokens form an h' x w' grid
            (resized by nearest neighbour to it).
    Returns: scalar loss (nats x loss_weight).
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0, impl: str = 'auto',
                 teacher_grad: bool = False, loss_name: str = 'loss_attn_kd'):
        super().__init__()
        _check_common(tau, loss_weight, 'AttentionMapKDLoss')
        self.tau = float(tau)
        self.loss_weight = float(loss_weight)
        self.impl = impl
        self.teacher_grad = bool(teacher_grad)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    @staticmethod
    def _unpack(pair: Sequence[torch.Tensor], name: str):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f'{WHERE}: AttentionMapKDLoss {name} must be a (queries, keys) pair, '
                             f'got {type(pair).__name__}')
        q, k = pair
        if isinstance(q, torch.Tensor) and q.dim() == 3:
            q = q[:, None]
        if isinstance(k, torch.Tensor) and k.dim() == 3:
            k = k[:, None]
        return q, k

    def forward(self, student, teacher, ignore_mask: Optional[torch.Tensor] = None,
                hw_shape=None) -> torch.Tensor:
        q_s, k_s = self._unpack(student, 'student')
        q_t, k_t = self._unpack(teacher, 'teacher')
        mask = None
        if ignore_mask is not None:
            if ignore_mask.dim() == 3:
                if hw_shape is None:
                    raise ValueError(f'{WHERE}: AttentionMapKDLoss got a (B, H, W) ignore_mask; pass '
                                     'hw_shape=(h, w) of the query grid or a (B, N) mask')
                ignore_mask = resize_ignore_mask(ignore_mask, hw_shape, 'AttentionMapKDLoss').flatten(1)
            if ignore_mask.dtype != torch.bool:
                raise ValueError(f'{WHERE}: AttentionMapKDLoss ignore_mask must be bool, got {ignore_mask.dtype}')
            mask = ~ignore_mask
        loss = attention_kl(q_s, k_s, q_t, k_t, tau=self.tau, mask=mask, impl=self.impl,
                            teacher_grad=self.teacher_grad)
        return self.loss_weight * loss


@MODELS.register_module()
class AffinityKDLoss(nn.Module):
    """Pixel-affinity KD on feature maps: KL between row-softmaxed cosine-similarity maps.

    Args:
        tau: temperature on cosine similarities in [-1, 1] (0.1 gives peaked rows).
        loss_weight: multiplier of the returned loss.
        impl: 'auto' | 'reference' | 'chunked' | 'triton'.
        loss_name: key under which a distiller logs the loss.

    forward(student, teacher, ignore_mask=None):
        student: (B, C_s, H, W) features; teacher: (B, C_t, H, W) (channels may differ; spatial
            sizes must match: resize or connect them upstream).
        ignore_mask: optional bool (B, H', W'), True = pixel excluded as a query row; resized
            to (H, W) by nearest neighbour when H', W' differ (e.g. full-resolution labels).
    Returns: scalar loss (nats x loss_weight). The teacher gets no gradient.
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0, impl: str = 'auto',
                 loss_name: str = 'loss_affinity_kd'):
        super().__init__()
        _check_common(tau, loss_weight, 'AffinityKDLoss')
        self.tau = float(tau)
        self.loss_weight = float(loss_weight)
        self.impl = impl
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, student: torch.Tensor, teacher: torch.Tensor,
                ignore_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if not isinstance(student, torch.Tensor) or student.dim() != 4:
            raise ValueError(f'{WHERE}: AffinityKDLoss student must be (B, C, H, W), got '
                             f'{getattr(student, "shape", type(student))}')
        mask = None
        if ignore_mask is not None:
            mask = ~resize_ignore_mask(ignore_mask, student.shape[2:], 'AffinityKDLoss')
        loss = affinity_kl(student, teacher, tau=self.tau, mask=mask, impl=self.impl)
        return self.loss_weight * loss


@MODELS.register_module()
class DenseKDLoss(nn.Module):
    """Per-pixel logit KD: tau^2 * mean over valid pixels of KL(softmax(z_t/tau) || softmax(z_s/tau)).

    Args:
        tau: temperature (> 0); the tau^2 factor follows Hinton et al. 2015.
        loss_weight: multiplier of the returned loss.
        impl: 'auto' | 'reference' | 'chunked' | 'triton'.
        ignore_index: used when forward gets integer labels instead of a bool mask: pixels whose
            label equals it are ignored.
        teacher_grad: let the gradient reach the teacher logits (online distillation).
        loss_name: key under which a distiller logs the loss.

    forward(student, teacher, ignore_mask=None):
        student, teacher: (B, K, H, W) logits of the same shape.
        ignore_mask: optional bool (B, H', W'), True = pixel excluded, or an integer label map
            (B, H', W') / (B, 1, H', W') compared with ``ignore_index``; resized to (H, W) by
            nearest neighbour when sizes differ.
    Returns: scalar loss (nats x tau^2 x loss_weight).
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0, impl: str = 'auto',
                 ignore_index: int = 255, teacher_grad: bool = False, loss_name: str = 'loss_dense_kd'):
        super().__init__()
        _check_common(tau, loss_weight, 'DenseKDLoss')
        self.tau = float(tau)
        self.loss_weight = float(loss_weight)
        self.impl = impl
        self.ignore_index = int(ignore_index)
        self.teacher_grad = bool(teacher_grad)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, student: torch.Tensor, teacher: torch.Tensor,
                ignore_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if not isinstance(student, torch.Tensor) or student.dim() != 4:
            raise ValueError(f'{WHERE}: DenseKDLoss student must be (B, K, H, W) logits, got '
                             f'{getattr(student, "shape", type(student))}')
        if ignore_mask is not None and ignore_mask.dtype != torch.bool:
            labels = ignore_mask[:, 0] if ignore_mask.dim() == 4 and ignore_mask.shape[1] == 1 else ignore_mask
            if labels.is_floating_point():
                raise ValueError(f'{WHERE}: DenseKDLoss ignore_mask must be bool or an integer label map, '
                                 f'got {labels.dtype}')
            ignore_mask = labels == self.ignore_index
        ignore_mask = resize_ignore_mask(ignore_mask, student.shape[2:], 'DenseKDLoss')
        loss = dense_kd(student, teacher, tau=self.tau, ignore_mask=ignore_mask, impl=self.impl,
                        teacher_grad=self.teacher_grad)
        return self.loss_weight * loss
