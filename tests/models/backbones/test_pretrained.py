"""ImageNet MiT loading (crossmodal/models/backbones/pretrained.py) through
``model.init_weights()``, the call the Runner makes: mmseg and NVlabs key formats, channel
adaptation, strict keys, URLs."""

import urllib.error

import pytest
import torch
from mmseg.registry import MODELS

import crossmodal
from crossmodal.models.backbones import (
    MIT_CHECKPOINTS,
    PretrainedMismatchError,
    PretrainedWeightsUnavailable,
    nvlabs_to_mmseg,
    pretrained_reports,
    resolve_checkpoint,
)
from crossmodal.testing.fake_weights import mmseg_to_nvlabs, write_fake_mit_checkpoint
from fixtures import ce_loss, mit, seg_head

crossmodal.register_all_modules(init_default_scope=False)


def build(cfg):
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg)


MIT = mit(cls=None, in_channels=None, num_layers=(1, 2, 1, 1))  # two blocks in stage 2
HEAD = seg_head(num_classes=3, loss_decode=ce_loss(avg_non_ignore=False))
PE = 'layers.0.0.projection.weight'


def _rgb_state(seed=0):
    torch.manual_seed(seed)
    return MODELS.build(dict(MIT, type='MixVisionTransformer', in_channels=3)).state_dict()


def _assert_loaded(backbone, rgb_state):
    own = backbone.state_dict()
    assert set(own) == set(rgb_state)
    for k, v in rgb_state.items():
        if k == PE:
            c = own[k].shape[1]
            want = (
                v.sum(1, keepdim=True)
                if c == 1
                else v
                if c == 3
                else v.repeat(1, 2, 1, 1)[:, :c] * (3.0 / c)
            )
            assert torch.allclose(own[k], want, atol=1e-6), k
        else:
            assert torch.equal(own[k], v), k


def test_nvlabs_conversion_by_hand():
    """q and kv rows are concatenated q first; MLP linears become 1x1 convs; head is dropped."""
    q, kv = torch.ones(2, 2), torch.full((4, 2), 2.0)
    nv = {
        'block1.0.attn.q.weight': q,
        'block1.0.attn.kv.weight': kv,
        'block1.0.mlp.fc1.weight': torch.arange(6.0).view(3, 2),
        'block2.1.mlp.dwconv.dwconv.bias': torch.zeros(3),
        'patch_embed3.proj.weight': torch.zeros(1),
        'norm4.bias': torch.zeros(1),
        'head.weight': torch.zeros(1000, 2),
    }
    out = nvlabs_to_mmseg(nv)
    assert sorted(out) == [
        'layers.0.1.0.attn.attn.in_proj_weight',
        'layers.0.1.0.ffn.layers.0.weight',
        'layers.1.1.1.ffn.layers.1.bias',
        'layers.2.0.projection.weight',
        'layers.3.2.bias',
    ]
    assert out['layers.0.1.0.attn.attn.in_proj_weight'][:, 0].tolist() == [1, 1, 2, 2, 2, 2]
    assert out['layers.0.1.0.ffn.layers.0.weight'].shape == (3, 2, 1, 1)
    with pytest.raises(PretrainedMismatchError, match='unrecognised'):
        nvlabs_to_mmseg({'patch_embed1.proj.weight': q, 'cls_token': q})


def test_nvlabs_round_trip_matches_mmseg_keys_and_shapes():
    rgb = _rgb_state()
    nv = mmseg_to_nvlabs(rgb)
    assert any(k.startswith('block1.0.attn.kv.') for k in nv) and 'head.weight' in nv
    back = nvlabs_to_mmseg(nv)
    assert set(back) == set(rgb)
    assert all(torch.equal(back[k], rgb[k]) for k in rgb)


