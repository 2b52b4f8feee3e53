"""ONNX export: parity with mmseg's own forward, sidecar contents, refusal of teachers."""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from deploy_helpers import CLASSES, MEAN, PALETTE, STD, tiny_student_model_cfg


def mmseg_logits(model, x_raw):
    """Reference: mmseg's EncoderDecoder.encode_decode on the normalised tensor."""
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    h, w = x_raw.shape[2:]
    with torch.no_grad():
        return model.encode_decode(
            (x_raw - mean) / std, [dict(img_shape=(h, w), pad_shape=(h, w))]
        ).numpy()


def ort_logits(path, x_raw):
    sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    return sess.run(None, {'input': x_raw.numpy()})[0]


def assert_parity(ref, out):
    assert out.shape == ref.shape
    agreement = (out.argmax(1) == ref.argmax(1)).mean()
    assert agreement >= 0.999, agreement
    assert np.abs(out - ref).max() <= 1e-3


@pytest.mark.parametrize('size', [(64, 96), (96, 128)])
def test_dynamic_onnx_matches_pytorch(loaded_student, onnx_models, size):
    model = loaded_student[0]
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1)) * 255
    assert_parity(mmseg_logits(model, x), ort_logits(onnx_models['dynamic'], x))


def test_fixed_onnx_matches_pytorch(loaded_student, onnx_models):
    model = loaded_student[0]
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(2)) * 255
    assert_parity(mmseg_logits(model, x), ort_logits(onnx_models['fixed'], x))


def test_trained_student_is_not_degenerate(loaded_student):
    """The fixture's student learnt something: parity is not tested on constant outputs."""
    from deploy_helpers import synthetic_batch

    imgs, labels = synthetic_batch(n=2, seed=5)
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float()
    pred = mmseg_logits(loaded_student[0], x).argmax(1)
    assert len(np.unique(pred)) >= 3
    acc = (pred == np.stack(labels)).mean()
    assert acc > 0.5, acc


def test_segmenter_onnx_equals_torch_checkpoint(tiny_student, onnx_models):
    """Same pre/post-processing on both paths, on a frame that needs padding / resizing."""
    from crossmodal.apis import Segmenter

    cfg, ckpt, _ = tiny_student
    frame = (np.random.default_rng(3).random((50, 70, 3)) * 255).astype(np.uint8)
    onnx_dyn = Segmenter(onnx_models['dynamic'])(frame)
    torch_dyn = Segmenter(ckpt, config=cfg)(frame)
    assert onnx_dyn.labels.shape == (50, 70) and onnx_dyn.labels.dtype == np.uint8
    assert onnx_dyn.confidence.dtype == np.float32
    assert (onnx_dyn.labels == torch_dyn.labels).mean() >= 0.999
    assert np.abs(onnx_dyn.logits - torch_dyn.logits).max() <= 1e-3
    onnx_fix = Segmenter(onnx_models['fixed'])(frame)
    torch_fix = Segmenter(ckpt, config=cfg, input_size=(64, 96))(frame)
    assert (onnx_fix.labels == torch_fix.labels).mean() >= 0.999
    assert np.abs(onnx_fix.logits - torch_fix.logits).max() <= 1e-3


def test_sidecar_contents(onnx_models):
    with open(onnx_models['fixed'] + '.json') as f:
        fixed = json.load(f)
    with open(onnx_models['dynamic'] + '.json') as f:
        dyn = json.load(f)
    assert fixed['classes'] == CLASSES and fixed['palette'] == PALETTE
    inp = fixed['input']
    assert inp['modality'] == 'rgb' and inp['channel_order'] == 'RGB'
    assert inp['mean'] == MEAN and inp['std'] == STD and inp['normalization'] == 'in_graph'
    assert inp['size'] == [64, 96] and inp['resize_policy'] == 'resize' and not inp['dynamic']
    assert dyn['input']['dynamic'] and dyn['input']['size'] is None
    assert dyn['input']['resize_policy'] == 'pad' and dyn['input']['size_divisor'] == 32
    assert fixed['output']['name'] == 'logits'


def _save(path, state_dict, meta=None):
    torch.save({'meta': meta or {}, 'state_dict': state_dict}, path)


