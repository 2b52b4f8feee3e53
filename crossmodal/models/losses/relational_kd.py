"""Registered relational / dense distillation losses built on :mod:`crossmodal.ops`.

* :class:`AttentionMapKDLoss`: KL between teacher and student attention maps given their
  queries and keys (attention-distribution transfer, MiniLM, Wang et al. NeurIPS 2020),
  computed without N x N memory by :func:`crossmodal.ops.attention_kl`.
* :class:`AffinityKDLoss`: KL between row-softmaxed pixel-affinity (cosine similarity) maps of
  teacher and student feature maps (pair-wise relational KD as in CIRKD, Yang et al. CVPR 2022,
  in its per-row KL form), via :func:`crossmodal.ops.affinity_kl`.

Per-pixel logit KD through the fused :func:`crossmodal.ops.dense_kd` is
``KDLoss(impl='auto'|'chunked'|'triton')`` (:mod:`crossmodal.models.losses.kd`); its old name
``DenseKDLoss`` is a deprecated alias defined there (and still importable from here).

``AffinityKDLoss`` follows the package convention of
:mod:`crossmodal.models.losses.dense`: ``forward(student, teacher, gt=None)``, the teacher
resized bilinearly to the student's (H, W) and detached (``detach_teacher=True``), ``gt``
(B, H', W') train ids nearest-resized with ``ignore_index`` pixels excluded. It also accepts a
bool (B, H', W') mask as ``gt`` (True = ignored pixel). The result is ``loss_weight * value``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmseg.registry import MODELS

from crossmodal.ops.attention_kl import affinity_kl, attention_kl

from .dense import DenseDistillLoss, resize_ignore_mask
from .kd import DenseKDLoss  # noqa: F401 (deprecated alias, defined with KDLoss)

WHERE = 'crossmodal/models/losses/relational_kd.py'


def _check_tau(tau: float, name: str) -> None:
    if not tau > 0:
        raise ValueError(f'{WHERE}: {name} tau must be > 0, got {tau}')


@MODELS.register_module()
class AttentionMapKDLoss(nn.Module):
    """Attention-map KD: mean over heads and valid query rows of KL(P_t || P_s).

    Args:
        tau: softmax temperature on the raw q.k dot products (pass tau = sqrt(d) to reproduce a
            transformer's own 1/sqrt(d) scaling).
        loss_weight: multiplier of the returned loss.
        impl: 'auto' | 'reference' | 'chunked' | 'triton' (see :func:`crossmodal.ops.attention_kl`).
        detach_teacher: stop gradients into the teacher's q, k (default True).
        ignore_index: void train id when ``gt`` holds labels (integer tensor) rather than a mask.
        loss_name: key under which a distiller logs the loss.

    forward(student, teacher, gt=None, hw_shape=None):
        student: (q_s, k_s) with q_s (B, h, N, d_s), k_s (B, h, M, d_s); (B, N, d) 3-D tensors
            are read as one head.
        teacher: (q_t, k_t) with q_t (B, h, N, d_t), k_t (B, h, M, d_t).
        gt: optional bool (B, N) ignore mask (True = query row excluded), a (B, H, W) bool mask,
            or (B, H, W) integer train ids (``ignore_index`` = excluded). A (B, H, W) ``gt`` is
            nearest-resized to the query grid ``hw_shape=(h', w')``, taken from the argument or,
            when None, from ``student.hw_shape`` (the ``'<attn path>@qk'`` tap value of
            :mod:`crossmodal.models.distill.tap_adapters` carries it).
        (:func:`crossmodal.models.backbones.project_qkv` gives MiT's per-head q, k.)
    Returns: scalar loss (nats x loss_weight).
    """

    accepts_ignore_mask = True  # gt may be a bool mask (module docstring)

    def __init__(
        self,
        loss_weight: float = 1.0,
        tau: float = 1.0,
        detach_teacher: bool = True,
        impl: str = 'auto',
        ignore_index: int = 255,
        loss_name: str = 'loss_attn_kd',
    ) -> None:
        super().__init__()
        _check_tau(tau, 'AttentionMapKDLoss')
        self.tau = float(tau)
        self.loss_weight = float(loss_weight)
        self.impl = impl
        self.detach_teacher = bool(detach_teacher)
        self.ignore_index = int(ignore_index)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    @staticmethod
    def _unpack(pair: Sequence[torch.Tensor], name: str):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(
                f'{WHERE}: AttentionMapKDLoss {name} must be a (queries, keys) pair, '
                f'got {type(pair).__name__}'
            )
        q, k = pair
        if isinstance(q, torch.Tensor) and q.dim() == 3:
            q = q[:, None]
        if isinstance(k, torch.Tensor) and k.dim() == 3:
            k = k[:, None]
        return q, k

    def forward(
        self, student, teacher, gt: Optional[torch.Tensor] = None, hw_shape=None
    ) -> torch.Tensor:
        ignore_mask = gt
        q_s, k_s = self._unpack(student, 'student')
        q_t, k_t = self._unpack(teacher, 'teacher')
        if hw_shape is None:
            hw_shape = getattr(student, 'hw_shape', None)
        mask = None
        if ignore_mask is not None:
            if ignore_mask.dim() == 4 and ignore_mask.shape[1] == 1:
                ignore_mask = ignore_mask[:, 0]
            if ignore_mask.dtype != torch.bool:
                if ignore_mask.is_floating_point() or ignore_mask.dim() != 3:
                    raise ValueError(
                        f'{WHERE}: AttentionMapKDLoss gt must be a bool ignore mask or '
                        f'(B, H, W) integer train ids, got {ignore_mask.dtype} '
                        f'{tuple(ignore_mask.shape)}'
                    )
                ignore_mask = ignore_mask == self.ignore_index
            if ignore_mask.dim() == 3:
                if hw_shape is None:
                    raise ValueError(
                        f'{WHERE}: AttentionMapKDLoss got a (B, H, W) ignore_mask; pass '
                        'hw_shape=(h, w) of the query grid or a (B, N) mask'
                    )
                ignore_mask = resize_ignore_mask(
                    ignore_mask, hw_shape, 'AttentionMapKDLoss'
                ).flatten(1)
            mask = ~ignore_mask
        loss = attention_kl(
            q_s,
            k_s,
            q_t,
            k_t,
            tau=self.tau,
            mask=mask,
            impl=self.impl,
            teacher_grad=not self.detach_teacher,
        )
        return self.loss_weight * loss


@MODELS.register_module()
class AffinityKDLoss(DenseDistillLoss):
    """Pixel-affinity KD on feature maps: KL between row-softmaxed cosine-similarity maps.

    Args:
        loss_weight: multiplier of the returned loss.
        tau: temperature on cosine similarities in [-1, 1] (0.1 gives peaked rows).
        ignore_index: void train id in ``gt``; void pixels are excluded as query rows (they
            still appear as keys: every row is a distribution over all H*W pixels).
        detach_teacher: stop gradients into the teacher (default True; the op's teacher side
            is always detached here).
        impl: 'auto' | 'reference' | 'chunked' | 'triton'.
        loss_name: logging name.

    forward(student (B, C_s, H, W), teacher (B, C_t, H', W'), gt=None) -> scalar (nats x
    loss_weight). Channels may differ; the teacher is resized bilinearly to (H, W). ``gt``:
    (B, H'', W'') train ids or a bool ignore mask, nearest-resized to (H, W).
    """

    def __init__(
        self,
        loss_weight: float = 1.0,
        tau: float = 1.0,
        ignore_index: int = 255,
        detach_teacher: bool = True,
        impl: str = 'auto',
        loss_name: str = 'loss_affinity_kd',
    ) -> None:
        super().__init__(loss_weight, ignore_index, detach_teacher, loss_name)
        _check_tau(tau, 'AffinityKDLoss')
        self.tau = float(tau)
        self.impl = impl

    def forward(
        self, student: torch.Tensor, teacher: torch.Tensor, gt: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        s, t, valid = self.prepare_valid(student, teacher, gt, same_channels=False)
        return self.loss_weight * affinity_kl(s, t, tau=self.tau, mask=valid, impl=self.impl)
