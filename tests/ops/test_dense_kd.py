"""dense_kd: golden case, chunked vs reference values and gradients, gradcheck, masks."""

import math

import pytest
import torch

from crossmodal.ops import dense_kd
from crossmodal.ops.dense_kd import DenseKDChunked


def _kl(t_logits, s_logits):
    zt = sum(math.exp(v) for v in t_logits)
    zs = sum(math.exp(v) for v in s_logits)
    pt = [math.exp(v) / zt for v in t_logits]
    ps = [math.exp(v) / zs for v in s_logits]
    return sum(a * math.log(a / b) for a, b in zip(pt, ps))


def test_golden_hand_computed():
    # B=1, K=3 classes, H=1, W=2
    z_s = torch.tensor([[[[1.0, 0.0]], [[2.0, 0.0]], [[0.0, 3.0]]]])
    z_t = torch.tensor([[[[0.0, 1.0]], [[2.0, 1.0]], [[1.0, -1.0]]]])
    tau = 2.0
    px0 = _kl([0 / tau, 2 / tau, 1 / tau], [1 / tau, 2 / tau, 0 / tau])
    px1 = _kl([1 / tau, 1 / tau, -1 / tau], [0 / tau, 0 / tau, 3 / tau])
    for impl in ('reference', 'chunked'):
        got = dense_kd(z_s, z_t, tau=tau, impl=impl)
        assert got.item() == pytest.approx(tau**2 * (px0 + px1) / 2, rel=1e-5)
        ign = torch.tensor([[[True, False]]])
        got = dense_kd(z_s, z_t, tau=tau, ignore_mask=ign, impl=impl)
        assert got.item() == pytest.approx(tau**2 * px1, rel=1e-5)


def _logits(B, K, H, W, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (3 * torch.randn(B, K, H, W, generator=g, dtype=dtype)).requires_grad_(), (
        3 * torch.randn(B, K, H, W, generator=g, dtype=dtype)
    ).requires_grad_()


@pytest.mark.parametrize(
    'shape,tau,use_mask,teacher_grad,chunk',
    [
        ((2, 5, 7, 9), 2.0, True, False, 10),
        ((3, 19, 5, 3), 1.0, False, True, 4),
        ((1, 2, 11, 13), 0.5, True, True, None),
    ],
)
def test_chunked_matches_reference(shape, tau, use_mask, teacher_grad, chunk):
    z_s, z_t = _logits(*shape)
    B, K, H, W = shape
    mask = (
        (torch.rand(B, H, W, generator=torch.Generator().manual_seed(2)) > 0.6)
        if use_mask
        else None
    )
    inputs = [z_s, z_t] if teacher_grad else [z_s]
    ref = dense_kd(z_s, z_t, tau=tau, ignore_mask=mask, impl='reference', teacher_grad=teacher_grad)
    g_ref = torch.autograd.grad(ref, inputs)
    out = dense_kd(
        z_s, z_t, tau=tau, ignore_mask=mask, impl='chunked', teacher_grad=teacher_grad, chunk=chunk
    )
    g_out = torch.autograd.grad(out, inputs)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(g_out, g_ref):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


def test_gradcheck_chunked_float64():
    z_s, z_t = _logits(2, 4, 3, 5, dtype=torch.float64)
    fn = lambda a, b: DenseKDChunked.apply(a, b, 1 / 1.5, 4)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (z_s.reshape(2, 4, 15), z_t.reshape(2, 4, 15)))
    ign = torch.zeros(2, 3, 5, dtype=torch.bool)
    ign[0, 1] = True
    fn2 = lambda a: dense_kd(a, z_t, tau=3.0, ignore_mask=ign, impl='chunked', chunk=6)  # noqa: E731
    assert torch.autograd.gradcheck(fn2, (z_s,))


def test_all_ignored_and_errors():
    z_s, z_t = _logits(1, 3, 4, 4)
    loss = dense_kd(z_s, z_t, ignore_mask=torch.ones(1, 4, 4, dtype=torch.bool), impl='chunked')
    loss.backward()
    assert loss.item() == 0.0 and torch.count_nonzero(z_s.grad) == 0 and z_t.grad is None
    with pytest.raises(ValueError, match='differ'):
        dense_kd(z_s, z_t[:, :2], impl='chunked')
    with pytest.raises(ValueError, match='ignore_mask must be a bool'):
        dense_kd(z_s, z_t, ignore_mask=torch.ones(1, 4, 4), impl='chunked')
    with pytest.raises(ValueError, match='options'):
        dense_kd(z_s, z_t, impl='reference', chunk=3)
