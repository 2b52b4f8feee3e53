"""Teacher building blocks: channel adaptation, SFF, data preprocessor, MultiModalEncoderDecoder."""

import copy

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import crossmodal
from crossmodal.models.backbones import MiT, adapt_input_conv
from crossmodal.models.fusion import SFF
from fixtures import mit, seg_head

crossmodal.register_all_modules(init_default_scope=False)

TINY_MIT = mit('MiT', in_channels=None)
HEAD = seg_head(num_classes=3)


def test_adapt_input_conv_by_hand():
    w = torch.arange(6, dtype=torch.float32).view(2, 3, 1, 1)  # filters [0,1,2], [3,4,5]
    assert adapt_input_conv(w, 1).flatten().tolist() == [3.0, 12.0]
    w4 = adapt_input_conv(w, 4)  # cycle R,G,B,R and scale 3/4
    assert w4[0, :, 0, 0].tolist() == pytest.approx([0, 0.75, 1.5, 0])
    assert adapt_input_conv(w, 3) is w
    with pytest.raises(ValueError, match='3-channel'):
        adapt_input_conv(torch.zeros(2, 2, 1, 1), 4)


def test_mit_loads_rgb_weights_into_one_channel(tmp_path):
    rgb = MODELS.build(dict(TINY_MIT, type='MixVisionTransformer', in_channels=3))
    torch.save(
        {'state_dict': {f'backbone.{k}': v for k, v in rgb.state_dict().items()}},
        tmp_path / 'rgb.pth',
    )
    mono = MiT(
        **{k: v for k, v in TINY_MIT.items() if k != 'type'},
        in_channels=1,
        pretrained_path=str(tmp_path / 'rgb.pth'),
    )
    mono.init_weights()
    key = 'layers.0.0.projection.weight'
    assert torch.allclose(mono.state_dict()[key], rgb.state_dict()[key].sum(1, keepdim=True))
    # a grey image gives the same first-stage response as the RGB image it came from
    grey = torch.rand(1, 1, 32, 32)
    assert torch.allclose(
        mono.layers[0][0](grey)[0], rgb.layers[0][0](grey.repeat(1, 3, 1, 1))[0], atol=1e-5
    )


def test_sff_average_mode_matches_formula():
    torch.manual_seed(0)
    sff = SFF(channels=4, spatial_attn=False)
    fr, fx = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3)
    g = sff.gate(fr, fx)[:, :, None, None]
    # (x1 + x2) / 2 with x1 = fr + g fx, x2 = fx + g fr  ==  (1 + g)(fr + fx) / 2
    assert torch.allclose(sff([fr, fx]), 0.5 * (1 + g) * (fr + fx), atol=1e-6)
    assert ((g > 0) & (g < 1)).all()


def test_sff_spatial_attention_is_a_convex_combination():
    torch.manual_seed(0)
    sff = SFF(channels=4, spatial_attn=True)
    fr, fx = torch.randn(1, 4, 2, 2), torch.randn(1, 4, 2, 2)
    g = sff.gate(fr, fx)[:, :, None, None]
    x1, x2 = fr + g * fx, fx + g * fr
    out = sff([fr, fx])
    lo, hi = torch.minimum(x1, x2) - 1e-6, torch.maximum(x1, x2) + 1e-6
    assert ((out >= lo) & (out <= hi)).all()
    with pytest.raises(ValueError, match='exactly 2'):
        SFF(channels=4, num_modalities=3)


def _teacher(**kw):
    cfg = dict(
        type='MultiModalEncoderDecoder',
        modalities=('rgb', 'thermal'),
        backbone=TINY_MIT,
        decode_head=HEAD,
        fusion=dict(type='SFF'),
        data_preprocessor=dict(
            type='MultiModalDataPreprocessor',
            mean=dict(rgb=[128.0] * 3, thermal=[100.0]),
            std=dict(rgb=[64.0] * 3, thermal=[40.0]),
            size=(32, 48),
        ),
    )
    cfg.update(kw)
    return MODELS.build(cfg)


