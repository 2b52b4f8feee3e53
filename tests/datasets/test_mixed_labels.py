"""Labelled + unlabelled training data: data_prep/label_subset.py, MixedLabelDataset and
MixedBatchSampler (alone and through the Runner's dataloader builder)."""

import json
import os
import subprocess
import sys

import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import crossmodal  # noqa: F401
from crossmodal.datasets import MixedBatchSampler, MixedLabelDataset, RGBXSegDataset
from data_prep.label_subset import SubsetError, write_label_subset
from data_prep.synthetic import generate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PIPELINE = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='MultiModalRandomCrop', crop_size=(24, 32)),
    dict(type='PackMultiModalInputs'),
]


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('mixed') / 'rgbt'
    generate(str(root), 'rgbt', num=20, height=32, width=40, test_fraction=0.2, progress=False)
    write_label_subset(str(root), 'train', 0.25, seed=0)
    return str(root)


def part(root, split, **kw):
    return dict(type='RGBXSegDataset', data_root=root, split=split,
                modalities=('rgb', 'thermal'), pipeline=PIPELINE, **kw)


def mixed(root):
    return MixedLabelDataset(labelled=part(root, 'train_l25'), unlabelled=part(root, 'train_u75'))


class FakeSampler:
    def __init__(self, dataset, seed=3):
        self.dataset, self.seed = dataset, seed


# ------------------------------------------------------------------ label_subset
def test_label_subset_splits_the_train_stems_and_marks_the_rest_unlabelled(root):
    meta = json.load(open(f'{root}/meta.json'))
    train = open(f'{root}/train.txt').read().split()
    lab = open(f'{root}/train_l25.txt').read().split()
    unl = open(f'{root}/train_u75.txt').read().split()
    assert len(train) == 16 and len(lab) == 4 and len(unl) == 12
    assert sorted(lab + unl) == sorted(train) and not set(lab) & set(unl)
    assert [s for s in train if s in lab] == lab  # the split's order is kept
    assert 'train_u75' in meta['unlabelled_splits'] and 'train_l25' not in meta['unlabelled_splits']
    assert meta['label_subsets']['train_l25']['seed'] == 0
    ds = RGBXSegDataset(root, split='train_u75', modalities=('rgb',))
    assert ds.with_label is False and 'seg_map_path' not in ds.get_data_info(0)


def test_label_subset_rerun_is_a_noop_and_other_arguments_need_force(root):
    again = write_label_subset(root, 'train', 0.25, seed=0)
    assert again['changed'] is False
    with pytest.raises(SubsetError, match='--force'):
        write_label_subset(root, 'train', 0.25, seed=1)
    with pytest.raises(SubsetError, match='no split "nope"'):
        write_label_subset(root, 'nope', 0.25)
    with pytest.raises(SubsetError, match='fraction'):
        write_label_subset(root, 'train', 1.5)


def test_label_subset_cli_and_check_dataset_accept_the_result(tmp_path):
    root = tmp_path / 'd'
    generate(str(root), 'rgbt', num=10, height=16, width=20, progress=False)
    out = subprocess.run([sys.executable, f'{ROOT}/data_prep/label_subset.py', str(root),
                          '--fraction', '0.5', '--seed', '2'], capture_output=True, text=True,
                         check=True)
    info = json.loads(out.stdout)
    assert (info['labelled'], info['num_labelled'], info['num_unlabelled']) == ('train_l50', 4, 4)
    from data_prep.check import check_dataset

    report = check_dataset(str(root))
    assert report['ok'], report['problems'][:3]
    assert 'train_u50' in report['summary']['unlabelled_splits']


# ------------------------------------------------------------------ dataset
def test_mixed_dataset_marks_samples_and_voids_the_unlabelled_labels(root):
    ds = mixed(root)
    assert (ds.num_labelled, ds.num_unlabelled, len(ds)) == (4, 12, 16)
    lab, unl = ds[0], ds[4]
    assert lab['data_samples'].labelled is True and unl['data_samples'].labelled is False
    assert int((lab['data_samples'].gt_sem_seg.data != 255).sum()) > 0
    g = unl['data_samples'].gt_sem_seg.data
    assert g.shape == (1, 24, 32) and bool((g == 255).all())  # the crop's size, all void
    assert ds[-1]['data_samples'].labelled is False


