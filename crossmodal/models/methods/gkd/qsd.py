"""Query-based Soft Distillation (QSD) module of GKD.

GKD: "Generalizable Knowledge Distillation from Vision Foundation Models", CVPR 2026
(arXiv 2603.02554, code github.com/Younger-hua/GKD @ da68631); docs/methods/gkd.md (b).

Student tokens act as queries over the teacher's tokens; the value path stays student-driven:

    q = W_q LN_q(S)   (B, N, C_t)        v = W_v LN_v(S)   (B, N, C_t)
    A = softmax_row(q T^T [/ sqrt(C_t)])  (B, N, N)        S' = A v   (B, N, C_t)

with S the student tokens (B, N, C_s) and T the teacher tokens (B, N, C_t) used directly as keys (no
key projection), a single head. The released code applies **no** 1/sqrt(C_t) scaling; the paper text
was not available to settle it, so the code's behaviour is the default and ``scale_attn=True`` adds
the usual scaling (docs/methods/gkd.md (e).2). The QSD modules are training-only: they are discarded
after the distillation stage (an exported student never contains them).
"""

from __future__ import annotations

import math
from typing import Tuple, Union

import torch
import torch.nn as nn
from mmseg.registry import MODELS


def flatten_tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) feature map -> (B, H*W, C) tokens (row-major over H, W)."""
    if x.dim() != 4:
        raise ValueError(f'expected a (B, C, H, W) feature map, got shape {tuple(x.shape)}')
    return x.flatten(2).transpose(1, 2)


def unflatten_tokens(tokens: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
    """(B, H*W, C) tokens -> (B, C, H, W) map."""
    b, n, c = tokens.shape
    h, w = hw
    if n != h * w:
        raise ValueError(f'cannot reshape {n} tokens to a {h}x{w} grid')
    return tokens.transpose(1, 2).reshape(b, c, h, w)


@MODELS.register_module()
class QuerySoftDistiller(nn.Module):
    """QSD: student tokens query the teacher tokens; output lives in the teacher's dimension.

    Args:
        student_dims: C_s, channels of the student tokens.
        teacher_dims: C_t, channels of the teacher tokens (= output channels).
        scale_attn: divide the attention logits by sqrt(C_t) (False = released code).
        norm_eps: epsilon of the two LayerNorms (1e-6 as in the ViT students of GKD).

    Forward: ``(student (B,N,C_s) tokens or (B,C_s,H,W) map, teacher (B,N,C_t) or (B,C_t,H,W))``
    -> distilled student tokens (B, N, C_t) (a map input gives a (B, C_t, H, W) map back).
    Student and teacher must have the same N (resample the teacher map to the student grid first).
    ``return_attn=True`` also returns the attention (B, N, N).
    """

    def __init__(
        self, student_dims: int, teacher_dims: int, scale_attn: bool = False, norm_eps: float = 1e-6
    ) -> None:
        super().__init__()
        self.student_dims = int(student_dims)
        self.teacher_dims = int(teacher_dims)
        self.scale_attn = bool(scale_attn)
        self.q_norm = nn.LayerNorm(self.student_dims, eps=norm_eps)
        self.q_proj = nn.Linear(self.student_dims, self.teacher_dims)
        self.v_norm = nn.LayerNorm(self.student_dims, eps=norm_eps)
        self.v_proj = nn.Linear(self.student_dims, self.teacher_dims)

    def forward(
        self, student: torch.Tensor, teacher: torch.Tensor, return_attn: bool = False
    ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        as_map = student.dim() == 4
        hw = tuple(student.shape[-2:]) if as_map else None
        s = flatten_tokens(student) if as_map else student
        t = flatten_tokens(teacher) if teacher.dim() == 4 else teacher
        if s.dim() != 3 or t.dim() != 3:
            raise ValueError(
                f'QuerySoftDistiller: expected (B, N, C) tokens, got {tuple(s.shape)} '
                f'and {tuple(t.shape)}'
            )
        if s.shape[-1] != self.student_dims or t.shape[-1] != self.teacher_dims:
            raise ValueError(
                f'QuerySoftDistiller: built for C_s={self.student_dims}, '
                f'C_t={self.teacher_dims} but got C_s={s.shape[-1]}, C_t={t.shape[-1]}'
            )
        if s.shape[:2] != t.shape[:2]:
            raise ValueError(
                f'QuerySoftDistiller: student and teacher need the same (B, N); got '
                f'{tuple(s.shape[:2])} and {tuple(t.shape[:2])} (resample the teacher '
                f'map to the student grid)'
            )
        q = self.q_proj(self.q_norm(s))
        v = self.v_proj(self.v_norm(s))
        logits = q @ t.to(q.dtype).transpose(1, 2)
        if self.scale_attn:
            logits = logits / math.sqrt(self.teacher_dims)
        attn = logits.softmax(dim=-1)
        out = attn @ v
        if as_map:
            out = unflatten_tokens(out, hw)
        return (out, attn) if return_attn else out
