"""Multimodal transforms: joint geometry, per-modality photometry, dropout, packing."""

import numpy as np
import pytest
import torch

import crossmodal  # noqa: F401
from crossmodal.datasets.transforms import (
    JointGeometricAug,
    ModalityDropout,
    ModalityPhotometricAug,
    MultiModalRandomCrop,
    PackMultiModalInputs,
)


def _sample(h=24, w=32):
    """A sample whose modalities are exact functions of the label, so misalignment shows."""
    lab = np.zeros((h, w), np.uint8)
    lab[4:12, 6:20] = 1
    lab[14:22, 22:30] = 2
    img = np.stack([lab * 100, lab * 50, 255 - lab * 100], -1).astype(np.uint8)
    depth = (1.0 + lab).astype(np.float32)  # metres
    thermal = (20.0 + 30.0 * lab).astype(np.float32)
    return dict(
        img=img,
        modalities={'depth': depth, 'thermal': thermal},
        gt_seg_map=lab,
        img_shape=(h, w),
        ori_shape=(h, w),
        seg_fields=['gt_seg_map'],
    )


def test_joint_geometric_keeps_modalities_aligned():
    aug = JointGeometricAug(
        [
            dict(type='RandomScale', scale_limit=(0.3, 0.6), p=1.0),
            dict(type='HorizontalFlip', p=1.0),
            dict(type='Rotate', limit=(15, 15), p=1.0),
        ]
    )
    np.random.seed(0)
    r = aug(_sample())
    lab, depth = r['gt_seg_map'], r['modalities']['depth']
    assert lab.shape == depth.shape == r['img'].shape[:2] == r['modalities']['thermal'].shape
    assert lab.shape[0] > 24  # scaled up
    valid = depth > 0  # rotation pads depth with 0
    # depth is nearest-resampled like the label: depth == 1 + label exactly where both are valid
    both = valid & (lab != 255)
    assert both.sum() > 100
    assert np.array_equal(depth[both], 1.0 + lab[both])
    # the flip moved class 1 to the right half
    ys, xs = np.nonzero(lab == 1)
    assert xs.mean() > lab.shape[1] / 2


def test_joint_geometric_rejects_photometric():
    with pytest.raises(TypeError, match='ColorJitter is photometric'):
        JointGeometricAug([dict(type='ColorJitter')])


def test_random_crop_pads_with_per_key_values():
    crop = MultiModalRandomCrop(crop_size=(30, 40))
    r = crop(_sample(24, 32))
    assert r['img'].shape == (30, 40, 3) and r['gt_seg_map'].shape == (30, 40)
    assert (r['gt_seg_map'][24:] == 255).all() and (r['modalities']['depth'][24:] == 0).all()
    assert r['img_shape'] == (30, 40)


def test_photometric_touches_only_its_modality():
    s = _sample()
    before = {k: v.copy() for k, v in s['modalities'].items()}
    img0 = s['img'].copy()
    aug = ModalityPhotometricAug(
        'rgb',
        [
            dict(
                type='RandomBrightnessContrast',
                brightness_limit=(0.3, 0.3),
                contrast_limit=(0, 0),
                p=1.0,
            )
        ],
    )
    r = aug(s)
    assert not np.array_equal(r['img'], img0)
    for k in before:
        assert np.array_equal(r['modalities'][k], before[k])
    th = ModalityPhotometricAug(
        'thermal',
        [
            dict(
                type='RandomBrightnessContrast',
                brightness_limit=(0.2, 0.2),
                contrast_limit=(0, 0),
                p=1.0,
            )
        ],
        value_range=(0, 255),
    )
    r2 = th(_sample())
    assert r2['modalities']['thermal'].dtype == np.float32
    assert r2['modalities']['thermal'].mean() > before['thermal'].mean()
    with pytest.raises(ValueError, match='value_range'):
        ModalityPhotometricAug('thermal', [dict(type='RandomBrightnessContrast', p=1.0)])(_sample())


def test_modality_dropout_fill_and_keep_one():
    np.random.seed(0)
    r = ModalityDropout(p=1.0, modalities=('thermal',), fill='zero')(_sample())
    assert r['dropped_modalities'] == ['thermal'] and (r['modalities']['thermal'] == 0).all()
    r = ModalityDropout(p=1.0, modalities=('thermal',), fill='mean')(_sample())
    assert np.allclose(r['modalities']['thermal'], _sample()['modalities']['thermal'].mean())
    r = ModalityDropout(p=1.0, modalities=('rgb', 'depth'), keep_at_least_one=True)(_sample())
    assert r['dropped_modalities'] == ['rgb', 'depth']  # thermal is left
    r = ModalityDropout(p=1.0, modalities=('rgb', 'depth', 'thermal'), keep_at_least_one=True)(
        _sample()
    )
    assert len(r['dropped_modalities']) == 2


def test_pack_dict_and_stacked():
    out = PackMultiModalInputs()(_sample())
    assert set(out['inputs']) == {'rgb', 'depth', 'thermal'}
    assert out['inputs']['rgb'].shape == (3, 24, 32) and out['inputs']['rgb'].dtype == torch.uint8
    assert out['inputs']['depth'].shape == (1, 24, 32)
    assert out['data_samples'].gt_sem_seg.data.shape == (1, 24, 32)
    st = PackMultiModalInputs(modalities=('rgb',), stack=True)(_sample())
    assert isinstance(st['inputs'], torch.Tensor) and st['inputs'].shape == (3, 24, 32)
    with pytest.raises(KeyError, match='"hha" requested'):
        PackMultiModalInputs(modalities=('rgb', 'hha'))(_sample())
