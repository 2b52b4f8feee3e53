"""RGBXSegDataset + LoadMultiModalFromFile: correct loading and a clear error for each bad input."""

import json
import os

import cv2
import numpy as np
import pytest

import crossmodal  # noqa: F401
from crossmodal.datasets import DatasetLayoutError, DatasetMetaError, RGBXSegDataset
from crossmodal.datasets.transforms import LoadMultiModalFromFile, SampleLoadError
from data_prep.synthetic import generate


@pytest.fixture
def rgbd_root(tmp_path):
    root = tmp_path / 'rgbd'
    generate(str(root), 'rgbd', num=6, height=32, width=40, progress=False)
    return root


def _load(root, modalities=('rgb', 'depth'), idx=0, split='train'):
    ds = RGBXSegDataset(str(root), split=split, modalities=modalities, lazy_init=False)
    info = ds.get_data_info(idx)
    return ds, LoadMultiModalFromFile()(info)


def test_loads_rgb_order_uint16_depth_and_labels(rgbd_root):
    # plant a known pixel: RGB (255, 0, 0) and depth 60000 mm
    rgb = cv2.imread(str(rgbd_root / 'RGB' / '00000.png'))
    rgb[0, 0] = (0, 0, 255)  # BGR on disk = pure red
    cv2.imwrite(str(rgbd_root / 'RGB' / '00000.png'), rgb)
    d = cv2.imread(str(rgbd_root / 'Depth' / '00000.png'), cv2.IMREAD_UNCHANGED)
    d[0, 0] = 60000
    cv2.imwrite(str(rgbd_root / 'Depth' / '00000.png'), d)
    ds, r = _load(rgbd_root)
    assert ds.metainfo['classes'][1] == 'person'
    assert r['img'].dtype == np.uint8 and tuple(r['img'][0, 0]) == (255, 0, 0)
    depth = r['modalities']['depth']
    assert depth.dtype == np.float32 and depth.shape == (32, 40)
    assert depth[0, 0] == pytest.approx(60.0)  # 16 bits kept, mm -> m
    assert r['gt_seg_map'].dtype == np.uint8 and r['gt_seg_map'].max() <= 3


def test_label_offset_and_void(tmp_path, rgbd_root):
    meta = json.loads((rgbd_root / 'meta.json').read_text())
    meta['label_offset'] = -1  # NYU-style: stored 0 = void, 1..K
    (rgbd_root / 'meta.json').write_text(json.dumps(meta))
    lab = np.array([[0, 1, 2, 255]], np.uint8).repeat(32, 0)
    lab = np.pad(lab, ((0, 0), (0, 36)), constant_values=1)
    cv2.imwrite(str(rgbd_root / 'Label' / '00000.png'), lab)
    _, r = _load(rgbd_root)
    assert r['gt_seg_map'][0, :4].tolist() == [255, 0, 1, 255]


def test_missing_modality_file_names_stem_and_path(rgbd_root):
    os.remove(rgbd_root / 'Depth' / '00001.png')
    with pytest.raises(DatasetLayoutError, match=r'depth file for stem "00001".*00001\.png'):
        RGBXSegDataset(str(rgbd_root), split='train', modalities=('rgb', 'depth'))


def test_modalities_of_different_sizes(rgbd_root):
    d = cv2.imread(str(rgbd_root / 'Depth' / '00000.png'), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(rgbd_root / 'Depth' / '00000.png'), d[:20])
    with pytest.raises(SampleLoadError, match=r'different sizes.*depth \(20, 40\)'):
        _load(rgbd_root)


def test_label_value_outside_classes(rgbd_root):
    lab = np.zeros((32, 40), np.uint8)
    lab[3, 3] = 7
    cv2.imwrite(str(rgbd_root / 'Label' / '00000.png'), lab)
    with pytest.raises(SampleLoadError, match=r'00000\.png: label values \[7\] are outside the 4'):
        _load(rgbd_root)


def test_corrupt_image(rgbd_root):
    (rgbd_root / 'RGB' / '00000.png').write_bytes(b'\x89PNG garbage')
    with pytest.raises(SampleLoadError, match=r'RGB/00000\.png: unreadable or corrupt'):
        _load(rgbd_root)


def test_depth_saved_as_8bit_is_caught(rgbd_root):
    cv2.imwrite(str(rgbd_root / 'Depth' / '00000.png'), np.zeros((32, 40), np.uint8))
    with pytest.raises(SampleLoadError, match='wrong bit depth'):
        _load(rgbd_root)


def test_meta_json_missing(rgbd_root):
    os.remove(rgbd_root / 'meta.json')
    with pytest.raises(DatasetMetaError, match=r'meta\.json is missing'):
        RGBXSegDataset(str(rgbd_root), modalities=('rgb',))


@pytest.mark.parametrize('field', ['classes', 'palette', 'label_offset', 'modalities'])
def test_meta_json_lacks_field(rgbd_root, field):
    meta = json.loads((rgbd_root / 'meta.json').read_text())
    del meta[field]
    (rgbd_root / 'meta.json').write_text(json.dumps(meta))
    with pytest.raises(DatasetMetaError, match=rf"lacks required field\(s\) \['{field}'\]"):
        RGBXSegDataset(str(rgbd_root), modalities=('rgb',))


def test_config_asks_for_modality_dataset_lacks(rgbd_root):
    with pytest.raises(
        DatasetLayoutError, match=r'asks for modality "thermal".*\[\'depth\', \'rgb\'\]'
    ):
        RGBXSegDataset(str(rgbd_root), modalities=('rgb', 'thermal'))


def test_unlabelled_split(rgbd_root):
    ds = RGBXSegDataset(str(rgbd_root), split='test', modalities=('rgb',), with_label=False)
    r = LoadMultiModalFromFile()(ds.get_data_info(0))
    assert 'gt_seg_map' not in r and r['img'].shape == (32, 40, 3)
