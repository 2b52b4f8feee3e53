"""tools/export.py --part x --format matrix: for each model kind (plain student, distiller, RTFDNet,
CroDiNo-KD) and each of its parts, the pth export loads in plain mmseg (``init_model``) and gives
the logits of the part inside the trained model on the stored file; the ONNX export of an RGB part
matches them within 1e-4; a 1-channel part refuses ONNX. Also: the one channel-order rule."""

import importlib.util
import json
import os

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import torch
from deploy_helpers import CLASSES, MEAN, STD, tiny_student_model_cfg

H, W = 64, 64
N_CLS = 3


def _classes(kind):
    return CLASSES if kind == 'plain' else ['a', 'b', 'c']  # the plain student: the deploy fixture


def _tool(repo_root, name):
    spec = importlib.util.spec_from_file_location(f'tool_{name}', f'{repo_root}/tools/{name}.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _mit(t='MixVisionTransformer', in_channels=None):
    bb = dict(
        type=t,
        embed_dims=8,
        num_stages=4,
        num_layers=[1, 1, 1, 1],
        num_heads=[1, 2, 2, 4],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=2,
        qkv_bias=True,
        drop_path_rate=0.0,
    )
    if in_channels is not None:
        bb['in_channels'] = in_channels
    return bb


def _head():
    return dict(
        type='SegformerHead',
        in_channels=[8, 16, 16, 32],
        in_index=[0, 1, 2, 3],
        channels=16,
        dropout_ratio=0.0,
        num_classes=N_CLS,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    )


def _stock(in_channels, mean, std):
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=mean,
            std=std,
            bgr_to_rgb=False,
            pad_val=0,
            seg_pad_val=255,
        ),
        backbone=_mit(in_channels=in_channels),
        decode_head=_head(),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'),
    )


def _build(model_cfg):
    import crossmodal  # noqa: F401
    from mmengine.config import ConfigDict
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(ConfigDict(model_cfg))
    with torch.no_grad():  # non-trivial BN statistics: a dropped buffer would show
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _save(d, name, model_cfg, state_dict):
    from mmengine.config import Config

    cfg, ckpt = str(d / f'{name}.py'), str(d / f'{name}.pth')
    Config(dict(model=model_cfg)).dump(cfg)
    torch.save(
        {
            'meta': {
                'dataset_meta': {
                    'classes': ['a', 'b', 'c'],
                    'palette': [[0, 0, 0], [1, 1, 1], [2, 2, 2]],
                }
            },
            'state_dict': state_dict,
        },
        ckpt,
    )
    return cfg, ckpt


def _logits(model, inputs, branch=None):
    if branch is not None:
        model.branch = branch
    with torch.no_grad():
        return model.test_step(dict(inputs=[inputs]))[0].seg_logits.data


@pytest.fixture(scope='module')
def frames(tmp_path_factory):
    """An RGB frame, a uint16 thermal frame and a uint16 depth frame (mm), as files on disk."""
    d = tmp_path_factory.mktemp('frames')
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    thermal = rng.integers(2000, 20000, (H, W)).astype(np.uint16)  # stored unit x 0.01 = trained
    depth = rng.integers(500, 10000, (H, W)).astype(np.uint16)  # mm; x 0.001 = metres
    paths = {
        'rgb': str(d / 'rgb.png'),
        'thermal': str(d / 'thermal.png'),
        'depth': str(d / 'depth.png'),
    }
    cv2.imwrite(paths['rgb'], rgb[:, :, ::-1])  # files on disk are BGR
    cv2.imwrite(paths['thermal'], thermal)
    cv2.imwrite(paths['depth'], depth)
    return dict(
        paths=paths,
        rgb=torch.from_numpy(rgb).permute(2, 0, 1).contiguous(),
        thermal=torch.from_numpy(thermal.astype(np.float32) * np.float32(0.01))[None],
        depth=torch.from_numpy(depth.astype(np.float32) * np.float32(0.001))[None],
    )


