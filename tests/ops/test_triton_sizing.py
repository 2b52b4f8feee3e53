"""Per-device launch sizing of the Triton kernels (crossmodal/ops/triton_launch.py, AOT compiles:
crossmodal/ops/triton_aot.py).

* pure sizing logic: device limits -> configuration, the estimate vs the old fixed configurations;
* the fallback to the chunked PyTorch path (logged) when nothing fits or Triton reports
  OutOfResources, run on CPU through the interpreter;
* ahead-of-time compiles for sm_80 / sm_86 / sm_90 with Triton's bundled ptxas (no GPU needed):
  the compiled kernel's ``metadata.shared`` must fit the device limit for the configuration the
  sizing code picks, and must not exceed the estimate. Each case is one compile (a few seconds;
  Triton caches them). The default run covers the cases of the "Real benchmarks" issue (head dim
  64 on all three targets, 512-channel affinity, dense KD); CROSSMODAL_TRITON_AOT=full runs every
  head dim / channel count the configs use (32..512) on every target.
"""

import logging
import os

os.environ.setdefault('TRITON_INTERPRET', '1')

import pytest  # noqa: E402
import torch  # noqa: E402

import triton  # noqa: E402,F401

from crossmodal.ops import attention_kl, dense_kd, triton_aot, triton_launch  # noqa: E402
from crossmodal.ops import triton_attention_kl as tak  # noqa: E402
from crossmodal.ops import triton_dense_kd as tdk  # noqa: E402
from crossmodal.ops.triton_launch import (
    ATTENTION_KERNELS,
    DENSE_KERNELS,
    LaunchConfig,  # noqa: E402
    attention_kl_config,
    attention_smem_estimate,
    dense_kd_config,
    smem_limit_for_capability,
)

KB = 1024
ARCHS = (80, 86, 90)


# ------------------------------------------------------------------------------ sizing logic
def test_limits_by_compute_capability():
    assert smem_limit_for_capability(8, 0) == 163 * KB
    assert smem_limit_for_capability(8, 6) == smem_limit_for_capability(8, 9) == 99 * KB
    assert smem_limit_for_capability(9, 0) == 227 * KB
    assert smem_limit_for_capability(8, 8) == 163 * KB  # unknown minor: nearest lower known (8.7)
    assert smem_limit_for_capability(3, 5) == 48 * KB  # unknown major: the non-opt-in 48 KB


def test_device_limit_prefers_the_driver_figure(monkeypatch):
    class Props:
        major, minor = 8, 6

    monkeypatch.setattr(torch.cuda, 'get_device_properties', lambda dev: Props())
    assert triton_launch.device_smem_limit(0) == 99 * KB
    Props.shared_memory_per_block_optin = 100000
    assert triton_launch.device_smem_limit(0) == 100000


def test_head_dim_64_backward_fits_sm86_and_old_config_did_not():
    limit = smem_limit_for_capability(8, 6)
    # the previous fixed launch: 64 x 64 tiles, Triton's default num_stages=3
    assert attention_smem_estimate('bwd_dq', 64, 64, 64, 64, 3) > limit
    for k in ATTENTION_KERNELS:
        cfg = attention_kl_config(k, 64, 64, limit)
        assert cfg is not None and cfg.smem <= limit
    assert attention_kl_config('fwd', 64, 64, limit) == LaunchConfig(
        block_q=64, block_k=64, num_stages=3, smem=attention_smem_estimate('fwd', 64, 64, 64, 64, 3)
    )
    assert attention_kl_config('bwd_dq', 64, 64, limit).num_stages == 2
    # on sm_90 the deepest pipeline fits
    assert attention_kl_config('bwd_dq', 64, 64, smem_limit_for_capability(9, 0)).num_stages == 3


def test_affinity_512_channels_fits_a100_and_falls_back_on_sm86():
    a100, sm86 = smem_limit_for_capability(8, 0), smem_limit_for_capability(8, 6)
    assert attention_smem_estimate('fwd', 16, 16, 512, 512, 3) > a100  # the old launch (~196 KB)
    cfg = attention_kl_config('fwd', 512, 512, a100)
    assert (cfg.block_q, cfg.block_k, cfg.num_stages) == (16, 16, 2) and cfg.smem <= a100
    assert all(attention_kl_config(k, 512, 512, sm86) is None for k in ATTENTION_KERNELS)
    # explicit tiles are kept; only the pipeline depth adapts
    cfg = attention_kl_config('fwd', 32, 32, sm86, block_q=16, block_k=32)
    assert (cfg.block_q, cfg.block_k) == (16, 32)


