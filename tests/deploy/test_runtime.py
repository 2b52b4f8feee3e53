"""crossmodal_runtime: torch-free ONNX path, pre/post-processing, bad input."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from crossmodal_runtime import (
    FrameError,
    Segmenter,
    SidecarError,
    colorize,
    postprocess,
    preprocess,
    side_by_side,
    softmax_max,
)


def test_onnx_path_imports_no_torch(onnx_models, repo_root):
    code = f'''
import json, sys
sys.path.insert(0, {repo_root!r})
import numpy as np
from crossmodal_runtime import Segmenter
seg = Segmenter({onnx_models['dynamic']!r})
out = seg(np.zeros((40, 50, 3), np.uint8))
heavy = sorted(m for m in sys.modules
               if m.split('.')[0] in ('torch', 'mmseg', 'mmcv', 'mmengine', 'crossmodal'))
print(json.dumps({{'shape': list(out.labels.shape), 'heavy': heavy}}))
'''
    res = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(os.path.dirname(onnx_models['dynamic'])),
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report['shape'] == [40, 50]
    assert report['heavy'] == []


@pytest.mark.parametrize(
    'frame, match',
    [
        (np.zeros((32, 32, 4), np.uint8), 'got 4 channels'),
        (np.zeros((32, 32), np.uint8), '2 dims'),
        (np.zeros((32, 32, 1), np.uint8), 'got 1 channels'),
        (np.zeros((32, 32, 3), np.float32), 'got dtype float32'),
        (np.zeros((32, 32, 3), np.uint16), 'got dtype uint16'),
        ([[0, 0, 0]], 'got list'),
    ],
)
def test_bad_frames_are_rejected(onnx_models, frame, match):
    seg = Segmenter(onnx_models['dynamic'])
    with pytest.raises(FrameError, match=match) as err:
        seg(frame)
    assert 'uint8 array of shape (H, W, 3)' in str(err.value)


def test_missing_or_bad_sidecar(onnx_models, tmp_path):
    lone = str(tmp_path / 'lone.onnx')
    shutil.copy(onnx_models['fixed'], lone)
    with pytest.raises(SidecarError, match=r'lone\.onnx\.json is missing.*tools/export\.py'):
        Segmenter(lone)
    with open(onnx_models['fixed'] + '.json') as f:
        spec = json.load(f)
    spec['palette'] = spec['palette'][:-1]
    with open(lone + '.json', 'w') as f:
        json.dump(spec, f)
    with pytest.raises(SidecarError, match='4 classes but 3 palette colours'):
        Segmenter(lone)
    with pytest.raises(ValueError, match='runs exported .onnx models only'):
        Segmenter(str(tmp_path / 'student.pth'))


def test_pad_policy_pads_with_mean_and_crops_back():
    spec_in = dict(resize_policy='pad', size_divisor=32, mean=[10.0, 20.0, 30.0])
    frame = np.full((33, 20, 3), 200, np.uint8)
    x, info = preprocess(frame, spec_in)
    assert x.shape == (1, 3, 64, 32) and x.dtype == np.float32
    assert (x[0, :, :33, :20] == 200).all()
    assert (x[0, 0, 33:] == 10).all() and (x[0, 2, :, 20:] == 30).all()
    logits = np.arange(2 * 64 * 32, dtype=np.float32).reshape(1, 2, 64, 32)
    out = postprocess(logits, info)
    assert out.shape == (2, 33, 20) and (out == logits[0, :, :33, :20]).all()


def test_resize_policy_resizes_both_ways():
    spec_in = dict(resize_policy='resize', size=[32, 64], mean=[0, 0, 0])
    frame = np.zeros((48, 48, 3), np.uint8)
    x, info = preprocess(frame, spec_in)
    assert x.shape == (1, 3, 32, 64)
    logits = np.zeros((1, 3, 32, 64), np.float32)
    logits[0, 1] = 5.0  # constant maps stay constant under bilinear resizing
    out = postprocess(logits, info)
    assert out.shape == (3, 48, 48) and np.allclose(out[1], 5.0) and np.allclose(out[0], 0.0)


def test_softmax_max_hand_computed():
    # pixel 0: logits (0, ln 3) -> probs (1/4, 3/4); pixel 1: (2, 2) -> (1/2, 1/2), argmax 0
    logits = np.array([[[0.0, 2.0]], [[np.log(3.0), 2.0]]], np.float32)  # (K=2, H=1, W=2)
    labels, conf = softmax_max(logits)
    assert labels.tolist() == [[1, 0]] and labels.dtype == np.uint8
    assert np.allclose(conf, [[0.75, 0.5]]) and conf.dtype == np.float32


def test_colorize_and_side_by_side():
    palette = [[255, 0, 0], [0, 255, 0]]
    labels = np.array([[0, 1], [255, 7]], np.uint8)
    col = colorize(labels, palette)
    assert col[0, 0].tolist() == [255, 0, 0] and col[0, 1].tolist() == [0, 255, 0]
    assert col[1, 0].tolist() == [0, 0, 0] and col[1, 1].tolist() == [0, 0, 0]
    frame = np.zeros((2, 2, 3), np.uint8)
    assert side_by_side(frame, labels, palette).shape == (2, 4, 3)
    assert side_by_side(frame, labels, palette, gt=labels).shape == (2, 6, 3)
