"""Triton kernels for :func:`crossmodal.ops.dense_kd.dense_kd` (impl='triton').

One program per (block of pixels, image): loads the (K x BLOCK_P) tiles of both logit maps
(pixels contiguous, so loads are coalesced), computes both log-sum-exps over classes and the
per-pixel KL, and stores only (B, H*W) statistics. The backward kernel recomputes the softmaxes
from those statistics and writes dz_s = g (p_s - p_t) / tau (and optionally dz_t) directly.
All classes of a pixel live in one tile: K <= 4096 (BLOCK_K = next power of two of K).
Compute is float32. Triton is imported lazily (see :mod:`crossmodal.ops.triton_attention_kl`).
"""

from __future__ import annotations

import functools
import types

import torch

from . import triton_launch
from .dense_kd_torch import DenseKDChunked, check_dense_inputs, dense_kd_chunked, reduce_pixels
from .triton_attention_kl import _next_pow2, _out_of_resources, log_fallback

WHERE = 'crossmodal/ops/triton_dense_kd.py'
MAX_CLASSES = 4096
triton = None
tl = None


@functools.lru_cache(maxsize=None)
def kernels():
    """Import Triton and define the kernels (once)."""
    return define_kernels()


def define_kernels():
    """Define (dense_kd_fwd, dense_kd_bwd) afresh (uncached; see
    triton_attention_kl.define_kernels)."""
    global triton, tl
    try:
        import triton as _triton
        import triton.language as _tl
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f'{WHERE}: impl="triton" needs the `triton` package '
            '(pip install "triton==3.7.*"); use impl="chunked" without it'
        ) from exc
    triton, tl = _triton, _tl

    @triton.jit
    def dense_kd_fwd(
        ZS, ZT, KL, LSES, LSET, K, P, scale, BLOCK_K: tl.constexpr, BLOCK_P: tl.constexpr
    ):
        pid_p = tl.program_id(0)
        b = tl.program_id(1).to(tl.int64)
        offs_k = tl.arange(0, BLOCK_K)
        offs_p = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)
        kmask = offs_k < K
        pmask = offs_p < P
        m2 = kmask[:, None] & pmask[None, :]
        off = b * K * P + offs_k[:, None] * P + offs_p[None, :]
        zs = tl.load(ZS + off, mask=m2, other=0.0).to(tl.float32) * scale
        zt = tl.load(ZT + off, mask=m2, other=0.0).to(tl.float32) * scale
        diff = tl.where(kmask[:, None], zt - zs, 0.0)
        zs = tl.where(kmask[:, None], zs, float('-inf'))
        zt = tl.where(kmask[:, None], zt, float('-inf'))
        m_s = tl.max(zs, 0)
        m_t = tl.max(zt, 0)
        lse_s = m_s + tl.log(tl.sum(tl.exp(zs - m_s[None, :]), 0))
        e_t = tl.exp(zt - m_t[None, :])
        l_t = tl.sum(e_t, 0)
        lse_t = m_t + tl.log(l_t)
        kl = tl.sum(e_t * diff, 0) / l_t - lse_t + lse_s
        tl.store(KL + b * P + offs_p, kl, mask=pmask)
        tl.store(LSES + b * P + offs_p, lse_s, mask=pmask)
        tl.store(LSET + b * P + offs_p, lse_t, mask=pmask)

    @triton.jit
    def dense_kd_bwd(
        ZS,
        ZT,
        LSES,
        LSET,
        KL,
        G,
        DZS,
        DZT,
        K,
        P,
        scale,
        BLOCK_K: tl.constexpr,
        BLOCK_P: tl.constexpr,
        NEED_S: tl.constexpr,
        NEED_T: tl.constexpr,
    ):
        pid_p = tl.program_id(0)
        b = tl.program_id(1).to(tl.int64)
        offs_k = tl.arange(0, BLOCK_K)
        offs_p = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)
        kmask = offs_k < K
        pmask = offs_p < P
        m2 = kmask[:, None] & pmask[None, :]
        off = b * K * P + offs_k[:, None] * P + offs_p[None, :]
        lse_s = tl.load(LSES + b * P + offs_p, mask=pmask, other=0.0)
        lse_t = tl.load(LSET + b * P + offs_p, mask=pmask, other=0.0)
        g = tl.load(G + b * P + offs_p, mask=pmask, other=0.0) * scale
        log_ps = tl.load(ZS + off, mask=m2, other=0.0).to(tl.float32) * scale - lse_s[None, :]
        log_pt = tl.load(ZT + off, mask=m2, other=0.0).to(tl.float32) * scale - lse_t[None, :]
        p_t = tl.exp(log_pt)
        if NEED_S:
            dzs = g[None, :] * (tl.exp(log_ps) - p_t)
            tl.store(DZS + off, dzs.to(DZS.dtype.element_ty), mask=m2)
        if NEED_T:
            kl = tl.load(KL + b * P + offs_p, mask=pmask, other=0.0)
            dzt = g[None, :] * p_t * (log_pt - log_ps - kl[None, :])
            tl.store(DZT + off, dzt.to(DZT.dtype.element_ty), mask=m2)

    return dense_kd_fwd, dense_kd_bwd


