"""Sliding-window inference shared by every crossmodal segmentor (tensor or dict-of-modality
inputs).

Windows follow mmseg's rule (stride steps, the last window flush with the border); overlapping
window outputs are averaged. Each window's metas get ``img_shape`` and ``pad_shape`` = the window
size, so decode heads resize their logits to the window (mmseg's heads prefer ``pad_shape``).
"""

from __future__ import annotations

from typing import Callable, Dict, Iterator, List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

Inputs = Union[torch.Tensor, Dict[str, torch.Tensor]]
Outputs = Union[torch.Tensor, Dict[str, torch.Tensor]]


def first_tensor(inputs: Inputs) -> torch.Tensor:
    """The tensor itself, or the first modality of a dict (all share B, H, W)."""
    return next(iter(inputs.values())) if isinstance(inputs, dict) else inputs


def crop_inputs(inputs: Inputs, y1: int, y2: int, x1: int, x2: int) -> Inputs:
    if isinstance(inputs, dict):
        return {k: v[:, :, y1:y2, x1:x2] for k, v in inputs.items()}
    return inputs[:, :, y1:y2, x1:x2]


def windows(
    h_img: int, w_img: int, crop_size: Sequence[int], stride: Sequence[int]
) -> Iterator[Tuple[int, int, int, int]]:
    """(y1, y2, x1, x2) of every window over an h_img x w_img image."""
    (h_crop, w_crop), (h_stride, w_stride) = crop_size, stride
    h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
    w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
    for hi in range(h_grids):
        for wi in range(w_grids):
            y2 = min(hi * h_stride + h_crop, h_img)
            x2 = min(wi * w_stride + w_crop, w_img)
            yield max(y2 - h_crop, 0), y2, max(x2 - w_crop, 0), x2


def slide_average(
    inputs: Inputs,
    batch_img_metas: List[dict],
    crop_size: Sequence[int],
    stride: Sequence[int],
    fn: Callable[[Inputs, List[dict]], Outputs],
) -> Outputs:
    """Run ``fn(window_inputs, window_metas)`` -> (B, C, h, w) (or a dict of them) on every window
    and return the per-pixel average at full size (B, C, H, W) (or a dict of them)."""
    first = first_tensor(inputs)
    h_img, w_img = first.shape[2:]
    sums = None
    count = first.new_zeros((first.shape[0], 1, h_img, w_img))
    for y1, y2, x1, x2 in windows(h_img, w_img, crop_size, stride):
        shape = (y2 - y1, x2 - x1)
        metas = [dict(m, img_shape=shape, pad_shape=shape) for m in batch_img_metas]
        out = fn(crop_inputs(inputs, y1, y2, x1, x2), metas)
        outs = out if isinstance(out, dict) else {None: out}
        pad = (x1, w_img - x2, y1, h_img - y2)
        if sums is None:
            sums = {k: F.pad(v, pad) for k, v in outs.items()}
        else:
            for k, v in outs.items():
                sums[k] += F.pad(v, pad)
        count[:, :, y1:y2, x1:x2] += 1
    avg = {k: v / count for k, v in sums.items()}
    return avg if isinstance(out, dict) else avg[None]
