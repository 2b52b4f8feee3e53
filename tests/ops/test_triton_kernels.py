"""Triton kernels vs the PyTorch reference.

On CPU the kernels run under Triton's interpreter: TRITON_INTERPRET=1 is set here before the
kernels are first built (triton.jit reads it when a kernel is defined, and crossmodal builds its
kernels lazily on first use). With TRITON_INTERPRET=0 and a CUDA device (tools/gpu_check.sh) the
same tests run the compiled kernels on the GPU. Sizes stay tiny: the interpreter is slow.
"""

import os

os.environ.setdefault('TRITON_INTERPRET', '1')

import pytest  # noqa: E402
import torch  # noqa: E402

import triton  # noqa: E402,F401  (requirements-test.txt installs it)

from crossmodal.ops import attention_kl, dense_kd  # noqa: E402

INTERPRET = os.environ['TRITON_INTERPRET'] == '1'
if not INTERPRET and not torch.cuda.is_available():
    pytest.skip('TRITON_INTERPRET=0 needs a CUDA device', allow_module_level=True)
DEVICE = 'cpu' if INTERPRET else 'cuda'


def _inputs(B, h, N, M, d_s, d_t, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(*s, generator=g).to(DEVICE).requires_grad_()
        for s in ((B, h, N, d_s), (B, h, M, d_s), (B, h, N, d_t), (B, h, M, d_t))
    ]


@pytest.mark.parametrize(
    'N,M,d_s,d_t,tau,use_mask,teacher_grad',
    [
        (37, 21, 5, 12, 0.7, True, True),  # odd N != M, d_s != d_t, mask, teacher grads
        (16, 40, 16, 16, 2.0, False, False),  # one query tile, keys over three tiles
    ],
)
def test_triton_attention_kl_matches_reference(N, M, d_s, d_t, tau, use_mask, teacher_grad):
    B, h = 2, 2
    q_s, k_s, q_t, k_t = _inputs(B, h, N, M, d_s, d_t)
    mask = (
        (torch.rand(B, N, generator=torch.Generator().manual_seed(1)) > 0.3).to(DEVICE)
        if use_mask
        else None
    )
    inputs = [q_s, k_s, q_t, k_t] if teacher_grad else [q_s, k_s]
    ref = attention_kl(
        q_s, k_s, q_t, k_t, tau=tau, mask=mask, impl='reference', teacher_grad=teacher_grad
    )
    g_ref = torch.autograd.grad(ref, inputs)
    out = attention_kl(
        q_s,
        k_s,
        q_t,
        k_t,
        tau=tau,
        mask=mask,
        impl='triton',
        teacher_grad=teacher_grad,
        block_q=16,
        block_k=16,
    )
    g_out = torch.autograd.grad(out, inputs)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(g_out, g_ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    'shape,tau,use_mask,teacher_grad,block_p',
    [
        ((2, 5, 7, 9), 2.0, True, True, 16),  # 63 pixels: partial last block; K padded to 8
        ((1, 19, 3, 5), 1.0, False, False, None),
    ],
)
def test_triton_dense_kd_matches_reference(shape, tau, use_mask, teacher_grad, block_p):
    B, K, H, W = shape
    g = torch.Generator().manual_seed(0)
    z_s = (3 * torch.randn(*shape, generator=g)).to(DEVICE).requires_grad_()
    z_t = (3 * torch.randn(*shape, generator=g)).to(DEVICE).requires_grad_()
    mask = (torch.rand(B, H, W, generator=g) > 0.6).to(DEVICE) if use_mask else None
    inputs = [z_s, z_t] if teacher_grad else [z_s]
    ref = dense_kd(z_s, z_t, tau=tau, ignore_mask=mask, impl='reference', teacher_grad=teacher_grad)
    g_ref = torch.autograd.grad(ref, inputs)
    out = dense_kd(
        z_s,
        z_t,
        tau=tau,
        ignore_mask=mask,
        impl='triton',
        teacher_grad=teacher_grad,
        block_p=block_p,
    )
    g_out = torch.autograd.grad(out, inputs)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(g_out, g_ref):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


def test_triton_argument_errors():
    q_s, k_s, q_t, k_t = _inputs(1, 1, 8, 8, 4, 4)
    with pytest.raises(ValueError, match='power of two'):
        attention_kl(q_s, k_s, q_t, k_t, impl='triton', block_q=24)
    with pytest.raises(ValueError, match='precision'):
        attention_kl(q_s, k_s, q_t, k_t, impl='triton', precision='fp8')


def test_modules_import_without_triton(monkeypatch):
    """The Triton modules import cleanly when triton is absent; using them says what to install."""
    import importlib.util
    import sys

    monkeypatch.setitem(sys.modules, 'triton', None)  # makes `import triton` raise ImportError
    monkeypatch.setitem(sys.modules, 'triton.language', None)
    ops_dir = os.path.dirname(sys.modules['crossmodal.ops'].__file__)
    for name in ('triton_attention_kl', 'triton_dense_kd'):
        spec = importlib.util.spec_from_file_location(
            f'crossmodal.ops._probe_{name}', os.path.join(ops_dir, f'{name}.py')
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # a fresh copy, not the one the other tests use
        with pytest.raises(ImportError, match='pip install'):
            module.kernels()
