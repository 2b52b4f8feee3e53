"""``DualHeadSegformerHead``: SegFormer's all-MLP decoder with two classifiers, for DHO.

DHO (Dual-Head Optimisation; Kang et al. 2025, "Simple Semi-supervised Knowledge Distillation from
Vision-Language Models via Dual-Head Optimization", arXiv 2505.07675) gives the student two
prediction heads on the same features: one trained by the supervised loss on labelled data, one by
the distillation loss (the teacher's predictions) on all data. The paper combines the two heads'
outputs linearly at inference, with a weight chosen after training (no retraining).

Here both heads are 1x1 convolutions of the same fused SegFormer decoder feature ``f``
(B, C, h, w) (h, w = H/4, W/4 of the input):

* ``conv_seg``: the **label head** (mmseg's stock name, so the decode head's own losses, e.g. CE,
  train it and the distiller's ``'logits'`` tap records it);
* ``conv_seg_kd``: the **KD head** (a distillation loss trains it through a student tap,
  ``student_taps=dict(kd_logits='decode_head.conv_seg_kd')``).

We combine **logits**: ``z = alpha * z_label + (1 - alpha) * z_kd``. Both heads are linear maps of
the same feature, so the combination is exactly one 1x1 convolution with
``W = alpha * W_label + (1 - alpha) * W_kd`` and ``b = alpha * b_label + (1 - alpha) * b_kd``:
export folds the head into a stock mmseg ``SegformerHead`` (:func:`fold_classifier`,
:mod:`crossmodal.deploy.head_fold`). ``alpha`` is chosen on the validation split after training by
``tools/select_alpha.py`` (:mod:`crossmodal.evaluation.head_mix`), in one pass for a grid of
values.

Forward (stage maps -> logits (B, K, h, w)):

* training mode: the label head's logits (what mmseg's ``loss_by_feat`` scores); the KD head runs
  too, on the same dropout-applied feature, so a forward hook on ``conv_seg_kd`` records its logits;
* eval mode (val / test / predict): the alpha-combination;
* :meth:`forward_heads`: both heads' logits ``(z_label, z_kd)`` in either mode.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmseg.models.decode_heads import SegformerHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS

KD_INITS = ('copy', 'independent')
#: constructor arguments of :class:`DualHeadSegformerHead` that a stock ``SegformerHead`` lacks
#: (dropped from the config when the head is folded for export)
DUAL_HEAD_ARGS = ('alpha', 'kd_init')


def check_alpha(alpha, where: str = 'DualHeadSegformerHead') -> float:
    """``alpha`` as a float in [0, 1]; ``ValueError`` naming ``where`` otherwise."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        raise ValueError(f'{where}: alpha must be a number in [0, 1], got {alpha!r}')
    alpha = float(alpha)
    if not (math.isfinite(alpha) and 0.0 <= alpha <= 1.0):
        raise ValueError(f'{where}: alpha must be in [0, 1], got {alpha}')
    return alpha


def mix_logits(z_label: torch.Tensor, z_kd: torch.Tensor, alpha: float) -> torch.Tensor:
    """``alpha * z_label + (1 - alpha) * z_kd`` (any shape, the two the same)."""
    if z_label.shape != z_kd.shape:
        raise ValueError(
            f'the two heads\' logits differ in shape: {tuple(z_label.shape)} vs {tuple(z_kd.shape)}'
        )
    return alpha * z_label + (1.0 - alpha) * z_kd


def fold_classifier(
    w_label: torch.Tensor,
    b_label: Optional[torch.Tensor],
    w_kd: torch.Tensor,
    b_kd: Optional[torch.Tensor],
    alpha: float,
) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """The one 1x1 conv equal to the alpha-mix of two: weights (K, C, 1, 1), biases (K,) or None.

    ``(alpha * w_label + (1 - alpha) * w_kd, alpha * b_label + (1 - alpha) * b_kd)``; a missing
    bias counts as zero (None when both are missing).
    """
    alpha = check_alpha(alpha, 'fold_classifier')
    if w_label.shape != w_kd.shape:
        raise ValueError(
            f'fold_classifier: head weights differ in shape: {tuple(w_label.shape)} vs '
            f'{tuple(w_kd.shape)}'
        )
    w = alpha * w_label + (1.0 - alpha) * w_kd
    if b_label is None and b_kd is None:
        return w, None
    zeros = torch.zeros(w.shape[0], dtype=w.dtype, device=w.device)
    b_l = b_label if b_label is not None else zeros
    b_k = b_kd if b_kd is not None else zeros
    return w, alpha * b_l + (1.0 - alpha) * b_k


