"""Missing-modality blanking: config resolution and the transform on real (tiny generated)
samples."""

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from crossmodal.evaluation import robustness as rb

MEAN = dict(rgb=[123.675, 116.28, 103.53], thermal=[100.0])


def _cfg(root, modalities=('rgb', 'thermal'), stack=False):
    pack = (
        dict(type='PackMultiModalInputs', modalities=('rgb',), stack=True)
        if stack
        else dict(type='PackMultiModalInputs')
    )
    model = dict(
        type='RTFDNet',
        modalities=modalities,
        data_preprocessor=dict(
            type='MultiModalDataPreprocessor', mean=MEAN, std=dict(rgb=[1, 1, 1], thermal=[1])
        ),
    )
    if stack:
        model = dict(
            type='EncoderDecoder',
            data_preprocessor=dict(
                type='SegDataPreProcessor', mean=MEAN['rgb'], std=[1, 1, 1], bgr_to_rgb=False
            ),
        )
    return Config(
        dict(
            model=model,
            test_dataloader=dict(
                dataset=dict(
                    type='RGBXSegDataset',
                    data_root=root,
                    split='test',
                    modalities=('rgb', 'thermal'),
                    pipeline=[dict(type='LoadMultiModalFromFile'), pack],
                )
            ),
        )
    )


def _load(cfg):
    init_default_scope('mmseg')
    from mmseg.registry import DATASETS

    ds = DATASETS.build(cfg.test_dataloader.dataset)
    raw = Compose([dict(type='LoadMultiModalFromFile')])(ds.get_data_info(0))
    return ds[0], raw


def test_resolve_drop_and_errors(tiny_rgbt):
    cfg = _cfg(tiny_rgbt)
    assert rb.model_modalities(cfg) == ('rgb', 'thermal')
    assert rb.resolve_drop(cfg, modalities=['rgb']) == ['thermal']
    assert rb.resolve_drop(cfg, drop=['rgb']) == ['rgb']
    assert rb.resolve_drop(cfg) == []
    with pytest.raises(rb.RobustnessConfigError, match='depth'):
        rb.resolve_drop(cfg, drop=['depth'])
    with pytest.raises(rb.RobustnessConfigError, match='lidar'):
        rb.resolve_drop(cfg, modalities=['rgb', 'lidar'])
    student = _cfg(tiny_rgbt, stack=True)
    assert rb.model_modalities(student) == ('rgb',)
    with pytest.raises(rb.RobustnessConfigError, match='only'):
        rb.resolve_drop(student, drop=['thermal'])
    assert rb.parse_fill_values(['thermal=7', 'rgb=1,2,3']) == {
        'thermal': [7.0],
        'rgb': [1.0, 2.0, 3.0],
    }
    with pytest.raises(rb.RobustnessConfigError):
        rb.parse_fill_values(['thermal'])


@pytest.mark.parametrize('fill', ['zero', 'mean', 'sample-mean'])
def test_blanking_in_pipeline(tiny_rgbt, fill):
    cfg = _cfg(tiny_rgbt)
    t = rb.insert_blanking(cfg, ['thermal'], fill)
    types = [p['type'] for p in cfg.test_dataloader.dataset.pipeline]
    assert types == ['LoadMultiModalFromFile', 'ModalityDropout', 'PackMultiModalInputs']
    assert t['p'] == 1.0 and not t['keep_at_least_one']
    sample, raw = _load(cfg)
    th = sample['inputs']['thermal'].numpy()
    rgb = sample['inputs']['rgb'].numpy()
    np.testing.assert_array_equal(rgb, raw['img'].transpose(2, 0, 1))  # RGB untouched
    expect = {'zero': 0.0, 'mean': 100.0, 'sample-mean': raw['modalities']['thermal'].mean()}[fill]
    assert np.unique(th).size == 1 and th.flat[0] == pytest.approx(expect, rel=1e-5)
    assert sample['data_samples'].dropped_modalities == ['thermal']


def test_rgb_mean_fill_for_stock_student(tiny_rgbt):
    cfg = _cfg(tiny_rgbt, stack=True)
    rb.insert_blanking(cfg, ['rgb'], 'mean')
    sample, _ = _load(cfg)
    img = sample['inputs'].numpy()  # (3, H, W) uint8 RGB
    assert img.dtype == np.uint8
    assert (
        [int(img[c].min()) for c in range(3)]
        == [int(img[c].max()) for c in range(3)]
        == [123, 116, 103]
    )
    # a BGR-loading student: the fill follows the loader's channel order
    cfg.model.data_preprocessor.bgr_to_rgb = True
    assert rb.blanking_transform(cfg, ['rgb'], 'mean')['fill_value']['rgb'] == MEAN['rgb'][::-1]


def test_mean_fill_needs_a_known_mean(tiny_rgbt):
    cfg = _cfg(tiny_rgbt)
    del cfg.model.data_preprocessor['mean']['thermal']
    with pytest.raises(rb.RobustnessConfigError, match='fill-value thermal'):
        rb.insert_blanking(cfg, ['thermal'], 'mean')
    t = rb.insert_blanking(cfg, ['thermal'], 'mean', {'thermal': [55.0]})
    assert t['fill_value'] == {'thermal': 55.0}


def test_format_table():
    rows = [
        dict(scenario='full', dropped=[], metrics={'mIoU': 50.0, 'aAcc': 90.0, 'mIoU_rgb': 40.0}),
        dict(
            scenario='thermal missing',
            dropped=['thermal'],
            metrics={'mIoU': 30.5, 'aAcc': 80.0, 'mIoU_rgb': 40.0},
        ),
    ]
    table = rb.format_table(rows).splitlines()
    assert table[0] == '| input | dropped | mIoU | aAcc | mIoU_rgb | ΔmIoU |'
    assert table[3] == '| thermal missing | thermal | 30.50 | 80.00 | 40.00 | -19.50 |'


def test_modalities_of_a_stacked_multichannel_student(tiny_rgbt):
    cfg = _cfg(tiny_rgbt, stack=True)
    cfg.test_dataloader.dataset.pipeline[-1]['modalities'] = ('rgb', 'thermal')
    assert rb.model_modalities(cfg) == ('rgb', 'thermal')
    assert [s[0] for s in rb.scenarios_for(cfg)] == ['full', 'rgb missing', 'thermal missing']
