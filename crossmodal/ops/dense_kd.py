"""Dense (per-pixel) logit distillation without B x K x H x W temporaries.

For logits z_s, z_t of shape (B, K, H, W) and temperature tau, per pixel (b, y, x)::

    p_t = softmax(z_t[b, :, y, x] / tau),  p_s = softmax(z_s[b, :, y, x] / tau)
    KL  = sum_k p_t[k] * (log p_t[k] - log p_s[k])

    loss = tau^2 * mean over valid pixels of KL

The tau^2 factor is Hinton et al.'s convention ("Distilling the Knowledge in a Neural Network",
2015): the gradient of the soft term scales as 1/tau^2, multiplying by tau^2 keeps its magnitude
comparable across temperatures. It is the pixel-wise KD used by structured-KD segmentation work
(Liu et al. CVPR 2019; CIRKD, Yang et al. CVPR 2022 use the same per-pixel KL).

Implementations (one spec):

* ``reference``: composed PyTorch (log_softmax twice, exp, product, sum): several B x K x H x W
  temporaries in forward and autograd's backward.
* ``chunked``: a :class:`torch.autograd.Function` over pixel chunks; the forward keeps only
  per-pixel log-sum-exps and KL (B x H x W), the backward writes ``dKL/dz_s = (p_s - p_t) / tau``
  chunk by chunk straight into the gradient tensor. Used on CPU.
* ``triton``: fused Triton kernels (:mod:`crossmodal.ops.triton_dense_kd`), used on CUDA.
"""

from __future__ import annotations

from typing import Optional

import torch

from .common import resolve_impl

# reference / chunked paths live in dense_kd_torch (imported by the Triton module too); their names
# stay importable from here
from .dense_kd_torch import (
    dense_kd_chunked,  # noqa: F401
    dense_kd_reference,
)
from .dense_kd_torch import DenseKDChunked  # noqa: F401  (re-exported)
from .dense_kd_torch import check_dense_inputs, reduce_pixels  # noqa: F401

WHERE = 'crossmodal/ops/dense_kd.py'


def dense_kd(
    z_s: torch.Tensor,
    z_t: torch.Tensor,
    tau: float = 1.0,
    ignore_mask: Optional[torch.Tensor] = None,
    impl: str = 'auto',
    reduction: str = 'mean',
    teacher_grad: bool = False,
    **kwargs,
) -> torch.Tensor:
    """tau^2 * mean over non-ignored pixels of KL(softmax(z_t/tau) || softmax(z_s/tau)).

    Args:
        z_s: student logits (B, K, H, W). z_t: teacher logits, same shape.
        tau: temperature (> 0).
        ignore_mask: optional bool (B, H, W), True = pixel excluded (e.g. label == ignore_index).
        impl: 'auto' (triton on CUDA, chunked otherwise) | 'reference' | 'chunked' | 'triton'.
        reduction: 'mean' (0 when every pixel is ignored) | 'sum' | 'none' ((B, H, W) map);
            all include the tau^2 factor.
        teacher_grad: also return a gradient to z_t (default: z_t is detached).
        kwargs: ``chunk`` (pixels per step) for 'chunked', ``block_p`` for 'triton'.

    Returns:
        scalar (float32, float64 for float64 inputs) in nats x tau^2.
    """
    impl = resolve_impl(impl, z_s.device, WHERE)
    if tau <= 0:
        raise ValueError(f'{WHERE}: tau must be > 0, got {tau}')
    if impl == 'reference':
        if kwargs:
            raise ValueError(f'{WHERE}: options {sorted(kwargs)} do not apply to impl=reference')
        return dense_kd_reference(z_s, z_t, tau, ignore_mask, reduction, teacher_grad)
    if impl == 'chunked':
        return dense_kd_chunked(z_s, z_t, tau, ignore_mask, reduction, teacher_grad, **kwargs)
    from .triton_dense_kd import dense_kd_triton

    return dense_kd_triton(z_s, z_t, tau, ignore_mask, reduction, teacher_grad, **kwargs)
