"""``SegformerRegressionHead``: SegFormer's all-MLP decoder with K dense regression outputs.

Used by FSKD (docs/methods/fskd.md (b), arXiv 2604.01766) for CHM / PAI / FHD. The authors released
no code: this head is a **reconstruction** ([RECON] in docs/methods/fskd.md) — SegFormer decoder
(per-stage 1x1 projection to ``channels``, upsampling to stride 4, concatenation, 1x1 fusion) whose
last 1x1 conv outputs K channels instead of class logits, followed by a non-negative activation.

Target normalisation: the network works in *normalised* units ``y_n = y / s_k`` per target k
(``target_scales``, e.g. CHM in metres / 10, PAI and FHD / 1), so that the masked losses weight the
targets comparably; :meth:`to_physical` multiplies back. Shapes:

* :meth:`forward`: stage maps -> (B, K, H/4, W/4) normalised predictions (after ``activation``).
* :meth:`forward_with_feat`: also returns the fused decoder feature (B, channels, H/4, W/4)
  (the tap for feature KD).
* :meth:`loss_by_feat`: predictions are bilinearly upsampled to the (padded) input size and
  compared with ``data_sample.gt_regression`` (K, H, W) divided by the scales; NaN = no data
  (padding is NaN, so never counted). Loss from the registry (default ``MaskedL1Loss``).
* :meth:`predict_by_feat`: (B, K, H_pad, W_pad) predictions in **physical units** (m, m²/m², nats).
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmseg.models.decode_heads import SegformerHead
from mmseg.registry import MODELS

ACTIVATIONS = ('softplus', 'relu', 'none')


def padded_shape(meta: dict, fallback=None) -> tuple:
    """(H, W) of the padded network input of one sample: ``pad_shape`` when set, else ``img_shape``
    plus ``padding_size`` (mmseg's ``stack_batch`` leaves ``pad_shape`` None without a label
    map)."""
    ps = meta.get('pad_shape')
    if ps is not None:
        return tuple(int(v) for v in ps[:2])
    img = meta.get('img_shape')
    if img is None:
        if fallback is None:
            raise KeyError('sample metainfo has neither pad_shape nor img_shape')
        return tuple(int(v) for v in fallback[:2])
    left, right, top, bottom = [int(v) for v in (meta.get('padding_size') or (0, 0, 0, 0))]
    return int(img[0]) + top + bottom, int(img[1]) + left + right


@MODELS.register_module()
class SegformerRegressionHead(SegformerHead):
    """SegFormer all-MLP decoder with a K-channel regression output (reconstruction, see module
    doc).

    Args:
        target_names: names of the K outputs, in the order of ``gt_regression``'s channels.
        target_scales: per-target scale s_k (physical = s_k * normalised); default all 1.
        activation: 'softplus' (default; non-negative, smooth), 'relu' or 'none'.
        loss_decode: a registry loss taking ``(pred, target)`` with NaN = no data
            (default ``MaskedL1Loss``); a list of them is summed under their own names.
        **kwargs: :class:`mmseg.models.decode_heads.SegformerHead` arguments (``in_channels``,
            ``in_index``, ``channels``, ``dropout_ratio``, ``norm_cfg``, ``align_corners``...);
            ``num_classes`` / ``out_channels`` are set to K.
    """

    def __init__(
        self,
        target_names: Sequence[str] = ('chm', 'pai', 'fhd'),
        target_scales: Optional[Sequence[float]] = None,
        activation: str = 'softplus',
        loss_decode=dict(type='MaskedL1Loss', loss_weight=1.0),
        **kwargs,
    ):
        self.target_names = tuple(target_names)
        k = len(self.target_names)
        if k == 0:
            raise ValueError('SegformerRegressionHead needs at least one target name')
        scales = [1.0] * k if target_scales is None else [float(s) for s in target_scales]
        if len(scales) != k:
            raise ValueError(
                f'target_scales has {len(scales)} values for {k} targets {self.target_names}'
            )
        if any(s <= 0 for s in scales):
            raise ValueError(f'target_scales must be > 0, got {scales}')
        if activation not in ACTIVATIONS:
            raise ValueError(f'activation must be one of {ACTIVATIONS}, got {activation!r}')
        for key in ('num_classes', 'out_channels'):
            if key in kwargs and kwargs.pop(key) not in (None, k):
                raise ValueError(f'SegformerRegressionHead: {key} is the number of targets ({k})')
        super().__init__(num_classes=k, out_channels=k, loss_decode=loss_decode, **kwargs)
        self.activation = activation
        self.register_buffer(
            'target_scales',
            torch.tensor(scales, dtype=torch.float32).view(1, k, 1, 1),
            persistent=False,
        )

    # ------------------------------------------------------------------ forward
    def _activate(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation == 'softplus':
            return F.softplus(x)
        if self.activation == 'relu':
            return F.relu(x)
        return x

    def forward_with_feat(self, inputs) -> Tuple[torch.Tensor, torch.Tensor]:
        """Stage maps -> (normalised predictions (B, K, H/4, W/4), fused feature (B, C, H/4,
        W/4))."""
        inputs = self._transform_inputs(inputs)
        outs = [
            F.interpolate(
                conv(x),
                size=inputs[0].shape[2:],
                mode=self.interpolate_mode,
                align_corners=self.align_corners,
            )
            for x, conv in zip(inputs, self.convs)
        ]
        feat = self.fusion_conv(torch.cat(outs, dim=1))
        return self._activate(self.cls_seg(feat)), feat

    def forward(self, inputs) -> torch.Tensor:
        return self.forward_with_feat(inputs)[0]

    # ------------------------------------------------------------------ units
    def to_physical(self, pred_n: torch.Tensor) -> torch.Tensor:
        """(B, K, H, W) normalised -> physical units (times ``target_scales``)."""
        return pred_n * self.target_scales.to(pred_n.dtype)

    def to_normalised(self, target: torch.Tensor) -> torch.Tensor:
        """(B, K, H, W) physical -> normalised units (NaN stays NaN)."""
        return target / self.target_scales.to(target.dtype)

    # ------------------------------------------------------------------ targets
    def stack_targets(self, batch_data_samples) -> torch.Tensor:
        """``gt_regression`` of every sample, NaN-padded to its ``pad_shape`` -> (B, K, H, W)."""
        k = len(self.target_names)
        gts = []
        for ds in batch_data_samples:
            if 'gt_regression' not in ds:
                raise KeyError(
                    'SegformerRegressionHead: a data sample has no gt_regression; load the '
                    'targets with RGBXSegDataset(with_targets=(...))'
                )
            gt = ds.gt_regression.data
            if gt.dim() != 3 or gt.shape[0] != k:
                raise ValueError(
                    f'gt_regression has shape {tuple(gt.shape)}, expected ({k}, H, W) '
                    f'for targets {self.target_names}'
                )
            ph, pw = padded_shape(ds.metainfo, gt.shape[-2:])
            if (ph, pw) != tuple(gt.shape[-2:]):
                gt = F.pad(
                    gt,
                    (0, max(pw - gt.shape[-1], 0), 0, max(ph - gt.shape[-2], 0)),
                    value=float('nan'),
                )
            gts.append(gt.float())
        sizes = {tuple(g.shape) for g in gts}
        if len(sizes) > 1:
            raise ValueError(f'gt_regression of one batch differ in size {sorted(sizes)}')
        return torch.stack(gts, 0)

    def loss_by_feat(self, seg_logits: torch.Tensor, batch_data_samples) -> dict:
        """Masked regression loss(es) of normalised predictions (B, K, h, w) vs
        ``gt_regression``."""
        gt = self.stack_targets(batch_data_samples).to(seg_logits.device)
        pred = F.interpolate(
            seg_logits, size=gt.shape[-2:], mode='bilinear', align_corners=self.align_corners
        )
        target = self.to_normalised(gt)
        losses = {}
        loss_list = (
            self.loss_decode
            if isinstance(self.loss_decode, torch.nn.ModuleList)
            else [self.loss_decode]
        )
        for loss in loss_list:
            val = loss(pred, target)
            losses[loss.loss_name] = losses.get(loss.loss_name, 0) + val
        with torch.no_grad():  # logged, not optimised: physical MAE per target on valid pixels
            phys = self.to_physical(pred)
            for i, name in enumerate(self.target_names):
                valid = torch.isfinite(gt[:, i])
                if valid.any():
                    losses[f'mae_{name}'] = (phys[:, i][valid] - gt[:, i][valid]).abs().mean()
        return losses

    def predict_by_feat(
        self, seg_logits: torch.Tensor, batch_img_metas: List[dict]
    ) -> torch.Tensor:
        """Normalised (B, K, h, w) -> physical predictions resized to the (padded) input size."""
        size = padded_shape(batch_img_metas[0])
        pred = F.interpolate(
            seg_logits, size=tuple(size), mode='bilinear', align_corners=self.align_corners
        )
        return self.to_physical(pred)