@pytest.fixture(scope='module')
def runs(tiny_student, frames, tmp_path_factory):
    """{kind: (config, ckpt, {part: (reference logits (K, H, W), modality, input scale)})}."""
    d = tmp_path_factory.mktemp('runs')
    out = {}
    cfg, ckpt, model_cfg = tiny_student
    student = _build(model_cfg)
    student.load_state_dict(torch.load(ckpt, weights_only=True)['state_dict'])
    out['plain'] = (cfg, ckpt, {'student': (_logits(student, frames['rgb']), 'rgb', None)})
    # distiller: model.student is a config path; weights under student., teachers/connectors
    dstudent = _build(_stock(3, MEAN, STD))
    s_cfg, _ = _save(d, 'dstudent', _stock(3, MEAN, STD), dstudent.state_dict())
    sd = {f'student.{k}': v for k, v in dstudent.state_dict().items()}
    sd.update({'teachers.rgbt.backbones.rgb.w': torch.zeros(2), 'connectors.c.w': torch.zeros(2)})
    dcfg = dict(
        type='DistillSegmentor',
        student=s_cfg,
        student_modalities=('rgb',),
        teachers=dict(rgbt=dict(config='teacher.py', modalities=('rgb', 'thermal'))),
    )
    out['distiller'] = (
        *_save(d, 'distill', dcfg, sd),
        {'student': (_logits(dstudent, frames['rgb']), 'rgb', None)},
    )
    # RTFDNet: RGB + thermal streams
    rcfg = dict(
        type='RTFDNet',
        modalities=('rgb', 'thermal'),
        data_preprocessor=dict(
            type='MultiModalDataPreprocessor',
            mean=dict(rgb=MEAN, thermal=[100.0]),
            std=dict(rgb=STD, thermal=[40.0]),
        ),
        backbone=_mit('MiT'),
        decode_head=_head(),
        akd_reduction=4,
    )
    rtfd = _build(rcfg)
    rin = {'rgb': frames['rgb'], 'thermal': frames['thermal']}
    out['rtfdnet'] = (
        *_save(d, 'rtfdnet', rcfg, rtfd.state_dict()),
        {
            'rgb': (_logits(rtfd, rin, 'rgb'), 'rgb', None),
            'x': (_logits(rtfd, rin, 'x'), 'thermal', 0.01),
        },
    )
    # CroDiNo-KD: RGB and depth models
    ccfg = dict(
        type='CroDiNoKD',
        models=dict(rgb=_stock(3, MEAN, STD), depth=_stock(1, [6.0], [3.0])),
        contrastive=dict(pixels_per_img=16, stride_factor=2),
    )
    crod = _build(ccfg)
    cin = {'rgb': frames['rgb'], 'depth': frames['depth']}
    out['crodino'] = (
        *_save(d, 'crodino', ccfg, crod.state_dict()),
        {
            'rgb': (_logits(crod, cin, 'rgb'), 'rgb', None),
            'depth': (_logits(crod, cin, 'depth'), 'depth', 0.001),
        },
    )
    return out


MATRIX = [
    ('plain', 'student'),
    ('distiller', 'student'),
    ('rtfdnet', 'rgb'),
    ('rtfdnet', 'x'),
    ('crodino', 'rgb'),
    ('crodino', 'depth'),
]


