"""Triton kernels for :func:`crossmodal.ops.attention_kl.attention_kl` (impl='triton').

Same algorithm as the chunked PyTorch path (see :mod:`crossmodal.ops.attention_kl`):

* forward, one program per (query block, batch*head): loops over key blocks keeping the running
  max / sum-exp of both softmaxes and the running ``sum_j exp(S_t - m_t) (S_t - S_s)``; writes
  per-row ``KL_i``, ``lse_s``, ``lse_t`` (O(N) memory).
* backward, two kernels like flash-attention's: one program per query block accumulates
  dQ over key blocks, one program per key block accumulates dK over query blocks (no atomics),
  recomputing the score tiles from the stored row statistics.

Compute is float32 (inputs are cast); ``tl.dot`` runs with ``input_precision='ieee'`` by
default (``'tf32'`` is faster on Ampere+ GPUs and ~1e-3 relative less accurate). Triton is
imported lazily, the first time a kernel is needed, so this module imports without Triton, and
``TRITON_INTERPRET=1`` (read by ``triton.jit`` when the kernels are defined) can be set by the
caller beforehand to run the kernels on CPU.
"""

from __future__ import annotations

import functools
import logging
import types
from typing import Dict, Optional

import torch

from . import triton_launch
from .attention_kl_torch import (
    AttentionKLChunked,
    attention_kl_chunked,
    check_attention_inputs,
    reduce_rows,
)

logger = logging.getLogger(__name__)

triton = None
tl = None
_grad_tiles = None


_next_pow2 = triton_launch._next_pow2


@functools.lru_cache(maxsize=None)
def kernels():
    """Import Triton and define the kernels (once). Raises ImportError with a hint if missing."""
    return define_kernels()


