"""KL divergence between a teacher's and a student's attention maps, without N x N memory.

For every query row ``i`` (and every batch element and head)::

    P_t[i, :] = softmax(q_t[i] . k_t^T / tau)      (teacher attention over the M keys)
    P_s[i, :] = softmax(q_s[i] . k_s^T / tau)      (student attention over the same M keys)
    KL_i      = sum_j P_t[i, j] * (log P_t[i, j] - log P_s[i, j])

and the loss is the mean of ``KL_i`` over heads and valid query rows. This is the relational /
attention-map transfer term of attention-transfer and structured-KD methods (e.g. MiniLM's
self-attention distribution transfer, Wang et al. 2020, and the pixel-pair affinity KD of CIRKD,
Yang et al. CVPR 2022); :func:`affinity_kl` is the affinity special case (q = k = L2-normalised
features). With N = 16384 tokens one fp32 N x N map is 1 GiB per image and head, so three
implementations share one spec:

* ``reference``: plain PyTorch, materialises the N x M maps (the spec; autograd does the rest).
* ``chunked``: a :class:`torch.autograd.Function` that walks (query tile x key tile) blocks with a
  running max / log-sum-exp (flash-attention style). The forward stores only per-row statistics
  (``lse_s``, ``lse_t``, ``KL_i``: O(N) memory); the backward recomputes each tile and uses
  ``dKL_i / dS_s[i, j] = P_s[i, j] - P_t[i, j]`` so no N x M matrix is ever held. Used on CPU.
* ``triton``: the same algorithm as Triton kernels (:mod:`crossmodal.ops.triton_attention_kl`),
  used on CUDA (and testable on CPU with ``TRITON_INTERPRET=1``).

Shapes (which dimensions must match):
    q_s (B, h, N, d_s), k_s (B, h, M, d_s), q_t (B, h, N, d_t), k_t (B, h, M, d_t).
    B, h, the query count N and the key count M must agree between student and teacher (the KL
    compares distributions over the same M keys, row by row over the same N queries); the
    feature widths d_s and d_t may differ; N != M is allowed (e.g. SegFormer's spatially
    reduced keys).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

# reference / chunked paths live in attention_kl_torch (imported by the Triton module too); their
# names stay importable from here
from .attention_kl_torch import (
    attention_kl_chunked,  # noqa: F401
    attention_kl_reference,
)
from .attention_kl_torch import AttentionKLChunked  # noqa: F401  (re-exported)
from .attention_kl_torch import check_attention_inputs, reduce_rows  # noqa: F401
from .common import IMPLS, resolve_impl  # noqa: F401


def attention_kl(
    q_s,
    k_s,
    q_t,
    k_t,
    tau: float = 1.0,
    mask: Optional[torch.Tensor] = None,
    impl: str = 'auto',
    reduction: str = 'mean',
    teacher_grad: bool = False,
    **block_sizes,
) -> torch.Tensor:
    """Mean over heads and valid query rows of KL(teacher attention || student attention).

    Args:
        q_s, k_s: student queries (B, h, N, d_s) and keys (B, h, M, d_s).
        q_t, k_t: teacher queries (B, h, N, d_t) and keys (B, h, M, d_t).
        tau: softmax temperature applied to the raw dot products (no 1/sqrt(d) is added: fold
            it into ``tau`` or the inputs if wanted).
        mask: optional bool (B, N), True = valid query row. Keys are never masked.
        impl: 'auto' (triton on CUDA, chunked otherwise) | 'reference' | 'chunked' | 'triton'.
        reduction: 'mean' (default; 0 when no row is valid) | 'sum' | 'none' ((B, h, N) rows).
        teacher_grad: also return gradients to q_t, k_t (default: teacher inputs are detached).
        block_sizes: block_q / block_k tile sizes for 'chunked' and 'triton'.

    Returns:
        scalar KL in nats (float32, float64 for float64 inputs), or (B, h, N) for 'none'.
    """
    where = 'crossmodal/ops/attention_kl.py'
    impl = resolve_impl(impl, q_s.device, where)
    if tau <= 0:
        raise ValueError(f'{where}: tau must be > 0, got {tau}')
    if impl == 'reference':
        if block_sizes:
            raise ValueError(
                f'{where}: block sizes {sorted(block_sizes)} do not apply to impl=reference'
            )
        return attention_kl_reference(q_s, k_s, q_t, k_t, tau, mask, reduction, teacher_grad)
    if impl == 'chunked':
        return attention_kl_chunked(
            q_s, k_s, q_t, k_t, tau, mask, reduction, teacher_grad, **block_sizes
        )
    from .triton_attention_kl import attention_kl_triton

    return attention_kl_triton(
        q_s, k_s, q_t, k_t, tau, mask, reduction, teacher_grad, **block_sizes
    )


def features_to_tokens(f: torch.Tensor, name: str) -> torch.Tensor:
    """(B, C, H, W) features -> (B, 1, H*W, C) L2-normalised tokens (one 'head')."""
    if not isinstance(f, torch.Tensor) or f.dim() != 4 or not f.is_floating_point():
        got = tuple(f.shape) if isinstance(f, torch.Tensor) else type(f).__name__
        raise ValueError(
            f'crossmodal/ops/attention_kl.py: {name} must be floating (B, C, H, W), got {got}'
        )
    tokens = f.flatten(2).transpose(1, 2)
    return F.normalize(tokens, dim=-1, eps=1e-12)[:, None]


def affinity_kl(
    f_s: torch.Tensor,
    f_t: torch.Tensor,
    tau: float = 1.0,
    mask: Optional[torch.Tensor] = None,
    impl: str = 'auto',
    reduction: str = 'mean',
    **block_sizes,
) -> torch.Tensor:
    """Pixel-affinity KD: KL between row-softmaxed cosine-similarity maps of teacher and student.

    f_s (B, C_s, H, W) student features, f_t (B, C_t, H, W) teacher features (same B, H, W;
    channels may differ). Each pixel is a query over all H*W pixels as keys, with
    q = k = the L2-normalised feature vector, scores = cosine similarity / tau (cosines are in
    [-1, 1], so tau around 0.1 gives peaked maps). mask: optional bool (B, H, W) or (B, H*W),
    True = valid query pixel. The teacher gets no gradient. Returns the mean KL in nats.
    """
    where = 'crossmodal/ops/attention_kl.py'
    z_s = features_to_tokens(f_s, 'f_s')
    z_t = features_to_tokens(f_t, 'f_t').detach()
    if f_s.shape[0] != f_t.shape[0] or f_s.shape[2:] != f_t.shape[2:]:
        raise ValueError(
            f'{where}: affinity_kl needs the same batch and spatial size, got student '
            f'{tuple(f_s.shape)} and teacher {tuple(f_t.shape)}; resize one of them first'
        )
    if mask is not None and isinstance(mask, torch.Tensor) and mask.dim() == 3:
        mask = mask.flatten(1)
    return attention_kl(
        z_s, z_s, z_t, z_t, tau=tau, mask=mask, impl=impl, reduction=reduction, **block_sizes
    )
