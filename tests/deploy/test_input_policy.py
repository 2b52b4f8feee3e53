"""One input policy for tools/infer.py and the Python API (docs/deploy.md): grey refused unless
grey_to_rgb / --grey-to-rgb, 16-bit refused; a corrupt .onnx and a sidecar whose class count differs
from the model's output channels are clear errors; tools/infer.py runs without tqdm."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from deploy_helpers import synthetic_batch

from crossmodal_runtime import FrameError, ModelFileError, Segmenter, SidecarError


def _tool(repo_root, name):
    spec = importlib.util.spec_from_file_location(f'tool_{name}', f'{repo_root}/tools/{name}.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _grey(h=40, w=56, seed=4):
    img = synthetic_batch(n=1, h=h, w=w, seed=seed)[0][0]
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def test_python_api_grey_and_16_bit(onnx_models, tiny_student):
    from crossmodal.apis import Segmenter as ApiSegmenter

    grey = _grey()
    rgb = np.repeat(grey[..., None], 3, axis=2)
    cfg, ckpt, _ = tiny_student
    for strict, lenient in (
        (Segmenter(onnx_models['dynamic']), Segmenter(onnx_models['dynamic'], grey_to_rgb=True)),
        (ApiSegmenter(ckpt, config=cfg), ApiSegmenter(ckpt, config=cfg, grey_to_rgb=True)),
    ):
        for frame in (grey, grey[..., None]):
            with pytest.raises(FrameError, match=r'grey image.*grey_to_rgb=True.*--grey-to-rgb'):
                strict(frame)
            assert (lenient(frame).labels == strict(rgb).labels).all()
        for frame in (grey.astype(np.uint16) * 257, rgb.astype(np.uint16) * 257):
            with pytest.raises(FrameError, match=r'got dtype uint16 \(a 16-bit.*refused'):
                lenient(frame)


def _write(path, img):
    assert cv2.imwrite(str(path), img)
    return str(path)


def test_infer_tool_applies_the_same_policy(onnx_models, repo_root, tmp_path, capsys):
    tool = _tool(repo_root, 'infer')
    grey = _grey()
    g8 = _write(tmp_path / 'g8.png', grey)
    assert tool.main([onnx_models['fixed'], g8, '--out', str(tmp_path / 'a')]) == 2
    err = capsys.readouterr().err
    assert 'g8.png' in err and 'grey image' in err and '--grey-to-rgb' in err
    assert tool.main([onnx_models['fixed'], g8, '--out', str(tmp_path / 'b'), '--grey-to-rgb']) == 0
    ref = Segmenter(onnx_models['fixed'])(np.repeat(grey[..., None], 3, axis=2)).labels
    assert (
        cv2.imread(str(tmp_path / 'b' / 'labels' / 'g8.png'), cv2.IMREAD_UNCHANGED) == ref
    ).all()
    capsys.readouterr()
    g16 = _write(tmp_path / 'g16.png', grey.astype(np.uint16) * 257)
    c16 = _write(
        tmp_path / 'c16.png', np.repeat(grey[..., None], 3, axis=2).astype(np.uint16) * 257
    )
    for path, what in ((g16, '16-bit grey image'), (c16, '16-bit image')):
        assert (
            tool.main([onnx_models['fixed'], path, '--out', str(tmp_path / 'c'), '--grey-to-rgb'])
            == 2
        )
        err = capsys.readouterr().err
        assert os.path.basename(path) in err and what in err and 'refused' in err


def test_corrupt_onnx_is_a_clear_error(onnx_models, repo_root, tmp_path, capsys):
    bad = str(tmp_path / 'bad.onnx')
    with open(onnx_models['fixed'], 'rb') as f:
        data = f.read()
    with open(bad, 'wb') as f:
        f.write(data[: len(data) // 3])  # a truncated copy
    shutil.copy(onnx_models['fixed'] + '.json', bad + '.json')
    with pytest.raises(ModelFileError, match=r'bad\.onnx: onnxruntime cannot load this file'):
        Segmenter(bad)
    img = _write(tmp_path / 'x.png', synthetic_batch(n=1, h=32, w=32)[0][0])
    assert _tool(repo_root, 'infer').main([bad, img, '--out', str(tmp_path / 'o')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'bad.onnx' in err and 'Traceback' not in err


def test_sidecar_class_count_must_match_the_model(onnx_models, tmp_path):
    for kind in ('fixed', 'dynamic'):
        model = str(tmp_path / f'{kind}.onnx')
        shutil.copy(onnx_models[kind], model)
        with open(onnx_models[kind] + '.json') as f:
            spec = json.load(f)
        spec['classes'].append('extra')
        spec['palette'].append([1, 2, 3])
        spec['num_classes'] = 5
        with open(model + '.json', 'w') as f:
            json.dump(spec, f)
        with pytest.raises(
            SidecarError, match=r'lists 5 classes but the model .* outputs 4 channels'
        ):
            Segmenter(model)
        spec['num_classes'] = 4
        with open(model + '.json', 'w') as f:
            json.dump(spec, f)
        with pytest.raises(SidecarError, match='"num_classes" is 4 but 5 classes'):
            Segmenter(model)
    # a backend that states no class count is checked on its first output
    with open(onnx_models['dynamic'] + '.json') as f:
        spec = json.load(f)
    seg = Segmenter(
        'custom', backend=lambda x: np.zeros((1, 3) + x.shape[2:], np.float32), spec=spec
    )
    with pytest.raises(SidecarError, match='lists 4 classes but the model custom outputs 3'):
        seg(np.zeros((32, 32, 3), np.uint8))


def test_infer_runs_without_tqdm(onnx_models, repo_root, tmp_path):
    src = tmp_path / 'rgb'
    src.mkdir()
    for i, img in enumerate(synthetic_batch(n=2, h=32, w=48, seed=5)[0]):
        _write(src / f'f{i}.png', cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    code = f'''
import importlib.util, json, sys
sys.modules['tqdm'] = None  # not installed: `import tqdm` raises ImportError
spec = importlib.util.spec_from_file_location('infer', {repo_root + '/tools/infer.py'!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
rc = mod.main([{onnx_models['dynamic']!r}, {str(src)!r}, '--out', {str(tmp_path / 'out')!r}])
heavy = sorted(m for m in sys.modules if sys.modules[m] is not None
               and m.split('.')[0] in ('torch', 'mmseg', 'mmcv', 'mmengine', 'crossmodal', 'tqdm'))
print(json.dumps({{'rc': rc, 'heavy': heavy}}))
'''
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report == {'rc': 0, 'heavy': []}
    assert '2 frames done' in res.stderr
    assert sorted(os.listdir(tmp_path / 'out' / 'labels')) == ['f0.png', 'f1.png']
