"""GKD's stage-1 feature-distillation objective with QSD (docs/methods/gkd.md (b), (e), defaults).

    L = loss_weight * (lambda_feat * L_feat + lambda_mask * L_mask + lambda_cls * L_cls)

* ``L_feat = MSE(QSD_feat(S, T), T)``: the student's tokens from the unmasked input, distilled by
  QSD, regress the teacher's tokens (mean over all tokens and channels).
* ``L_mask = MSE(QSD_mask(S_masked, T), T)``: the student's tokens computed from a **masked** input
  (see :mod:`.masking`) must still reconstruct the teacher's tokens of the unmasked input. As in the
  released code, the mean runs over all tokens of all samples (``mask_loss_on='all'``);
  ``mask_loss_on='masked'`` restricts it to the masked tokens.
* ``L_cls = MSE(QSD_cls(cls_S), cls_T)``: MiT has no CLS token, so global-average-pooled tokens are
  the CLS surrogate on both sides ([RECON], docs/methods/gkd.md (e).3). With a single key the
  attention is 1 and QSD_cls reduces to ``W_v LN(cls_S)``.

Paper vs released code: the paper writes ``alpha L_feat + beta L_mask + gamma L_cls``; the released
code's ``L_fea`` is one MSE over the concatenation ``[QSD_cls(cls_S); QSD_feat(S, T)]`` vs
``[cls_T; T]`` (1 + N tokens), so the CLS term enters twice. ``feat_includes_cls=False`` (default)
is the paper's separate terms; ``True`` reproduces the code's ``L_fea``.
Three separate QSD modules (feat, mask, cls) as in the code; a term whose lambda is 0 has no module.

Inputs are feature maps: student (B, C_s, H_s, W_s) (one encoder stage, ``qsd_stage``), teacher
(B, C_t, H_t, W_t), resampled to the student grid (``resample``: ``'bilinear'`` with
``align_corners=False``, or ``'area'``) before flattening. Labels are never used (stage 1 may run on
unlabelled frames); ``gt`` is accepted and ignored for signature compatibility.
"""

from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS

from .qsd import QuerySoftDistiller, flatten_tokens, unflatten_tokens