def define_kernels():
    """Define (attn_kl_fwd, attn_kl_bwd_dq, attn_kl_bwd_dk) afresh (uncached).

    ``triton.jit`` reads ``TRITON_INTERPRET`` here, so this also serves
    :mod:`crossmodal.ops.triton_aot`'s ahead-of-time compile, which needs compiled (not
    interpreted) kernels inside a process that runs the others in the interpreter. Sets the module
    global ``_grad_tiles`` (the helper both backward kernels call; the interpreter looks it up in
    the module's globals at run time)."""
    global triton, tl, _grad_tiles
    try:
        import triton as _triton
        import triton.language as _tl
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            'crossmodal/ops/triton_attention_kl.py: impl="triton" needs the `triton` '
            'package (pip install "triton==3.7.*"); use impl="chunked" on machines '
            'without it'
        ) from exc
    triton, tl = _triton, _tl

    @triton.jit
    def attn_kl_fwd(
        QS,
        KS,
        QT,
        KT,
        KL,
        LSES,
        LSET,
        N,
        M,
        DS,
        DT,
        scale,
        BLOCK_Q: tl.constexpr,
        BLOCK_K: tl.constexpr,
        BLOCK_DS: tl.constexpr,
        BLOCK_DT: tl.constexpr,
        PREC: tl.constexpr,
    ):
        pid_q = tl.program_id(0)
        bh = tl.program_id(1).to(tl.int64)
        offs_q = pid_q * BLOCK_Q + tl.arange(0, BLOCK_Q)
        offs_ds = tl.arange(0, BLOCK_DS)
        offs_dt = tl.arange(0, BLOCK_DT)
        qmask = offs_q < N
        qs = tl.load(
            QS + bh * N * DS + offs_q[:, None] * DS + offs_ds[None, :],
            mask=qmask[:, None] & (offs_ds[None, :] < DS),
            other=0.0,
        )
        qt = tl.load(
            QT + bh * N * DT + offs_q[:, None] * DT + offs_dt[None, :],
            mask=qmask[:, None] & (offs_dt[None, :] < DT),
            other=0.0,
        )
        m_s = tl.full([BLOCK_Q], float('-inf'), tl.float32)
        m_t = tl.full([BLOCK_Q], float('-inf'), tl.float32)
        l_s = tl.zeros([BLOCK_Q], tl.float32)
        l_t = tl.zeros([BLOCK_Q], tl.float32)
        a_t = tl.zeros([BLOCK_Q], tl.float32)
        for j0 in range(0, M, BLOCK_K):
            offs_k = j0 + tl.arange(0, BLOCK_K)
            kmask = offs_k < M
            ks = tl.load(
                KS + bh * M * DS + offs_k[:, None] * DS + offs_ds[None, :],
                mask=kmask[:, None] & (offs_ds[None, :] < DS),
                other=0.0,
            )
            kt = tl.load(
                KT + bh * M * DT + offs_k[:, None] * DT + offs_dt[None, :],
                mask=kmask[:, None] & (offs_dt[None, :] < DT),
                other=0.0,
            )
            ss = tl.dot(qs, tl.trans(ks), input_precision=PREC) * scale
            st = tl.dot(qt, tl.trans(kt), input_precision=PREC) * scale
            diff = tl.where(kmask[None, :], st - ss, 0.0)
            ss = tl.where(kmask[None, :], ss, float('-inf'))
            st = tl.where(kmask[None, :], st, float('-inf'))
            new_m_s = tl.maximum(m_s, tl.max(ss, 1))
            l_s = l_s * tl.exp(m_s - new_m_s) + tl.sum(tl.exp(ss - new_m_s[:, None]), 1)
            m_s = new_m_s
            new_m_t = tl.maximum(m_t, tl.max(st, 1))
            alpha = tl.exp(m_t - new_m_t)
            e_t = tl.exp(st - new_m_t[:, None])
            l_t = l_t * alpha + tl.sum(e_t, 1)
            a_t = a_t * alpha + tl.sum(e_t * diff, 1)
            m_t = new_m_t
        lse_s = m_s + tl.log(l_s)
        lse_t = m_t + tl.log(l_t)
        kl = a_t / l_t - lse_t + lse_s
        tl.store(KL + bh * N + offs_q, kl, mask=qmask)
        tl.store(LSES + bh * N + offs_q, lse_s, mask=qmask)
        tl.store(LSET + bh * N + offs_q, lse_t, mask=qmask)

    @triton.jit
    def _grad_tiles(ss, st, lse_s, lse_t, kl, g, valid, scale, NEED_T: tl.constexpr):
        """Recompute (dS_s, dS_t) of one tile, already multiplied by g and scale."""
        log_ps = ss - lse_s[:, None]
        log_pt = st - lse_t[:, None]
        p_s = tl.where(valid, tl.exp(log_ps), 0.0)
        p_t = tl.where(valid, tl.exp(log_pt), 0.0)
        gs = (g * scale)[:, None]
        ds = gs * (p_s - p_t)
        if NEED_T:
            dt = gs * p_t * tl.where(valid, log_pt - log_ps - kl[:, None], 0.0)
        else:
            dt = ds
        return ds, dt

    @triton.jit
    def attn_kl_bwd_dq(
        QS,
        KS,
        QT,
        KT,
        LSES,
        LSET,
        KLR,
        G,
        DQS,
        DQT,
        N,
        M,
        DS,
        DT,
        scale,
        BLOCK_Q: tl.constexpr,
        BLOCK_K: tl.constexpr,
        BLOCK_DS: tl.constexpr,
        BLOCK_DT: tl.constexpr,
        PREC: tl.constexpr,
        NEED_S: tl.constexpr,
        NEED_T: tl.constexpr,
    ):
        pid_q = tl.program_id(0)
        bh = tl.program_id(1).to(tl.int64)
        offs_q = pid_q * BLOCK_Q + tl.arange(0, BLOCK_Q)
        offs_ds = tl.arange(0, BLOCK_DS)
        offs_dt = tl.arange(0, BLOCK_DT)
        qmask = offs_q < N
        qs_mask = qmask[:, None] & (offs_ds[None, :] < DS)
        qt_mask = qmask[:, None] & (offs_dt[None, :] < DT)
        qs = tl.load(
            QS + bh * N * DS + offs_q[:, None] * DS + offs_ds[None, :], mask=qs_mask, other=0.0
        )
        qt = tl.load(
            QT + bh * N * DT + offs_q[:, None] * DT + offs_dt[None, :], mask=qt_mask, other=0.0
        )
        lse_s = tl.load(LSES + bh * N + offs_q, mask=qmask, other=0.0)
        lse_t = tl.load(LSET + bh * N + offs_q, mask=qmask, other=0.0)
        kl = tl.load(KLR + bh * N + offs_q, mask=qmask, other=0.0)
        g = tl.load(G + bh * N + offs_q, mask=qmask, other=0.0)
        dqs = tl.zeros([BLOCK_Q, BLOCK_DS], tl.float32)
        dqt = tl.zeros([BLOCK_Q, BLOCK_DT], tl.float32)
        for j0 in range(0, M, BLOCK_K):
            offs_k = j0 + tl.arange(0, BLOCK_K)
            kmask = offs_k < M
            ks = tl.load(
                KS + bh * M * DS + offs_k[:, None] * DS + offs_ds[None, :],
                mask=kmask[:, None] & (offs_ds[None, :] < DS),
                other=0.0,
            )
            kt = tl.load(
                KT + bh * M * DT + offs_k[:, None] * DT + offs_dt[None, :],
                mask=kmask[:, None] & (offs_dt[None, :] < DT),
                other=0.0,
            )
            ss = tl.dot(qs, tl.trans(ks), input_precision=PREC) * scale
            st = tl.dot(qt, tl.trans(kt), input_precision=PREC) * scale
            valid = qmask[:, None] & kmask[None, :]
            ds, dt = _grad_tiles(ss, st, lse_s, lse_t, kl, g, valid, scale, NEED_T)
            if NEED_S:
                dqs += tl.dot(ds, ks, input_precision=PREC)
            if NEED_T:
                dqt += tl.dot(dt, kt, input_precision=PREC)
        if NEED_S:
            tl.store(DQS + bh * N * DS + offs_q[:, None] * DS + offs_ds[None, :], dqs, mask=qs_mask)
        if NEED_T:
            tl.store(DQT + bh * N * DT + offs_q[:, None] * DT + offs_dt[None, :], dqt, mask=qt_mask)

    @triton.jit
    def attn_kl_bwd_dk(
        QS,
        KS,
        QT,
        KT,
        LSES,
        LSET,
        KLR,
        G,
        DKS,
        DKT,
        N,
        M,
        DS,
        DT,
        scale,
        BLOCK_Q: tl.constexpr,
        BLOCK_K: tl.constexpr,
        BLOCK_DS: tl.constexpr,
        BLOCK_DT: tl.constexpr,
        PREC: tl.constexpr,
        NEED_S: tl.constexpr,
        NEED_T: tl.constexpr,
    ):
        pid_k = tl.program_id(0)
        bh = tl.program_id(1).to(tl.int64)
        offs_k = pid_k * BLOCK_K + tl.arange(0, BLOCK_K)
        offs_ds = tl.arange(0, BLOCK_DS)
        offs_dt = tl.arange(0, BLOCK_DT)
        kmask = offs_k < M
        ks_mask = kmask[:, None] & (offs_ds[None, :] < DS)
        kt_mask = kmask[:, None] & (offs_dt[None, :] < DT)
        ks = tl.load(
            KS + bh * M * DS + offs_k[:, None] * DS + offs_ds[None, :], mask=ks_mask, other=0.0
        )
        kt = tl.load(
            KT + bh * M * DT + offs_k[:, None] * DT + offs_dt[None, :], mask=kt_mask, other=0.0
        )
        dks = tl.zeros([BLOCK_K, BLOCK_DS], tl.float32)
        dkt = tl.zeros([BLOCK_K, BLOCK_DT], tl.float32)
        for i0 in range(0, N, BLOCK_Q):
            offs_q = i0 + tl.arange(0, BLOCK_Q)
            qmask = offs_q < N
            qs = tl.load(
                QS + bh * N * DS + offs_q[:, None] * DS + offs_ds[None, :],
                mask=qmask[:, None] & (offs_ds[None, :] < DS),
                other=0.0,
            )
            qt = tl.load(
                QT + bh * N * DT + offs_q[:, None] * DT + offs_dt[None, :],
                mask=qmask[:, None] & (offs_dt[None, :] < DT),
                other=0.0,
            )
            lse_s = tl.load(LSES + bh * N + offs_q, mask=qmask, other=0.0)
            lse_t = tl.load(LSET + bh * N + offs_q, mask=qmask, other=0.0)
            kl = tl.load(KLR + bh * N + offs_q, mask=qmask, other=0.0)
            g = tl.load(G + bh * N + offs_q, mask=qmask, other=0.0)
            ss = tl.dot(qs, tl.trans(ks), input_precision=PREC) * scale
            st = tl.dot(qt, tl.trans(kt), input_precision=PREC) * scale
            valid = qmask[:, None] & kmask[None, :]
            ds, dt = _grad_tiles(ss, st, lse_s, lse_t, kl, g, valid, scale, NEED_T)
            if NEED_S:
                dks += tl.dot(tl.trans(ds), qs, input_precision=PREC)
            if NEED_T:
                dkt += tl.dot(tl.trans(dt), qt, input_precision=PREC)
        if NEED_S:
            tl.store(DKS + bh * M * DS + offs_k[:, None] * DS + offs_ds[None, :], dks, mask=ks_mask)
        if NEED_T:
            tl.store(DKT + bh * M * DT + offs_k[:, None] * DT + offs_dt[None, :], dkt, mask=kt_mask)

    return attn_kl_fwd, attn_kl_bwd_dq, attn_kl_bwd_dk