def test_mixed_dataset_refuses_labels_on_the_unlabelled_part_and_other_classes(root, tmp_path):
    with pytest.raises(ValueError, match='with_label=True'):
        MixedLabelDataset(labelled=part(root, 'train_l25'),
                          unlabelled=part(root, 'train', with_label=True))
    other = tmp_path / 'rgbd'
    generate(str(other), 'rgbd', num=6, height=32, width=40, progress=False)
    meta = json.load(open(other / 'meta.json'))
    meta['classes'] = [c + '_x' for c in meta['classes']]
    json.dump(meta, open(other / 'meta.json', 'w'))
    with pytest.raises(ValueError, match='classes'):
        MixedLabelDataset(labelled=part(root, 'train_l25'),
                          unlabelled=dict(part(str(other), 'train'), modalities=('rgb',)))


# ------------------------------------------------------------------ batch sampler
def test_batches_have_the_set_composition_and_an_epoch_covers_the_labelled_part(root):
    ds = mixed(root)
    bs = MixedBatchSampler(FakeSampler(ds), batch_size=4, labelled_per_batch=1)
    assert len(bs) == 4
    epoch = list(bs)
    assert len(epoch) == 4 and all(len(b) == 4 for b in epoch)
    assert all(b[0] < 4 and all(i >= 4 for i in b[1:]) for b in epoch)
    assert sorted(b[0] for b in epoch) == [0, 1, 2, 3]
    unl = [i for b in epoch for i in b[1:]]
    assert sorted(unl) == list(range(4, 16))  # 12 unlabelled draws = one pass
    second = list(bs)
    assert second != epoch  # the next epoch reshuffles and continues the unlabelled stream
    again = MixedBatchSampler(FakeSampler(ds), batch_size=4, labelled_per_batch=1)
    assert list(again) == epoch  # reproducible from the seed


def test_all_unlabelled_batches_and_bad_arguments(root):
    ds = mixed(root)
    bs = MixedBatchSampler(FakeSampler(ds), batch_size=3, labelled_per_batch=0)
    batches = list(bs)
    assert len(batches) == 4 and all(i >= 4 for b in batches for i in b)
    with pytest.raises(ValueError, match='labelled_per_batch'):
        MixedBatchSampler(FakeSampler(ds), batch_size=2, labelled_per_batch=3)
    with pytest.raises(TypeError, match='MixedLabelDataset'):
        MixedBatchSampler(FakeSampler([1, 2]), batch_size=2, labelled_per_batch=1)


def test_runner_dataloader_yields_mixed_batches(root):
    with DefaultScope.overwrite_default_scope('mmseg'):  # what the Runner's default_scope does
        loader = _runner_loader(root)
    batch = next(iter(loader))
    flags = [s.labelled for s in batch['data_samples']]
    assert flags == [True, True, False, False]
    assert len(batch['inputs']['rgb']) == 4  # pseudo_collate: {modality: [per-sample tensors]}
    assert all(isinstance(x, torch.Tensor) for x in batch['inputs']['thermal'])


def _runner_loader(root):
    return Runner.build_dataloader(
        dict(
            batch_size=4,
            num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            batch_sampler=dict(type='MixedBatchSampler', labelled_per_batch=2),
            dataset=dict(type='MixedLabelDataset', labelled=part(root, 'train_l25'),
                         unlabelled=part(root, 'train_u75')),
        ),
        seed=0,
    )


def test_ddp_ranks_share_each_pass_without_overlap(root, monkeypatch):
    import crossmodal.datasets.mixed_labels as ml

    ds = mixed(root)
    epochs = []
    for rank in (0, 1):
        monkeypatch.setattr(ml, 'get_dist_info', lambda rank=rank: (rank, 2))
        bs = MixedBatchSampler(FakeSampler(ds), batch_size=3, labelled_per_batch=1)
        assert len(bs) == 2  # 4 labelled frames, 2 per rank
        epochs.append(list(bs))
    lab = [[b[0] for b in e] for e in epochs]
    unl = [[i for b in e for i in b[1:]] for e in epochs]
    assert sorted(lab[0] + lab[1]) == [0, 1, 2, 3]
    assert not set(unl[0]) & set(unl[1])  # 4 + 4 of the 12 unlabelled, disjoint
