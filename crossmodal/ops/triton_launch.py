"""Per-device launch configurations for the Triton kernels, sized to the shared-memory limit.

The kernels of :mod:`crossmodal.ops.triton_attention_kl` and :mod:`crossmodal.ops.triton_dense_kd`
compile for any NVIDIA target, but how much shared memory one program needs depends on the tile
sizes and on ``num_stages`` (the software pipeliner keeps ``num_stages`` copies of every tile it
prefetches inside a loop). A configuration that fits an H100 (227 KB per block) does not fit an
RTX 3090/4090 (99 KB), and Triton then fails at launch with ``OutOfResources``. This module:

* reads a device's per-block shared-memory limit (:func:`device_smem_limit`);
* estimates a configuration's shared-memory need in bytes (:func:`attention_smem_estimate`,
  :func:`dense_smem_estimate`; upper bounds of what Triton 3.7 allocates, checked against real
  ahead-of-time compiles in ``tests/ops/test_triton_sizing.py``);
* picks the largest configuration that fits (:func:`attention_kl_config`, :func:`dense_kd_config`),
  or None, in which case the callers fall back to the chunked PyTorch path and log why.

Ahead-of-time compiles (measuring ``compiled.metadata.shared`` without a GPU) are in
:mod:`crossmodal.ops.triton_aot`, which imports the kernel modules; this module imports none of
them (the kernel modules import it). Pure Python apart from :func:`device_smem_limit` (torch).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Sequence, Tuple

# Maximum shared memory per thread block with the opt-in attribute
# (cudaDevAttrMaxSharedMemoryPerBlockOptin, which is also the limit Triton checks at launch),
# in bytes, by compute capability. Source: NVIDIA CUDA C++ Programming Guide, "Features and
# Technical Specifications", table "Technical Specifications per Compute Capability", row
# "Maximum amount of shared memory per thread block": 7.0: 96 KB, 7.5: 64 KB, 8.0: 163 KB,
# 8.6: 99 KB, 8.7: 163 KB, 8.9: 99 KB, 9.0: 227 KB, 10.0: 227 KB, 12.0: 99 KB (1 KB = 1024 bytes).
SMEM_OPTIN_BYTES: Dict[Tuple[int, int], int] = {
    (7, 0): 96 * 1024,
    (7, 5): 64 * 1024,
    (8, 0): 163 * 1024,
    (8, 6): 99 * 1024,
    (8, 7): 163 * 1024,
    (8, 9): 99 * 1024,
    (9, 0): 227 * 1024,
    (10, 0): 227 * 1024,
    (12, 0): 99 * 1024,
}
# Without opt-in every CUDA device since compute capability 2.0 grants 48 KB per block.
SMEM_DEFAULT_BYTES = 48 * 1024
FP32 = 4  # bytes: the kernels compute (and stage tiles) in float32


@dataclasses.dataclass(frozen=True)
class LaunchConfig:
    """One kernel launch: tile sizes (elements), ``num_warps``, ``num_stages`` and the estimated
    shared memory (bytes). ``block_q``/``block_k`` are used by the attention-KL kernels,
    ``block_p`` by the dense-KD kernels (the others are 0)."""

    block_q: int = 0
    block_k: int = 0
    block_p: int = 0
    num_warps: int = 4
    num_stages: int = 1
    smem: int = 0

    def launch_kwargs(self) -> dict:
        return dict(num_warps=self.num_warps, num_stages=self.num_stages)


def smem_limit_for_capability(major: int, minor: int) -> int:
    """Per-block opt-in shared-memory limit (bytes) of compute capability major.minor; unknown
    capabilities get the nearest lower known one of the same major, else 48 KB."""
    if (major, minor) in SMEM_OPTIN_BYTES:
        return SMEM_OPTIN_BYTES[(major, minor)]
    same = [cc for cc in SMEM_OPTIN_BYTES if cc[0] == major and cc[1] <= minor]
    return SMEM_OPTIN_BYTES[max(same)] if same else SMEM_DEFAULT_BYTES


def device_smem_limit(device) -> int:
    """Shared memory (bytes) one program may use on a CUDA ``device``: the driver's opt-in
    per-block figure (``shared_memory_per_block_optin`` of torch's device properties) when torch
    exposes it, else :data:`SMEM_OPTIN_BYTES` by compute capability."""
    import torch

    props = torch.cuda.get_device_properties(device)
    optin = getattr(props, 'shared_memory_per_block_optin', None)
    if optin:
        return int(optin)
    return smem_limit_for_capability(props.major, props.minor)


def _next_pow2(x: int) -> int:
    return 1 << max(0, (int(x) - 1).bit_length())


def block_d(d: int) -> int:
    """Padded feature width of the attention-KL tiles (power of two >= 16)."""
    return max(16, _next_pow2(d))


ATTENTION_KERNELS = ('fwd', 'bwd_dq', 'bwd_dk')
DENSE_KERNELS = ('fwd', 'bwd')


def attention_smem_estimate(
    kernel: str,
    block_q: int,
    block_k: int,
    d_s: int,
    d_t: int,
    num_stages: int,
    precision: str = 'ieee',
) -> int:
    """Upper bound (bytes) of the shared memory one attention-KL program needs.

    Model fitted to Triton 3.7 ahead-of-time compiles (identical for sm_80, sm_86 and sm_90 with
    ``input_precision='ieee'``; see tests/ops/test_triton_sizing.py): every kernel stages one
    (rows x BLOCK_D) float32 tile per model and operand side in shared memory, and the pipeliner
    keeps ``num_stages`` copies of the two tiles it streams through the loop (k_s, k_t in ``fwd``
    and ``bwd_dq``, rows = block_k; q_s, q_t in ``bwd_dk``, rows = block_q), so the tiles take
    ``rows x (BLOCK_DS + BLOCK_DT) x 4 x max(2, num_stages)`` bytes. The backward kernels also stage
    both (block_q x block_k) gradient tiles for their second ``tl.dot``; ``bwd_dk`` also pipelines
    its four per-row statistics (lse_s, lse_t, KL, g). Plus a 1 KB margin (reduction scratch).

    ``precision='tf32'`` uses tensor cores, whose operand layouts differ per architecture (sm_90's
    wgmma also stages the q tiles: fwd at d = 64, 64 x 64 tiles, 3 stages needs 128 KB on sm_90 vs
    96 KB with 'ieee'); the bound then adds both (block_q x BLOCK_D) q tiles.
    """
    if kernel not in ATTENTION_KERNELS:
        raise ValueError(
            f'crossmodal/ops/triton_launch.py: unknown attention kernel {kernel!r}, '
            f'expected one of {ATTENTION_KERNELS}'
        )
    stages = max(1, int(num_stages))
    rows = block_q if kernel == 'bwd_dk' else block_k
    tiles = rows * (block_d(d_s) + block_d(d_t)) * FP32 * max(2, stages)
    extra = 0
    if kernel != 'fwd':
        extra += 2 * block_q * block_k * FP32
    if kernel == 'bwd_dk':
        extra += 4 * block_q * FP32 * stages
    if precision == 'tf32':
        extra += block_q * (block_d(d_s) + block_d(d_t)) * FP32
    return tiles + extra + 1024


def dense_smem_estimate(kernel: str, K: int, block_p: int, num_stages: int = 1) -> int:
    """Upper bound (bytes) of the shared memory one dense-KD program needs. There is no loop (one
    program holds all classes of ``block_p`` pixels in registers), so nothing is pipelined and no
    tile is staged; shared memory only holds the cross-warp scratch of the class-axis reductions
    (max and sum of both models: 4 x block_p floats; measured 0.25-0.5 KB at K = 150 and 1024),
    plus a 1 KB margin."""
    if kernel not in DENSE_KERNELS:
        raise ValueError(
            f'crossmodal/ops/triton_launch.py: unknown dense-KD kernel {kernel!r}, '
            f'expected one of {DENSE_KERNELS}'
        )
    return 4 * block_p * FP32 + 1024


def _default_attention_blocks(d_max: int) -> Sequence[int]:
    """Square tile sizes to try, largest first (the previous fixed defaults come first)."""
    first = 64 if d_max <= 64 else 32 if d_max <= 128 else 16
    return [b for b in (64, 32, 16) if b <= first]


def attention_kl_config(
    kernel: str,
    d_s: int,
    d_t: int,
    smem_limit: int,
    block_q: Optional[int] = None,
    block_k: Optional[int] = None,
    num_warps: int = 4,
    precision: str = 'ieee',
) -> Optional[LaunchConfig]:
    """Largest attention-KL configuration of ``kernel`` that fits ``smem_limit`` bytes, or None.

    Tiles: the given block_q/block_k, or square tiles 64/32/16 (starting at 64 for d <= 64, 32 for
    d <= 128, 16 above); for each, num_stages 3, 2, then 1 (no pipelining). The first
    (largest tile, deepest pipeline) whose :func:`attention_smem_estimate` fits wins.
    """
    d_max = max(d_s, d_t)
    if block_q is not None or block_k is not None:
        default = _default_attention_blocks(d_max)[0]
        pairs = [(block_q or default, block_k or default)]
    else:
        pairs = [(b, b) for b in _default_attention_blocks(d_max)]
    for bq, bk in pairs:
        for stages in (3, 2, 1):
            need = attention_smem_estimate(kernel, bq, bk, d_s, d_t, stages, precision)
            if need <= smem_limit:
                return LaunchConfig(
                    block_q=bq, block_k=bk, num_warps=num_warps, num_stages=stages, smem=need
                )
    return None


def default_block_p(K: int) -> int:
    """Pixels per dense-KD program: about 8192 tile elements, clamped to [16, 1024]."""
    return max(16, min(1024, 8192 // _next_pow2(K)))


def dense_kd_config(
    kernel: str, K: int, smem_limit: int, block_p: Optional[int] = None, num_warps: int = 4
) -> Optional[LaunchConfig]:
    """Dense-KD configuration of ``kernel`` for K classes within ``smem_limit`` bytes, or None.

    block_p: the given one, else :func:`default_block_p` halved (down to 16) until it fits."""
    bp = int(block_p) if block_p is not None else default_block_p(K)
    while True:
        need = dense_smem_estimate(kernel, K, bp)
        if need <= smem_limit:
            return LaunchConfig(block_p=bp, num_warps=num_warps, num_stages=1, smem=need)
        if block_p is not None or bp <= 16:
            return None
        bp //= 2
