"""MST-Distill's losses (ACM MM 2025, arXiv 2507.07015; released code ``KD_methods/MST.py``).

All KD terms are the dense Hinton form of :mod:`crossmodal.models.losses.kd`:
``KD(x <- y) = tau^2 * KL(softmax(z_y / tau) || softmax(z_x / tau))`` per pixel, summed over the K
classes and averaged over the valid pixels (the code's ``batchmean / (H W)`` for NYU is the same
mean over all pixels; we also drop void pixels when labels are given).

* :func:`kd_map` - the per-pixel map (B, h, w) of ``KD(student <- target)``.
* :func:`masked_teacher_kd` - stage 2: ``KD(masked teacher <- student.detach())``; the gradient
  reaches only what produced the masked teacher's logits (its MaskNet).
* :func:`routed_kd` - stage 3: top-k routing over J specialised teachers, per image (code) or per
  pixel (extension), ``(1/k) sum_{j selected} KD(S <- z_j)``; optional gate weighting.
* :func:`load_balancing_loss` - stage 3: ``KL(U || mean gate probabilities)`` ('KL', with the code's
  extra ``/J`` behind ``code_batchmean``) or the coefficient of variation ('CV').
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch

from ...losses.dense import masked_mean, resize_to
from ...losses.kd import kl_div_per_pixel


def kd_map(
    student_logits: torch.Tensor,
    target_logits: torch.Tensor,
    tau: float = 4.0,
    detach_target: bool = True,
) -> torch.Tensor:
    """``tau^2 KL(softmax(target/tau) || softmax(student/tau))`` per pixel, (B, h, w).

    ``target_logits`` (B, K, h', w') is bilinearly resized to the student's (h, w).
    """
    if (
        student_logits.dim() != 4
        or target_logits.dim() != 4
        or student_logits.shape[:2] != target_logits.shape[:2]
    ):
        raise ValueError(
            f'kd_map: expected (B, K, h, w) logits with the same B and K, got '
            f'{tuple(student_logits.shape)} and {tuple(target_logits.shape)}'
        )
    if detach_target:
        target_logits = target_logits.detach()
    target_logits = resize_to(target_logits.to(student_logits.dtype), student_logits.shape[-2:])
    return tau**2 * kl_div_per_pixel(target_logits / tau, student_logits / tau, dim=1)


def masked_teacher_kd(
    masked_teacher_logits: torch.Tensor,
    student_logits: torch.Tensor,
    tau: float = 4.0,
    valid: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Stage-2 objective of one MaskNet: ``KD(masked teacher <- student.detach())``, a scalar.

    The masked teacher is the one pulled towards the (detached) student's distribution:
    ``tau^2 * mean_valid KL(p_S || p_masked)``. Student logits are resized to the teacher's.
    """
    m = kd_map(masked_teacher_logits, student_logits, tau, detach_target=True)
    if valid is not None and tuple(valid.shape[-2:]) != tuple(m.shape[-2:]):
        raise ValueError(
            f'masked_teacher_kd: valid mask {tuple(valid.shape)} does not match the '
            f'logits grid {tuple(m.shape)}'
        )
    return masked_mean(m, valid)


def topk_selection(gate_probs: torch.Tensor, k: int) -> torch.Tensor:
    """One-hot float mask of the ``k`` largest probabilities over dim 1 (same shape as input)."""
    if not 1 <= k <= gate_probs.shape[1]:
        raise ValueError(f'top-k routing: k={k} must be in [1, J={gate_probs.shape[1]}]')
    idx = gate_probs.topk(k, dim=1).indices
    return torch.zeros_like(gate_probs).scatter_(1, idx, 1.0)


