"""Fold a DHO student's two classifiers into one stock ``SegformerHead`` for export.

A :class:`~crossmodal.models.heads.dual_head_segformer.DualHeadSegformerHead` predicts, in eval
mode, ``alpha * conv_seg(f) + (1 - alpha) * conv_seg_kd(f)``; both are 1x1 convolutions of the same
feature ``f``, so this is exactly one 1x1 convolution (weights and biases alpha-mixed). The fold:

* weights: ``decode_head.conv_seg.{weight,bias}`` := the alpha-mix of the two heads',
  ``decode_head.conv_seg_kd.*`` dropped, every other key unchanged;
* config: the decode head's ``type`` := ``'SegformerHead'``, its DHO-only arguments
  (``alpha``, ``kd_init``) removed;
* the folded model is rebuilt from that config and loaded strictly, so the exported pth / ONNX is a
  plain mmseg model whose logits equal the DHO student's combined logits.

:func:`crossmodal.deploy.student.load_part` applies it to every exported part
(``tools/export.py --alpha A`` overrides the config's alpha).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Dict, Optional, Tuple

import torch.nn as nn

__all__ = ['is_dual_head', 'stock_head_config', 'fold_state_dict', 'fold_dual_head']

HEAD_PREFIX = 'decode_head.'


def _dual_head_cls():
    from crossmodal.models.heads.dual_head_segformer import DualHeadSegformerHead

    return DualHeadSegformerHead


def is_dual_head(model: nn.Module) -> bool:
    """Whether ``model.decode_head`` is a ``DualHeadSegformerHead``."""
    return isinstance(getattr(model, 'decode_head', None), _dual_head_cls())


def stock_head_config(head_cfg: Any) -> Dict[str, Any]:
    """A ``DualHeadSegformerHead`` config -> the equivalent stock ``SegformerHead`` config (a copy;
    ``type`` replaced, ``alpha`` / ``kd_init`` removed)."""
    from crossmodal.models.heads.dual_head_segformer import DUAL_HEAD_ARGS

    out = copy.deepcopy(head_cfg)
    out['type'] = 'SegformerHead'
    for key in DUAL_HEAD_ARGS:
        out.pop(key, None)
    return out


def fold_state_dict(
    state_dict: Dict[str, Any], alpha: float, prefix: str = HEAD_PREFIX
) -> Dict[str, Any]:
    """A DHO student's state dict -> the stock student's (``prefix`` = where the head lives).

    Raises:
        KeyError: a ``conv_seg`` / ``conv_seg_kd`` weight is missing (names the keys present).
    """
    from crossmodal.models.heads.dual_head_segformer import fold_classifier

    kd = f'{prefix}conv_seg_kd.'
    lab = f'{prefix}conv_seg.'
    for key in (f'{lab}weight', f'{kd}weight'):
        if key not in state_dict:
            have = sorted(k for k in state_dict if k.startswith(prefix + 'conv_seg'))
            raise KeyError(f'fold_state_dict: no {key!r} in the state dict (head keys: {have})')
    w, b = fold_classifier(
        state_dict[f'{lab}weight'],
        state_dict.get(f'{lab}bias'),
        state_dict[f'{kd}weight'],
        state_dict.get(f'{kd}bias'),
        alpha,
    )
    out = {k: v for k, v in state_dict.items() if not k.startswith(kd)}
    out[f'{lab}weight'] = w
    if b is not None:
        out[f'{lab}bias'] = b
    return out


def fold_dual_head(
    model: nn.Module,
    part,
    alpha: Optional[float] = None,
    checkpoint: Optional[str] = None,
    config: Optional[str] = None,
    device: str = 'cpu',
) -> Tuple[nn.Module, Any, Optional[float]]:
    """``(model, part, alpha)`` with a DHO decode head folded into a stock ``SegformerHead``.

    Args:
        model: a built part (stock ``EncoderDecoder``) whose ``decode_head`` may be a
            ``DualHeadSegformerHead``.
        part: its :class:`~crossmodal.deploy.parts.ExportPart` (``model_cfg`` as trained).
        alpha: the mix weight to fold (default: the head's own ``alpha``, i.e. the config's).
        checkpoint, config: for messages of the strict load of the folded weights.

    Returns:
        The folded stock model (eval mode), the part with the stock config, and the alpha folded;
        ``(model, part, None)`` unchanged when the head is not a ``DualHeadSegformerHead``.

    Raises:
        ExportError: ``alpha`` given for a model without a ``DualHeadSegformerHead``, an alpha
            outside [0, 1], or an auxiliary head that is a ``DualHeadSegformerHead``.
    """
    from crossmodal.models.heads.dual_head_segformer import check_alpha

    from .parts import ExportError, build_part

    if not is_dual_head(model):
        if alpha is not None:
            head = type(getattr(model, 'decode_head', None)).__name__
            raise ExportError(
                f'--alpha applies to a student with a DualHeadSegformerHead (DHO); part '
                f'{part.name!r} has a {head}'
            )
        return model, part, None
    aux = getattr(model, 'auxiliary_head', None)
    if any(isinstance(m, _dual_head_cls()) for m in (aux.modules() if aux is not None else ())):
        raise ExportError(
            f'part {part.name!r}: a DualHeadSegformerHead as auxiliary head cannot be exported '
            f'(only the decode head is folded)'
        )
    try:
        a = model.decode_head.alpha if alpha is None else check_alpha(alpha, '--alpha')
    except ValueError as e:
        raise ExportError(str(e)) from None
    model_cfg = copy.deepcopy(part.model_cfg)
    model_cfg['decode_head'] = stock_head_config(model_cfg['decode_head'])
    folded = fold_state_dict(model.state_dict(), a)
    stock_part = dataclasses.replace(part, model_cfg=model_cfg)
    stock = build_part(stock_part, folded, checkpoint, config, device)
    return stock, stock_part, a