_block_d = triton_launch.block_d


@functools.lru_cache(maxsize=64)
def log_fallback(reason: str) -> None:
    """Log (once per distinct reason) why the chunked PyTorch path runs instead of Triton."""
    logger.warning('%s', reason)


def _out_of_resources():
    """Triton's OutOfResources class (raised at launch when a kernel exceeds the device limits)."""
    from triton.runtime.errors import OutOfResources

    return OutOfResources


def launch_configs(
    d_s: int, d_t: int, device: torch.device, block_q=None, block_k=None, precision: str = 'ieee'
):
    """{'fwd', 'bwd_dq', 'bwd_dk'} -> :class:`~crossmodal.ops.triton_launch.LaunchConfig` sized to
    ``device``'s shared-memory limit (no limit off CUDA, i.e. in the interpreter), and the limit
    in bytes (None off CUDA). A kernel without a fitting configuration maps to None."""
    limit = triton_launch.device_smem_limit(device) if device.type == 'cuda' else None
    cfgs = {
        k: triton_launch.attention_kl_config(
            k,
            d_s,
            d_t,
            limit if limit is not None else 1 << 62,
            block_q,
            block_k,
            precision=precision,
        )
        for k in triton_launch.ATTENTION_KERNELS
    }
    return cfgs, limit


