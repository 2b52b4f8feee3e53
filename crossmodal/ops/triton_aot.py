"""Ahead-of-time compiles of the Triton kernels for a given compute capability, without a GPU.

Used by ``tests/ops/test_triton_sizing.py`` to measure ``compiled.metadata.shared`` and check it
against the estimates of :mod:`crossmodal.ops.triton_launch`. Kept apart from ``triton_launch``
because it imports the kernel modules (which themselves import ``triton_launch``): with it there,
``crossmodal/ops`` had an import cycle. Nothing in the package imports this module.
Run as ``python -m crossmodal.ops.triton_aot`` with a JSON list of cases on stdin (see
:func:`aot_shared_memory`).
"""

from __future__ import annotations

import functools
from typing import Sequence

from .triton_launch import ATTENTION_KERNELS, DENSE_KERNELS, LaunchConfig, _next_pow2, block_d


def _signature(fn, n_ptr: int, ints: Sequence[str], floats: Sequence[str]) -> dict:
    sig = {}
    for i, name in enumerate(fn.arg_names):
        if i < n_ptr:
            sig[name] = '*fp32'
        elif name in ints:
            sig[name] = 'i32'
        elif name in floats:
            sig[name] = 'fp32'
        else:
            sig[name] = 'constexpr'
    return sig


@functools.lru_cache(maxsize=None)
def compiled_kernels():
    """Non-interpreted (compilable) versions of all kernels, whatever ``TRITON_INTERPRET`` says:
    {'attention': {'fwd', 'bwd_dq', 'bwd_dk'}, 'dense': {'fwd', 'bwd'}} -> triton.JITFunction, and
    'grad_tiles': the compilable backward helper. The module global ``_grad_tiles`` that the
    runtime (possibly interpreted) kernels use is left as it was."""
    from triton import knobs
    from . import triton_attention_kl, triton_dense_kd

    before = triton_attention_kl._grad_tiles
    try:
        with knobs.runtime.scope():
            knobs.runtime.interpret = False
            a = triton_attention_kl.define_kernels()
            d = triton_dense_kd.define_kernels()
            helper = triton_attention_kl._grad_tiles
    finally:
        triton_attention_kl._grad_tiles = before
    return {
        'attention': dict(zip(ATTENTION_KERNELS, a)),
        'dense': dict(zip(DENSE_KERNELS, d)),
        'grad_tiles': helper,
    }


def aot_compile(
    family: str,
    kernel: str,
    cfg: LaunchConfig,
    capability: int,
    *,
    d_s: int = 0,
    d_t: int = 0,
    K: int = 0,
    precision: str = 'ieee',
):
    """Compile one kernel variant ahead of time for ``sm_<capability>`` (e.g. 80, 86, 90) on any
    machine (Triton's bundled ptxas; no GPU needed). Returns the ``CompiledKernel``; its
    ``metadata.shared`` is the shared memory (bytes) a launch needs.

    family: 'attention' (needs d_s, d_t) or 'dense' (needs K)."""
    import triton
    from triton.backends.compiler import GPUTarget

    fn = compiled_kernels()[family][kernel]
    if family == 'attention':
        n_ptr = 7 if kernel == 'fwd' else 10
        sig = _signature(fn, n_ptr, ('N', 'M', 'DS', 'DT'), ('scale',))
        constexprs = dict(
            BLOCK_Q=cfg.block_q,
            BLOCK_K=cfg.block_k,
            BLOCK_DS=block_d(d_s),
            BLOCK_DT=block_d(d_t),
            PREC=precision,
        )
        if kernel != 'fwd':
            constexprs.update(NEED_S=True, NEED_T=True)
    elif family == 'dense':
        n_ptr = 5 if kernel == 'fwd' else 8
        sig = _signature(fn, n_ptr, ('K', 'P'), ('scale',))
        constexprs = dict(BLOCK_K=_next_pow2(K), BLOCK_P=cfg.block_p)
        if kernel == 'bwd':
            constexprs.update(NEED_S=True, NEED_T=True)
    else:
        raise ValueError(
            f'crossmodal/ops/triton_aot.py: family must be attention|dense, got {family!r}'
        )
    from . import triton_attention_kl

    src = triton.compiler.ASTSource(fn, signature=sig, constexprs=constexprs)
    before = triton_attention_kl._grad_tiles
    triton_attention_kl._grad_tiles = compiled_kernels()['grad_tiles']  # resolved while compiling
    from triton import knobs

    try:
        with knobs.runtime.scope():
            knobs.runtime.interpret = False  # Triton's constexpr helpers read it while compiling
            return triton.compile(
                src, target=GPUTarget('cuda', int(capability), 32), options=cfg.launch_kwargs()
            )
    finally:
        triton_attention_kl._grad_tiles = before


def aot_shared_memory(cases: Sequence[dict]) -> list:
    """``metadata.shared`` (bytes) of :func:`aot_compile` for each case (a dict of its keyword
    arguments, with ``cfg`` as a dict of :class:`LaunchConfig` fields), compiled in a fresh Python
    process with ``TRITON_INTERPRET=0``: a process that imported Triton with the interpreter on has
    interpreted versions of ``tl``'s own jit helpers (tl.max, tl.sum, ...) that cannot be
    compiled."""
    import json
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(
        os.environ,
        TRITON_INTERPRET='0',
        PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get('PYTHONPATH')) if p),
    )
    proc = subprocess.run(
        [sys.executable, '-m', 'crossmodal.ops.triton_aot'],
        input=json.dumps(list(cases)),
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
    )
    if proc.returncode:
        raise RuntimeError(
            f'crossmodal/ops/triton_aot.py: AOT compile subprocess failed '
            f'(exit {proc.returncode}):\n{proc.stderr[-4000:]}'
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _main() -> None:
    import json
    import sys

    out = []
    for case in json.loads(sys.stdin.read()):
        case = dict(case)
        cfg = LaunchConfig(**case.pop('cfg'))
        out.append(
            int(
                aot_compile(
                    case.pop('family'), case.pop('kernel'), cfg, case.pop('capability'), **case
                ).metadata.shared
            )
        )
    print(json.dumps(out))


if __name__ == '__main__':
    _main()
