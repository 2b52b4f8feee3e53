"""CroDiNo-KD losses: golden values computed by hand / independent numpy, gradients, sampling."""

import math

import numpy as np
import pytest
import torch

import crossmodal  # noqa: F401
from crossmodal.models.methods.crodino import (
    ModalityClassifier,
    OrthogonalityLoss,
    PixelInfoNCELoss,
    info_nce_pairs,
)
from crossmodal.models.methods.crodino.losses import sample_pixels


def _np_info_nce(q, k, tau):
    """Independent numpy InfoNCE (symmetric): rows of q pair with rows of k."""
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    k = k / np.linalg.norm(k, axis=1, keepdims=True)
    s = q @ k.T / tau

    def ce(m):
        m = m - m.max(1, keepdims=True)
        logp = m - np.log(np.exp(m).sum(1, keepdims=True))
        return -np.mean(np.diag(logp))

    return 0.5 * (ce(s) + ce(s.T))


def test_info_nce_two_pixels_by_hand():
    # q0 = (1, 0), q1 = (0, 1); k0 = (1, 0), k1 = (1, 1)/sqrt2
    # -> cos = [[1, r], [0, r]], r = 1/sqrt2
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # scale must not matter (cosine)
    k = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    r = 1 / math.sqrt(2)
    tau = 0.5
    a, b = 1 / tau, r / tau
    row0 = -math.log(math.exp(a) / (math.exp(a) + math.exp(b)))
    row1 = -math.log(math.exp(b) / (math.exp(0) + math.exp(b)))
    col0 = -math.log(math.exp(a) / (math.exp(a) + math.exp(0)))
    col1 = math.log(2.0)  # both entries of column 1 equal b
    expected = 0.5 * ((row0 + row1) / 2 + (col0 + col1) / 2)
    got = info_nce_pairs(q, k, tau)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_info_nce_matches_numpy_random():
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    got = info_nce_pairs(torch.tensor(q), torch.tensor(k), 0.1)
    assert got.item() == pytest.approx(_np_info_nce(q, k, 0.1), rel=1e-9)