class AttentionKLTriton(torch.autograd.Function):
    """Per-row KL (B, h, N), float32, computed by the Triton kernels above."""

    @staticmethod
    def forward(
        ctx,
        q_s,
        k_s,
        q_t,
        k_t,
        scale: float,
        cfgs: Dict[str, 'triton_launch.LaunchConfig'],
        precision: str,
    ):
        fwd, _, _ = kernels()
        B, h, N, d_s = q_s.shape
        M, d_t = k_s.shape[2], q_t.shape[3]
        qs, ks, qt, kt = (t.detach().float().contiguous() for t in (q_s, k_s, q_t, k_t))
        kl = torch.empty(B, h, N, dtype=torch.float32, device=q_s.device)
        lse_s, lse_t = torch.empty_like(kl), torch.empty_like(kl)
        c = cfgs['fwd']
        grid = (triton.cdiv(N, c.block_q), B * h)
        fwd[grid](
            qs,
            ks,
            qt,
            kt,
            kl,
            lse_s,
            lse_t,
            N,
            M,
            d_s,
            d_t,
            float(scale),
            BLOCK_Q=c.block_q,
            BLOCK_K=c.block_k,
            BLOCK_DS=_block_d(d_s),
            BLOCK_DT=_block_d(d_t),
            PREC=precision,
            **c.launch_kwargs(),
        )
        ctx.save_for_backward(qs, ks, qt, kt, lse_s, lse_t, kl)
        ctx.cfg = (scale, cfgs, precision, [t.dtype for t in (q_s, k_s, q_t, k_t)])
        return kl

    @staticmethod
    def backward(ctx, grad_kl):
        _, bwd_dq, bwd_dk = kernels()
        qs, ks, qt, kt, lse_s, lse_t, kl = ctx.saved_tensors
        scale, cfgs, precision, dtypes = ctx.cfg
        need = ctx.needs_input_grad[:4]
        need_s, need_t = need[0] or need[1], need[2] or need[3]
        B, h, N, d_s = qs.shape
        M, d_t = ks.shape[2], qt.shape[3]
        g = grad_kl.float().contiguous()
        dqs, dks = torch.zeros_like(qs), torch.zeros_like(ks)
        dqt, dkt = torch.zeros_like(qt), torch.zeros_like(kt)
        try:
            for name, kernel, flag, outs in (
                ('bwd_dq', bwd_dq, need[0] or need[2], (dqs, dqt)),
                ('bwd_dk', bwd_dk, need[1] or need[3], (dks, dkt)),
            ):
                if not flag:
                    continue
                c = cfgs[name]
                rows = N if name == 'bwd_dq' else M
                block = c.block_q if name == 'bwd_dq' else c.block_k
                kernel[(triton.cdiv(rows, block), B * h)](
                    qs,
                    ks,
                    qt,
                    kt,
                    lse_s,
                    lse_t,
                    kl,
                    g,
                    *outs,
                    N,
                    M,
                    d_s,
                    d_t,
                    float(scale),
                    BLOCK_Q=c.block_q,
                    BLOCK_K=c.block_k,
                    BLOCK_DS=_block_d(d_s),
                    BLOCK_DT=_block_d(d_t),
                    PREC=precision,
                    NEED_S=need_s,
                    NEED_T=need_t,
                    **c.launch_kwargs(),
                )
        except _out_of_resources() as exc:
            # the size model under-estimated this device: redo the backward with the chunked path
            log_fallback(
                f'crossmodal/ops/triton_attention_kl.py: Triton backward does not fit this '
                f'device ({exc}); using the chunked PyTorch backward for d_s={d_s}, d_t={d_t}'
            )
            fake = types.SimpleNamespace(
                saved_tensors=ctx.saved_tensors,
                needs_input_grad=need,
                cfg=(scale, min(N, 1024), min(M, 4096)),
            )
            grads = AttentionKLChunked.backward(fake, g)[:4]
            return (
                *(None if gr is None else gr.to(dt) for gr, dt in zip(grads, dtypes)),
                None,
                None,
                None,
            )
        out = []
        for grad, flag, dtype in zip((dqs, dks, dqt, dkt), need, dtypes):
            out.append(grad.to(dtype) if flag else None)
        return (*out, None, None, None)


