"""Tap adapters: record a value *computed from* a module's call instead of its raw output.

A tap spec ``'<module.path>@<adapter>'`` (see :mod:`crossmodal.models.distill.taps`) attaches a
forward hook to the module that calls the adapter with the module's inputs and output; the tap's
value is what the adapter returns. Adapters are registered by name with
:func:`register_tap_adapter`.

Built in:

* ``qk``: per-head queries and keys of a SegFormer/MiT attention layer (mmseg's
  ``EfficientMultiheadAttention`` or our SDPA subclass), recomputed from the layer's input with
  :func:`crossmodal.models.backbones.project_qkv`. The value is a :class:`QueryKeyPair`
  ``(q (B, h, N, d), k (B, h, M, d))`` with ``.hw_shape = (H, W)`` of the query grid (N = H*W;
  M = N / sr_ratio^2), the input of :class:`crossmodal.models.losses.AttentionMapKDLoss`.
  softmax(q k^T / sqrt(d)) is the layer's own attention map, so use that loss with
  ``tau = sqrt(d)``. The projections are recomputed (two small linears and, for sr_ratio > 1,
  the reduction conv + norm); the N x M map is never formed. Tap e.g.
  ``'backbone.layers.2.1.0.attn@qk'`` (stage 3, first block of a MiT student) or
  ``'backbones.thermal.layers.2.1.0.attn@qk'`` (the thermal branch of a
  ``MultiModalEncoderDecoder`` teacher).
"""

from __future__ import annotations

from typing import Callable, Dict, NamedTuple, Optional

import torch
import torch.nn as nn

WHERE = 'crossmodal/models/distill/tap_adapters.py'


class TapAdapter(NamedTuple):
    """``compute(module, args, kwargs, output) -> value``; ``check(module, path)`` raises on a
    module the adapter cannot read (called once, when the tap is set up)."""

    compute: Callable
    check: Optional[Callable] = None


TAP_ADAPTERS: Dict[str, TapAdapter] = {}


def register_tap_adapter(name: str, check: Optional[Callable] = None):
    """Decorator: register ``compute`` as tap adapter ``name`` (used as ``'path@name'``)."""

    def wrap(compute):
        if name in TAP_ADAPTERS:
            raise KeyError(f'{WHERE}: tap adapter "{name}" is already registered')
        TAP_ADAPTERS[name] = TapAdapter(compute, check)
        return compute

    return wrap


def get_tap_adapter(name: str) -> TapAdapter:
    if name not in TAP_ADAPTERS:
        raise KeyError(
            f'unknown tap adapter "@{name}"; registered adapters: {sorted(TAP_ADAPTERS)}'
        )
    return TAP_ADAPTERS[name]


class QueryKeyPair(tuple):
    """``(q, k)`` with the query grid's ``hw_shape`` attached (a plain 2-tuple otherwise)."""

    def __new__(cls, q: torch.Tensor, k: torch.Tensor, hw_shape=None):
        obj = super().__new__(cls, (q, k))
        obj.hw_shape = None if hw_shape is None else tuple(int(s) for s in hw_shape)
        return obj


def _check_attention(module: nn.Module, path: str) -> None:
    from mmseg.models.backbones.mit import EfficientMultiheadAttention

    if not isinstance(module, EfficientMultiheadAttention):
        raise TypeError(
            f'tap "{path}@qk": the "qk" adapter reads a MiT attention layer '
            f'(EfficientMultiheadAttention, e.g. "backbone.layers.2.1.0.attn"), but '
            f'{path} is a {type(module).__name__}'
        )


@register_tap_adapter('qk', check=_check_attention)
def attention_qk(module: nn.Module, args, kwargs, output) -> QueryKeyPair:
    """(q, k) of ``EfficientMultiheadAttention.forward(x, hw_shape, identity=None)``."""
    from crossmodal.models.backbones.mit_sdpa import project_qkv

    x = args[0] if args else kwargs['x']
    hw_shape = args[1] if len(args) > 1 else kwargs['hw_shape']
    q, k, _ = project_qkv(module, x, hw_shape)
    return QueryKeyPair(q, k, hw_shape)
