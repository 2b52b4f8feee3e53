"""Labelled and unlabelled frames in one training loader (semi-supervised distillation).

A robotics team has a small labelled multimodal set and hours of unlabelled paired recordings.
:class:`MixedLabelDataset` puts both behind one dataset, :class:`MixedBatchSampler` composes every
batch of a fixed number of labelled and unlabelled samples, and ``DistillSegmentor`` trains the
student's supervised loss on the labelled pixels only while its distillation losses use every
sample (docs/semi_supervised.md)::

    train_dataloader = dict(
        batch_size=8,
        sampler=dict(type='DefaultSampler', shuffle=True),   # its seed only (see below)
        batch_sampler=dict(type='MixedBatchSampler', labelled_per_batch=2),
        dataset=dict(
            type='MixedLabelDataset',
            labelled=dict(type='RGBXSegDataset', split='train_l25', pipeline=...),
            unlabelled=dict(type='RGBXSegDataset', split='train_u75', pipeline=...)))

Contract of a sample (what the distiller relies on):

- every sample's ``data_samples.metainfo['labelled']`` is a bool;
- an unlabelled sample carries a ``gt_sem_seg`` of the packed input's (H, W) filled with the
  dataset's ``ignore_index`` (so mmseg's decode-head losses, which stack every sample's label,
  see only void pixels there and the data pre-processor pads it like any label); its dataset is
  built with ``with_label=False``, so a label file on disk (e.g. the 75 % of a benchmark's train
  split used as unlabelled) is never read.
"""

from __future__ import annotations

import math
from typing import Iterator, List, Optional

import torch
from mmengine.dataset import ConcatDataset
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, DATA_SAMPLERS
from torch.utils.data import Sampler

LABELLED_KEY = 'labelled'


def _packed_size(inputs) -> tuple:
    """(H, W) of a packed sample's inputs: a (C, H, W) tensor or ``{modality: (C, H, W)}``."""
    if isinstance(inputs, dict):
        inputs = next(iter(inputs.values()))
    return tuple(inputs.shape[-2:])


@DATASETS.register_module()
class MixedLabelDataset(ConcatDataset):
    """A labelled dataset followed by an unlabelled one (indices ``[0, num_labelled)`` are the
    labelled part).

    Args:
        labelled: dataset config (or built dataset) whose samples have labels.
        unlabelled: dataset config (or built dataset) of frames without labels, with the same
            classes; a config is built with ``with_label=False`` (labels on disk are not read).
        data_root: when given, the ``data_root`` of both part configs (the harness's and a user's
            ``--cfg-options train_dataloader.dataset.data_root=...`` reach both parts).
        lazy_init: mmengine's lazy initialisation.

    ``__getitem__`` returns the sub-dataset's packed sample with ``metainfo['labelled']`` set and,
    for an unlabelled sample, an all-``ignore_index`` ``gt_sem_seg`` of the input's size.

    Raises:
        ValueError: a part is empty, the two parts have different class lists, or the unlabelled
            part was built with labels.
    """

    def __init__(
        self, labelled, unlabelled, data_root: Optional[str] = None, lazy_init: bool = False
    ):
        if data_root is not None:  # one override for both parts (`--cfg-options ...data_root=`)
            labelled, unlabelled = (
                dict(p, data_root=data_root) if isinstance(p, dict) else p
                for p in (labelled, unlabelled)
            )
        if isinstance(unlabelled, dict):
            unlabelled = dict(unlabelled)
            if unlabelled.get('with_label'):
                raise ValueError(
                    'MixedLabelDataset: the unlabelled dataset config sets with_label=True; its '
                    'frames are used without labels (leave with_label unset)'
                )
            unlabelled['with_label'] = False
        # nested configs (pipelines) resolve in mmseg's scope even without a Runner
        scope = None if DefaultScope.get_current_instance() is not None else 'mmseg'
        with DefaultScope.overwrite_default_scope(scope):
            parts = [
                DATASETS.build(p) if isinstance(p, dict) else p for p in (labelled, unlabelled)
            ]
        if getattr(parts[1], 'with_label', False):
            raise ValueError(
                'MixedLabelDataset: the built unlabelled dataset has with_label=True; build it '
                'with with_label=False'
            )
        classes = [tuple(p.metainfo.get('classes', ())) for p in parts]
        if classes[0] != classes[1]:
            raise ValueError(
                f'MixedLabelDataset: the labelled dataset has classes {classes[0]} but the '
                f'unlabelled one {classes[1]}; the teacher and the student predict one class list'
            )
        super().__init__(
            parts, lazy_init=lazy_init, ignore_keys=['modalities', 'palette', 'label_offset']
        )
        self.ignore_index = int(parts[0].metainfo.get('ignore_index', 255))

    def full_init(self) -> None:
        super().full_init()
        for name, part in zip(('labelled', 'unlabelled'), self.datasets):
            if len(part) == 0:
                raise ValueError(f'MixedLabelDataset: the {name} dataset is empty')

    @property
    def num_labelled(self) -> int:
        return len(self.datasets[0])

    @property
    def num_unlabelled(self) -> int:
        return len(self.datasets[1])

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        if idx < 0:
            idx += len(self)
        labelled = idx < self.num_labelled
        data = super().__getitem__(idx)
        sample = data['data_samples']
        if not labelled:
            h, w = _packed_size(data['inputs'])
            sample.gt_sem_seg = PixelData(
                data=torch.full((1, h, w), self.ignore_index, dtype=torch.int64)
            )
        sample.set_metainfo({LABELLED_KEY: labelled})
        return data


