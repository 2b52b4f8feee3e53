"""The synthetic forest's meta.json through RGBXSegDataset / LoadMultiModalFromFile (RGBI + LiDAR +
targets)."""

import json
import os

import cv2
import numpy as np
import pytest
from mmseg.registry import DATASETS

from crossmodal.datasets.lidar.synthetic import SyntheticForestConfig, write_synthetic_forest
from crossmodal.datasets.meta import DatasetMetaError, load_meta
from crossmodal.datasets.rgbx_dataset import DatasetLayoutError
from crossmodal.datasets.transforms.loading import SampleLoadError


@pytest.fixture(scope='module')
def forest(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('forest') / 'sf')
    write_synthetic_forest(
        out,
        SyntheticForestConfig(seed=3, size_px=64, pulse_density=4.0),
        tile_size=32,
        progress=False,
    )
    return out


def _ds(root, **kw):
    from mmengine.registry import init_default_scope

    init_default_scope('mmseg')  # the pipeline's transforms live in mmseg's registry
    cfg = dict(
        type='RGBXSegDataset',
        data_root=root,
        split='train',
        modalities=('rgb', 'lidar'),
        with_label=False,
        with_targets=('chm', 'pai', 'fhd'),
        pipeline=[
            dict(type='LoadMultiModalFromFile', with_label=False),
            dict(type='PackMultiModalInputs'),
        ],
    )
    cfg.update(kw)
    return DATASETS.build(cfg)


def test_regression_dataset_loads_rgbi_lidar_and_targets(forest):
    ds = _ds(forest)
    item = ds[0]
    rgb, lidar = item['inputs']['rgb'], item['inputs']['lidar']
    assert rgb.shape == (4, 32, 32) and lidar.shape == (13, 32, 32)
    gt = item['data_samples'].gt_regression.data
    assert gt.shape == (3, 32, 32)
    stem = ds.get_data_info(0)['stem']
    # channel order R, G, B, NIR: the PNG stores RGBA, cv2 reads B, G, R, A
    bgra = cv2.imread(os.path.join(forest, 'RGB', stem + '.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(rgb.numpy().transpose(1, 2, 0), bgra[..., [2, 1, 0, 3]])
    chm = np.load(os.path.join(forest, 'CHM', stem + '.npy'))
    assert np.array_equal(gt[0].numpy(), chm, equal_nan=True)


def test_regression_dataset_with_label_is_a_clear_error(forest):
    with pytest.raises(DatasetLayoutError, match='with_label=False'):
        _ds(forest, with_label=True)


def test_regression_meta_needs_targets(forest, tmp_path):
    meta = json.load(open(os.path.join(forest, 'meta.json')))
    assert load_meta(forest)['task'] == 'regression'
    meta.pop('targets')
    (tmp_path / 'meta.json').write_text(json.dumps(meta))
    with pytest.raises(DatasetMetaError, match='targets'):
        load_meta(str(tmp_path))


def test_rgb_channel_count_must_match_meta(forest, tmp_path):
    meta = json.load(open(os.path.join(forest, 'meta.json')))
    meta['modalities']['rgb']['channels'] = 3
    os.symlink(os.path.join(forest, 'RGB'), tmp_path / 'RGB')
    for f in ('LiDAR', 'CHM', 'PAI', 'FHD', 'train.txt', 'test.txt'):
        os.symlink(os.path.join(forest, f), tmp_path / f)
    (tmp_path / 'meta.json').write_text(json.dumps(meta))
    with pytest.raises(SampleLoadError, match='expected 3 channels, got 4'):
        _ds(str(tmp_path))[0]