@pytest.mark.parametrize('fmt', ['mmseg', 'nvlabs', 'segformer'])
def test_multimodal_teacher_init_weights_loads_every_branch(tmp_path, fmt):
    rgb = _rgb_state()
    path = write_fake_mit_checkpoint(tmp_path / f'{fmt}.pth', rgb, fmt)
    model = MODELS.build(
        dict(
            type='MultiModalEncoderDecoder',
            modalities=('rgb', 'depth', 'rgbi'),
            data_preprocessor=dict(type='MultiModalDataPreprocessor'),
            backbone=dict(
                MIT, type='MiT', init_cfg=dict(type='PretrainedMiT', checkpoint=str(path))
            ),
            fusion=dict(type='ConcatFusion'),
            decode_head=HEAD,
        )
    )
    model.init_weights()  # what the Runner calls
    for m in ('rgb', 'depth', 'rgbi'):
        _assert_loaded(model.backbones[m], rgb)
    reports = pretrained_reports(model)
    assert {k: (r['format'], r['in_channels']) for k, r in reports.items()} == {
        'backbones.rgb': (fmt if fmt != 'segformer' else 'mmseg', 3),
        'backbones.depth': (fmt if fmt != 'segformer' else 'mmseg', 1),
        'backbones.rgbi': (fmt if fmt != 'segformer' else 'mmseg', 4),
    }


def test_stock_student_and_mmseg_pretrained_cfg_on_mit(tmp_path):
    rgb = _rgb_state()
    path = str(write_fake_mit_checkpoint(tmp_path / 'nv.pth', rgb, 'nvlabs'))
    student = build(
        dict(
            type='EncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor'),
            backbone=dict(
                MIT,
                type='MixVisionTransformer',
                in_channels=1,
                init_cfg=dict(type='PretrainedMiT', checkpoint=path),
            ),
            decode_head=HEAD,
        )
    )
    student.init_weights()
    _assert_loaded(student.backbone, rgb)
    # mmseg's own 'Pretrained' on crossmodal's MiT is upgraded (adapted, strict), not a warning
    mit = MODELS.build(
        dict(MIT, type='MiT', in_channels=1, init_cfg=dict(type='Pretrained', checkpoint=path))
    )
    mit.init_weights()
    _assert_loaded(mit, rgb)


def test_rtfdnet_and_crodino_init_weights_reach_their_branches(tmp_path):
    rgb = _rgb_state()
    path = str(write_fake_mit_checkpoint(tmp_path / 'mm.pth', rgb, 'mmseg'))
    rtfd = build(
        dict(
            type='RTFDNet',
            modalities=('rgb', 'thermal'),
            data_preprocessor=dict(type='MultiModalDataPreprocessor'),
            backbone=dict(MIT, type='MiT', pretrained_path=path),
            decode_head=HEAD,
        )
    )
    rtfd.init_weights()
    for m in ('rgb', 'thermal'):
        _assert_loaded(rtfd.backbones[m], rgb)
    # mmseg's head init (Normal std 0.01 on conv_seg, bias 0) now reaches the per-modality heads
    assert all(float(h.conv_seg.bias.abs().max()) == 0.0 for h in rtfd.heads.values())

    def seg(c):
        return dict(
            type='EncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.0] * c, std=[1.0] * c),
            backbone=dict(
                MIT,
                type='MixVisionTransformer',
                in_channels=c,
                init_cfg=dict(type='PretrainedMiT', checkpoint=path),
            ),
            decode_head=dict(HEAD, channels=16),
        )

    crodino = build(dict(type='CroDiNoKD', models=dict(rgb=seg(3), depth=seg(1)), z_dim=8))
    crodino.init_weights()
    for m in ('rgb', 'depth'):
        _assert_loaded(crodino.models[m].backbone, rgb)


def test_mismatched_checkpoint_is_an_error_listing_keys(tmp_path):
    torch.manual_seed(0)
    bigger = MODELS.build(dict(MIT, type='MixVisionTransformer', embed_dims=16)).state_dict()
    path = str(write_fake_mit_checkpoint(tmp_path / 'b.pth', bigger, 'mmseg'))
    mit = MODELS.build(dict(MIT, type='MiT', pretrained_path=path))
    with pytest.raises(PretrainedMismatchError, match=r'shape mismatches \d+ \[.layers'):
        mit.init_weights()
    torch.save(
        {'state_dict': {k: v for k, v in _rgb_state().items() if 'layers.3' not in k}},
        tmp_path / 'c.pth',
    )
    mit = MODELS.build(dict(MIT, type='MiT', pretrained_path=str(tmp_path / 'c.pth')))
    with pytest.raises(PretrainedMismatchError, match=r'missing \d+ \[.layers.3'):
        mit.init_weights()


