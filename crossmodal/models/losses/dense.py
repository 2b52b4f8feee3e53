"""Shared machinery of the dense (per-pixel) distillation losses.

Every dense KD loss in :mod:`crossmodal.models.losses` has the same call signature::

    loss = loss_module(student_logits, teacher_logits, gt=None)

* ``student_logits``: (B, K, H, W) float, the student's logits (or features for the feature losses).
* ``teacher_logits``: (B, K, H', W') float. If ``(H', W') != (H, W)`` the teacher is resized to the
  student's resolution with **bilinear** interpolation (``align_corners=False``). The teacher is
  detached (``detach_teacher=True``, the default) so gradients reach the student only. Losses with a
  ``sparse_mode`` (KD, CWD, DKD) also take
  :class:`~crossmodal.models.losses.sparse_targets.SparseLogits` (a cached teacher's top-k logits):
  nearest-resampled to (H, W) and turned into dense logits by ``sparse_mode``; any other loss
  refuses them with a ``TypeError``.
* ``gt``: optional (B, H'', W'') long train ids, ``ignore_index`` (255) meaning void. If its size
  differs from the logits' it is resized to (H, W) with **nearest** interpolation (labels are never
  blended). Void pixels are masked out; the loss is averaged over the valid pixels only. Losses with
  ``requires_labels = True`` (DKD, PLD) raise a ``ValueError`` when ``gt`` is missing. Every
  other loss (``accepts_ignore_mask``: KD without class weights, CWD, BiLD, TAID, feature, AT and
  affinity losses) also takes a bool (B, H'', W'') mask as ``gt`` (True = ignored pixel),
  nearest-resized the same way: the distiller passes one for a batch that mixes labelled and
  unlabelled samples (every pixel of an unlabelled sample is valid for distillation).

The returned value is a scalar tensor already multiplied by ``loss_weight``. When no pixel is valid
the result is an exact zero that is still connected to the student graph (so DDP does not complain
about unused parameters).
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .sparse_targets import SparseLogits, dense_teacher

WHERE = 'crossmodal/models/losses/dense.py'


def resize_to(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize a (B, C, H, W) float map to ``size`` (no-op when it already matches)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)


def resize_labels(gt: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Nearest-resize (B, H, W) integer labels to ``size`` (no-op when it already matches)."""
    if tuple(gt.shape[-2:]) == tuple(size):
        return gt
    out = F.interpolate(gt[:, None].float(), size=tuple(size), mode='nearest')
    return out[:, 0].to(gt.dtype)


def resize_ignore_mask(
    ignore_mask: Optional[torch.Tensor], size, name: str
) -> Optional[torch.Tensor]:
    """bool (B, H', W') -> bool (B, H, W) by nearest-neighbour sampling (no-op when equal)."""
    if ignore_mask is None:
        return None
    if (
        not isinstance(ignore_mask, torch.Tensor)
        or ignore_mask.dim() != 3
        or ignore_mask.dtype != torch.bool
    ):
        got = (
            (tuple(ignore_mask.shape), ignore_mask.dtype)
            if isinstance(ignore_mask, torch.Tensor)
            else type(ignore_mask)
        )
        raise ValueError(f'{WHERE}: {name} ignore mask must be a bool (B, H, W) tensor, got {got}')
    if tuple(ignore_mask.shape[1:]) == tuple(size):
        return ignore_mask
    resized = F.interpolate(ignore_mask[:, None].float(), size=tuple(size), mode='nearest')
    return resized[:, 0] > 0.5


def check_pair(
    student: torch.Tensor, teacher: torch.Tensor, name: str, same_channels: bool = True
) -> None:
    """Raise a clear ``ValueError`` when student/teacher tensors cannot be compared."""
    if student.dim() != 4 or teacher.dim() != 4:
        raise ValueError(
            f'{name}: expected (B, C, H, W) student and teacher tensors, got '
            f'{tuple(student.shape)} and {tuple(teacher.shape)}'
        )
    if student.shape[0] != teacher.shape[0]:
        raise ValueError(
            f'{name}: batch sizes differ (student {student.shape[0]}, teacher {teacher.shape[0]})'
        )
    if same_channels and student.shape[1] != teacher.shape[1]:
        raise ValueError(
            f'{name}: channel/class counts differ (student {student.shape[1]}, teacher '
            f'{teacher.shape[1]}); add a connector or use teachers with the same classes'
        )


