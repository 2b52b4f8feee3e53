"""DepthPhotometricAug: decoupled depth augmentation (scale jitter, noise, holes)."""

import numpy as np
import pytest

import crossmodal  # noqa: F401
from crossmodal.datasets.transforms import DepthPhotometricAug


def _results(h=40, w=50):
    d = np.full((h, w), 2.0, np.float32)
    d[:5, :5] = 0.0  # invalid
    img = np.full((h, w, 3), 100, np.uint8)
    return dict(img=img, modalities={'depth': d}, gt_seg_map=np.zeros((h, w), np.uint8))


def test_scale_only_scales_valid_pixels_and_leaves_rgb():
    aug = DepthPhotometricAug(scale_range=(1.5, 1.5), scale_p=1.0, noise_p=0.0, hole_p=0.0)
    r = aug(_results())
    d = r['modalities']['depth']
    assert d.dtype == np.float32
    assert np.all(d[:5, :5] == 0.0) and np.allclose(d[5:, 5:], 3.0)
    assert np.all(r['img'] == 100)


def test_holes_are_invalid_and_noise_is_relative():
    np.random.seed(0)
    aug = DepthPhotometricAug(
        scale_p=0.0, noise_p=0.0, hole_p=1.0, max_holes=2, hole_size=(0.2, 0.2)
    )
    d = aug(_results())['modalities']['depth']
    n_holes = int((d[5:, 5:] == 0).sum())
    assert 0 < n_holes <= 2 * 8 * 10
    assert set(np.unique(d).tolist()) <= {0.0, 2.0}
    np.random.seed(0)
    aug = DepthPhotometricAug(scale_p=0.0, noise_p=1.0, noise_rel=0.05, hole_p=0.0)
    d = aug(_results(200, 200))['modalities']['depth']
    valid = d[5:, 5:]
    assert abs(float(valid.std()) - 0.1) < 0.01  # std = 0.05 * 2 m
    assert np.all(d[:5, :5] == 0.0)


def test_reproducible_with_numpy_seed_and_independent_of_rgb():
    aug = DepthPhotometricAug(noise_p=1.0, hole_p=1.0, scale_p=1.0)
    np.random.seed(3)
    a = aug(_results())['modalities']['depth']
    np.random.seed(3)
    b = aug(_results())['modalities']['depth']
    assert np.array_equal(a, b)


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match='scale_range'):
        DepthPhotometricAug(scale_range=(0.0, 1.0))
    with pytest.raises(ValueError, match='hole_size'):
        DepthPhotometricAug(hole_size=(0.5, 2.0))
    with pytest.raises(ValueError, match='noise_p'):
        DepthPhotometricAug(noise_p=2.0)
    r = _results()
    r['modalities']['depth'] = (r['modalities']['depth'] * 1000).astype(np.uint16)
    with pytest.raises(TypeError, match='float depth'):
        DepthPhotometricAug()(r)
    # absent modality: untouched
    r = dict(img=np.zeros((4, 4, 3), np.uint8), modalities={})
    assert DepthPhotometricAug()(r) is r