def test_url_is_read_from_the_hub_cache_and_offline_error_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.delenv('CROSSMODAL_PRETRAINED_DIR', raising=False)
    monkeypatch.chdir(tmp_path)
    url = MIT_CHECKPOINTS['b0']

    def offline(*a, **k):
        raise urllib.error.URLError('no network')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    with pytest.raises(PretrainedWeightsUnavailable) as e:
        resolve_checkpoint(url, cfg_key='model.backbone.init_cfg.checkpoint')
    msg = str(e.value)
    for part in (
        'mit_b0_20220624-7e0fe6dd.pth',
        'mit_b0.pth',
        'no network',
        str(tmp_path / 'torch'),
        '--cfg-options model.backbone.init_cfg.checkpoint=',
    ):
        assert part in msg, part
    # NVlabs' file under its own name in ./pretrain is picked up for the mmseg URL
    rgb = _rgb_state()
    write_fake_mit_checkpoint(tmp_path / 'pretrain' / 'mit_b0.pth', rgb, 'nvlabs')
    assert resolve_checkpoint(url) == 'pretrain/mit_b0.pth'
    # a "download" (here: a file:// stand-in) lands in the hub cache atomically and is reused
    src = write_fake_mit_checkpoint(tmp_path / 'src.pth', rgb, 'mmseg')
    monkeypatch.setattr(
        torch.hub,
        'download_url_to_file',
        lambda u, dst, progress=True: __import__('shutil').copy(src, dst),
    )
    (tmp_path / 'pretrain' / 'mit_b0.pth').unlink()
    got = resolve_checkpoint(url)
    assert got == str(tmp_path / 'torch' / 'hub' / 'checkpoints' / 'mit_b0_20220624-7e0fe6dd.pth')
    mit = MODELS.build(dict(MIT, type='MiT', pretrained_path=url))
    mit.init_weights()
    _assert_loaded(mit, rgb)
    with pytest.raises(PretrainedWeightsUnavailable, match='not found: nothere.pth'):
        resolve_checkpoint('nothere.pth')


def test_distiller_loads_the_student_and_keeps_the_teacher(tmp_path):
    import sys
    import os

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'distill'))
    from distill_helpers import student_cfg, teacher_cfg

    rgb = _rgb_state()
    path = str(write_fake_mit_checkpoint(tmp_path / 'mm.pth', rgb, 'mmseg'))
    s = student_cfg()
    s['backbone'] = dict(
        MIT, type='MixVisionTransformer', init_cfg=dict(type='PretrainedMiT', checkpoint=path)
    )
    t = teacher_cfg()
    t['backbone'] = dict(MIT, type='MiT', pretrained_path=path)
    teacher = MODELS.build(t)
    torch.save({'state_dict': teacher.state_dict()}, tmp_path / 'teacher.pth')
    d = build(
        dict(
            type='DistillSegmentor',
            student=s,
            teachers=dict(t=dict(config=t, checkpoint=str(tmp_path / 'teacher.pth'))),
        )
    )
    d.init_weights()
    _assert_loaded(d.student.backbone, rgb)
    assert all(
        torch.equal(v, teacher.state_dict()[k]) for k, v in d.teachers['t'].state_dict().items()
    )


def test_exported_student_config_carries_no_pretrained_init(tmp_path):
    """A student trained from ImageNet exports to a plain mmseg config: no PretrainedMiT left in
    it."""
    from crossmodal.models.distill.export import write_plain_model

    path = str(write_fake_mit_checkpoint(tmp_path / 'mm.pth', _rgb_state(), 'mmseg'))
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(
            type='SegDataPreProcessor', mean=[0.0] * 3, std=[1.0] * 3, bgr_to_rgb=False
        ),
        backbone=dict(
            MIT, type='MixVisionTransformer', init_cfg=dict(type='PretrainedMiT', checkpoint=path)
        ),
        decode_head=HEAD,
        train_cfg=dict(),
        test_cfg=dict(mode='whole'),
    )
    model = build(cfg)
    model.init_weights()
    out = write_plain_model(
        cfg, model.state_dict(), str(tmp_path / 's.pth'), str(tmp_path / 's.py')
    )
    text = open(out['config']).read()
    assert (
        'PretrainedMiT' not in text
        and 'init_cfg' not in text.split('backbone')[1].split('decode_head')[0]
    )