@pytest.mark.parametrize('kind,part', MATRIX)
def test_pth_part_loads_in_plain_mmseg_with_the_same_logits(
    runs, frames, repo_root, tmp_path, capsys, kind, part
):
    from mmseg.apis import inference_model, init_model

    cfg, ckpt, parts = runs[kind]
    ref, modality, scale = parts[part]
    args = [cfg, ckpt, '--part', part, '--format', 'pth', '--out-dir', str(tmp_path)]
    if scale is not None:
        args += ['--input-scale', str(scale)]
    assert _tool(repo_root, 'export').main(args) == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary['part'] == part and summary['classes'] == len(_classes(kind))
    from mmengine.config import Config

    stock = Config.fromfile(summary['config'])
    assert 'custom_imports' not in stock and stock.model.type == 'EncoderDecoder'
    assert stock.model.backbone.type == 'MixVisionTransformer'
    assert stock.model.decode_head.type == 'SegformerHead'
    sd = torch.load(summary['checkpoint'], weights_only=True)['state_dict']
    assert all(k.startswith(('backbone.', 'decode_head.')) for k in sd)
    plain = init_model(summary['config'], summary['checkpoint'], device='cpu')
    assert type(plain).__name__ == 'EncoderDecoder'
    assert list(plain.dataset_meta['classes']) == _classes(kind)
    with torch.no_grad():
        res = inference_model(plain, frames['paths'][modality])  # the stored file, plain mmseg
    torch.testing.assert_close(res.seg_logits.data, ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('kind,part', MATRIX)
def test_onnx_part_matches_the_part_in_the_model(
    runs, frames, repo_root, tmp_path, capsys, kind, part
):
    cfg, ckpt, parts = runs[kind]
    ref, modality, _ = parts[part]
    rc = _tool(repo_root, 'export').main(
        [
            cfg,
            ckpt,
            '--part',
            part,
            '--format',
            'onnx',
            '--out-dir',
            str(tmp_path),
            '--input-size',
            str(H),
            str(W),
        ]
    )
    if modality != 'rgb':
        assert rc == 2 and 'takes RGB parts' in capsys.readouterr().err
        assert not os.listdir(tmp_path)
        return
    assert rc == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert json.load(open(summary['sidecar']))['classes'] == _classes(kind)
    sess = ort.InferenceSession(summary['onnx'], providers=['CPUExecutionProvider'])
    x = frames['rgb'][None].float().numpy()  # raw RGB 0-255
    out = sess.run(None, {'input': x})[0][0]
    assert np.abs(out - ref.numpy()).max() <= 1e-4


def test_default_parts_and_names(runs, repo_root, tmp_path, capsys):
    from crossmodal.deploy import model_parts, select_part
    from crossmodal.deploy.student import load_config

    expected = {
        'plain': ['student'],
        'distiller': ['student'],
        'rtfdnet': ['rgb', 'x', 'thermal'],
        'crodino': ['rgb', 'depth'],
    }
    for kind, names in expected.items():
        cfg = load_config(runs[kind][0])
        assert list(model_parts(cfg)) == names, kind
        assert select_part(cfg).name == names[0]
    # default part and file stem: the RGB stream of RTFDNet
    cfg, ckpt, _ = runs['rtfdnet']
    assert (
        _tool(repo_root, 'export').main([cfg, ckpt, '--format', 'pth', '--out-dir', str(tmp_path)])
        == 0
    )
    assert os.path.isfile(tmp_path / 'segformer_rgb_from_rtfdnet.pth')
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])['part'] == 'rgb'
    assert (
        _tool(repo_root, 'export').main(
            [cfg, ckpt, '--part', 'depth', '--format', 'pth', '--out-dir', str(tmp_path)]
        )
        == 2
    )
    assert "no part 'depth'" in capsys.readouterr().err


def test_aliases_print_a_deprecation_note(runs, tmp_path, capsys, repo_root):
    cfg, ckpt, _ = runs['crodino']
    cfg_out, ckpt_out = _tool(repo_root, 'export_branch').main(
        [cfg, ckpt, '--out-dir', str(tmp_path), '--branch', 'rgb']
    )
    assert os.path.isfile(ckpt_out) and 'deprecated' in capsys.readouterr().err
    dcfg, dckpt, _ = runs['distiller']
    info = _tool(repo_root, 'export_student').main([dcfg, dckpt, '--out', str(tmp_path / 's')])
    assert os.path.isfile(info['checkpoint']) and 'deprecated' in capsys.readouterr().err
    assert info['dropped_key_groups'] == ['connectors', 'teachers']


@pytest.mark.parametrize(
    'pipeline,flip,order',
    [
        (None, False, 'RGB'),  # crossmodal loader, no flip
        (None, True, 'BGR'),  # crossmodal loader (RGB) flipped
        ([dict(type='LoadImageFromFile')], False, 'BGR'),  # mmcv loader (BGR), no flip
        ([dict(type='LoadImageFromFile')], True, 'RGB'),  # mmcv loader flipped: the mmseg default
    ],
)
def test_network_channel_order(pipeline, flip, order):
    from crossmodal.deploy.pth_export import network_channel_order, plain_mmseg_config

    cfg = dict(test_pipeline=pipeline) if pipeline else {}
    dp = dict(type='SegDataPreProcessor', mean=MEAN, std=STD, bgr_to_rgb=flip)
    assert network_channel_order(cfg, dp) == order
    model = dict(tiny_student_model_cfg(), data_preprocessor=dp)
    plain = plain_mmseg_config(model, order)
    assert plain['model']['data_preprocessor']['bgr_to_rgb'] is (order == 'RGB')
