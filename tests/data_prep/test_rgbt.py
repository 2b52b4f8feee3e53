"""RGB-T converters: MFNet (4-channel PNG, alpha = thermal), PST900, FMB; fixtures and real
frames."""

import json
import os
import shutil

import cv2
import numpy as np
import pytest

from data_prep import fixtures, fmb, mfnet, pst900
from data_prep.check import check_dataset
from data_prep.common import PrepError


def _read(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def _assert_rgbt_matches(out, truth):
    for stem, t in truth.items():
        assert np.array_equal(_read(out / 'RGB' / f'{stem}.png')[:, :, ::-1], t['rgb'])
        th = _read(out / 'Thermal' / f'{stem}.png')
        assert th.ndim == 2 and th.dtype == np.uint8 and np.array_equal(th, t['thermal'])
        assert np.array_equal(_read(out / 'Label' / f'{stem}.png'), t['label'])


def test_mfnet_fixture(tmp_path):
    fx = fixtures.write_mfnet_raw(tmp_path / 'raw', n_train=3, n_val=2, n_test=2)
    out = tmp_path / 'MFNet'
    mfnet.convert(out=str(out), quiet=True, **fx['args'])
    _assert_rgbt_matches(out, fx['truth'])
    for s in ('train', 'val', 'test', 'test_day', 'test_night'):
        assert (out / f'{s}.txt').read_text().split() == fx['splits'][s]
    meta = json.loads((out / 'meta.json').read_text())
    assert (
        meta['classes'][0] == 'unlabeled'
        and len(meta['classes']) == 9
        and meta['label_offset'] == 0
    )
    assert meta['palette'][1] == [64, 0, 128]
    assert meta['splits']['train'] == 'train.txt' and meta['splits']['val'] == 'val.txt'
    assert meta['modalities']['thermal'] == {
        'folder': 'Thermal',
        'ext': '.png',
        'dtype': 'uint8',
        'channels': 1,
        'source': 'alpha channel of images/<name>.png',
    }
    assert check_dataset(str(out))['ok']


def test_mfnet_trainval(tmp_path):
    fx = fixtures.write_mfnet_raw(tmp_path / 'raw')
    out = tmp_path / 'MFNet'
    mfnet.convert(out=str(out), quiet=True, trainval=True, **fx['args'])
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['splits']['train'] == 'trainval.txt' and 'val' not in meta['splits']
    assert (out / 'trainval.txt').read_text().split() == fx['splits']['train'] + fx['splits']['val']
    assert check_dataset(str(out))['summary']['counts']['train'] == 5


def test_mfnet_three_channel_image_is_an_error(tmp_path):
    fx = fixtures.write_mfnet_raw(tmp_path / 'raw')
    name = fx['splits']['val'][0]
    path = os.path.join(fx['args']['root'], 'images', name + '.png')
    cv2.imwrite(path, cv2.imread(path))  # plain imread drops alpha: thermal lost
    with pytest.raises(PrepError, match=f'{name}.png: expected 4 channels'):
        mfnet.convert(out=str(tmp_path / 'o'), quiet=True, **fx['args'])


def test_mfnet_real_frame(tmp_path, shared_real):
    from PIL import Image

    src = os.path.join(shared_real, 'mfnet', '01234N.png')
    raw = tmp_path / 'raw'
    (raw / 'images').mkdir(parents=True)
    (raw / 'labels').mkdir()
    shutil.copy(src, raw / 'images' / '01234N.png')
    label = np.kron(np.arange(9, dtype=np.uint8).reshape(3, 3), np.ones((160, 214), np.uint8))[
        :480, :640
    ]
    label = np.pad(label, ((0, 0), (0, 640 - label.shape[1])), mode='edge')
    cv2.imwrite(str(raw / 'labels' / '01234N.png'), label)
    for s, names in (('train', ['01234N']), ('val', []), ('test', [])):
        (raw / f'{s}.txt').write_text('\n'.join(names) + '\n')
    out = tmp_path / 'MFNet'
    mfnet.convert(str(raw), str(out), quiet=True)
    rgba = np.asarray(Image.open(src).convert('RGBA'))  # independent reader (PIL, RGBA order)
    assert np.array_equal(_read(out / 'RGB' / '01234N.png')[:, :, ::-1], rgba[:, :, :3])
    thermal = _read(out / 'Thermal' / '01234N.png')
    assert thermal.shape == (480, 640) and np.array_equal(thermal, rgba[:, :, 3])
    assert thermal.min() < thermal.max()  # a real thermal image, not a constant alpha
    assert check_dataset(str(out))['ok']


def test_pst900_fixture(tmp_path):
    fx = fixtures.write_pst900_raw(tmp_path / 'raw', n_train=3, n_test=2)
    out = tmp_path / 'PST900'
    pst900.convert(out=str(out), quiet=True, **fx['args'])
    _assert_rgbt_matches(out, fx['truth'])
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['classes'] == [
        'background',
        'fire_extinguisher',
        'backpack',
        'hand_drill',
        'survivor',
    ]
    assert meta['label_offset'] == 0 and meta['splits'] == {
        'train': 'train.txt',
        'test': 'test.txt',
    }
    assert meta['palette'][1] == [255, 0, 0]  # toolkit lists (0,0,255) in cv2 BGR order
    assert (out / 'train.txt').read_text().split() == fx['splits']['train']
    assert check_dataset(str(out))['ok']


def test_pst900_real_frame(tmp_path, shared_real):
    raw = tmp_path / 'raw'
    for sub, dst in (('rgb', 'rgb'), ('thermal', 'thermal'), ('labels', 'labels')):
        (raw / 'train' / dst).mkdir(parents=True)
        shutil.copy(
            os.path.join(shared_real, 'pst900', sub, 'readme_example.png'),
            raw / 'train' / dst / 'f0.png',
        )
    fx = fixtures.write_pst900_raw(tmp_path / 'tiny', n_train=0, n_test=1)
    shutil.copytree(os.path.join(fx['args']['root'], 'test'), raw / 'test')
    out = tmp_path / 'PST900'
    pst900.convert(str(raw), str(out), quiet=True)
    th_src = _read(os.path.join(shared_real, 'pst900', 'thermal', 'readme_example.png'))
    th = _read(out / 'Thermal' / 'f0.png')
    assert th.shape == (720, 1280) and np.array_equal(
        th, th_src[:, :, 0]
    )  # 3 identical channels -> 1
    lab = _read(out / 'Label' / 'f0.png')
    assert sorted(np.unique(lab).tolist()) == [0, 1, 2, 3]
    report = check_dataset(str(out))
    assert report['ok'] and report['summary']['class_histogram']['train']['backpack'] == 14806


def test_pst900_name_collision_is_an_error(tmp_path):
    fx = fixtures.write_pst900_raw(tmp_path / 'raw', n_train=1, n_test=1)
    root = fx['args']['root']
    name = fx['splits']['train'][0]
    for d in ('rgb', 'thermal', 'labels'):
        shutil.copy(
            os.path.join(root, 'train', d, name + '.png'),
            os.path.join(root, 'test', d, name + '.png'),
        )
    with pytest.raises(PrepError, match='both train and test'):
        pst900.convert(out=str(tmp_path / 'o'), quiet=True, **fx['args'])


def test_fmb_fixture(tmp_path):
    fx = fixtures.write_fmb_raw(tmp_path / 'raw', n_train=3, n_test=2)
    out = tmp_path / 'FMB'
    fmb.convert(out=str(out), quiet=True, **fx['args'])
    _assert_rgbt_matches(out, fx['truth'])  # Infrared with 3 identical channels -> 1 channel
    meta = json.loads((out / 'meta.json').read_text())
    assert (
        len(meta['classes']) == 14 and meta['classes'][0] == 'road' and meta['label_offset'] == -1
    )
    assert meta['palette'][0] == [179, 228, 228]  # SegMiF issue #17: Road = RGB (179,228,228)
    lab = _read(out / 'Label' / f"{fx['splits']['train'][0]}.png")
    assert 255 in np.unique(
        np.concatenate([_read(out / 'Label' / f'{s}.png').ravel() for s in fx['truth']])
    )
    assert lab.dtype == np.uint8
    report = check_dataset(str(out))
    assert report['ok'] and report['summary']['class_histogram']['train']['<void>'] > 0


def test_fmb_bad_label_value(tmp_path):
    fx = fixtures.write_fmb_raw(tmp_path / 'raw', n_train=1, n_test=1)
    name = fx['splits']['test'][0]
    path = os.path.join(fx['args']['root'], 'test', 'Label', name + '.png')
    lab = _read(path)
    lab[0, 0] = 20
    cv2.imwrite(path, lab)
    with pytest.raises(PrepError, match=rf'{name}.png: label values \[20\]'):
        fmb.convert(out=str(tmp_path / 'o'), quiet=True, **fx['args'])
