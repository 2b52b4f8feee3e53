"""FitNet-style feature regression (mean squared error), dense form.

Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015: the student feature map (after a
connector that matches the teacher's channels) regresses the teacher's. Per pixel:
``mean_c (f_S - f_T)**2``, averaged over the valid pixels.

Optional normalisation of both maps before the comparison (``normalize``):
``None`` (FitNet), ``'channel_l2'`` (each pixel's C-vector divided by its L2 norm), or
``'layernorm'`` (each pixel's C-vector standardised to zero mean / unit variance, no affine).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from .dense import DenseDistillLoss, masked_mean

_NORMS = (None, 'channel_l2', 'layernorm')


def normalize_feature(x: torch.Tensor, mode: Optional[str]) -> torch.Tensor:
    """Normalise a (B, C, H, W) map per pixel over channels (see module docstring)."""
    if mode is None:
        return x
    if mode == 'channel_l2':
        return F.normalize(x, p=2, dim=1, eps=1e-12)
    if mode == 'layernorm':
        return F.layer_norm(x.permute(0, 2, 3, 1), x.shape[1:2]).permute(0, 3, 1, 2)
    raise ValueError(f'unknown feature normalisation {mode!r}; choose one of {_NORMS}')


@MODELS.register_module()
class FeatureMSELoss(DenseDistillLoss):
    """FitNet / MSE feature loss.

    Args:
        loss_weight: multiplier of the returned loss.
        normalize: None, ``'channel_l2'`` or ``'layernorm'`` (applied to both maps).
        ignore_index: void train id in ``gt`` (optional); void pixels are excluded.
        detach_teacher: stop gradients into the teacher (default True).
        loss_name: logging name.

    Forward: ``(student_feat (B,C,H,W), teacher_feat (B,C,H',W'), gt or None)`` -> scalar.
    Teacher resized bilinearly to (H, W), gt nearest-resized to (H, W). The channel counts must be
    equal (use a connector otherwise).
    """

    requires_labels = False

    def __init__(
        self,
        loss_weight: float = 1.0,
        normalize: Optional[str] = None,
        ignore_index: int = 255,
        detach_teacher: bool = True,
        loss_name: str = 'loss_fitnet',
    ) -> None:
        super().__init__(loss_weight, ignore_index, detach_teacher, loss_name)
        if normalize not in _NORMS:
            raise ValueError(
                f'FeatureMSELoss: normalize must be one of {_NORMS}, got {normalize!r}'
            )
        self.normalize = normalize

    def forward(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        gt: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        s, t, _, valid = self.prepare(student_logits, teacher_logits, gt)
        s = normalize_feature(s, self.normalize)
        t = normalize_feature(t, self.normalize)
        per_pixel = (s - t).pow(2).mean(1)
        return self.loss_weight * masked_mean(per_pixel, valid)