def attention_kl_triton(
    q_s,
    k_s,
    q_t,
    k_t,
    tau: float = 1.0,
    mask=None,
    reduction: str = 'mean',
    teacher_grad: bool = False,
    block_q: Optional[int] = None,
    block_k: Optional[int] = None,
    precision: str = 'ieee',
) -> torch.Tensor:
    """Triton path of :func:`crossmodal.ops.attention_kl.attention_kl` (same arguments).

    block_q / block_k: tile sizes (powers of two >= 16); default: on CUDA the largest of 64/32/16
    (at most 64 for d <= 64, 32 for d <= 128, 16 above) and pipeline depth (num_stages 3/2/1) that
    fit the device's shared memory per block, per kernel (:mod:`crossmodal.ops.triton_launch`).
    Where no configuration fits (e.g. d = 512 on a 99 KB sm_86/sm_89 GPU) the chunked PyTorch path
    runs instead and the reason is logged once (logger ``crossmodal.ops.triton_attention_kl``).
    precision: 'ieee' | 'tf32' for tl.dot.
    Tensors must be on CUDA, or on CPU with TRITON_INTERPRET=1 set before the kernels were built.
    """
    where = 'crossmodal/ops/triton_attention_kl.py'
    check_attention_inputs(q_s, k_s, q_t, k_t, mask)
    for name, b in (('block_q', block_q), ('block_k', block_k)):
        if b is not None and (b < 16 or b & (b - 1)):
            raise ValueError(f'{where}: {name} must be a power of two >= 16, got {b}')
    if precision not in ('ieee', 'tf32'):
        raise ValueError(f'{where}: precision must be "ieee" or "tf32", got {precision!r}')
    d_s, d_t = q_s.shape[-1], q_t.shape[-1]
    cfgs, limit = launch_configs(d_s, d_t, q_s.device, block_q, block_k, precision)
    missing = [k for k, c in cfgs.items() if c is None]

    def chunked(reason):
        log_fallback(f'{where}: {reason}; using the chunked PyTorch path (impl="chunked") instead')
        return attention_kl_chunked(q_s, k_s, q_t, k_t, tau, mask, reduction, teacher_grad)

    if missing:
        return chunked(
            f'no launch configuration of {missing} fits the {limit} bytes of shared memory '
            f'per block of {q_s.device} (d_s={d_s}, d_t={d_t}, block_q={block_q}, '
            f'block_k={block_k}; smallest tiles are 16 x 16)'
        )
    if not teacher_grad:
        q_t, k_t = q_t.detach(), k_t.detach()
    try:
        kl_rows = AttentionKLTriton.apply(q_s, k_s, q_t, k_t, 1.0 / float(tau), cfgs, precision)
    except _out_of_resources() as exc:
        return chunked(f'the Triton forward does not fit {q_s.device} ({exc})')
    return reduce_rows(kl_rows, mask, reduction)