@DATA_SAMPLERS.register_module()
class MixedBatchSampler(Sampler):
    """Batches of ``labelled_per_batch`` labelled + ``batch_size - labelled_per_batch`` unlabelled
    indices of a :class:`MixedLabelDataset`.

    One epoch is one shuffled pass over the labelled part (``ceil(N_l / labelled_per_batch)``
    batches; the last one is filled from the next permutation so every batch has the same
    composition); the unlabelled part is an endless stream of shuffled passes that continues across
    epochs. ``labelled_per_batch=0`` gives all-unlabelled batches (an epoch is then one pass over
    the unlabelled part). Every pass is a permutation drawn from ``(seed, pass number)``, so a run
    is reproducible; under DDP each rank takes every ``world_size``-th index of each permutation.
    Each ``__iter__`` is one epoch and advances the epoch (mmengine's loops do not tell a batch
    sampler the epoch).

    Args:
        sampler: the dataloader's sampler, as mmengine passes it: only its ``dataset`` (a
            ``MixedLabelDataset``) and ``seed`` are used.
        batch_size: samples per batch (mmengine passes the dataloader's ``batch_size``).
        labelled_per_batch: labelled samples per batch, ``0 <= labelled_per_batch <= batch_size``.
        seed: overrides the sampler's seed.
    """

    def __init__(
        self, sampler, batch_size: int, labelled_per_batch: int, seed: Optional[int] = None
    ):
        dataset = getattr(sampler, 'dataset', None)
        if not isinstance(dataset, MixedLabelDataset):
            raise TypeError(
                f'MixedBatchSampler needs a MixedLabelDataset (train_dataloader.dataset.type='
                f'"MixedLabelDataset"), got {type(dataset).__name__}'
            )
        batch_size, labelled_per_batch = int(batch_size), int(labelled_per_batch)
        if not 0 <= labelled_per_batch <= batch_size or batch_size < 1:
            raise ValueError(
                f'MixedBatchSampler: labelled_per_batch={labelled_per_batch} must be in '
                f'[0, batch_size={batch_size}]'
            )
        self.sampler = sampler
        self.dataset = dataset
        self.batch_size = batch_size
        self.labelled_per_batch = labelled_per_batch
        self.unlabelled_per_batch = batch_size - labelled_per_batch
        if seed is None:
            seed = getattr(sampler, 'seed', None)
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _pass(self, n: int, offset: int, number: int) -> List[int]:
        """This rank's share of shuffled pass ``number`` over ``n`` indices (plus ``offset``)."""
        g = torch.Generator().manual_seed(self.seed * 100003 + offset * 7919 + number)
        perm = torch.randperm(n, generator=g).tolist()
        return [offset + i for i in perm[self.rank :: self.world_size]]

    def _stream(self, n: int, offset: int, start: int, count: int, salt: int) -> List[int]:
        """Items ``[start, start + count)`` of the endless stream of shuffled passes."""
        per_pass = self._per_rank(n)
        if per_pass == 0:
            raise ValueError(
                f'MixedBatchSampler: {n} samples cannot be shared by {self.world_size} ranks'
            )
        out: List[int] = []
        pos = start
        while len(out) < count:
            number, k = divmod(pos, per_pass)
            take = self._pass(n, offset, salt + number)[k : k + count - len(out)]
            out.extend(take)
            pos += len(take)
        return out

    def _per_rank(self, n: int) -> int:
        return len(range(self.rank, n, self.world_size))

    def __len__(self) -> int:
        if self.labelled_per_batch:
            return math.ceil(self._per_rank(self.dataset.num_labelled) / self.labelled_per_batch)
        return math.ceil(self._per_rank(self.dataset.num_unlabelled) / self.unlabelled_per_batch)

    def __iter__(self) -> Iterator[List[int]]:
        n_l, n_u = self.dataset.num_labelled, self.dataset.num_unlabelled
        batches = len(self)
        epoch = self.epoch
        self.epoch += 1
        lpb, upb = self.labelled_per_batch, self.unlabelled_per_batch
        per_l = self._per_rank(n_l)
        # labelled: pass `epoch` (topped up from the next one); unlabelled: continues across epochs
        lab = self._stream(n_l, 0, epoch * per_l, batches * lpb, 0) if lpb else []
        start_u = epoch * batches * upb
        unl = self._stream(n_u, n_l, start_u, batches * upb, 1 << 20) if upb else []
        for b in range(batches):
            yield lab[b * lpb : (b + 1) * lpb] + unl[b * upb : (b + 1) * upb]
