"""Export and inference load checkpoints strictly: a wrong config/checkpoint pairing stops with an
error that says what the checkpoint is and which option or tool to use; `tools/export.py <distill
config> --student-prefix student.` exports the distiller's student (model.student is a config
path in configs/distill/)."""

import importlib.util
import json

import cv2
import pytest
import torch
from deploy_helpers import CLASSES, PALETTE, synthetic_batch, tiny_student_model_cfg
from test_onnx_export import assert_parity, mmseg_logits, ort_logits


def _tool(repo_root, name):
    spec = importlib.util.spec_from_file_location(f'tool_{name}', f'{repo_root}/tools/{name}.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def distill_run(tiny_student, tmp_path_factory):
    """A distill config whose model.student is the student's config *path* (as in
    configs/distill/), and a distiller-shaped checkpoint: the student's weights under `student.`,
    a teacher under `teachers.rgbt.`, a connector."""
    from crossmodal.compat import load_checkpoint_file
    from mmengine.config import Config

    cfg, ckpt, _ = tiny_student
    d = tmp_path_factory.mktemp('distill')
    dcfg = str(d / 'distill.py')
    Config(
        dict(
            model=dict(
                type='DistillSegmentor',
                student=cfg,
                student_modalities=('rgb',),
                teachers=dict(rgbt=dict(config='teacher.py', modalities=('rgb', 'thermal'))),
            ),
            metainfo=dict(classes=CLASSES, palette=PALETTE),
        )
    ).dump(dcfg)
    sd = load_checkpoint_file(ckpt)['state_dict']
    distill = {f'student.{k}': v for k, v in sd.items()}
    distill['teachers.rgbt.backbones.rgb.w'] = torch.zeros(2)
    distill['teachers.rgbt.backbones.thermal.w'] = torch.zeros(2)
    distill['connectors.c.weight'] = torch.zeros(2)
    dckpt = str(d / 'distill.pth')
    torch.save({'meta': {}, 'state_dict': distill}, dckpt)
    return dcfg, dckpt


def test_export_distill_config_with_student_prefix(
    distill_run, loaded_student, repo_root, tmp_path, capsys
):
    dcfg, dckpt = distill_run
    out = str(tmp_path / 'student.onnx')
    rc = _tool(repo_root, 'export').main(
        [
            dcfg,
            dckpt,
            '--student-prefix',
            'student.',
            '--format',
            'onnx',
            '--out',
            out,
            '--input-size',
            '64',
            '64',
        ]
    )
    assert rc == 0, capsys.readouterr().err
    spec = json.load(open(out + '.json'))
    assert spec['classes'] == CLASSES
    assert spec['source']['dropped_key_groups'] == ['connectors', 'teachers']
    x = torch.rand(1, 3, 64, 64) * 255
    assert_parity(mmseg_logits(loaded_student[0], x), ort_logits(out, x))


def _export_err(repo_root, cfg, ckpt, tmp_path, capsys, *extra):
    out = tmp_path / 'x.onnx'
    rc = _tool(repo_root, 'export').main(
        [cfg, ckpt, '--format', 'onnx', '--out', str(out), '--dynamic', *extra]
    )
    assert rc == 2 and not out.exists()
    return capsys.readouterr().err


def test_export_refuses_wrong_pairings(tiny_student, distill_run, repo_root, tmp_path, capsys):
    cfg, ckpt, _ = tiny_student
    _, dckpt = distill_run
    err = _export_err(repo_root, cfg, dckpt, tmp_path, capsys)
    assert dckpt in err and "distiller's checkpoint" in err and '`teachers.`' in err
    assert '--student-prefix student.' in err and 'tools/export_student.py' in err
    z = torch.zeros(2)
    for kind, sd in (
        ('RTFDNet', {'backbones.rgb.w': z, 'backbones.thermal.w': z, 'heads.rgb.w': z}),
        ('CroDiNo-KD', {'models.rgb.backbone.w': z, 'models.depth.backbone.w': z}),
    ):
        path = str(tmp_path / f'{kind}.pth')
        torch.save({'meta': {}, 'state_dict': sd}, path)
        err = _export_err(repo_root, cfg, path, tmp_path, capsys)
        assert (
            f'{kind} checkpoint' in err
            and 'tools/export_branch.py' in err
            and '--branch rgb' in err
        )
    # a plain student of another size: strict, not a partial load
    torch.manual_seed(0)
    from mmseg.registry import MODELS

    other = MODELS.build(tiny_student_model_cfg(num_classes=len(CLASSES) + 1))
    path = str(tmp_path / 'other.pth')
    torch.save({'meta': {}, 'state_dict': other.state_dict()}, path)
    err = _export_err(repo_root, cfg, path, tmp_path, capsys)
    assert (
        'shapes differ' in err and 'decode_head.conv_seg.weight' in err and '(5, 16, 1, 1)' in err
    )
    sd = dict(torch.load(ckpt, weights_only=True)['state_dict'])
    sd.pop('decode_head.conv_seg.bias')
    torch.save({'meta': {}, 'state_dict': sd}, path)
    err = _export_err(repo_root, cfg, path, tmp_path, capsys)
    assert 'missing (decode_head.conv_seg.bias)' in err and 'plain single-modality student' in err
    # --student-prefix with a plain student checkpoint
    err = _export_err(repo_root, cfg, ckpt, tmp_path, capsys, '--student-prefix', 'student.')
    assert "no key starts with 'student.'" in err and 'plain single-modality student' in err


def test_infer_checkpoint_pairings(tiny_student, distill_run, repo_root, tmp_path, capsys):
    cfg, _, _ = tiny_student
    dcfg, dckpt = distill_run
    img = synthetic_batch(n=1, h=40, w=56, seed=3)[0][0]
    path = str(tmp_path / 'one.png')
    cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    tool = _tool(repo_root, 'infer')
    assert tool.main([dckpt, path, '--config', cfg, '--out', str(tmp_path / 'a')]) == 2
    err = capsys.readouterr().err
    assert "distiller's checkpoint" in err and '--student-prefix student.' in err
    assert (
        tool.main(
            [
                dckpt,
                path,
                '--config',
                dcfg,
                '--student-prefix',
                'student.',
                '--out',
                str(tmp_path / 'b'),
            ]
        )
        == 0
    )
    from crossmodal.apis import Segmenter

    ref = Segmenter(tiny_student[1], config=cfg)(img).labels
    assert (
        cv2.imread(str(tmp_path / 'b' / 'labels' / 'one.png'), cv2.IMREAD_UNCHANGED) == ref
    ).all()