def test_teacher_checkpoint_is_refused(tiny_student, tmp_path, repo_root, capsys):
    import importlib.util

    cfg, _, _ = tiny_student
    teacher = str(tmp_path / 'teacher.pth')
    _save(
        teacher,
        {
            'backbones.rgb.patch_embed.weight': torch.zeros(1),
            'backbones.depth.patch_embed.weight': torch.zeros(1),
            'decode_head.conv_seg.weight': torch.zeros(1),
        },
    )
    spec = importlib.util.spec_from_file_location('export_tool', f'{repo_root}/tools/export.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rc = tool.main(
        [cfg, teacher, '--format', 'onnx', '--out', str(tmp_path / 's.onnx'), '--dynamic']
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert 'multimodal teacher' in err and 'Only single-modality students export' in err
    assert 'distil' in err and "['depth', 'rgb']" in err
    assert not (tmp_path / 's.onnx').exists()


def test_teacher_config_is_refused(tmp_path):
    from crossmodal.deploy import NotAStudentError, load_student

    cfg = dict(model=dict(type='MultiModalEncoderDecoder', backbones=dict(rgb={}, depth={})))
    with pytest.raises(NotAStudentError, match='multimodal teacher.*Only single-modality'):
        load_student(cfg)
    four = dict(model=tiny_student_model_cfg())
    four['model']['backbone']['in_channels'] = 4
    four['model']['data_preprocessor']['mean'] = MEAN + [0.0]
    four['model']['data_preprocessor']['std'] = STD + [1.0]
    with pytest.raises(NotAStudentError, match='4 mean values'):
        load_student(four)


def test_distillation_checkpoint_needs_and_uses_student_prefix(
    tiny_student, loaded_student, tmp_path
):
    from crossmodal.compat import load_checkpoint_file
    from crossmodal.deploy import NotAStudentError, export_onnx, load_student

    cfg, ckpt, model_cfg = tiny_student
    sd = load_checkpoint_file(ckpt)['state_dict']
    distill = {f'student.{k}': v for k, v in sd.items()}
    distill['teacher.backbones.rgb.w'] = torch.zeros(2)
    distill['teacher.backbones.depth.w'] = torch.zeros(2)
    distill['connectors.0.weight'] = torch.zeros(2)
    path = str(tmp_path / 'distill.pth')
    _save(path, distill)
    with pytest.raises(NotAStudentError, match='--student-prefix student.'):
        load_student(cfg, path)
    dcfg = dict(
        model=dict(type='DistillSegmentor', student=model_cfg, teacher=dict(type='X')),
        metainfo=dict(classes=CLASSES, palette=PALETTE),
    )
    with pytest.raises(NotAStudentError, match='distiller'):
        load_student(dcfg, path)
    model, _, _, info = load_student(dcfg, path, student_prefix='student.')
    assert info.meta['dropped_key_groups'] == ['connectors', 'teacher']
    out = str(tmp_path / 'from_distill.onnx')
    export_onnx(model, info, out, input_size=(64, 64))
    x = torch.rand(1, 3, 64, 64) * 255
    assert_parity(mmseg_logits(loaded_student[0], x), ort_logits(out, x))


def test_network_trained_on_bgr_gets_the_flip_in_the_graph(tiny_student, tmp_path):
    """A plain-mmseg config (LoadImageFromFile = BGR, bgr_to_rgb=False) trained the network on BGR:
    the exported graph still takes RGB and flips it; the sidecar lists mean/std in RGB order."""
    from crossmodal.deploy import export_onnx, load_student

    cfg, ckpt, model_cfg = tiny_student
    bgr_mean, bgr_std = MEAN[::-1], STD[::-1]
    mc = dict(model_cfg)
    mc['data_preprocessor'] = dict(mc['data_preprocessor'], mean=bgr_mean, std=bgr_std)
    bgr_cfg = dict(
        model=mc, test_pipeline=[dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]
    )
    model, _, _, info = load_student(bgr_cfg, ckpt)
    assert info.network_channel_order == 'BGR'
    out = str(tmp_path / 'bgr.onnx')
    spec = export_onnx(model, info, out, input_size=(64, 64))
    assert spec['input']['mean'] == MEAN and spec['input']['channel_order'] == 'RGB'
    rgb = torch.rand(1, 3, 64, 64) * 255
    bgr = rgb.flip(1)
    with torch.no_grad():
        ref = model.encode_decode(
            (bgr - torch.tensor(bgr_mean).view(1, 3, 1, 1))
            / torch.tensor(bgr_std).view(1, 3, 1, 1),
            [dict(img_shape=(64, 64), pad_shape=(64, 64))],
        ).numpy()
    assert_parity(ref, ort_logits(out, rgb))
