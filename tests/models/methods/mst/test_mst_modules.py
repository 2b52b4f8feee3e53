"""MaskNet and GateNet: shapes, gradients, parameter count vs hidden_dim_factor."""

import pytest
import torch

from crossmodal.models.methods.mst import GateNet, MaskNet, masknet_hidden_dim


def test_hidden_dim_formula():
    # h = floor(C / (factor * heads)) * heads
    assert masknet_hidden_dim(512, 2, 3) == 255  # the released code's setting
    assert masknet_hidden_dim(512, 4, 3) == 126
    assert masknet_hidden_dim(64, 4, 3) == 15
    assert masknet_hidden_dim(8, 4, 3) == 3  # never below `heads`


def expected_params(c, h):
    reduce = c * 9 + c * c + 2 * c  # depthwise 3x3, 1x1 conv (no bias), BN
    embed = c * c * h + c * h  # Linear C -> C*h
    attn = 3 * h * h + 3 * h + h * h + h  # in_proj (q, k, v) + out_proj
    fc = h + 1
    return reduce + embed + attn + fc


@pytest.mark.parametrize('factor', [2, 4, 8])
def test_masknet_parameter_count_vs_factor(factor):
    c = 48
    net = MaskNet(c, hidden_dim_factor=factor, heads=3)
    h = (c // (factor * 3)) * 3
    assert net.hidden_dim == h
    assert sum(p.numel() for p in net.parameters()) == expected_params(c, h)


def test_masknet_512_channels_factor_4_halves_the_code_size():
    # counted from the formula (building a 67 M-parameter module is not needed for the claim)
    code = expected_params(512, masknet_hidden_dim(512, 2, 3))
    ours = expected_params(512, masknet_hidden_dim(512, 4, 3))
    assert code > 66_000_000 and ours < 34_000_000


def test_masknet_forward_backward_shapes():
    torch.manual_seed(0)
    net = MaskNet(16, hidden_dim_factor=2, heads=2)
    x = torch.randn(3, 16, 5, 7, requires_grad=True)
    m = net(x)
    assert m.shape == (3, 16) and bool(((m > 0) & (m < 1)).all())
    (m[:, :, None, None] * x).sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in net.parameters())
    with pytest.raises(ValueError, match='MaskNet\\(16\\)'):
        net(torch.randn(1, 8, 4, 4))
    with pytest.raises(ValueError, match='divisible'):
        MaskNet(16, heads=3, hidden_dim=8)


@pytest.mark.parametrize('per_pixel', [False, True])
def test_gatenet_forward_backward(per_pixel):
    torch.manual_seed(0)
    gate = GateNet(num_classes=4, num_experts=5, per_pixel=per_pixel)
    z = torch.randn(2, 4, 8, 10, requires_grad=True)
    out = gate(z)
    assert out.shape == ((2, 5, 8, 10) if per_pixel else (2, 5))
    out.softmax(1).max(1).values.sum().backward()
    assert z.grad is not None and gate.point.weight.grad is not None
    # the depthwise conv is stride 2 for the per-image gate (code), stride 1 per pixel
    assert gate.depthwise.stride == ((1, 1) if per_pixel else (2, 2))
    assert gate.depthwise.groups == 8
    with pytest.raises(ValueError, match='4 classes'):
        gate(torch.randn(1, 3, 4, 4))
