"""NYU Depth v2 converter on a tiny v7.3 .mat written by the test, plus the real meta files in
shared data."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from data_prep import fixtures, nyudv2
from data_prep.check import check_dataset
from data_prep.common import PrepError
from data_prep.nyu40 import MAP_894_TO_40, NYU40_CLASSES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _read(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_convert_layout_dtypes_axes_and_mapping(tmp_path):
    fx = fixtures.write_nyu_raw(tmp_path / 'raw', n=5, hw=(24, 32))
    out = tmp_path / 'NYU'
    nyudv2.convert(out=str(out), quiet=True, rgb_ext='.png', **fx['args'])
    # official splits: 1-based frame k -> stem k-1; frame 1 (stem 0) is test
    assert (out / 'train.txt').read_text().split() == ['1', '3']
    assert (out / 'test.txt').read_text().split() == ['0', '2', '4']
    assert (out / 'test_pairs.txt').read_text().splitlines()[0] == 'RGB/0.png\tLabel/0.png'
    for stem, t in fx['truth'].items():
        rgb = _read(out / 'RGB' / f'{stem}.png')[:, :, ::-1]
        assert rgb.shape == (24, 32, 3) and np.array_equal(rgb, t['rgb'])  # h5py axis order undone
        depth = _read(out / 'Depth' / f'{stem}.png')
        assert depth.dtype == np.uint16 and depth.shape == (24, 32)
        assert np.array_equal(
            depth, np.round(t['depth_m'].astype(np.float64) * 1000).astype(np.uint16)
        )
        label = _read(out / 'Label' / f'{stem}.png')
        assert label.dtype == np.uint8 and label.ndim == 2
        expected = np.zeros_like(label)
        for (
            id894,
            id40,
        ) in fixtures.NYU_KNOWN_894_TO_40.items():  # hand-checked table, not the converter's
            expected[t['label894'] == id894] = id40
        assert np.array_equal(label, expected)
    meta = json.loads((out / 'meta.json').read_text())
    assert (
        meta['name'] == 'NYUDepthv2' and meta['label_offset'] == -1 and meta['ignore_index'] == 255
    )
    assert (
        len(meta['classes']) == 40
        and meta['classes'][0] == 'wall'
        and meta['classes'][-1] == 'otherprop'
    )
    assert meta['palette'][0] == [128, 0, 0] and len(meta['palette']) == 40
    assert meta['modalities']['depth'] == {
        'folder': 'Depth',
        'ext': '.png',
        'dtype': 'uint16',
        'channels': 1,
        'unit': 'mm',
        'scale': 0.001,
        'source': 'depths (in-painted)',
    }
    assert meta['modalities']['rgb']['ext'] == '.png' and 'hha' not in meta['modalities']
    assert meta['splits'] == {'train': 'train.txt', 'test': 'test.txt'}
    assert 'splits.mat' in meta['split_source']
    assert check_dataset(str(out))['ok']


def test_hha_and_default_jpeg(tmp_path):
    fx = fixtures.write_nyu_raw(tmp_path / 'raw', n=2)
    out = tmp_path / 'NYU'
    nyudv2.convert(out=str(out), quiet=True, hha=True, **fx['args'])
    meta = json.loads((out / 'meta.json').read_text())
    assert (
        meta['modalities']['hha']['dtype'] == 'uint8' and meta['modalities']['hha']['channels'] == 3
    )
    hha = _read(out / 'HHA' / '0.png')
    assert hha.shape == (24, 32, 3) and hha.dtype == np.uint8
    d = fx['truth']['0']['depth_m'].astype(np.float64) * 100
    assert np.array_equal(
        hha[:, :, 2], np.clip(np.floor(31000 / np.maximum(d, 100) + 0.5), 0, 255)
    )  # R = disp
    rgb = _read(out / 'RGB' / '0.jpg')[:, :, ::-1].astype(int)
    assert np.abs(rgb - fx['truth']['0']['rgb']).mean() < 6  # JPEG q95
    assert check_dataset(str(out))['ok']


def test_raw_depth_source(tmp_path):
    fx = fixtures.write_nyu_raw(tmp_path / 'raw', n=2)
    out = tmp_path / 'NYU'
    nyudv2.convert(out=str(out), quiet=True, depth_source='raw', **fx['args'])
    depth = _read(out / 'Depth' / '1.png')
    raw = fx['truth']['1']['raw_depth_m']
    assert np.array_equal(depth == 0, raw == 0) and (depth == 0).any()


def test_bad_inputs_name_the_file(tmp_path):
    fx = fixtures.write_nyu_raw(tmp_path / 'raw', n=2)
    notmat = tmp_path / 'x.mat'
    notmat.write_text('not hdf5')
    with pytest.raises(PrepError, match='x.mat'):
        nyudv2.convert(str(notmat), fx['args']['splits'], str(tmp_path / 'o1'), quiet=True)
    import scipy.io

    bad_split = tmp_path / 'bad_splits.mat'
    scipy.io.savemat(
        str(bad_split), {'trainNdxs': np.array([[1], [9]]), 'testNdxs': np.array([[2]])}
    )
    with pytest.raises(PrepError, match='index 9 exceeds'):
        nyudv2.convert(fx['args']['mat'], str(bad_split), str(tmp_path / 'o2'), quiet=True)


def test_cli_runs_as_script(tmp_path):
    fx = fixtures.write_nyu_raw(tmp_path / 'raw', n=2)
    out = tmp_path / 'NYU'
    cmd = [
        sys.executable,
        os.path.join(ROOT, 'data_prep', 'nyudv2.py'),
        '--mat',
        fx['args']['mat'],
        '--splits',
        fx['args']['splits'],
        '--out',
        str(out),
        '--quiet',
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    r2 = subprocess.run(cmd, capture_output=True, text=True, cwd=str(tmp_path))
    assert r2.returncode == 1 and '--force' in r2.stderr
    assert subprocess.run(cmd + ['--force'], capture_output=True, cwd=str(tmp_path)).returncode == 0


def test_embedded_class_map_matches_shared_mat(shared_real):
    import scipy.io

    m = scipy.io.loadmat(os.path.join(shared_real, 'nyuv2', 'meta', 'classMapping40.mat'))
    assert list(MAP_894_TO_40) == [int(v) for v in m['mapClass'].ravel()]
    assert list(NYU40_CLASSES) == [str(c[0]) for c in m['className'].ravel()]
    lut = nyudv2.load_class_map(os.path.join(shared_real, 'nyuv2', 'meta', 'classMapping40.mat'))
    assert lut[0] == 0 and lut[21] == 1 and lut[11] == 2 and lut[85] == 23 and lut[1] == 40


def test_real_splits_match_sagate_lists(shared_real):
    train, test = nyudv2.load_splits(os.path.join(shared_real, 'nyuv2', 'meta', 'splits.mat'))
    assert (
        len(train) == 795 and len(test) == 654 and train[:3] == [3, 4, 5] and test[:3] == [1, 2, 9]
    )

    def stems(name):
        with open(os.path.join(shared_real, 'nyuv2', 'sagate', name)) as f:
            return [ln.split('/')[1].split('.jpg')[0] for ln in f if ln.strip()]

    assert [str(k - 1) for k in train] == stems('train.txt')
    assert [str(k - 1) for k in test] == stems('test.txt')


def test_real_label_frame_uses_nyu40_ids(shared_real):
    lab = cv2.imread(
        os.path.join(shared_real, 'nyuv2', 'sagate', 'Label', '0.png'), cv2.IMREAD_GRAYSCALE
    )
    meta_classes = set(np.unique(lab).tolist())
    assert meta_classes <= set(range(41)) and meta_classes >= {1, 2, 40}


def test_real_frame_end_to_end(tmp_path, shared_real):
    """NYU frame 0 (real RGB, filled/raw depth, NYU-40 label) packed into a v7.3 .mat in MATLAB's
    layout, converted with --hha: label identical to SA-Gate's Label/0.png, depth in mm, HHA vs the
    MATLAB reference."""
    import scipy.io

    nyu = os.path.join(shared_real, 'nyuv2')
    rgb = cv2.imread(os.path.join(nyu, 'sagate', 'RGB', '0.jpg'))[:, :, ::-1]
    depth = cv2.imread(os.path.join(nyu, 'depth2hha', '0.png'), cv2.IMREAD_UNCHANGED) / 10000.0
    raw = cv2.imread(os.path.join(nyu, 'depth2hha', '0_raw.png'), cv2.IMREAD_UNCHANGED) / 10000.0
    lab40 = cv2.imread(os.path.join(nyu, 'sagate', 'Label', '0.png'), cv2.IMREAD_GRAYSCALE)
    first894 = {
        c40: MAP_894_TO_40.index(c40) + 1 for c40 in range(1, 41)
    }  # one 894 id per NYU-40 class
    lab894 = np.zeros(lab40.shape, np.uint16)
    for c40 in np.unique(lab40[lab40 > 0]):
        lab894[lab40 == c40] = first894[int(c40)]
    mat = fixtures.write_nyu_mat(str(tmp_path / 'nyu.mat'), [rgb], [depth], [raw], [lab894])
    scipy.io.savemat(
        str(tmp_path / 'splits.mat'),
        {'trainNdxs': np.zeros((0, 1), np.uint16), 'testNdxs': np.array([[1]], np.uint16)},
    )
    out = tmp_path / 'NYU'
    nyudv2.convert(
        mat, str(tmp_path / 'splits.mat'), str(out), hha=True, rgb_ext='.png', quiet=True
    )
    assert np.array_equal(_read(out / 'Label' / '0.png'), lab40)
    assert np.array_equal(_read(out / 'RGB' / '0.png')[:, :, ::-1], rgb)
    d = _read(out / 'Depth' / '0.png')
    assert d.shape == (480, 640) and np.abs(d.astype(float) - depth * 1000).max() <= 0.5 + 1e-3
    ref = cv2.imread(os.path.join(nyu, 'depth2hha', 'matlab_hha.png')).astype(int)
    diff = np.abs(_read(out / 'HHA' / '0.png').astype(int) - ref).reshape(-1, 3)
    assert (
        np.all(diff.mean(axis=0) <= 0.01) and diff.max() <= 1
    )  # float32 .mat depth: a few .5 ties
    # an empty split is not written (the loader and the checker refuse empty split files) but
    # recorded
    meta = json.loads((out / 'meta.json').read_text())
    assert not (out / 'train.txt').exists() and (out / 'test.txt').read_text() == '0\n'
    assert meta['splits'] == {'test': 'test.txt'} and meta['omitted_empty_splits'] == ['train']
    assert check_dataset(str(out))['ok']