@MODELS.register_module()
class DualHeadSegformerHead(SegformerHead):
    """SegFormer decoder with a label head (``conv_seg``) and a KD head (``conv_seg_kd``) on the
    same fused feature (DHO, see the module docstring).

    Args:
        alpha: inference mix weight in [0, 1]: eval-mode logits are
            ``alpha * label_head + (1 - alpha) * kd_head`` (1: the label head alone, 0: the KD head
            alone). Can be changed after training (``head.alpha = a``); export folds the value of
            the config (or ``tools/export.py --alpha``).
        kd_init: how the KD head starts. ``'copy'`` (default): a copy of the label head, at
            construction and again after ``init_weights`` (so at step 0 the combined logits equal
            the label head's for every alpha); ``'independent'``: its own initialisation, the one
            mmseg gives ``conv_seg`` (normal, std 0.01, bias 0). Either way the KD head is created
            and initialised under a forked RNG, so every other weight starts as in the stock
            ``SegformerHead`` of the same seed.
        **kwargs: :class:`mmseg.models.decode_heads.SegformerHead` arguments (``in_channels``,
            ``in_index``, ``channels``, ``num_classes``, ``dropout_ratio``, ``norm_cfg``,
            ``align_corners``, ``loss_decode``...).
    """

    def __init__(self, alpha: float = 0.5, kd_init: str = 'copy', **kwargs):
        if kd_init not in KD_INITS:
            raise ValueError(
                f'DualHeadSegformerHead: kd_init must be one of {KD_INITS}, got {kd_init!r}'
            )
        alpha = check_alpha(alpha)
        super().__init__(**kwargs)
        self._alpha = alpha
        self.kd_init = kd_init
        with torch.random.fork_rng(devices=[]):
            self.conv_seg_kd = nn.Conv2d(
                self.conv_seg.in_channels,
                self.conv_seg.out_channels,
                kernel_size=1,
                bias=self.conv_seg.bias is not None,
            )
        if kd_init == 'copy':
            self._copy_label_head()

    # ------------------------------------------------------------------ alpha / init
    @property
    def alpha(self) -> float:
        """The eval-mode mix weight of the label head (in [0, 1])."""
        return self._alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self._alpha = check_alpha(value)

    def _copy_label_head(self) -> None:
        with torch.no_grad():
            self.conv_seg_kd.weight.copy_(self.conv_seg.weight)
            if self.conv_seg.bias is not None:
                self.conv_seg_kd.bias.copy_(self.conv_seg.bias)

    def init_weights(self) -> None:
        """mmseg's initialisation, then the KD head's (``kd_init``); nothing when already
        initialised (e.g. weights loaded: mmengine's ``_is_init``)."""
        first = not getattr(self, '_is_init', False)
        super().init_weights()
        if not first:
            return
        if self.kd_init == 'copy':
            self._copy_label_head()
        else:
            with torch.random.fork_rng(devices=[]):
                nn.init.normal_(self.conv_seg_kd.weight, mean=0.0, std=0.01)
                if self.conv_seg_kd.bias is not None:
                    nn.init.zeros_(self.conv_seg_kd.bias)

    # ------------------------------------------------------------------ forward
    def fused_feature(self, inputs) -> torch.Tensor:
        """Stage maps -> the fused decoder feature (B, channels, H/4, W/4), before dropout
        (SegformerHead.forward without its ``cls_seg``)."""
        inputs = self._transform_inputs(inputs)
        outs = [
            resize(
                input=conv(x),
                size=inputs[0].shape[2:],
                mode=self.interpolate_mode,
                align_corners=self.align_corners,
            )
            for x, conv in zip(inputs, self.convs)
        ]
        return self.fusion_conv(torch.cat(outs, dim=1))

    def classify_both(self, feat: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Fused feature (B, C, h, w) -> ``(z_label, z_kd)``, each (B, K, h, w): dropout once
        (training mode only, as mmseg's ``cls_seg``), then both 1x1 heads on the same tensor."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.conv_seg(feat), self.conv_seg_kd(feat)

    def forward_heads(self, inputs) -> Tuple[torch.Tensor, torch.Tensor]:
        """Stage maps -> both heads' logits ``(z_label, z_kd)``, each (B, K, H/4, W/4)."""
        return self.classify_both(self.fused_feature(inputs))

    def mix(self, z_label: torch.Tensor, z_kd: torch.Tensor, alpha: Optional[float] = None):
        """``alpha * z_label + (1 - alpha) * z_kd`` (default alpha: :attr:`alpha`)."""
        a = self._alpha if alpha is None else check_alpha(alpha)
        return mix_logits(z_label, z_kd, a)

    def forward(self, inputs) -> torch.Tensor:
        """Stage maps -> (B, K, H/4, W/4): the label head's logits in training mode (the KD head
        runs as well, for its tap), the alpha-combination in eval mode."""
        z_label, z_kd = self.forward_heads(inputs)
        if self.training:
            return z_label
        return self.mix(z_label, z_kd)

    # ------------------------------------------------------------------ export
    def folded_classifier(
        self, alpha: Optional[float] = None
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(weight (K, C, 1, 1), bias (K,) or None) of the single 1x1 conv equal to the eval-mode
        mix (default alpha: :attr:`alpha`); detached copies."""
        a = self._alpha if alpha is None else alpha
        with torch.no_grad():
            w, b = fold_classifier(
                self.conv_seg.weight,
                self.conv_seg.bias,
                self.conv_seg_kd.weight,
                self.conv_seg_kd.bias,
                a,
            )
        return w.detach().clone(), None if b is None else b.detach().clone()