def routed_kd(
    kd_maps: torch.Tensor,
    gate_probs: torch.Tensor,
    k: int = 1,
    valid: Optional[torch.Tensor] = None,
    weighting: Optional[str] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Stage-3 routed distillation over J specialised teachers.

    Args:
        kd_maps: (B, J, h, w) per-pixel ``KD(S <- z_j.detach())`` (see :func:`kd_map`).
        gate_probs: (B, J) per-image (code) or (B, J, h, w) per-pixel softmax gate probabilities.
        k: teachers selected per image / pixel (top-k of ``gate_probs``).
        valid: optional (B, h, w) bool mask of non-void pixels.
        weighting: None (code): hard selection, ``(1/k) sum_{j in top-k} KD_j``; the gate gets no
            gradient from this term. ``'renorm'``: weights ``c_j / sum_{top-k} c``
            (docs/methods/mst.md (e)4(b); with k = 1 the weight is exactly 1, so still no gate
            gradient). ``'prob'``: weights ``c_j`` of the selected teachers (Switch-Transformer
            style, gradient for any k).

    Returns:
        ``(loss, selection)``: the scalar loss (mean over valid pixels) and the one-hot selection
        mask, shaped like ``gate_probs``.
    """
    if kd_maps.dim() != 4:
        raise ValueError(f'routed_kd: kd_maps must be (B, J, h, w), got {tuple(kd_maps.shape)}')
    B, J, h, w = kd_maps.shape
    if (
        gate_probs.shape[:2] != (B, J)
        or gate_probs.dim() not in (2, 4)
        or (gate_probs.dim() == 4 and tuple(gate_probs.shape[-2:]) != (h, w))
    ):
        raise ValueError(
            f'routed_kd: gate probabilities {tuple(gate_probs.shape)} must be ({B}, {J}) '
            f'or ({B}, {J}, {h}, {w})'
        )
    sel = topk_selection(gate_probs.detach(), k)
    if weighting is None:
        weights = sel / k
    elif weighting == 'renorm':
        picked = gate_probs * sel
        weights = picked / picked.sum(1, keepdim=True).clamp_min(1e-12)
    elif weighting == 'prob':
        weights = gate_probs * sel
    else:
        raise ValueError(
            f"routed_kd: weighting must be None, 'renorm' or 'prob', got {weighting!r}"
        )
    if weights.dim() == 2:
        weights = weights[:, :, None, None]
    per_pixel = (weights * kd_maps).sum(1)  # (B, h, w)
    return masked_mean(per_pixel, valid), sel


def load_balancing_loss(
    gate_probs: torch.Tensor, mode: str = 'KL', code_batchmean: bool = False
) -> torch.Tensor:
    """Load-balancing term over J experts from (B, J) or (B, J, h, w) gate probabilities.

    * ``'KL'``: ``KL(U || c_bar) = sum_j (1/J) (log(1/J) - log c_bar_j)`` with ``c_bar`` the mean
      probability over images (and pixels). The released code passes the 1-D ``c_bar`` to
      ``KLDivLoss(reduction='batchmean')``, which divides by its length J once more:
      ``code_batchmean=True`` reproduces that extra ``/J``.
    * ``'CV'``: ``std(importance) / mean(importance)`` with ``importance_j = sum`` of the
      probabilities of expert j over images (and pixels), unbiased std (torch default, as in the
      code). ``code_batchmean`` does not apply.
    """
    if gate_probs.dim() not in (2, 4):
        raise ValueError(
            f'load_balancing_loss: expected (B, J) or (B, J, h, w), got {tuple(gate_probs.shape)}'
        )
    J = gate_probs.shape[1]
    flat = gate_probs.transpose(0, 1).reshape(J, -1)  # (J, N)
    if mode == 'KL':
        c_bar = flat.mean(1)
        kl = (torch.full_like(c_bar, -math.log(J)) - torch.log(c_bar)).sum() / J
        return kl / J if code_batchmean else kl
    if mode == 'CV':
        importance = flat.sum(1)
        return importance.std() / importance.mean()
    raise ValueError(f"load_balancing_loss: mode must be 'KL' or 'CV', got {mode!r}")
