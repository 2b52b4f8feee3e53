"""Synthetic forest: determinism, layout, and that the rasteriser recovers the known structure."""

import json
import os

import numpy as np
import pytest

from crossmodal.datasets.lidar import RasterParams, compute_rasters
from crossmodal.datasets.lidar.synthetic import (
    SyntheticForestConfig,
    make_synthetic_forest,
    write_synthetic_forest,
)

SMALL = dict(size_px=128, gsd=0.5, pulse_density=6.0)


@pytest.fixture(scope='module')
def scene():
    sc = make_synthetic_forest(SyntheticForestConfig(seed=3, **SMALL))
    r = compute_rasters(sc['points'], sc['grid'].coarsen(2), RasterParams())
    return sc, r


def test_deterministic_by_seed():
    a = make_synthetic_forest(SyntheticForestConfig(seed=1, size_px=64))
    b = make_synthetic_forest(SyntheticForestConfig(seed=1, size_px=64))
    c = make_synthetic_forest(SyntheticForestConfig(seed=2, size_px=64))
    np.testing.assert_array_equal(a['image'], b['image'])
    np.testing.assert_array_equal(a['points'].z, b['points'].z)
    assert not np.array_equal(a['image'], c['image'])


def test_rasters_recover_known_structure(scene):
    sc, r = scene
    # CHM vs the known crown-top height (max over each 2x2-pixel metric cell)
    top = sc['truth_top'].reshape(64, 2, 64, 2).max(axis=(1, 3))
    v = np.isfinite(r['chm'])
    assert v.mean() > 0.95
    assert np.corrcoef(top[v], r['chm'][v])[0, 1] > 0.9
    assert np.abs(top[v] - r['chm'][v]).mean() < 2.0  # pulses rarely hit the very apex
    # first-return PAI vs the known LAD * path length (Beer-Lambert was simulated with k = 0.5)
    tp = sc['truth_pai'].reshape(64, 2, 64, 2).mean(axis=(1, 3))
    v = np.isfinite(r['pai'])
    assert np.corrcoef(tp[v], r['pai'][v])[0, 1] > 0.6
    # DTM recovers the terrain model within a few decimetres
    from crossmodal.datasets.lidar.synthetic import terrain

    xc, yc = sc['grid'].coarsen(2).centres()
    assert np.abs(r['dtm'] - terrain(xc[None, :], yc[:, None])).mean() < 0.3


def test_rgbi_appearance(scene):
    sc, _r = scene
    img = sc['image'].astype(float)
    crown = sc['truth_top'] > 0
    assert 0.2 < crown.mean() < 0.9
    ndvi = (img[..., 3] - img[..., 0]) / (img[..., 3] + img[..., 0] + 1e-6)
    assert ndvi[crown].mean() > ndvi[~crown].mean() + 0.2  # vegetation is bright in NIR
    # height is only weakly visible in the RGB: correlation of brightness with crown height is small
    h = sc['truth_top'][crown]
    assert abs(np.corrcoef(img[..., :3].mean(-1)[crown], h)[0, 1]) < 0.6


def test_written_layout(tmp_path):
    out = str(tmp_path / 'syn')
    meta = write_synthetic_forest(
        out,
        SyntheticForestConfig(seed=0, size_px=128),
        tile_size=64,
        cell_multiple=2,
        progress=False,
    )
    with open(os.path.join(out, 'meta.json')) as fh:
        disk = json.load(fh)
    assert disk == json.loads(json.dumps(meta))
    assert disk['modalities']['rgb']['channels'] == 4 and disk['modalities']['rgb']['bands'] == [
        'R',
        'G',
        'B',
        'NIR',
    ]
    assert set(disk['targets']) == {'chm', 'pai', 'fhd'}
    train = open(os.path.join(out, 'train.txt')).read().split()
    test = open(os.path.join(out, 'test.txt')).read().split()
    assert len(train) + len(test) == 4 and test and not set(train) & set(test)
    import cv2

    for stem in train + test:
        rgbi = cv2.imread(os.path.join(out, 'RGB', stem + '.png'), cv2.IMREAD_UNCHANGED)
        assert rgbi.shape == (64, 64, 4)
        lid = np.load(os.path.join(out, 'LiDAR', stem + '.npy'))
        assert (
            lid.shape == (64, 64, disk['modalities']['lidar']['channels'])
            and lid.dtype == np.float32
        )
        for k in ('CHM', 'PAI', 'FHD'):
            a = np.load(os.path.join(out, k, stem + '.npy'))
            assert a.shape == (64, 64) and a.dtype == np.float32
    assert disk['synthetic_config']['seed'] == 0
