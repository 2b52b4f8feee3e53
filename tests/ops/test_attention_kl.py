"""attention_kl / affinity_kl: golden case, chunked vs reference values and gradients, gradcheck."""

import math

import pytest
import torch

from crossmodal.ops import affinity_kl, attention_kl
from crossmodal.ops.attention_kl import AttentionKLChunked


def _softmax(row):
    m = max(row)
    e = [math.exp(v - m) for v in row]
    return [v / sum(e) for v in e]


def _kl(t_logits, s_logits):
    pt, ps = _softmax(t_logits), _softmax(s_logits)
    return sum(a * (math.log(a) - math.log(b)) for a, b in zip(pt, ps))


def _golden_inputs():
    # B=1, h=1, N=2 queries, M=3 keys, d_s=1, d_t=2
    q_s = torch.tensor([[[[1.0], [-0.5]]]])
    k_s = torch.tensor([[[[1.0], [2.0], [0.0]]]])
    q_t = torch.tensor([[[[2.0, 0.0], [0.0, 1.0]]]])
    k_t = torch.tensor([[[[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]]])
    return q_s, k_s, q_t, k_t


def test_golden_hand_computed():
    q_s, k_s, q_t, k_t = _golden_inputs()
    tau = 0.5
    # scores by hand: student rows [1, 2, 0] and [-0.5, -1, 0];
    # teacher rows [0, 2, 1] and [1, 0, 0.5]
    row0 = _kl([0 / tau, 2 / tau, 1 / tau], [1 / tau, 2 / tau, 0 / tau])
    row1 = _kl([1 / tau, 0 / tau, 0.5 / tau], [-0.5 / tau, -1 / tau, 0 / tau])
    for impl in ('reference', 'chunked'):
        got = attention_kl(q_s, k_s, q_t, k_t, tau=tau, impl=impl)
        assert got.item() == pytest.approx((row0 + row1) / 2, rel=1e-5)
        masked = attention_kl(
            q_s, k_s, q_t, k_t, tau=tau, impl=impl, mask=torch.tensor([[False, True]])
        )
        assert masked.item() == pytest.approx(row1, rel=1e-5)
        rows = attention_kl(q_s, k_s, q_t, k_t, tau=tau, impl=impl, reduction='none')
        assert rows.shape == (1, 1, 2)
        assert rows[0, 0, 0].item() == pytest.approx(row0, rel=1e-5)


def _inputs(B, h, N, M, d_s, d_t, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    mk = lambda *s: torch.randn(*s, generator=g, dtype=dtype).requires_grad_()  # noqa: E731
    return mk(B, h, N, d_s), mk(B, h, M, d_s), mk(B, h, N, d_t), mk(B, h, M, d_t)


@pytest.mark.parametrize(
    'N,M,d_s,d_t,tau,use_mask,teacher_grad,bq,bk',
    [
        (37, 29, 5, 7, 0.7, True, False, 8, 6),  # N != M, odd, d_s != d_t, mask
        (50, 50, 8, 8, 2.0, False, True, 16, 64),  # key tile larger than M, teacher grads
        (13, 31, 4, 3, 1.0, True, True, 5, 7),
    ],
)
def test_chunked_matches_reference(N, M, d_s, d_t, tau, use_mask, teacher_grad, bq, bk):
    B, h = 2, 3
    q_s, k_s, q_t, k_t = _inputs(B, h, N, M, d_s, d_t)
    mask = (
        (torch.rand(B, N, generator=torch.Generator().manual_seed(1)) > 0.3) if use_mask else None
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
        impl='chunked',
        teacher_grad=teacher_grad,
        block_q=bq,
        block_k=bk,
    )
    g_out = torch.autograd.grad(out, inputs)
    assert ref.item() > 0
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(g_out, g_ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_teacher_detached_by_default():
    q_s, k_s, q_t, k_t = _inputs(1, 1, 9, 9, 4, 4)
    loss = attention_kl(q_s, k_s, q_t, k_t, impl='chunked', block_q=4, block_k=4)
    loss.backward()
    assert q_s.grad is not None and q_t.grad is None and k_t.grad is None


def test_gradcheck_chunked_float64():
    q_s, k_s, q_t, k_t = _inputs(1, 2, 7, 5, 3, 4, dtype=torch.float64)
    fn = lambda a, b, c, d: AttentionKLChunked.apply(a, b, c, d, 1 / 0.8, 3, 2)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (q_s, k_s, q_t, k_t))
    mask = torch.tensor([[True, False, True, True, False, True, True]])

    def fn2(a, b):
        return attention_kl(
            a, b, q_t, k_t, tau=1.3, mask=mask, impl='chunked', block_q=2, block_k=3
        )

    assert torch.autograd.gradcheck(fn2, (q_s, k_s))


def test_all_rows_masked_gives_zero():
    q_s, k_s, q_t, k_t = _inputs(2, 1, 6, 6, 4, 4)
    mask = torch.zeros(2, 6, dtype=torch.bool)
    loss = attention_kl(q_s, k_s, q_t, k_t, mask=mask, impl='chunked', block_q=4, block_k=4)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.count_nonzero(q_s.grad) == 0


def test_bad_inputs_raise():
    q_s, k_s, q_t, k_t = _inputs(1, 1, 6, 5, 4, 4)
    with pytest.raises(ValueError, match='k_t has shape'):
        attention_kl(q_s, k_s, q_t, k_t[:, :, :4], impl='chunked')
    with pytest.raises(ValueError, match='mask must be a bool'):
        attention_kl(q_s, k_s, q_t, k_t, mask=torch.ones(1, 5, dtype=torch.bool), impl='chunked')
    with pytest.raises(ValueError, match='impl must be'):
        attention_kl(q_s, k_s, q_t, k_t, impl='cuda')
    with pytest.raises(ValueError, match='tau must be'):
        attention_kl(q_s, k_s, q_t, k_t, tau=0.0, impl='chunked')


def test_affinity_golden_and_chunked():
    # two pixels in a 1x2 image: student vectors (1,0) and (1,1)/sqrt2; teacher (0,1) and (0,-1)
    f_s = torch.tensor([[[[1.0, 2.0]], [[0.0, 2.0]]]], requires_grad=True)  # (1, 2, 1, 2)
    f_t = torch.tensor([[[[0.0, 0.0]], [[3.0, -1.0]]]])
    tau = 0.5
    c = 1 / math.sqrt(2)
    row0 = _kl([1 / tau, -1 / tau], [1 / tau, c / tau])
    row1 = _kl([-1 / tau, 1 / tau], [c / tau, 1 / tau])
    for impl in ('reference', 'chunked'):
        got = affinity_kl(f_s, f_t, tau=tau, impl=impl)
        assert got.item() == pytest.approx((row0 + row1) / 2, rel=1e-5)
    g = torch.Generator().manual_seed(3)
    f_s = torch.randn(2, 6, 5, 7, generator=g, requires_grad=True)
    f_t = torch.randn(2, 9, 5, 7, generator=g)
    mask = torch.rand(2, 5, 7, generator=g) > 0.5
    ref = affinity_kl(f_s, f_t, tau=0.2, mask=mask, impl='reference')
    (g_ref,) = torch.autograd.grad(ref, f_s)
    out = affinity_kl(f_s, f_t, tau=0.2, mask=mask, impl='chunked', block_q=8, block_k=16)
    (g_out,) = torch.autograd.grad(out, f_s)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(g_out, g_ref, atol=1e-5, rtol=1e-4)
    assert affinity_kl(f_t, f_t.clone(), impl='chunked').item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match='same batch and spatial size'):
        affinity_kl(f_s, f_t[:, :, :4], impl='chunked')
