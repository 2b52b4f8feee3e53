"""CrossAttentionFusion and FSKDTeacher: shapes, gradients, bad input."""

import math

import pytest
import torch
from mmseg.registry import MODELS

from crossmodal.models.fusion import CrossAttentionFusion
from crossmodal.models.fusion.cross_attention import (
    PE_MAX_OCTAVES,
    pos_encoding_freqs,
    sincos_pos_encoding,
)
from fskd_helpers import MIT, samples, teacher_cfg


def test_cross_attention_fusion_shapes_and_grads():
    torch.manual_seed(0)
    fuse = CrossAttentionFusion(
        channels=16, num_modalities=2, kv_channels=8, num_heads=2, sr_ratio=2
    )
    q = torch.randn(2, 16, 8, 10, requires_grad=True)
    kv = torch.randn(2, 8, 8, 10, requires_grad=True)
    out = fuse([q, kv])
    assert out.shape == (2, 16, 8, 10)
    out.sum().backward()
    assert q.grad.abs().sum() > 0 and kv.grad.abs().sum() > 0


def test_cross_attention_fusion_three_maps_and_tiny_kv():
    fuse = CrossAttentionFusion(channels=8, num_modalities=3, sr_ratio=4, add_aligned=False)
    out = fuse([torch.randn(1, 8, 2, 2), torch.randn(1, 8, 2, 2), torch.randn(1, 8, 1, 1)])
    assert out.shape == (1, 8, 2, 2)


def test_cross_attention_fusion_errors():
    with pytest.raises(ValueError, match='num_heads'):
        CrossAttentionFusion(channels=10, num_heads=3)
    with pytest.raises(ValueError, match='>= 2'):
        CrossAttentionFusion(channels=8, num_modalities=1)
    fuse = CrossAttentionFusion(channels=8)
    with pytest.raises(ValueError, match='channels'):
        fuse([torch.randn(1, 8, 4, 4), torch.randn(1, 4, 4, 4)])


def test_sincos_pos_encoding_values():
    pe = sincos_pos_encoding(1, 2, 4)
    # one frequency (pi): y = 0.5 -> sin(pi/2) = 1, cos = 0; x = 0.25, 0.75
    s1, c1 = math.sin(0.25 * math.pi), math.cos(0.25 * math.pi)
    s3, c3 = math.sin(0.75 * math.pi), math.cos(0.75 * math.pi)
    expected = torch.tensor([[1.0, 0.0, s1, c1], [1.0, 0.0, s3, c3]])
    assert torch.allclose(pe, expected, atol=1e-6)


def test_cross_attention_fusion_in_multimodal_encoder_decoder():
    model = MODELS.build(
        dict(
            type='MultiModalEncoderDecoder',
            modalities=('rgb', 'lidar'),
            in_channels=dict(lidar=5),
            backbone=dict(MIT),
            fusion=dict(type='CrossAttentionFusion'),
            decode_head=dict(
                type='SegformerHead',
                in_channels=[8, 16, 32, 64],
                in_index=[0, 1, 2, 3],
                channels=16,
                num_classes=3,
                norm_cfg=dict(type='BN', requires_grad=True),
            ),
        )
    )
    feats = model.extract_feat(
        {'rgb': torch.randn(1, 3, 32, 32), 'lidar': torch.randn(1, 5, 32, 32)}
    )
    assert [f.shape[1] for f in feats] == [8, 16, 32, 64] and feats[0].shape[-1] == 8


@pytest.mark.parametrize('stages', [(2, 3), (0, 1, 2, 3)])
def test_teacher_forward_backward_shapes(stages):
    torch.manual_seed(0)
    t = MODELS.build(teacher_cfg(fusion_stages=stages))
    assert sorted(int(k) for k in t.fusions) == list(stages)
    inputs = {'rgb': torch.randn(2, 4, 32, 32), 'lidar': torch.randn(2, 7, 32, 32)}
    feats = t.extract_feat(inputs)
    assert [tuple(f.shape[1:]) for f in feats] == [(8, 8, 8), (16, 4, 4), (32, 2, 2), (64, 1, 1)]
    losses = t.loss(inputs, samples())
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for mod in (t.backbone, t.lidar_backbone, t.profile_encoder, t.fusions, t.decode_head):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in mod.parameters())
    t.eval()
    with torch.no_grad():
        out = t.predict(inputs)
    assert out[0].pred_regression.data.shape == (3, 32, 32)


def test_teacher_bad_inputs():
    t = MODELS.build(teacher_cfg())
    with pytest.raises(TypeError, match='dict'):
        t.extract_feat(torch.randn(1, 4, 32, 32))
    with pytest.raises(KeyError, match='lidar'):
        t.extract_feat({'rgb': torch.randn(1, 4, 32, 32)})
    with pytest.raises(ValueError, match='7'):
        t.extract_feat({'rgb': torch.randn(1, 4, 32, 32), 'lidar': torch.randn(1, 5, 32, 32)})
    with pytest.raises(ValueError, match='both planar and profile'):
        MODELS.build(dict(teacher_cfg(), profile_channels=[2, 3]))


@pytest.mark.parametrize('channels', [32, 64, 128, 160, 256, 320, 512, 1024])
def test_sincos_pos_encoding_finite_and_bounded(channels):
    # the octave ladder 2^j·pi used to reach 2^127·pi = inf (sin -> NaN) at 512 channels
    pe = sincos_pos_encoding(16, 16, channels)
    assert pe.shape == (256, channels)
    assert torch.isfinite(pe).all() and pe.abs().max() <= 1.0
    freqs = pos_encoding_freqs(channels // 4)
    assert torch.isfinite(freqs).all() and freqs.max() <= 2.0 ** (PE_MAX_OCTAVES - 1) * math.pi * (
        1 + 1e-6
    )
    assert (freqs[1:] > freqs[:-1]).all()  # distinct, increasing frequencies


def test_sincos_pos_encoding_small_channels_keep_octaves():
    n = PE_MAX_OCTAVES
    expected = (2.0 ** torch.arange(n, dtype=torch.float32)) * math.pi
    assert torch.equal(pos_encoding_freqs(n), expected)


def test_cross_attention_fusion_512_channels_finite():
    torch.manual_seed(0)
    fuse = CrossAttentionFusion(channels=512, num_modalities=2, kv_channels=64, num_heads=8)
    out = fuse([torch.randn(1, 512, 4, 4), torch.randn(1, 64, 4, 4)])
    assert out.shape == (1, 512, 4, 4) and torch.isfinite(out).all()