def masked_mean(values: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Mean of ``values`` (B, H, W) over the pixels where ``mask`` (B, H, W bool) is True.

    Returns an exact, graph-connected zero when no pixel is valid.
    """
    if mask is None:
        return values.mean()
    mask = mask.to(values.dtype)
    # multiply (not index): void pixels get exact zero gradients; clamp keeps the all-void case at
    # 0 / 1 = 0 without a host-device synchronisation
    return (values * mask).sum() / mask.sum().clamp_min(1.0)


class DenseDistillLoss(nn.Module):
    """Base class: resizing, label handling and void masking for dense KD losses.

    Args:
        loss_weight: multiplier applied to the returned loss.
        ignore_index: train id of void pixels in ``gt``.
        detach_teacher: detach the teacher input (gradients to the student only).
        loss_name: name under which an engine logs this loss (mmseg convention ``loss_*``).
    """

    requires_labels: bool = False
    # None: dense teacher tensors only; 'residual' / 'renorm': also SparseLogits (sparse_targets)
    sparse_mode = None

    @property
    def accepts_ignore_mask(self) -> bool:
        """True when ``gt`` may be a bool ignore mask (the loss uses labels only to mask void
        pixels); losses that need the train ids (``requires_labels``) return False."""
        return not self.requires_labels

    def __init__(
        self,
        loss_weight: float = 1.0,
        ignore_index: int = 255,
        detach_teacher: bool = True,
        loss_name: str = 'loss_kd',
    ) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)
        self.ignore_index = int(ignore_index)
        self.detach_teacher = bool(detach_teacher)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def prepare(
        self,
        student: torch.Tensor,
        teacher: torch.Tensor,
        gt: Optional[torch.Tensor],
        same_channels: bool = True,
    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
        """Check, resize and mask the inputs.

        ``gt``: (B, H'', W'') train ids, None, or (when :attr:`accepts_ignore_mask`) a bool ignore
        mask (True = ignored).

        Returns ``(student, teacher, gt, valid)``: the teacher resized to the student's (H, W) and
        detached (if ``detach_teacher``), ``gt`` nearest-resized to (H, W) (None when it is None or
        a mask), and ``valid`` a (B, H, W) bool mask of non-void pixels (None when ``gt`` is None).
        """
        name = type(self).__name__
        if isinstance(gt, torch.Tensor) and gt.dtype == torch.bool:
            if not self.accepts_ignore_mask:
                raise ValueError(
                    f'{name} needs the train-id labels as gt (it uses the classes), got a bool '
                    f'ignore mask'
                )
            mask = gt[:, 0] if gt.dim() == 4 and gt.shape[1] == 1 else gt
            student, teacher, _, _ = self.prepare(student, teacher, None, same_channels)
            return student, teacher, None, ~resize_ignore_mask(mask, student.shape[-2:], name)
        check_pair(student, teacher, name, same_channels=same_channels)
        if self.requires_labels and gt is None:
            raise ValueError(
                f'{name} requires ground-truth labels (gt) but none were given; it '
                f'cannot be used in an unlabelled distillation stage'
            )
        if self.detach_teacher:
            teacher = teacher.detach()
        size = tuple(student.shape[-2:])
        if isinstance(teacher, SparseLogits):
            if self.sparse_mode is None:
                raise TypeError(
                    f'{name} takes dense teacher tensors only, got sparse (top-k) teacher logits '
                    f'from a teacher cache; use KDLoss, CWDLoss or DKDLoss on cached logits'
                )
            teacher = dense_teacher(teacher, size, self.sparse_mode, dtype=student.dtype)
        teacher = resize_to(teacher.to(student.dtype), size)
        valid = None
        if gt is not None:
            if gt.dim() == 4 and gt.shape[1] == 1:
                gt = gt[:, 0]
            if gt.dim() != 3 or gt.shape[0] != student.shape[0]:
                raise ValueError(
                    f'{name}: gt must be (B, H, W) with B={student.shape[0]}, got {tuple(gt.shape)}'
                )
            gt = resize_labels(gt.long(), size)
            valid = gt != self.ignore_index
            num_classes = student.shape[1]
            bad = valid & ((gt < 0) | (gt >= num_classes))
            if self.requires_labels and bool(bad.any()):
                raise ValueError(
                    f'{name}: gt holds train ids outside [0, {num_classes}) that are '
                    f'not ignore_index={self.ignore_index}: '
                    f'{sorted(set(gt[bad].tolist()))[:10]}'
                )
        return student, teacher, gt, valid

    def prepare_valid(
        self,
        student: torch.Tensor,
        teacher: torch.Tensor,
        gt: Optional[torch.Tensor],
        same_channels: bool = True,
    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """:meth:`prepare` without the resized labels: ``(student, teacher, valid)`` with
        ``valid`` a (B, H, W) bool mask or None."""
        student, teacher, _, valid = self.prepare(student, teacher, gt, same_channels=same_channels)
        return student, teacher, valid
