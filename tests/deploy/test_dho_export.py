"""Export of a DHO student (DualHeadSegformerHead): tools/export.py folds the two classifiers into a
stock SegformerHead; the plain mmseg model (init_model) and the ONNX graph give the DHO student's
combined logits (config alpha, or --alpha); the fold's weights and config; errors."""

import importlib.util
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from deploy_helpers import MEAN, STD

import fixtures
from fixtures import HEADS_2

from crossmodal.deploy.head_fold import fold_state_dict, stock_head_config

K = 3
H, W = 64, 64
CLASSES = ['a', 'b', 'c']


def _tool(repo_root):
    spec = importlib.util.spec_from_file_location('tool_export_dho', f'{repo_root}/tools/export.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def dho_cfg(alpha=0.3):
    head = dict(
        fixtures.seg_head(K, 8, HEADS_2, dropout_ratio=0.1),
        type='DualHeadSegformerHead',
        alpha=alpha,
        kd_init='independent',
    )
    return fixtures.student_cfg(K, size=None, size_divisor=32, num_heads=HEADS_2, head=head)


@pytest.fixture(scope='module')
def dho_run(tmp_path_factory):
    """(distill config, distill checkpoint, the DHO student in eval mode) with distinct heads and
    non-trivial BN statistics; the checkpoint also holds teacher / connector keys."""
    from mmengine.config import Config

    d = tmp_path_factory.mktemp('dho_export')
    student = fixtures.build(dho_cfg(), seed=0)
    with torch.no_grad():
        for m in student.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
        student.decode_head.conv_seg.weight.normal_(std=0.3)
        student.decode_head.conv_seg_kd.weight.normal_(std=0.3)
        student.decode_head.conv_seg_kd.bias.normal_(std=0.3)
    s_cfg = str(d / 'student.py')
    Config(dict(model=dho_cfg())).dump(s_cfg)
    sd = {f'student.{k}': v for k, v in student.state_dict().items()}
    sd.update({'teachers.rgbt.backbones.rgb.w': torch.zeros(2), 'connectors.c.w': torch.zeros(2)})
    cfg = str(d / 'distill.py')
    Config(
        dict(
            model=dict(
                type='DistillSegmentor',
                student=s_cfg,
                student_modalities=('rgb',),
                teachers=dict(rgbt=dict(config='teacher.py', modalities=('rgb', 'thermal'))),
                student_taps=dict(kd_logits='decode_head.conv_seg_kd'),
            ),
            metainfo=dict(classes=CLASSES, palette=[[0, 0, 0], [1, 1, 1], [2, 2, 2]]),
        )
    ).dump(cfg)
    ckpt = str(d / 'distill.pth')
    torch.save({'state_dict': sd, 'meta': {}}, ckpt)
    return cfg, ckpt, student.eval()


def _x(seed=0):
    return torch.rand(1, 3, H, W, generator=torch.Generator().manual_seed(seed)) * 255


def _normalise(x):
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def dho_logits(student, x_raw, alpha):
    """The DHO student's combined logits at the input size (eval mode, ``alpha``)."""
    head = student.decode_head
    old, head.alpha = head.alpha, alpha
    try:
        with torch.no_grad():
            return student.encode_decode(_normalise(x_raw), [dict(img_shape=(H, W))])
    finally:
        head.alpha = old


def assert_same(ref, out, atol):
    ref, out = np.asarray(ref), np.asarray(out)
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() <= atol, np.abs(out - ref).max()
    assert (out.argmax(1) == ref.argmax(1)).all()


@pytest.mark.parametrize('alpha', [None, 0.8])
def test_pth_export_folds_into_a_stock_segformer_head(dho_run, repo_root, tmp_path, capsys, alpha):
    from mmseg.apis import init_model

    cfg, ckpt, student = dho_run
    out = str(tmp_path / 'student.pth')
    argv = [cfg, ckpt, '--format', 'pth', '--out', out]
    if alpha is not None:
        argv += ['--alpha', str(alpha)]
    assert _tool(repo_root).main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    a = 0.3 if alpha is None else alpha
    assert summary['dho_alpha'] == a
    from mmengine.config import Config

    written = Config.fromfile(out[:-4] + '.py')
    head = written.model.decode_head
    assert head.type == 'SegformerHead' and 'alpha' not in head and 'kd_init' not in head
    assert 'DualHead' not in str(written.model) and 'crossmodal' not in str(written.model)
    assert written.exported_from.folded_head == 'DualHeadSegformerHead'  # provenance only
    assert written.exported_from.dho_alpha == a
    sd = torch.load(out, weights_only=True)['state_dict']
    assert not any('conv_seg_kd' in k for k in sd)
    model = init_model(out[:-4] + '.py', out, device='cpu')
    assert type(model.decode_head).__name__ == 'SegformerHead'
    for seed in (0, 1):
        x = _x(seed)
        with torch.no_grad():
            got = model.encode_decode(_normalise(x), [dict(img_shape=(H, W))])
        assert_same(dho_logits(student, x, a), got, atol=1e-5)
    # the fold is not the label head alone nor the KD head alone
    ref = dho_logits(student, _x(0), a)
    assert (ref - dho_logits(student, _x(0), 1.0)).abs().max() > 1e-2
    assert (ref - dho_logits(student, _x(0), 0.0)).abs().max() > 1e-2


def test_onnx_export_matches_the_combined_logits(dho_run, repo_root, tmp_path, capsys):
    cfg, ckpt, student = dho_run
    out = str(tmp_path / 'student.onnx')
    argv = [cfg, ckpt, '--format', 'onnx', '--out', out, '--input-size', str(H), str(W)]
    assert _tool(repo_root).main(argv + ['--alpha', '0.6']) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary['dho_alpha'] == 0.6
    with open(out + '.json') as f:
        assert json.load(f)['source']['dho_alpha'] == 0.6
    sess = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    x = _x(2)
    got = sess.run(None, {'input': x.numpy()})[0]
    assert_same(dho_logits(student, x, 0.6), got, atol=1e-5)


def test_load_student_gives_the_folded_stock_model(dho_run):
    from crossmodal.deploy import load_student

    cfg, ckpt, student = dho_run
    model, _, model_cfg, info = load_student(cfg, ckpt, student_prefix='student.')
    assert model_cfg['decode_head']['type'] == 'SegformerHead'
    assert info.meta['folded_head'] == 'DualHeadSegformerHead' and info.meta['dho_alpha'] == 0.3
    x = _x(3)
    with torch.no_grad():
        got = model.encode_decode(_normalise(x), [dict(img_shape=(H, W))])
    assert_same(dho_logits(student, x, 0.3), got, atol=1e-5)


def test_fold_state_dict_and_head_config():
    w_l, w_k = torch.ones(K, 4, 1, 1), torch.zeros(K, 4, 1, 1)
    sd = {
        'backbone.x': torch.zeros(1),
        'decode_head.conv_seg.weight': w_l,
        'decode_head.conv_seg.bias': torch.ones(K),
        'decode_head.conv_seg_kd.weight': w_k,
        'decode_head.conv_seg_kd.bias': torch.full((K,), 3.0),
    }
    out = fold_state_dict(sd, 0.25)
    assert set(out) == {'backbone.x', 'decode_head.conv_seg.weight', 'decode_head.conv_seg.bias'}
    assert torch.equal(out['decode_head.conv_seg.weight'], torch.full((K, 4, 1, 1), 0.25))
    assert out['decode_head.conv_seg.bias'].tolist() == [2.5] * K  # 0.25 * 1 + 0.75 * 3
    with pytest.raises(KeyError, match='conv_seg_kd.weight'):
        fold_state_dict({k: v for k, v in sd.items() if 'kd' not in k}, 0.5)
    head = dict(type='DualHeadSegformerHead', alpha=0.3, kd_init='copy', num_classes=K)
    assert stock_head_config(head) == dict(type='SegformerHead', num_classes=K)
    assert head['type'] == 'DualHeadSegformerHead'  # a copy


def test_alpha_errors(dho_run, tiny_student, repo_root, tmp_path, capsys):
    cfg, ckpt, _ = dho_run
    tool = _tool(repo_root)
    out = str(tmp_path / 's.pth')
    assert tool.main([cfg, ckpt, '--format', 'pth', '--out', out, '--alpha', '1.5']) == 2
    assert 'alpha must be in [0, 1]' in capsys.readouterr().err
    s_cfg, s_ckpt, _ = tiny_student  # a stock SegformerHead student
    assert tool.main([s_cfg, s_ckpt, '--format', 'pth', '--out', out, '--alpha', '0.5']) == 2
    err = capsys.readouterr().err
    assert '--alpha applies to a student with a DualHeadSegformerHead' in err
    assert 'SegformerHead' in err
