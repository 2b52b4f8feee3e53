"""Converters lose nothing: SUN RGB-D JPEGs copied byte for byte, unlabelled frames convertible (no
Label file, an ``unlabelled`` split in meta.json) and loadable, palette label PNGs read as
indices."""

import json
import os

import cv2
import numpy as np
import pytest

import crossmodal  # noqa: F401
from crossmodal.datasets import DatasetLayoutError, RGBXSegDataset
from crossmodal.datasets.transforms import LoadMultiModalFromFile
from data_prep import common, fixtures, pst900, sunrgbd
from data_prep.check import check_dataset
from data_prep.common import PrepError


def test_sunrgbd_rgb_jpeg_bytes_are_copied(tmp_path):
    fx = fixtures.write_sunrgbd_raw(tmp_path / 'raw', n_train=2, n_test=1)
    out = tmp_path / 'SUN'
    sunrgbd.convert(out=str(out), quiet=True, **fx['args'])
    train = sunrgbd.read_list(fx['args']['train_list'])
    test = sunrgbd.read_list(fx['args']['test_list'])
    for k, ln in enumerate(test + train, start=1):
        src = os.path.join(fx['args']['root'], ln)
        assert (out / 'RGB' / f'img-{k:06d}.jpg').read_bytes() == open(src, 'rb').read()
    assert check_dataset(str(out))['ok']


def test_sunrgbd_truncated_jpeg_is_an_error(tmp_path):
    fx = fixtures.write_sunrgbd_raw(tmp_path / 'raw', n_train=1, n_test=1)
    src = os.path.join(fx['args']['root'], sunrgbd.read_list(fx['args']['train_list'])[0])
    data = open(src, 'rb').read()
    open(src, 'wb').write(data[: len(data) * 9 // 10])
    assert (
        cv2.imread(src) is not None
    )  # cv2.imread pads it with grey; the converter must not take it
    with pytest.raises(PrepError, match='cannot be decoded'):
        sunrgbd.convert(out=str(tmp_path / 'SUN'), quiet=True, **fx['args'])


def _unlabelled_frames(directory, dirs, n=3, hw=(24, 32)):
    rng = np.random.default_rng(5)
    names = [f'extra_{i:03d}' for i in range(n)]
    for nm in names:
        for k in ('rgb', 'thermal'):
            os.makedirs(os.path.join(directory, dirs[k]), exist_ok=True)
        cv2.imwrite(
            os.path.join(directory, dirs['rgb'], nm + '.png'),
            rng.integers(0, 256, hw + (3,), np.uint8),
        )
        cv2.imwrite(
            os.path.join(directory, dirs['thermal'], nm + '.png'),
            rng.integers(0, 256, hw, np.uint8),
        )
    return names


def test_unlabelled_folder_end_to_end(tmp_path, capsys):
    fx = fixtures.write_pst900_raw(tmp_path / 'raw', n_train=2, n_test=1)
    unl = tmp_path / 'extra'
    names = _unlabelled_frames(unl, pst900.DIRS)
    out = tmp_path / 'PST900'
    assert (
        pst900.main(
            [
                '--root',
                fx['args']['root'],
                '--unlabelled-dir',
                str(unl),
                '--out',
                str(out),
                '--quiet',
            ]
        )
        == 0
    )
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['splits']['unlabelled'] == 'unlabelled.txt' and meta['unlabelled_splits'] == [
        'unlabelled'
    ]
    assert (out / 'unlabelled.txt').read_text().split() == names
    assert (out / 'unlabelled_pairs.txt').read_text().splitlines()[0] == f'RGB/{names[0]}.png'
    assert all(
        (out / 'RGB' / f'{n}.png').exists() and not (out / 'Label' / f'{n}.png').exists()
        for n in names
    )
    rgb = cv2.imread(os.path.join(unl, 'rgb', names[0] + '.png'))
    assert np.array_equal(cv2.imread(str(out / 'RGB' / f'{names[0]}.png')), rgb)
    report = check_dataset(str(out))
    assert report['ok'] and report['summary']['counts'] == {'train': 2, 'test': 1, 'unlabelled': 3}

    ds = RGBXSegDataset(str(out), split='unlabelled', modalities=('rgb', 'thermal'))
    r = LoadMultiModalFromFile()(ds.get_data_info(0))
    assert (
        'gt_seg_map' not in r
        and r['img'].shape == (24, 32, 3)
        and r['modalities']['thermal'].shape == (24, 32)
    )
    with pytest.raises(DatasetLayoutError, match='holds frames without labels'):
        RGBXSegDataset(str(out), split='unlabelled', modalities=('rgb', 'thermal'), with_label=True)
    assert len(RGBXSegDataset(str(out), split='train')) == 2  # labelled splits unchanged


def test_unlabelled_name_collision_is_an_error(tmp_path):
    fx = fixtures.write_pst900_raw(tmp_path / 'raw', n_train=1, n_test=1)
    unl = tmp_path / 'extra'
    _unlabelled_frames(unl, pst900.DIRS, n=1)
    name = fx['splits']['train'][0]
    os.rename(unl / 'rgb' / 'extra_000.png', unl / 'rgb' / f'{name}.png')
    with pytest.raises(
        PrepError, match=f'unlabelled frame {name!r} has the name of a frame of train'
    ):
        pst900.convert(out=str(tmp_path / 'o'), quiet=True, unlabelled_dir=str(unl), **fx['args'])


def test_writer_no_label_mode(tmp_path):
    mods = {'rgb': {'folder': 'RGB', 'ext': '.png', 'dtype': 'uint8', 'channels': 3}}
    w = common.DatasetWriter(str(tmp_path / 'o'), converter='t', options={}, modalities=mods)
    w.write('a', label=np.zeros((4, 5), np.uint8), rgb=np.zeros((4, 5, 3), np.uint8))
    w.write('u', label=None, rgb=np.zeros((4, 5, 3), np.uint8))
    assert w.is_done('u', labelled=False) and not w.is_done('u')
    with pytest.raises(PrepError, match='not written'):  # 'u' has no label: not in a labelled split
        w.finalize(
            name='t',
            classes=['x'],
            palette=[[0, 0, 0]],
            label_offset=0,
            splits={'train': ['a', 'u']},
            split_source='test',
        )
    meta = w.finalize(
        name='t',
        classes=['x'],
        palette=[[0, 0, 0]],
        label_offset=0,
        splits={'train': ['a'], 'unlabelled': ['u'], 'val': []},
        split_source='test',
        unlabelled_splits=('unlabelled',),
    )
    assert meta['unlabelled_splits'] == ['unlabelled'] and meta['omitted_empty_splits'] == ['val']
    assert 'val' not in meta['splits'] and not (tmp_path / 'o' / 'val.txt').exists()
    assert check_dataset(str(tmp_path / 'o'))['ok']


def test_converter_reads_palette_label_indices(tmp_path):
    from PIL import Image

    fx = fixtures.write_pst900_raw(tmp_path / 'raw', n_train=1, n_test=1)
    name = fx['splits']['train'][0]
    path = os.path.join(fx['args']['root'], 'train', 'labels', name + '.png')
    ids = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    im = Image.fromarray(ids, mode='P')
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255] + [0] * (3 * 251))
    im.save(path)
    out = tmp_path / 'o'
    pst900.convert(out=str(out), quiet=True, **fx['args'])
    assert np.array_equal(cv2.imread(str(out / 'Label' / f'{name}.png'), cv2.IMREAD_UNCHANGED), ids)
