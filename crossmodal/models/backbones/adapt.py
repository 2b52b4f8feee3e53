"""Adapting RGB-pretrained first-layer weights to inputs with other channel counts.

Same idea as timm's ``adapt_input_conv`` and smp's ``patch_first_conv`` (facts, not code): a
1-channel input gets the sum of the RGB filters (a grey image then gives the same response as the
RGB image it came from); a C-channel input repeats the RGB filters cyclically and rescales by
3 / C so the expected activation magnitude is unchanged.
"""

from __future__ import annotations

import torch


def adapt_input_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """(O, 3, kh, kw) RGB filters -> (O, in_channels, kh, kw).

    Raises:
        ValueError: when ``weight`` is not a 4-D conv weight with 3 input channels (weights of
            another channel count are returned unchanged only if they already match).
    """
    if weight.ndim != 4:
        raise ValueError(f'expected a 4-D conv weight, got shape {tuple(weight.shape)}')
    c = weight.shape[1]
    if c == in_channels:
        return weight
    if c != 3:
        raise ValueError(f'can only adapt 3-channel (RGB) filters, got {c} input channels')
    dtype = weight.dtype
    w = weight.float()
    if in_channels == 1:
        out = w.sum(dim=1, keepdim=True)
    else:
        reps = -(-in_channels // 3)
        out = w.repeat(1, reps, 1, 1)[:, :in_channels] * (3.0 / in_channels)
    return out.to(dtype)
