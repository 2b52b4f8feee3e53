"""tools/infer.py on a folder, a video and a checkpoint; tools/export.py --format pth loads in
plain mmseg; the infer benchmark returns its JSON (not timed)."""

import argparse
import importlib.util
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from deploy_helpers import CLASSES, synthetic_batch


def _load_tool(repo_root, name):
    spec = importlib.util.spec_from_file_location(f'tool_{name}', f'{repo_root}/tools/{name}.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run_infer(repo_root, *args):
    res = subprocess.run(
        [sys.executable, f'{repo_root}/tools/infer.py', *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1]), res.stderr


def test_infer_folder_with_ground_truth(onnx_models, repo_root, tmp_path):
    from crossmodal_runtime import Segmenter

    imgs, labels = synthetic_batch(n=3, h=48, w=64, seed=7)
    src, gt = tmp_path / 'rgb', tmp_path / 'gt'
    src.mkdir()
    gt.mkdir()
    for i, (img, lab) in enumerate(zip(imgs, labels)):
        cv2.imwrite(str(src / f'f{i}.png'), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(gt / f'f{i}.png'), lab)
    out = tmp_path / 'out'
    report, stderr = _run_infer(
        repo_root,
        onnx_models['dynamic'],
        str(src),
        '--out',
        str(out),
        '--gt-dir',
        str(gt),
        '--show',
    )
    assert report['frames'] == 3 and report['fps'] > 0
    assert 'no display' in stderr or 'DISPLAY' in os.environ
    seg = Segmenter(onnx_models['dynamic'])
    for i, img in enumerate(imgs):
        lab = cv2.imread(str(out / 'labels' / f'f{i}.png'), cv2.IMREAD_UNCHANGED)
        assert (lab == seg(img).labels).all()
        assert cv2.imread(str(out / 'overlays' / f'f{i}.png')).shape == (48, 64, 3)
        assert cv2.imread(str(out / 'side_by_side' / f'f{i}.png')).shape == (48, 3 * 64, 3)


def test_infer_video(onnx_models, repo_root, tmp_path):
    imgs, _ = synthetic_batch(n=5, h=64, w=96, seed=8)
    video = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 5, (96, 64))
    assert writer.isOpened()
    for img in imgs:
        writer.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    writer.release()
    out = tmp_path / 'out'
    report, _ = _run_infer(repo_root, onnx_models['fixed'], video, '--out', str(out))
    assert report['frames'] == 5
    names = sorted(os.listdir(out / 'labels'))
    assert names == [f'clip_{i:06d}.png' for i in range(5)]
    lab = cv2.imread(str(out / 'labels' / names[0]), cv2.IMREAD_UNCHANGED)
    assert lab.shape == (64, 96) and lab.max() < len(CLASSES)
    assert cv2.imread(str(out / 'side_by_side' / names[0])).shape == (64, 2 * 96, 3)


def test_infer_checkpoint_and_errors(tiny_student, repo_root, tmp_path, capsys):
    cfg, ckpt, _ = tiny_student
    img, _ = synthetic_batch(n=1, h=40, w=56, seed=9)
    path = str(tmp_path / 'one.jpg')
    cv2.imwrite(path, cv2.cvtColor(img[0], cv2.COLOR_RGB2BGR))
    tool = _load_tool(repo_root, 'infer')
    assert tool.main([ckpt, path, '--config', cfg, '--out', str(tmp_path / 'o')]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])['frames'] == 1
    assert os.path.isfile(tmp_path / 'o' / 'labels' / 'one.png')
    with pytest.raises(SystemExit, match='pass its --config'):
        tool.main([ckpt, path, '--out', str(tmp_path / 'o2')])


def test_pth_export_loads_in_plain_mmseg(tiny_student, repo_root, tmp_path):
    from crossmodal.apis import Segmenter
    from mmseg.apis import inference_model, init_model

    cfg, ckpt, _ = tiny_student
    out = str(tmp_path / 'export' / 'student.pth')
    tool = _load_tool(repo_root, 'export')
    assert tool.main([cfg, ckpt, '--format', 'pth', '--out', out]) == 0
    exported_cfg = out[:-4] + '.py'
    text = open(exported_cfg).read()
    assert 'crossmodal' not in text and 'bgr_to_rgb=True' in text
    assert 'LoadImageFromFile' in text
    model = init_model(exported_cfg, out, device='cpu')
    assert list(model.dataset_meta['classes']) == CLASSES
    seg = Segmenter(ckpt, config=cfg)
    for h, w in [(64, 96), (50, 70)]:
        img = synthetic_batch(n=1, h=h, w=w, seed=h)[0][0]
        path = str(tmp_path / f'img_{h}.png')
        cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))  # files on disk are BGR
        with torch.no_grad():
            result = inference_model(model, path)
        mm_labels = result.pred_sem_seg.data[0].numpy()
        ours = seg(img)
        assert mm_labels.shape == (h, w)
        assert (mm_labels == ours.labels).mean() >= 0.999
        mm_logits = result.seg_logits.data.numpy()
        assert np.abs(mm_logits - ours.logits).max() <= 1e-3


def _register_toy_teacher():
    """A stand-in RGB-X teacher (the real MultiModalEncoderDecoder lives elsewhere): an
    EncoderDecoder whose forward takes a dict of modalities and fuses depth by addition."""
    from mmseg.models import EncoderDecoder
    from mmseg.registry import MODELS

    class DeployToyDictTeacher(EncoderDecoder):
        def _forward(self, inputs, data_samples=None):
            return super()._forward(inputs['rgb'] + inputs['depth'], data_samples)

    MODELS.register_module(name='DeployToyDictTeacher', module=DeployToyDictTeacher, force=True)


def test_infer_benchmark_json(tiny_student, tmp_path):
    from mmengine.config import Config

    from crossmodal.benchmarks import infer as bench

    cfg, ckpt, model_cfg = tiny_student
    _register_toy_teacher()
    teacher_cfg = str(tmp_path / 'toy_teacher.py')
    Config(dict(model=dict(model_cfg, type='DeployToyDictTeacher'))).dump(teacher_cfg)
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(
        [
            '--config',
            cfg,
            '--ckpt',
            ckpt,
            '--input-size',
            '64',
            '64',
            '--warmup',
            '0',
            '--iters',
            '2',
            '--teacher-config',
            teacher_cfg,
            '--teacher-modalities',
            'rgb:3',
            'depth:1',
        ]
    )
    res = bench.run(args)
    json.dumps(res)
    assert res['input_size'] == [64, 64]
    for key in ('torch_eager', 'onnxruntime', 'teacher_eager'):
        assert res[key]['iters'] == 2 and res[key]['median_ms'] > 0
    assert res['teacher_eager']['modalities'] == {'rgb': 3, 'depth': 1}
    assert res['onnxruntime']['max_abs_diff_vs_eager'] <= 1e-3
    assert 'ort_over_eager_latency' in res and 'teacher_over_student_eager_latency' in res