def launch_configs(K: int, device: torch.device, block_p=None):
    """{'fwd', 'bwd'} -> :class:`~crossmodal.ops.triton_launch.LaunchConfig` (or None where nothing
    fits) for K classes on ``device`` (no shared-memory limit off CUDA), and the limit in bytes."""
    limit = triton_launch.device_smem_limit(device) if device.type == 'cuda' else None
    cfgs = {
        k: triton_launch.dense_kd_config(k, K, limit if limit is not None else 1 << 62, block_p)
        for k in triton_launch.DENSE_KERNELS
    }
    return cfgs, limit


class DenseKDTriton(torch.autograd.Function):
    """Per-pixel KL (B, P) of (B, K, P) logits (float32) via the Triton kernels above."""

    @staticmethod
    def forward(ctx, z_s, z_t, scale: float, cfgs):
        fwd, _ = kernels()
        B, K, P = z_s.shape
        zs, zt = z_s.detach().contiguous(), z_t.detach().contiguous()
        kl = torch.empty(B, P, dtype=torch.float32, device=z_s.device)
        lse_s, lse_t = torch.empty_like(kl), torch.empty_like(kl)
        c = cfgs['fwd']
        fwd[(triton.cdiv(P, c.block_p), B)](
            zs,
            zt,
            kl,
            lse_s,
            lse_t,
            K,
            P,
            float(scale),
            BLOCK_K=_next_pow2(K),
            BLOCK_P=c.block_p,
            **c.launch_kwargs(),
        )
        ctx.save_for_backward(zs, zt, lse_s, lse_t, kl)
        ctx.cfg = (scale, cfgs)
        return kl

    @staticmethod
    def backward(ctx, grad_kl):
        _, bwd = kernels()
        zs, zt, lse_s, lse_t, kl = ctx.saved_tensors
        scale, cfgs = ctx.cfg
        need_s, need_t = ctx.needs_input_grad[:2]
        B, K, P = zs.shape
        dzs = torch.empty_like(zs) if need_s else zs.new_empty(0)
        dzt = torch.empty_like(zt) if need_t else zt.new_empty(0)
        c = cfgs['bwd']
        try:
            bwd[(triton.cdiv(P, c.block_p), B)](
                zs,
                zt,
                lse_s,
                lse_t,
                kl,
                grad_kl.float().contiguous(),
                dzs,
                dzt,
                K,
                P,
                float(scale),
                BLOCK_K=_next_pow2(K),
                BLOCK_P=c.block_p,
                NEED_S=bool(need_s),
                NEED_T=bool(need_t),
                **c.launch_kwargs(),
            )
        except _out_of_resources() as exc:
            log_fallback(
                f'{WHERE}: Triton backward does not fit this device ({exc}); using the chunked '
                f'PyTorch backward for K={K}'
            )
            fake = types.SimpleNamespace(
                saved_tensors=ctx.saved_tensors,
                needs_input_grad=(need_s, need_t),
                cfg=(scale, max(1, (1 << 20) // max(1, B * K))),
            )
            return (*DenseKDChunked.backward(fake, grad_kl)[:2], None, None)
        return (dzs if need_s else None), (dzt if need_t else None), None, None


def dense_kd_triton(
    z_s,
    z_t,
    tau: float = 1.0,
    ignore_mask=None,
    reduction: str = 'mean',
    teacher_grad: bool = False,
    block_p=None,
) -> torch.Tensor:
    """Triton path of :func:`crossmodal.ops.dense_kd.dense_kd` (same arguments).

    block_p: pixels per program (power of two; default about 8192 / K, halved on CUDA until it fits
    the device's shared memory, :func:`crossmodal.ops.triton_launch.dense_kd_config`). Needs
    K <= 4096. Where nothing fits, the chunked PyTorch path runs and the reason is logged once.
    """
    check_dense_inputs(z_s, z_t, ignore_mask)
    B, K, H, W = z_s.shape
    if K > MAX_CLASSES:
        raise ValueError(
            f'{WHERE}: K = {K} classes exceeds the one-tile limit {MAX_CLASSES}; use impl="chunked"'
        )
    if block_p is not None and (int(block_p) < 1 or int(block_p) & (int(block_p) - 1)):
        raise ValueError(f'{WHERE}: block_p must be a power of two, got {block_p}')
    cfgs, limit = launch_configs(K, z_s.device, block_p)
    missing = [k for k, c in cfgs.items() if c is None]

    def chunked(reason):
        log_fallback(f'{WHERE}: {reason}; using the chunked PyTorch path (impl="chunked") instead')
        return dense_kd_chunked(z_s, z_t, tau, ignore_mask, reduction, teacher_grad)

    if missing:
        return chunked(
            f'no launch configuration of {missing} fits the {limit} bytes of shared memory '
            f'per block of {z_s.device} (K={K}, block_p={block_p})'
        )
    if not teacher_grad:
        z_t = z_t.detach()
    try:
        kl = DenseKDTriton.apply(
            z_s.reshape(B, K, H * W), z_t.reshape(B, K, H * W), 1.0 / float(tau), cfgs
        )
    except _out_of_resources() as exc:
        return chunked(f'the Triton forward does not fit {z_s.device} ({exc})')
    return reduce_pixels(kl.view(B, H, W), ignore_mask, tau, reduction)
