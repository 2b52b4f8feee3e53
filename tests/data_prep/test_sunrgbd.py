"""SUN RGB-D converter: bit-rotated depth decode, label numbering, official split lists."""

import json
import os

import cv2
import numpy as np
import pytest

from data_prep import fixtures, sunrgbd
from data_prep.check import check_dataset
from data_prep.common import PrepError


def test_decode_depth_hand_values():
    # stored word = mm rotated left by 3 bits within 16 bits
    d = np.array([[1234 << 3, (1000 << 3) | 1, 0, (7999 << 3)]], np.uint16)
    # (1000<<3)|1 decodes to 1000 | 1<<13 = 9192 mm -> clipped to 8000 (toolbox: depth > 8 m -> 8 m)
    assert sunrgbd.decode_depth(d).tolist() == [[1234, 8000, 0, 7999]]
    mm = np.array([[0, 1, 4095, 8000, 65535]], np.uint16)
    assert np.array_equal(sunrgbd.decode_depth(sunrgbd.encode_depth(mm), clip_mm=65535), mm)


def test_convert_fixture(tmp_path):
    fx = fixtures.write_sunrgbd_raw(tmp_path / 'raw', n_train=3, n_test=2)
    out = tmp_path / 'SUN'
    sunrgbd.convert(out=str(out), quiet=True, **fx['args'])
    assert (out / 'test.txt').read_text().split() == ['img-000001', 'img-000002']
    assert (out / 'train.txt').read_text().split() == ['img-000003', 'img-000004', 'img-000005']
    for stem, t in fx['truth'].items():
        depth = cv2.imread(str(out / 'Depth' / f'{stem}.png'), cv2.IMREAD_UNCHANGED)
        assert depth.dtype == np.uint16
        assert np.array_equal(depth, np.minimum(t['depth_mm'], 8000))
        label = cv2.imread(str(out / 'Label' / f'{stem}.png'), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(label, t['label'])
        rgb = cv2.imread(str(out / 'RGB' / f'{stem}.jpg'))[:, :, ::-1].astype(int)
        assert (
            rgb.shape == t['rgb'].shape and np.abs(rgb - t['rgb']).mean() < 8
        )  # jpg -> decode -> jpg
    meta = json.loads((out / 'meta.json').read_text())
    assert (
        len(meta['classes']) == 37 and meta['classes'][-1] == 'bag' and meta['label_offset'] == -1
    )
    assert (
        meta['modalities']['depth']['dtype'] == 'uint16'
        and meta['modalities']['depth']['scale'] == 0.001
    )
    index = dict(ln.split('\t') for ln in (out / 'frame_index.txt').read_text().splitlines())
    assert index['img-000001'].startswith('SUNRGBD/kv1/NYUdata/')
    report = check_dataset(str(out))
    assert report['ok'] and report['summary']['depth_range']['depth']['max_m'] == 8.0
    assert len(report['summary']['image_sizes']) > 1  # sensors differ in size


def test_raw_depth_option(tmp_path):
    fx = fixtures.write_sunrgbd_raw(tmp_path / 'raw', n_train=1, n_test=1)
    out = tmp_path / 'SUN'
    sunrgbd.convert(out=str(out), quiet=True, depth_source='raw', **fx['args'])
    depth = cv2.imread(str(out / 'Depth' / 'img-000001.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(depth, np.minimum(fx['truth']['img-000001']['raw_depth_mm'], 8000))


def test_label_out_of_range_is_an_error(tmp_path):
    fx = fixtures.write_sunrgbd_raw(tmp_path / 'raw', n_train=1, n_test=1)
    cv2.imwrite(
        os.path.join(fx['args']['labels'], 'img-000002.png'), np.full((24, 32), 40, np.uint8)
    )
    with pytest.raises(PrepError, match=r'img-000002.png.*\[40\]'):
        sunrgbd.convert(out=str(tmp_path / 'SUN'), quiet=True, **fx['args'])


def test_real_split_lists(shared_real):
    train = sunrgbd.read_list(os.path.join(shared_real, 'sunrgbd', 'sunrgbd_training_images.txt'))
    test = sunrgbd.read_list(os.path.join(shared_real, 'sunrgbd', 'sunrgbd_testing_images.txt'))
    assert len(train) == 5285 and len(test) == 5050 and not set(train) & set(test)
    frames = {sunrgbd.frame_dir(x) for x in train + test}
    assert len(frames) == 10335
    assert sum(f.startswith('SUNRGBD/kv1/NYUdata/') for f in frames) == 1449