def test_dense_config_halves_block_p_until_it_fits():
    cfg = dense_kd_config('fwd', 19, 99 * KB)
    assert cfg.block_p == triton_launch.default_block_p(19) and cfg.smem <= 99 * KB
    small = triton_launch.dense_smem_estimate('fwd', 19, 64)
    assert dense_kd_config('fwd', 19, small).block_p == 64
    assert dense_kd_config('fwd', 19, 100) is None
    assert dense_kd_config('fwd', 19, small, block_p=512) is None  # explicit block_p is kept
    with pytest.raises(ValueError, match='unknown dense-KD kernel'):
        triton_launch.dense_smem_estimate('bwd_dq', 19, 64)


# ------------------------------------------------------------------------------ fallback path
def _attn_inputs():
    g = torch.Generator().manual_seed(0)
    return [
        torch.randn(*s, generator=g).requires_grad_()
        for s in ((1, 2, 20, 8), (1, 2, 12, 8), (1, 2, 20, 8), (1, 2, 12, 8))
    ]


def test_attention_falls_back_to_chunked_when_nothing_fits(monkeypatch, caplog):
    monkeypatch.setattr(triton_launch, 'attention_kl_config', lambda *a, **k: None)
    tak.log_fallback.cache_clear()
    q_s, k_s, q_t, k_t = _attn_inputs()
    with caplog.at_level(logging.WARNING, logger='crossmodal.ops.triton_attention_kl'):
        out = attention_kl(q_s, k_s, q_t, k_t, impl='triton')
    ref = attention_kl(q_s, k_s, q_t, k_t, impl='reference')
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    assert 'no launch configuration' in caplog.text and 'chunked' in caplog.text


def test_out_of_resources_at_launch_falls_back(monkeypatch, caplog):
    from triton.runtime.errors import OutOfResources

    def boom(*args, **kwargs):
        raise OutOfResources(200000, 101376, 'shared memory')

    monkeypatch.setattr(tak.AttentionKLTriton, 'apply', boom)
    monkeypatch.setattr(tdk.DenseKDTriton, 'apply', boom)
    tak.log_fallback.cache_clear()
    q_s, k_s, q_t, k_t = _attn_inputs()
    z_s, z_t = torch.randn(1, 5, 4, 6), torch.randn(1, 5, 4, 6)
    with caplog.at_level(logging.WARNING):
        torch.testing.assert_close(
            attention_kl(q_s, k_s, q_t, k_t, impl='triton'),
            attention_kl(q_s, k_s, q_t, k_t, impl='reference'),
            atol=1e-5,
            rtol=1e-5,
        )
        torch.testing.assert_close(
            dense_kd(z_s, z_t, impl='triton'),
            dense_kd(z_s, z_t, impl='reference'),
            atol=1e-5,
            rtol=1e-5,
        )
    assert caplog.text.count('does not fit') == 2


def test_dense_falls_back_to_chunked_when_nothing_fits(monkeypatch, caplog):
    monkeypatch.setattr(triton_launch, 'dense_kd_config', lambda *a, **k: None)
    tak.log_fallback.cache_clear()
    z_s, z_t = torch.randn(2, 7, 3, 5), torch.randn(2, 7, 3, 5)
    with caplog.at_level(logging.WARNING, logger='crossmodal.ops.triton_attention_kl'):
        out = dense_kd(z_s, z_t, tau=2.0, impl='triton')
    torch.testing.assert_close(
        out, dense_kd(z_s, z_t, tau=2.0, impl='reference'), atol=1e-5, rtol=1e-5
    )
    assert 'K=7' in caplog.text


# ------------------------------------------------------------------------------ AOT compile
FULL = os.environ.get('CROSSMODAL_TRITON_AOT') == 'full'
# head dims of MiT attention (32: B0/B1, 64: B2-B5) and 128; channel counts of MiT stages for the
# affinity (cosine-similarity tokens, d = C) path
ATTN_DIMS_FULL = (32, 64, 128, 160, 256, 320, 512)
DENSE_K_FULL = (9, 40, 150, 1024)