def test_pixel_info_nce_uses_all_valid_pixels_and_excludes_void():
    # B=1, D=2, 1x3 map, no pooling; pixel 2 is void
    za = torch.tensor([[[[1.0, 0.0, 5.0]], [[0.0, 1.0, 5.0]]]])
    zb = torch.tensor([[[[1.0, 1.0, -3.0]], [[0.0, 1.0, 2.0]]]])
    gt = torch.tensor([[[0, 1, 255]]])
    loss = PixelInfoNCELoss(tau=1.0, pixels_per_img=100, stride_factor=1)
    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    k = np.array([[1.0, 0.0], [1.0, 1.0]])
    assert loss(za, zb, gt).item() == pytest.approx(_np_info_nce(q, k, 1.0), rel=1e-6)
    # all pixels valid without labels
    q3 = np.array([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    k3 = np.array([[1.0, 0.0], [1.0, 1.0], [-3.0, 2.0]])
    assert loss(za, zb, None).item() == pytest.approx(_np_info_nce(q3, k3, 1.0), rel=1e-6)


def test_pixel_info_nce_negatives_span_the_batch_and_pooling():
    # B=2, D=2, 2x2 maps pooled to 1x1 (stride_factor 2): one pixel per image, negatives across
    # images
    za = torch.zeros(2, 2, 2, 2)
    zb = torch.zeros(2, 2, 2, 2)
    za[0, 0], za[1, 1] = 1.0, 1.0  # pooled: (1, 0), (0, 1)
    zb[0, 0], zb[0, 1] = 1.0, 1.0  # pooled: (1, 1)
    zb[1, 1] = 2.0  # pooled: (0, 2)
    loss = PixelInfoNCELoss(tau=0.2, pixels_per_img=4, stride_factor=2)
    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    k = np.array([[1.0, 1.0], [0.0, 2.0]])
    assert loss(za, zb).item() == pytest.approx(_np_info_nce(q, k, 0.2), rel=1e-6)


def test_pixel_info_nce_sampling_is_reproducible_and_bounded():
    valid = torch.zeros(2, 4, 5, dtype=torch.bool)
    valid[0, :2] = True  # 10 valid
    valid[1, 0, 0] = True  # 1 valid
    a = sample_pixels(valid, 6, torch.Generator().manual_seed(3))
    b = sample_pixels(valid, 6, torch.Generator().manual_seed(3))
    assert [x.tolist() for x in a] == [x.tolist() for x in b]
    assert len(a[0]) == 6 and len(set(a[0].tolist())) == 6 and all(i < 10 for i in a[0].tolist())
    assert a[1].tolist() == [0]
    z = torch.randn(2, 3, 4, 5)
    loss = PixelInfoNCELoss(pixels_per_img=6, stride_factor=1)
    gt = torch.where(valid, torch.zeros(2, 4, 5, dtype=torch.long), torch.full((2, 4, 5), 255))
    v1 = loss(z, z.flip(1), gt, generator=torch.Generator().manual_seed(0))
    v2 = loss(z, z.flip(1), gt, generator=torch.Generator().manual_seed(0))
    assert v1.item() == v2.item()


def test_pixel_info_nce_gradients_and_minimum():
    torch.manual_seed(0)
    za = torch.randn(2, 4, 3, 3, requires_grad=True)
    zb = torch.randn(2, 4, 3, 3, requires_grad=True)
    loss = PixelInfoNCELoss(tau=0.1, pixels_per_img=9, stride_factor=1)
    out = loss(za, zb)
    out.backward()
    assert torch.isfinite(out) and za.grad.abs().sum() > 0 and zb.grad.abs().sum() > 0
    # a gradient step on both sides lowers the loss
    with torch.no_grad():
        za2, zb2 = za - 0.05 * za.grad, zb - 0.05 * zb.grad
    assert loss(za2, zb2).item() < out.item()
    # aligned, well-separated embeddings give a loss far below chance (log N)
    e = torch.eye(4).view(4, 4, 1, 1).permute(1, 0, 2, 3).reshape(1, 4, 2, 2)
    assert loss(e, e).item() < 0.01 < math.log(4)


def test_pixel_info_nce_all_void_is_zero_with_graph():
    z = torch.randn(1, 2, 2, 2, requires_grad=True)
    out = PixelInfoNCELoss(stride_factor=1)(z, z, torch.full((1, 2, 2), 255))
    assert out.item() == 0.0 and out.requires_grad


def test_pixel_info_nce_bad_input():
    with pytest.raises(ValueError, match='same shape'):
        PixelInfoNCELoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match='tau'):
        PixelInfoNCELoss(tau=0)


def test_orthogonality_by_hand():
    # pixel 0: z_inv (1, 0), z_spe (1, 1) -> cos^2 = 1/2; pixel 1: (0, 2) vs (3, 0) -> 0;
    # pixel 2: (1, 1) vs (2, 2) -> 1; mean = 0.5
    zi = torch.tensor([[[[1.0, 0.0, 1.0]], [[0.0, 2.0, 1.0]]]])
    zs = torch.tensor([[[[1.0, 3.0, 2.0]], [[1.0, 0.0, 2.0]]]])
    assert OrthogonalityLoss(eps=0.0)(zi, zs).item() == pytest.approx(0.5, rel=1e-6)
    assert OrthogonalityLoss(loss_weight=2.0, eps=0.0)(zi, zs).item() == pytest.approx(
        1.0, rel=1e-6
    )


def test_orthogonality_gradient_and_zero_vectors():
    zi = torch.tensor([[[[1.0]], [[1.0]]]], requires_grad=True)
    zs = torch.tensor([[[[1.0]], [[0.0]]]], requires_grad=True)
    out = OrthogonalityLoss()(zi, zs)
    out.backward()
    assert out.item() == pytest.approx(0.5, rel=1e-4)
    # d cos^2 / d zs[1] > 0 would increase overlap... the step along -grad must lower the loss
    with torch.no_grad():
        lower = OrthogonalityLoss()(zi - 0.1 * zi.grad, zs - 0.1 * zs.grad)
    assert lower.item() < out.item()
    zero = OrthogonalityLoss()(torch.zeros(1, 2, 1, 1), torch.ones(1, 2, 1, 1))
    assert zero.item() == 0.0
    with pytest.raises(ValueError, match='z_dim'):
        OrthogonalityLoss()(torch.zeros(1, 2, 1, 1), torch.zeros(1, 3, 1, 1))


def test_modality_classifier_by_hand():
    clf = ModalityClassifier(2, 2)
    with torch.no_grad():
        clf.fc.weight.copy_(torch.eye(2))
        clf.fc.bias.zero_()
    a = torch.tensor([[[[2.0]], [[0.0]]]])  # pooled (2, 0): logits (2, 0), target 0
    b = torch.tensor([[[[0.0]], [[1.0]]]])  # pooled (0, 1): logits (0, 1), target 1
    expected = 0.5 * (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-1)))
    assert clf([a, b]).item() == pytest.approx(expected, rel=1e-6)
