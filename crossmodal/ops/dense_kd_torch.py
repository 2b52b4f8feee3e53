"""Reference and chunked PyTorch implementations of the dense (per-pixel) logit KD.

The spec is the docstring of :mod:`crossmodal.ops.dense_kd`, the dispatcher. These pure-PyTorch
pieces are shared by the dispatcher and the Triton path (:mod:`crossmodal.ops.triton_dense_kd`,
which falls back to the chunked path), so neither imports the other.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from .common import acc_dtype as _acc_dtype

WHERE = 'crossmodal/ops/dense_kd_torch.py'


def check_dense_inputs(z_s, z_t, ignore_mask=None):
    """Validate (B, K, H, W) logits and an optional bool (B, H, W) ignore mask."""
    for name, z in (('z_s', z_s), ('z_t', z_t)):
        if not isinstance(z, torch.Tensor) or z.dim() != 4 or not z.is_floating_point():
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f'{WHERE}: {name} must be floating (B, K, H, W) logits, got {got}')
    if z_s.shape != z_t.shape:
        raise ValueError(
            f'{WHERE}: student logits {tuple(z_s.shape)} and teacher logits '
            f'{tuple(z_t.shape)} differ; resize the teacher logits to the student size first'
        )
    if z_s.device != z_t.device:
        raise ValueError(f'{WHERE}: z_s on {z_s.device} but z_t on {z_t.device}')
    B, K, H, W = z_s.shape
    if ignore_mask is not None:
        if (
            not isinstance(ignore_mask, torch.Tensor)
            or ignore_mask.dtype != torch.bool
            or tuple(ignore_mask.shape) != (B, H, W)
        ):
            got = (
                (tuple(ignore_mask.shape), ignore_mask.dtype)
                if isinstance(ignore_mask, torch.Tensor)
                else type(ignore_mask)
            )
            raise ValueError(
                f'{WHERE}: ignore_mask must be a bool (B, H, W) = ({B}, {H}, {W}) tensor '
                f'(True = ignored pixel), got {got}'
            )


def reduce_pixels(
    kl: torch.Tensor, ignore_mask: Optional[torch.Tensor], tau: float, reduction: str
) -> torch.Tensor:
    """kl (B, H, W) -> tau^2 * mean over valid pixels ('mean'; 0 if none), 'sum', or 'none'."""
    if reduction not in ('mean', 'sum', 'none'):
        raise ValueError(f'{WHERE}: reduction must be mean|sum|none, got {reduction!r}')
    kl = kl * (tau * tau)
    if ignore_mask is not None:
        kl = torch.where(ignore_mask, kl.new_zeros(()), kl)
    if reduction == 'none':
        return kl
    total = kl.sum()
    if reduction == 'sum':
        return total
    if ignore_mask is None:
        return total / kl.numel()
    return total / (~ignore_mask).sum().clamp(min=1).to(total.dtype)


def dense_kd_reference(
    z_s,
    z_t,
    tau: float = 1.0,
    ignore_mask=None,
    reduction: str = 'mean',
    teacher_grad: bool = False,
) -> torch.Tensor:
    """The spec (composed PyTorch). See the module docstring."""
    check_dense_inputs(z_s, z_t, ignore_mask)
    if not teacher_grad:
        z_t = z_t.detach()
    acc = _acc_dtype(z_s.dtype)
    logp_s = F.log_softmax(z_s.to(acc) / tau, dim=1)
    logp_t = F.log_softmax(z_t.to(acc) / tau, dim=1)
    kl = (logp_t.exp() * (logp_t - logp_s)).sum(1)
    return reduce_pixels(kl, ignore_mask, tau, reduction)


class DenseKDChunked(torch.autograd.Function):
    """Per-pixel KL (B, P) of (B, K, P) logits, P = H*W, computed over pixel chunks."""

    @staticmethod
    def forward(ctx, z_s, z_t, scale: float, chunk: int):
        B, K, P = z_s.shape
        acc = _acc_dtype(z_s.dtype)
        kl = torch.empty(B, P, dtype=acc, device=z_s.device)
        lse_s, lse_t = torch.empty_like(kl), torch.empty_like(kl)
        for p0 in range(0, P, chunk):
            p1 = min(p0 + chunk, P)
            zs = z_s[:, :, p0:p1].to(acc) * scale
            zt = z_t[:, :, p0:p1].to(acc) * scale
            ls = torch.logsumexp(zs, dim=1)
            lt = torch.logsumexp(zt, dim=1)
            diff = zt - zs
            del zs
            pt = torch.exp(zt.sub_(lt[:, None]))
            kl[:, p0:p1] = pt.mul_(diff).sum(1) - lt + ls
            lse_s[:, p0:p1] = ls
            lse_t[:, p0:p1] = lt
            del diff, pt, zt
        ctx.save_for_backward(z_s, z_t, lse_s, lse_t, kl)
        ctx.cfg = (scale, chunk)
        return kl

    @staticmethod
    def backward(ctx, grad_kl):
        z_s, z_t, lse_s, lse_t, kl = ctx.saved_tensors
        scale, chunk = ctx.cfg
        need_s, need_t = ctx.needs_input_grad[:2]
        B, K, P = z_s.shape
        acc = kl.dtype
        dz_s = torch.empty_like(z_s) if need_s else None
        dz_t = torch.empty_like(z_t) if need_t else None
        for p0 in range(0, P, chunk):
            p1 = min(p0 + chunk, P)
            g = (grad_kl[:, p0:p1].to(acc) * scale)[:, None]
            log_ps = (z_s[:, :, p0:p1].to(acc) * scale).sub_(lse_s[:, None, p0:p1])
            log_pt = (z_t[:, :, p0:p1].to(acc) * scale).sub_(lse_t[:, None, p0:p1])
            p_t = torch.exp(log_pt)
            if need_t:
                # dKL/dz_t = p_t * (log p_t - log p_s - KL) / tau
                dz_t[:, :, p0:p1] = (log_pt - log_ps).sub_(kl[:, None, p0:p1]).mul_(p_t).mul_(g)
            if need_s:
                # dKL/dz_s = (p_s - p_t) / tau
                dz_s[:, :, p0:p1] = log_ps.exp_().sub_(p_t).mul_(g)
            del log_ps, log_pt, p_t
        return dz_s, dz_t, None, None


def dense_kd_chunked(
    z_s,
    z_t,
    tau: float = 1.0,
    ignore_mask=None,
    reduction: str = 'mean',
    teacher_grad: bool = False,
    chunk: Optional[int] = None,
) -> torch.Tensor:
    """Memory-bounded path. chunk: pixels per step (default: ~2^20 elements per B x K x chunk)."""
    check_dense_inputs(z_s, z_t, ignore_mask)
    if not teacher_grad:
        z_t = z_t.detach()
    B, K, H, W = z_s.shape
    if chunk is None:
        chunk = max(1, (1 << 20) // max(1, B * K))
    if chunk < 1:
        raise ValueError(f'{WHERE}: chunk must be >= 1, got {chunk}')
    kl = DenseKDChunked.apply(
        z_s.reshape(B, K, H * W), z_t.reshape(B, K, H * W), 1.0 / float(tau), int(chunk)
    )
    return reduce_pixels(kl.view(B, H, W), ignore_mask, tau, reduction)