def _batch(n=2, h=32, w=48):
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(
            {
                'rgb': torch.randint(0, 255, (3, h, w), dtype=torch.uint8),
                'thermal': torch.rand(1, h, w) * 200,
            }
        )
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, h, w)))
        s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def test_teacher_forward_backward_and_shapes():
    torch.manual_seed(0)
    m = _teacher()
    data = m.data_preprocessor(_batch(), training=True)
    assert set(data['inputs']) == {'rgb', 'thermal'} and data['inputs']['thermal'].shape == (
        2,
        1,
        32,
        48,
    )
    feats = m.extract_feat(data['inputs'])
    assert [tuple(f.shape) for f in feats] == [
        (2, 8, 8, 12),
        (2, 16, 4, 6),
        (2, 40, 2, 3),
        (2, 64, 1, 2),
    ]
    losses = m.loss(data['inputs'], data['data_samples'])
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    loss.backward()
    assert m.backbones['thermal'].layers[0][0].projection.weight.grad.abs().sum() > 0
    assert m.fusions[0].scale.grad is not None
    m.eval()
    out = m.predict(data['inputs'])
    assert out[0].pred_sem_seg.data.shape == (1, 32, 48)


def test_teacher_input_errors():
    m = _teacher()
    with pytest.raises(KeyError, match=r"missing \['thermal'\]"):
        m.extract_feat({'rgb': torch.zeros(1, 3, 32, 32)})
    with pytest.raises(TypeError, match='dict of modalities'):
        m.extract_feat(torch.zeros(1, 4, 32, 32))


def test_preprocessor_normalises_per_modality_and_checks_channels():
    m = _teacher()
    batch = _batch(1)
    out = m.data_preprocessor(batch, training=False)
    raw = batch['inputs'][0]
    assert torch.allclose(out['inputs']['thermal'][0], (raw['thermal'] - 100.0) / 40.0)
    assert torch.allclose(out['inputs']['rgb'][0], (raw['rgb'].float() - 128.0) / 64.0)
    bad = _batch(1)
    bad['inputs'][0]['thermal'] = torch.zeros(3, 32, 48)
    with pytest.raises(ValueError, match='"thermal" has 3 channel'):
        m.data_preprocessor(bad, training=False)


def test_slide_inference_matches_whole_on_one_window():
    torch.manual_seed(0)
    m = _teacher(test_cfg=dict(mode='slide', crop_size=(32, 48), stride=(32, 48))).eval()
    x = {'rgb': torch.randn(1, 3, 32, 48), 'thermal': torch.randn(1, 1, 32, 48)}
    meta = [dict(img_shape=(32, 48), ori_shape=(32, 48), pad_shape=(32, 48))]
    with torch.no_grad():
        assert torch.allclose(m.slide_inference(x, meta), m.whole_inference(x, meta), atol=1e-5)


def test_preprocessor_keep_modalities_drops_the_others_and_names_a_missing_one():
    m = _teacher()
    dp = m.data_preprocessor
    batch = _batch(2)
    full = dp(copy.deepcopy(batch), training=True)
    dp.keep_modalities = ('rgb',)
    try:
        kept = dp(copy.deepcopy(batch), training=True)
        assert sorted(kept['inputs']) == ['rgb']
        assert torch.equal(kept['inputs']['rgb'], full['inputs']['rgb'])
        assert [s.metainfo.get('pad_shape') for s in kept['data_samples']] == [
            s.metainfo.get('pad_shape') for s in full['data_samples']
        ]
        stacked = dict(full['inputs'])  # the (B, C, H, W) dict path
        assert sorted(dp(dict(inputs=stacked), training=False)['inputs']) == ['rgb']
        dp.keep_modalities = ('rgb', 'depth')
        with pytest.raises(ValueError, match=r"lacks modalities \['depth'\]"):
            dp(copy.deepcopy(batch), training=True)
    finally:
        dp.keep_modalities = None