def _attn_cases():
    for arch in ARCHS:
        for d in ATTN_DIMS_FULL:
            for k in ATTENTION_KERNELS:
                default = d == 64 or (d == 512 and k == 'fwd')
                yield pytest.param(
                    arch,
                    k,
                    d,
                    id=f'sm{arch}-{k}-d{d}',
                    marks=()
                    if default or FULL
                    else pytest.mark.skip(reason='CROSSMODAL_TRITON_AOT=full runs every head dim'),
                )


def _dense_cases():
    for arch in ARCHS:
        for K in DENSE_K_FULL:
            for k in DENSE_KERNELS:
                default = K == 150 and arch == 86
                yield pytest.param(
                    arch,
                    k,
                    K,
                    id=f'sm{arch}-{k}-K{K}',
                    marks=()
                    if default or FULL
                    else pytest.mark.skip(
                        reason='CROSSMODAL_TRITON_AOT=full runs every class count'
                    ),
                )


def _need_ptxas():
    """Skip (with the reason) when Triton's CUDA backend has no runnable ptxas on this machine."""
    import subprocess
    from triton.backends.nvidia import compiler as nv

    try:
        path = nv.get_ptxas(90).path
        subprocess.run([path, '--version'], check=True, capture_output=True)
    except Exception as exc:  # pragma: no cover - depends on the wheel / machine
        pytest.skip(
            f'Triton AOT compile needs a runnable ptxas (the triton wheel bundles one; '
            f'TRITON_PTXAS_PATH overrides it): {exc!r}'
        )


def _planned(family, arch, kernel, dim):
    """(limit, cfg picked by the sizing code or None, the config to compile)."""
    limit = smem_limit_for_capability(arch // 10, arch % 10)
    if family == 'attention':
        cfg = attention_kl_config(kernel, dim, dim, limit)
        # nothing fits -> compile the smallest configuration to prove the fallback decision right
        compile_cfg = cfg or LaunchConfig(block_q=16, block_k=16, num_stages=1)
    else:
        cfg = compile_cfg = dense_kd_config(kernel, dim, limit)
    return limit, cfg, compile_cfg


def _active(params):
    return [p.values for p in params if not p.marks]


@pytest.fixture(scope='module')
def aot_shared():
    """{(family, arch, kernel, dim): compiled metadata.shared} for every case this run selects,
    compiled in one subprocess (see triton_aot.aot_shared_memory); ptxas missing -> skip."""
    _need_ptxas()
    keys, cases = [], []
    for family, params in (('attention', _attn_cases()), ('dense', _dense_cases())):
        for arch, kernel, dim in _active(list(params)):
            _, _, cfg = _planned(family, arch, kernel, dim)
            extra = dict(d_s=dim, d_t=dim) if family == 'attention' else dict(K=dim)
            keys.append((family, arch, kernel, dim))
            cases.append(
                dict(
                    family=family,
                    kernel=kernel,
                    capability=arch,
                    cfg=dict(
                        block_q=cfg.block_q,
                        block_k=cfg.block_k,
                        block_p=cfg.block_p,
                        num_warps=cfg.num_warps,
                        num_stages=cfg.num_stages,
                    ),
                    **extra,
                )
            )
    return dict(zip(keys, triton_aot.aot_shared_memory(cases)))


@pytest.mark.parametrize('arch,kernel,d', list(_attn_cases()))
def test_aot_attention_kernel_fits_device(aot_shared, arch, kernel, d):
    limit, cfg, compile_cfg = _planned('attention', arch, kernel, d)
    shared = aot_shared[('attention', arch, kernel, d)]
    if (
        cfg is None
    ):  # the fallback decision must be right: even the smallest configuration is too big
        assert shared > limit, (
            f'sm_{arch} {kernel} d={d}: {compile_cfg} needs {shared} B <= {limit} B'
        )
        return
    assert shared <= limit, f'sm_{arch} {kernel} d={d} {cfg}: {shared} B > limit {limit} B'
    assert shared <= cfg.smem, f'sm_{arch} {kernel} d={d} {cfg}: {shared} B > estimate {cfg.smem} B'


@pytest.mark.parametrize('arch,kernel,K', list(_dense_cases()))
def test_aot_dense_kernel_fits_device(aot_shared, arch, kernel, K):
    limit, cfg, _ = _planned('dense', arch, kernel, K)
    shared = aot_shared[('dense', arch, kernel, K)]
    assert shared <= min(limit, cfg.smem), f'sm_{arch} dense {kernel} K={K} {cfg}: {shared} B'
