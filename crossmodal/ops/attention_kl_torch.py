"""Reference and chunked PyTorch implementations of the attention-map KL.

The spec (formula, shapes, the three implementations) is the docstring of
:mod:`crossmodal.ops.attention_kl`, the dispatcher. This module holds the pure-PyTorch pieces that
both the dispatcher and the Triton path (:mod:`crossmodal.ops.triton_attention_kl`, which falls
back to the chunked path) need, so neither imports the other.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from .common import acc_dtype as _acc_dtype


def check_attention_inputs(q_s, k_s, q_t, k_t, mask=None) -> Tuple[int, int, int, int]:
    """Validate shapes; return (B, h, N, M). Errors name this file and the offending tensor."""
    where = 'crossmodal/ops/attention_kl_torch.py'
    for name, t in (('q_s', q_s), ('k_s', k_s), ('q_t', q_t), ('k_t', k_t)):
        if not isinstance(t, torch.Tensor) or t.dim() != 4 or not t.is_floating_point():
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(
                f'{where}: {name} must be a floating (B, h, tokens, d) tensor, got {got}'
            )
    B, h, N, d_s = q_s.shape
    M = k_s.shape[2]
    d_t = q_t.shape[3]
    expected = {'k_s': (B, h, M, d_s), 'q_t': (B, h, N, d_t), 'k_t': (B, h, M, d_t)}
    for name, t in (('k_s', k_s), ('q_t', q_t), ('k_t', k_t)):
        if tuple(t.shape) != expected[name]:
            raise ValueError(
                f'{where}: {name} has shape {tuple(t.shape)}, expected {expected[name]} '
                f'(q_s is {tuple(q_s.shape)}, k_s is {tuple(k_s.shape)}: B, heads, query count N '
                'and key count M must match between student and teacher; only d may differ)'
            )
    devices = {t.device for t in (q_s, k_s, q_t, k_t)}
    if len(devices) != 1:
        raise ValueError(
            f'{where}: q/k tensors are on different devices {sorted(map(str, devices))}'
        )
    if mask is not None:
        if (
            not isinstance(mask, torch.Tensor)
            or mask.dtype != torch.bool
            or tuple(mask.shape) != (B, N)
        ):
            got = (tuple(mask.shape), mask.dtype) if isinstance(mask, torch.Tensor) else type(mask)
            raise ValueError(
                f'{where}: mask must be a bool (B, N) = ({B}, {N}) tensor of valid query '
                f'rows, got {got}'
            )
    if N == 0 or M == 0:
        raise ValueError(f'{where}: empty token axis (N={N}, M={M})')
    return B, h, N, M


def reduce_rows(
    kl_rows: torch.Tensor, mask: Optional[torch.Tensor], reduction: str
) -> torch.Tensor:
    """Reduce per-row KL (B, h, N) with an optional valid-row mask (B, N).

    'mean': sum over valid rows and heads / (valid rows x heads); 0 when no row is valid.
    'sum': plain sum over valid rows and heads. 'none': the (B, h, N) rows, invalid rows set to 0.
    """
    if reduction not in ('mean', 'sum', 'none'):
        raise ValueError(
            'crossmodal/ops/attention_kl_torch.py: reduction must be mean|sum|none, '
            f'got {reduction!r}'
        )
    if mask is not None:
        kl_rows = torch.where(mask[:, None, :], kl_rows, kl_rows.new_zeros(()))
    if reduction == 'none':
        return kl_rows
    total = kl_rows.sum()
    if reduction == 'sum':
        return total
    if mask is None:
        return total / kl_rows.numel()
    count = mask.sum() * kl_rows.shape[1]
    return total / count.clamp(min=1).to(total.dtype)


def attention_kl_reference(
    q_s,
    k_s,
    q_t,
    k_t,
    tau: float = 1.0,
    mask=None,
    reduction: str = 'mean',
    teacher_grad: bool = False,
) -> torch.Tensor:
    """The spec: materialises both (B, h, N, M) score maps. See the module docstring."""
    check_attention_inputs(q_s, k_s, q_t, k_t, mask)
    if not teacher_grad:
        q_t, k_t = q_t.detach(), k_t.detach()
    acc = _acc_dtype(q_s.dtype)
    s_s = torch.matmul(q_s.to(acc), k_s.to(acc).transpose(-1, -2)) / tau
    s_t = torch.matmul(q_t.to(acc), k_t.to(acc).transpose(-1, -2)) / tau
    logp_s = F.log_softmax(s_s, dim=-1)
    logp_t = F.log_softmax(s_t, dim=-1)
    kl_rows = (logp_t.exp() * (logp_t - logp_s)).sum(-1)
    return reduce_rows(kl_rows, mask, reduction)


class AttentionKLChunked(torch.autograd.Function):
    """Per-row KL (B, h, N) computed tile by tile; see the module docstring.

    forward(q_s, k_s, q_t, k_t, scale, block_q, block_k) with scale = 1 / tau.
    Saved for backward: the inputs plus per-row lse_s, lse_t, KL (each (B, h, N)).
    Gradients flow to whichever of q_s, k_s, q_t, k_t require grad.
    """

    @staticmethod
    def forward(ctx, q_s, k_s, q_t, k_t, scale: float, block_q: int, block_k: int):
        B, h, N, _ = q_s.shape
        M = k_s.shape[2]
        acc = _acc_dtype(q_s.dtype)
        kl = torch.empty(B, h, N, dtype=acc, device=q_s.device)
        lse_s = torch.empty_like(kl)
        lse_t = torch.empty_like(kl)
        ks_all, kt_all = k_s.to(acc), k_t.to(acc)
        for i0 in range(0, N, block_q):
            i1 = min(i0 + block_q, N)
            qs = q_s[:, :, i0:i1].to(acc) * scale
            qt = q_t[:, :, i0:i1].to(acc) * scale
            shape = (B, h, i1 - i0)
            m_s = torch.full(shape, float('-inf'), dtype=acc, device=q_s.device)
            m_t = torch.full_like(m_s, float('-inf'))
            l_s = torch.zeros_like(m_s)
            l_t = torch.zeros_like(m_s)
            a_t = torch.zeros_like(m_s)  # running sum_j exp(S_t - m_t) * (S_t - S_s)
            for j0 in range(0, M, block_k):
                j1 = min(j0 + block_k, M)
                ss = torch.matmul(qs, ks_all[:, :, j0:j1].transpose(-1, -2))
                st = torch.matmul(qt, kt_all[:, :, j0:j1].transpose(-1, -2))
                diff = st - ss  # S_t - S_s
                new_m_s = torch.maximum(m_s, ss.amax(-1))
                l_s = l_s * torch.exp(m_s - new_m_s) + ss.sub_(new_m_s[..., None]).exp_().sum(-1)
                m_s = new_m_s
                del ss
                new_m_t = torch.maximum(m_t, st.amax(-1))
                alpha = torch.exp(m_t - new_m_t)
                e_t = st.sub_(new_m_t[..., None]).exp_()  # in place: at most 3 tiles live
                l_t = l_t * alpha + e_t.sum(-1)
                a_t = a_t * alpha + e_t.mul_(diff).sum(-1)
                m_t = new_m_t
                del st, e_t, diff
            ls = m_s + torch.log(l_s)
            lt = m_t + torch.log(l_t)
            lse_s[:, :, i0:i1] = ls
            lse_t[:, :, i0:i1] = lt
            kl[:, :, i0:i1] = a_t / l_t - lt + ls
        ctx.save_for_backward(q_s, k_s, q_t, k_t, lse_s, lse_t, kl)
        ctx.cfg = (scale, block_q, block_k)
        return kl

    @staticmethod
    def backward(ctx, grad_kl):
        q_s, k_s, q_t, k_t, lse_s, lse_t, kl = ctx.saved_tensors
        scale, block_q, block_k = ctx.cfg
        need_qs, need_ks, need_qt, need_kt = ctx.needs_input_grad[:4]
        student = need_qs or need_ks
        teacher = need_qt or need_kt
        B, h, N, _ = q_s.shape
        M = k_s.shape[2]
        acc = kl.dtype
        qs_all, ks_all = q_s.to(acc), k_s.to(acc)
        qt_all, kt_all = q_t.to(acc), k_t.to(acc)
        dq_s = torch.zeros_like(qs_all) if need_qs else None
        dk_s = torch.zeros_like(ks_all) if need_ks else None
        dq_t = torch.zeros_like(qt_all) if need_qt else None
        dk_t = torch.zeros_like(kt_all) if need_kt else None
        grad_kl = grad_kl.to(acc)
        for i0 in range(0, N, block_q):
            i1 = min(i0 + block_q, N)
            qs, qt = qs_all[:, :, i0:i1], qt_all[:, :, i0:i1]
            g = (grad_kl[:, :, i0:i1] * scale)[..., None]  # d/dX = d/dS * scale
            ls = lse_s[:, :, i0:i1, None]
            lt = lse_t[:, :, i0:i1, None]
            kl_i = kl[:, :, i0:i1, None]
            for j0 in range(0, M, block_k):
                j1 = min(j0 + block_k, M)
                ks, kt = ks_all[:, :, j0:j1], kt_all[:, :, j0:j1]
                log_ps = torch.matmul(qs, ks.transpose(-1, -2)).mul_(scale).sub_(ls)
                log_pt = torch.matmul(qt, kt.transpose(-1, -2)).mul_(scale).sub_(lt)
                if teacher:
                    p_t = torch.exp(log_pt)
                    # dKL_i/dS_t[i,j] = P_t[i,j] * (log P_t - log P_s - KL_i)[i,j]
                    dt = log_pt.sub_(log_ps).sub_(kl_i).mul_(p_t).mul_(g)
                    if need_qt:
                        dq_t[:, :, i0:i1] += torch.matmul(dt, kt)
                    if need_kt:
                        dk_t[:, :, j0:j1] += torch.matmul(dt.transpose(-1, -2), qt)
                    del dt
                else:
                    p_t = log_pt.exp_()
                del log_pt
                if student:
                    # dKL_i/dS_s[i,j] = P_s[i,j] - P_t[i,j]
                    ds = log_ps.exp_().sub_(p_t).mul_(g)
                    if need_qs:
                        dq_s[:, :, i0:i1] += torch.matmul(ds, ks)
                    if need_ks:
                        dk_s[:, :, j0:j1] += torch.matmul(ds.transpose(-1, -2), qs)
                    del ds
                del log_ps, p_t

        def cast(grad, like):
            return None if grad is None else grad.to(like.dtype)

        return (
            cast(dq_s, q_s),
            cast(dk_s, k_s),
            cast(dq_t, q_t),
            cast(dk_t, k_t),
            None,
            None,
            None,
        )


def attention_kl_chunked(
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
) -> torch.Tensor:
    """Memory-bounded path: peak extra memory O(B h block_q block_k) instead of O(B h N M).

    Default tiles: block_k = min(M, 4096) keys and block_q such that one (B, h, block_q, block_k)
    tile holds about 2^21 elements (8 MiB in float32; at most 3 tiles are live), clamped to
    [16, 2048] query rows. Large tiles keep the number of ops small, which matters on CPUs: every
    op is an OpenMP parallel region, and on a loaded machine each region waits for its slowest
    thread.
    """
    B, h, N, M = check_attention_inputs(q_s, k_s, q_t, k_t, mask)
    if block_k is None:
        block_k = min(M, 4096)
    if block_q is None:
        block_q = min(2048, max(16, (1 << 21) // (B * h * block_k)))
    if block_q < 1 or block_k < 1:
        raise ValueError(
            'crossmodal/ops/attention_kl_torch.py: block sizes must be >= 1, '
            f'got {block_q}, {block_k}'
        )
    if not teacher_grad:
        q_t, k_t = q_t.detach(), k_t.detach()
    kl_rows = AttentionKLChunked.apply(
        q_s, k_s, q_t, k_t, 1.0 / float(tau), int(block_q), int(block_k)
    )
    return reduce_rows(kl_rows, mask, reduction)