def resample_to(x: torch.Tensor, size, mode: str) -> torch.Tensor:
    """Resample a (B, C, H, W) map to ``size`` with ``mode`` in {'bilinear', 'area'}."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if mode == 'bilinear':
        return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)
    return F.interpolate(x, size=tuple(size), mode='area')


@MODELS.register_module()
class GKDFeatureLoss(nn.Module):
    """GKD feature-distillation loss with its QSD modules (training only, dropped at export).

    Args:
        student_dims: C_s of the tapped student stage (e.g. 256 for MiT-B0 stage 4).
        teacher_dims: C_t of the tapped teacher feature (e.g. 512 for MiT-B2 stage 4).
        lambda_feat: weight of L_feat (default 1).
        lambda_mask: weight of L_mask (default 1; 0 disables the masked branch).
        lambda_cls: weight of L_cls (default 1; 0 disables it).
        scale_attn: QSD attention scaling by 1/sqrt(C_t) (False = released code).
        feat_includes_cls: released code's L_fea over [cls; tokens] (see module docstring).
        mask_loss_on: ``'all'`` tokens (code) or only the ``'masked'`` ones (needs ``token_mask``).
        teacher_norm: apply a parameter-free LayerNorm over channels to the teacher tokens (GKD's
            ViT teachers emit LayerNorm-ed tokens; MiT stage outputs already are).
        resample: how the teacher map is brought to the student grid: ``'bilinear'`` or ``'area'``.
        loss_weight: global multiplier.
        detach_teacher: stop gradients into the teacher (default True).

    ``forward(student_feat, teacher_feat, student_feat_masked=None, token_mask=None, gt=None)``
    returns a dict of weighted scalar losses with keys among ``loss_feat``, ``loss_mask``,
    ``loss_cls`` (only the terms with a positive lambda).
    """

    requires_labels = False

    def __init__(
        self,
        student_dims: int,
        teacher_dims: int,
        lambda_feat: float = 1.0,
        lambda_mask: float = 1.0,
        lambda_cls: float = 1.0,
        scale_attn: bool = False,
        feat_includes_cls: bool = False,
        mask_loss_on: str = 'all',
        teacher_norm: bool = False,
        resample: str = 'bilinear',
        loss_weight: float = 1.0,
        detach_teacher: bool = True,
    ) -> None:
        super().__init__()
        if mask_loss_on not in ('all', 'masked'):
            raise ValueError(
                f"GKDFeatureLoss: mask_loss_on must be 'all' or 'masked', got {mask_loss_on!r}"
            )
        if resample not in ('bilinear', 'area'):
            raise ValueError(
                f"GKDFeatureLoss: resample must be 'bilinear' or 'area', got {resample!r}"
            )
        if min(lambda_feat, lambda_mask, lambda_cls) < 0:
            raise ValueError('GKDFeatureLoss: lambdas must be >= 0')
        if feat_includes_cls and lambda_feat > 0 and lambda_cls == 0:
            raise ValueError(
                'GKDFeatureLoss: feat_includes_cls needs the CLS branch (lambda_cls > 0)'
            )
        self.student_dims = int(student_dims)
        self.teacher_dims = int(teacher_dims)
        self.lambda_feat = float(lambda_feat)
        self.lambda_mask = float(lambda_mask)
        self.lambda_cls = float(lambda_cls)
        self.feat_includes_cls = bool(feat_includes_cls)
        self.mask_loss_on = mask_loss_on
        self.teacher_norm = bool(teacher_norm)
        self.resample = resample
        self.loss_weight = float(loss_weight)
        self.detach_teacher = bool(detach_teacher)

        def make():
            return QuerySoftDistiller(student_dims, teacher_dims, scale_attn=scale_attn)

        self.qsd_feat = make() if lambda_feat > 0 else None
        self.qsd_mask = make() if lambda_mask > 0 else None
        self.qsd_cls = make() if lambda_cls > 0 else None

    @property
    def needs(self):
        """Extra engine inputs (:mod:`crossmodal.models.distill.protocol`): the masked branch needs
        the student's features on a masked input (:class:`~.masked_student.MaskedStudentInput`)."""
        return ('masked_student',) if self.qsd_mask is not None else ()

    def teacher_tokens(self, teacher_feat: torch.Tensor, grid) -> torch.Tensor:
        """Teacher map (B, C_t, H_t, W_t) -> (B, N, C_t) tokens on the student ``grid``."""
        if teacher_feat.dim() != 4 or teacher_feat.shape[1] != self.teacher_dims:
            raise ValueError(
                f'GKDFeatureLoss: teacher feature must be (B, {self.teacher_dims}, H, W), '
                f'got {tuple(teacher_feat.shape)}'
            )
        t = teacher_feat.detach() if self.detach_teacher else teacher_feat
        t = flatten_tokens(resample_to(t, grid, self.resample))
        if self.teacher_norm:
            t = F.layer_norm(t, (t.shape[-1],))
        return t

    def distill(self, student_feat: torch.Tensor, teacher_feat: torch.Tensor) -> torch.Tensor:
        """Distilled student map (B, C_t, H_s, W_s) = QSD_feat(S, T)."""
        if self.qsd_feat is None:
            raise ValueError('GKDFeatureLoss.distill needs lambda_feat > 0')
        grid = tuple(student_feat.shape[-2:])
        out = self.qsd_feat(flatten_tokens(student_feat), self.teacher_tokens(teacher_feat, grid))
        return unflatten_tokens(out, grid)

    def _check_student(self, x: torch.Tensor, name: str) -> None:
        if x.dim() != 4 or x.shape[1] != self.student_dims:
            raise ValueError(
                f'GKDFeatureLoss: {name} must be (B, {self.student_dims}, H, W), '
                f'got {tuple(x.shape)}'
            )

    def forward(
        self,
        student_feat: torch.Tensor,
        teacher_feat: torch.Tensor,
        student_feat_masked: Optional[torch.Tensor] = None,
        token_mask: Optional[torch.Tensor] = None,
        gt: Optional[torch.Tensor] = None,
    ) -> Dict[str, torch.Tensor]:
        self._check_student(student_feat, 'student_feat')
        if student_feat.shape[0] != teacher_feat.shape[0]:
            raise ValueError(
                f'GKDFeatureLoss: batch sizes differ (student {student_feat.shape[0]}, '
                f'teacher {teacher_feat.shape[0]})'
            )
        grid = tuple(student_feat.shape[-2:])
        t = self.teacher_tokens(teacher_feat, grid)  # (B, N, C_t)
        s = flatten_tokens(student_feat)
        losses: Dict[str, torch.Tensor] = {}
        w = self.loss_weight

        cls_out = cls_t = None
        if self.qsd_cls is not None:
            cls_t = t.mean(dim=1, keepdim=True)  # (B, 1, C_t) GAP surrogate of the CLS token
            cls_out = self.qsd_cls(s.mean(dim=1, keepdim=True), cls_t)
            losses['loss_cls'] = w * self.lambda_cls * F.mse_loss(cls_out, cls_t)

        if self.qsd_feat is not None:
            out = self.qsd_feat(s, t)
            if self.feat_includes_cls:
                loss_feat = F.mse_loss(torch.cat([cls_out, out], 1), torch.cat([cls_t, t], 1))
            else:
                loss_feat = F.mse_loss(out, t)
            losses['loss_feat'] = w * self.lambda_feat * loss_feat

        if self.qsd_mask is not None:
            if student_feat_masked is None:
                raise ValueError(
                    'GKDFeatureLoss: lambda_mask > 0 needs student_feat_masked (the '
                    'student features of the masked input); set lambda_mask=0 to '
                    'disable the masked branch'
                )
            self._check_student(student_feat_masked, 'student_feat_masked')
            if student_feat_masked.shape != student_feat.shape:
                raise ValueError(
                    f'GKDFeatureLoss: student_feat_masked {tuple(student_feat_masked.shape)} '
                    f'must have the shape of student_feat {tuple(student_feat.shape)}'
                )
            out_m = self.qsd_mask(flatten_tokens(student_feat_masked), t)
            sq = (out_m - t).pow(2).mean(-1)  # (B, N)
            if self.mask_loss_on == 'all':
                loss_mask = sq.mean()
            else:
                if token_mask is None:
                    raise ValueError("GKDFeatureLoss: mask_loss_on='masked' needs token_mask")
                m = self._token_mask_on_grid(token_mask, grid).to(sq.dtype)
                loss_mask = (sq * m).sum() / m.sum() if m.sum() > 0 else sq.sum() * 0.0
            losses['loss_mask'] = w * self.lambda_mask * loss_mask
        return losses

    @staticmethod
    def _token_mask_on_grid(token_mask: torch.Tensor, grid) -> torch.Tensor:
        """(B, N') or (B, gh, gw) bool mask -> (B, N) on the student ``grid`` (nearest)."""
        n = grid[0] * grid[1]
        if token_mask.dim() == 2 and token_mask.shape[1] == n:
            return token_mask
        if token_mask.dim() == 2:
            raise ValueError(
                f'GKDFeatureLoss: token_mask has {token_mask.shape[1]} tokens but the '
                f'student grid {grid[0]}x{grid[1]} has {n}; pass it as (B, gh, gw)'
            )
        m = F.interpolate(token_mask[:, None].float(), size=tuple(grid), mode='nearest')
        return m[:, 0].flatten(1) > 0.5
