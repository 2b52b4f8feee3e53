"""Which split each real-dataset config trains, validates and tests on (frameworks.md B.9.1)."""

import glob
import os.path as osp

import pytest
from mmengine.config import Config

import crossmodal  # noqa: F401
from crossmodal.datasets.rgbx_dataset import DatasetLayoutError, RGBXSegDataset

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _configs(tag):
    """Runnable configs for a dataset (not bases, not multi-stage recipes that only list stages)."""
    paths = glob.glob(osp.join(ROOT, 'configs', '**', f'*{tag}*.py'), recursive=True)
    return sorted(p for p in paths if '_base_' not in p and 'stages = [' not in open(p).read())


def _split(loader):
    return loader['dataset']['split']


@pytest.mark.parametrize('path', _configs('mfnet'), ids=osp.basename)
def test_mfnet_configs_validate_on_val_and_test_on_test(path):
    cfg = Config.fromfile(path)
    ds = cfg.train_dataloader.dataset
    if ds.get('type') == 'MixedLabelDataset':  # MFNet train + an unlabelled pool
        assert ds.labelled.split == 'train' and 'MFNet' in ds.labelled.data_root
    elif 'MFNet' in ds.data_root:
        assert ds.split == 'train'
    else:  # trained on an unlabelled pool (MSRS): no MFNet frame at all
        assert ds.split == 'unlabelled' and ds.get('with_label', None) is not True
    assert _split(cfg.val_dataloader) == 'val'
    assert _split(cfg.test_dataloader) == 'test'
    # the test loader keeps the same inputs (pipeline, modalities) as the val loader
    assert cfg.test_dataloader.dataset.pipeline == cfg.val_dataloader.dataset.pipeline
    assert cfg.test_dataloader.dataset.modalities == cfg.val_dataloader.dataset.modalities


@pytest.mark.parametrize(
    'path', _configs('nyudv2') + _configs('fmb') + _configs('pst900'), ids=osp.basename
)
def test_no_val_datasets_validate_on_test(path):
    cfg = Config.fromfile(path)
    assert _split(cfg.val_dataloader) == 'test' and _split(cfg.test_dataloader) == 'test'


def test_mfnet_base_documents_trainval():
    text = open(osp.join(ROOT, 'configs/_base_/datasets/mfnet_rgbt.py')).read()
    assert 'train_dataloader.dataset.split=trainval val_dataloader.dataset.split=test' in text


def test_mfnet_trainval_conversion_has_no_val_split(tmp_path):
    from data_prep.fixtures import convert_fixture

    plain = convert_fixture('mfnet', tmp_path / 'raw', tmp_path / 'plain')
    assert len(RGBXSegDataset(data_root=plain, split='val', modalities=('rgb', 'thermal'))) == 2
    with pytest.raises(DatasetLayoutError, match=r'meta.json: split "trainval" is not one of'):
        RGBXSegDataset(data_root=plain, split='trainval')
    tv = convert_fixture('mfnet', tmp_path / 'raw2', tmp_path / 'tv', trainval=True)
    assert len(RGBXSegDataset(data_root=tv, split='trainval')) == 5
    assert len(RGBXSegDataset(data_root=tv, split='train')) == 5
    # val frames are training frames here: asking for "val" names the problem instead of reading
    # val.txt
    assert osp.isfile(osp.join(tv, 'val.txt'))
    with pytest.raises(DatasetLayoutError, match=r'split "val" is not one of .*trainval.txt'):
        RGBXSegDataset(data_root=tv, split='val')
    assert len(RGBXSegDataset(data_root=tv, split='val.txt')) == 2  # an explicit file still works
