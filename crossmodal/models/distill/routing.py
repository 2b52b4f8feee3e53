"""Input routing: who normalises what in a :class:`DistillSegmentor`.

1. The dataloader packs **raw** modalities (``PackMultiModalInputs(stack=False)``): ``{'rgb': uint8
   (3, H, W), 'thermal': float (1, H, W), ...}``.
2. The distiller's data preprocessor (a :class:`MultiModalDataPreprocessor`) normalises **every**
   modality once and pads/stacks the batch. Its default settings (built by
   :func:`default_distill_preprocessor`) take each modality's mean/std from its first consumer --
   the student first, then the teachers in order -- and the student's padding settings, so that the
   student's input equals, bit for bit, what its own ``SegDataPreProcessor`` would produce
   (normalise, then pad with ``pad_val`` in normalised units).
3. :class:`ModalityNorm` then re-expresses a modality in each model's own normalisation with the
   exact affine map ``y = (x * std_d + mean_d - mean_m) / std_m`` (skipped when the two agree, so
   the common case is an identity). The student gets only ``student_modalities``, concatenated along
   channels in order (and channel-flipped if its ``SegDataPreProcessor`` has ``bgr_to_rgb`` /
   ``rgb_to_bgr``, exactly as the stock pre-processor would do with a 3-channel input); each teacher
   gets a dict with exactly the modalities it declares, in its own ``data_preprocessor``'s units.
   Padded pixels hold ``pad_val`` in the distiller's units; for a model whose normalisation differs
   they become the affine image of that value (only relevant when crops are padded).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn

from ..segmentors.multimodal_encoder_decoder import DEFAULT_IN_CHANNELS


def _vec(values) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.float32).flatten()


class ModalityNorm(nn.Module):
    """Per-modality (mean, std) of one consumer (a model or the distiller's pre-processor).

    ``norms = {modality: (mean list or None, std list or None)}``; None means "not normalised"
    (mean 0, std 1). Buffers are non-persistent (never in checkpoints).
    """

    def __init__(self, norms: Dict[str, tuple]) -> None:
        super().__init__()
        self.names = tuple(norms)
        for name, (mean, std) in norms.items():
            if mean is None:
                self.register_buffer(f'mean_{name}', None, persistent=False)
                self.register_buffer(f'std_{name}', None, persistent=False)
                continue
            m, s = _vec(mean), _vec(std)
            if m.numel() != s.numel():
                raise ValueError(f'mean/std of modality "{name}" have different lengths')
            self.register_buffer(f'mean_{name}', m, persistent=False)
            self.register_buffer(f'std_{name}', s, persistent=False)

    def get(self, name: str, channels: int, device, dtype=torch.float32):
        """(mean, std) as (C,) tensors for ``name`` (zeros/ones when not normalised)."""
        mean = getattr(self, f'mean_{name}', None)
        std = getattr(self, f'std_{name}', None)
        if mean is None:
            return (
                torch.zeros(channels, device=device, dtype=dtype),
                torch.ones(channels, device=device, dtype=dtype),
            )
        if mean.numel() != channels:
            raise ValueError(
                f'modality "{name}" has {channels} channel(s) but {mean.numel()} '
                f'mean/std value(s) are configured for it'
            )
        return mean.to(device, dtype), std.to(device, dtype)

    def has(self, name: str) -> bool:
        return getattr(self, f'mean_{name}', None) is not None


def renormalize(x: torch.Tensor, name: str, src: ModalityNorm, dst: ModalityNorm) -> torch.Tensor:
    """Re-express (B, C, H, W) ``x`` from ``src``'s normalisation of ``name`` into ``dst``'s."""
    c = x.shape[1]
    ms, ss = src.get(name, c, x.device, x.dtype)
    md, sd = dst.get(name, c, x.device, x.dtype)
    if torch.equal(ms, md) and torch.equal(ss, sd):
        return x
    view = (1, c, 1, 1)
    return (x * ss.view(view) + ms.view(view) - md.view(view)) / sd.view(view)


def student_norms(
    student_dp: nn.Module, modalities: Sequence[str], channels: Optional[Dict[str, int]] = None
) -> Dict[str, tuple]:
    """Split a stock ``SegDataPreProcessor``'s mean/std over the student's modalities.

    The student's mean/std cover the concatenated channels (e.g. 3 for RGB, 4 for RGB-D); the
    per-modality channel counts come from ``channels`` (defaults: rgb/hha 3, depth/thermal 1).
    """
    chans = dict(DEFAULT_IN_CHANNELS)
    chans.update(channels or {})
    if not getattr(student_dp, '_enable_normalize', False):
        return {m: (None, None) for m in modalities}
    mean, std = _vec(student_dp.mean), _vec(student_dp.std)
    missing = [m for m in modalities if m not in chans]
    if missing:
        raise ValueError(
            f'no channel count for student modalities {missing}; pass '
            f'modality_channels={{"{missing[0]}": C}}'
        )
    total = sum(chans[m] for m in modalities)
    if total != mean.numel():
        raise ValueError(
            f'the student data_preprocessor has {mean.numel()} mean/std values but its '
            f'modalities {tuple(modalities)} have {total} channels'
        )
    out, i = {}, 0
    for m in modalities:
        out[m] = (mean[i : i + chans[m]].tolist(), std[i : i + chans[m]].tolist())
        i += chans[m]
    return out


def teacher_norms(teacher_dp: nn.Module, modalities: Sequence[str]) -> Dict[str, tuple]:
    """Per-modality mean/std of a teacher's ``MultiModalDataPreprocessor`` (None: not
    normalised)."""
    out = {}
    names = getattr(teacher_dp, 'modality_names', ())
    for m in modalities:
        if m in names:
            out[m] = (
                getattr(teacher_dp, f'mean_{m}').flatten().tolist(),
                getattr(teacher_dp, f'std_{m}').flatten().tolist(),
            )
        else:
            out[m] = (None, None)
    return out


def default_distill_preprocessor(
    student_dp: nn.Module, consumers: Sequence[Dict[str, tuple]]
) -> dict:
    """Config of the distiller's ``MultiModalDataPreprocessor`` (see the module docstring).

    Args:
        student_dp: the student's built ``SegDataPreProcessor`` (padding settings are copied).
        consumers: per-model ``{modality: (mean, std)}``, the student first.
    """
    mean, std = {}, {}
    for norms in consumers:
        for m, (mu, sd) in norms.items():
            if m in mean or m in std:
                continue
            if mu is None:
                std[m] = None  # first consumer does not normalise it: keep raw
                mean[m] = None
            else:
                mean[m], std[m] = list(mu), list(sd)
    mean = {k: v for k, v in mean.items() if v is not None}
    std = {k: v for k, v in std.items() if v is not None}
    pad = getattr(student_dp, 'pad_val', 0)
    return dict(
        type='MultiModalDataPreprocessor',
        mean=mean,
        std=std,
        size=getattr(student_dp, 'size', None),
        size_divisor=getattr(student_dp, 'size_divisor', None),
        pad_val={m: pad for m in set(mean) | set(std)},
        seg_pad_val=getattr(student_dp, 'seg_pad_val', 255),
        test_cfg=getattr(student_dp, 'test_cfg', None),
    )


def stock_model_input(
    inputs: Dict[str, torch.Tensor],
    modalities: Sequence[str],
    src: ModalityNorm,
    dst: ModalityNorm,
    channel_flip: bool = False,
) -> torch.Tensor:
    """(B, C, H, W) input of a stock mmseg model from the distiller's normalised modality dict.

    ``modalities`` are concatenated along channels in order and re-expressed from ``src``'s
    normalisation (the distiller's pre-processor) into ``dst``'s (the model's own
    ``SegDataPreProcessor``). ``channel_flip`` reproduces ``bgr_to_rgb`` / ``rgb_to_bgr`` of that
    pre-processor, which flips a 3-channel input *before* normalising. The result equals, bit for
    bit in the common case (same normalisation, no flip), what the model's own pre-processor
    produces from the raw tensors. Used by :class:`DistillSegmentor` (student) and
    :class:`~crossmodal.models.methods.crodino.CroDiNoKD` (both co-trained models).
    """
    if channel_flip:
        parts = []
        for m in modalities:
            x = inputs[m]
            mean, std = src.get(m, x.shape[1], x.device, x.dtype)
            parts.append(x * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1))
        raw = torch.cat(parts, 1)
        if raw.shape[1] == 3:
            raw = raw[:, [2, 1, 0]]
        stats = [dst.get(m, inputs[m].shape[1], raw.device, raw.dtype) for m in modalities]
        mean = torch.cat([s[0] for s in stats])
        std = torch.cat([s[1] for s in stats])
        return (raw - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
    parts = [renormalize(inputs[m], m, src, dst) for m in modalities]
    return parts[0] if len(parts) == 1 else torch.cat(parts, 1)
