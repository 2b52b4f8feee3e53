"""``RGBXSegDataset``: paired multimodal frames in the crossmodal layout (DESIGN.md §3).

Layout::

    <data_root>/RGB/<stem>.png|jpg   <data_root>/<X>/<stem>.<ext>   <data_root>/Label/<stem>.png
    <data_root>/train.txt, test.txt  (bare stems)      <data_root>/meta.json

Each data info carries the path of every requested modality; loading happens in the pipeline
(:class:`~crossmodal.datasets.transforms.LoadMultiModalFromFile`).
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence

from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS

from .meta import load_meta


class DatasetLayoutError(ValueError):
    """The dataset on disk does not match its meta.json or the config's request."""


@DATASETS.register_module()
class RGBXSegDataset(BaseDataset):
    """Semantic segmentation over paired modalities.

    Args:
        data_root: dataset root holding ``meta.json``.
        split: name of the split (key of ``meta['splits']``, e.g. ``'train'``) or a split file
            path relative to ``data_root``.
        modalities: modalities to load, e.g. ``('rgb', 'thermal')``. Each must be declared in
            meta.json; asking for one the dataset lacks is an error naming the available ones.
        with_label: load ``Label/`` (False for unlabelled frames, e.g. distillation stage 1).
        with_targets: regression targets to load (names under ``meta['targets']``).
        check_files: verify at construction that every file of every requested modality exists.
        pipeline, test_mode, indices, serialize_data, lazy_init, max_refetch: as in
            :class:`mmengine.dataset.BaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 modalities: Sequence[str] = ('rgb', ),
                 with_label: bool = True,
                 with_targets: Sequence[str] = (),
                 meta_file: str = 'meta.json',
                 check_files: bool = True,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 indices: Optional[int] = None,
                 serialize_data: bool = True,
                 lazy_init: bool = False,
                 max_refetch: int = 1000):
        self.split = split
        self.modalities = tuple(modalities)
        self.with_label = with_label
        self.with_targets = tuple(with_targets)
        self.check_files = check_files
        self.meta = load_meta(data_root, meta_file)
        self._validate_request()
        metainfo = dict(classes=tuple(self.meta['classes']),
                        palette=[list(c) for c in self.meta['palette']],
                        ignore_index=self.meta['ignore_index'],
                        label_offset=self.meta['label_offset'],
                        modalities=self.modalities)
        # not in metainfo: mmengine treats string metainfo values as file paths and warns
        self.dataset_name = self.meta.get('name', os.path.basename(os.path.normpath(data_root)))
        super().__init__(data_root=data_root, metainfo=metainfo, pipeline=list(pipeline),
                         test_mode=test_mode, indices=indices, serialize_data=serialize_data,
                         lazy_init=lazy_init, max_refetch=max_refetch)

    def _validate_request(self) -> None:
        available = sorted(self.meta['modalities'])
        if 'rgb' not in self.modalities and not self.modalities:
            raise DatasetLayoutError('modalities must name at least one modality')
        for m in self.modalities:
            if m not in self.meta['modalities']:
                raise DatasetLayoutError(
                    f'{self.meta["_path"]}: the config asks for modality "{m}", but this dataset '
                    f'only has {available}')
        if self.with_label and not self.meta.get('label'):
            raise DatasetLayoutError(
                f'{self.meta["_path"]}: this dataset has no label folder ("label": null, task '
                f'{self.meta.get("task")!r}); build it with with_label=False (and with_targets=...)')
        targets = sorted(self.meta.get('targets', {}))
        for t in self.with_targets:
            if t not in self.meta.get('targets', {}):
                raise DatasetLayoutError(
                    f'{self.meta["_path"]}: the config asks for regression target "{t}", but this '
                    f'dataset only has {targets}')

    def _split_file(self) -> str:
        """Path of the split file: ``meta['splits'][split]``, or ``split`` itself if it ends in .txt.

        A bare name that meta.json's ``splits`` does not list is an error even when a file of that
        name exists: e.g. MFNet converted with ``--trainval`` lists no ``val`` (its frames are
        training frames), so validating on ``val.txt`` would score on training data.
        """
        splits = self.meta.get('splits', {})
        if self.split in splits:
            name = splits[self.split]
        elif self.split.endswith('.txt'):
            name = self.split
        elif splits:
            raise DatasetLayoutError(
                f'{self.meta["_path"]}: split "{self.split}" is not one of the dataset\'s splits '
                f'{sorted(splits)} (split source: {self.meta.get("split_source", "not recorded")}); '
                f'set the dataloader\'s dataset.split to one of them or give a split file "<name>.txt"')
        else:
            name = f'{self.split}.txt'
        return os.path.join(self.data_root, name)

    def load_data_list(self) -> List[Dict]:
        split_file = self._split_file()
        if not os.path.isfile(split_file):
            raise DatasetLayoutError(
                f'{split_file}: split file for split "{self.split}" is missing (meta.json '
                f'splits: {self.meta.get("splits", {})})')
        with open(split_file) as f:
            stems = [ln.strip() for ln in f if ln.strip()]
        if not stems:
            raise DatasetLayoutError(f'{split_file}: split file is empty')
        specs = {m: dict(self.meta['modalities'][m]) for m in self.modalities}
        label_spec = self.meta['label']
        target_specs = {t: dict(self.meta['targets'][t]) for t in self.with_targets}
        data_list = []
        missing: List[str] = []
        for idx, stem in enumerate(stems):
            paths = {m: os.path.join(self.data_root, s['folder'], stem + s['ext'])
                     for m, s in specs.items()}
            info = dict(sample_idx=idx, stem=stem, modality_paths=paths, modality_specs=specs,
                        img_path=paths.get('rgb', next(iter(paths.values()))),
                        label_offset=self.meta['label_offset'],
                        ignore_index=self.meta['ignore_index'],
                        num_classes=len(self.meta['classes']), reduce_zero_label=False,
                        seg_fields=[])
            if self.with_label:
                info['seg_map_path'] = os.path.join(self.data_root, label_spec['folder'],
                                                    stem + label_spec['ext'])
            if target_specs:
                info['target_paths'] = {
                    t: os.path.join(self.data_root, s['folder'], stem + s['ext'])
                    for t, s in target_specs.items()}
                info['target_specs'] = target_specs
            if self.check_files:
                for m, p in list(paths.items()) + (
                        [('label', info['seg_map_path'])] if self.with_label else []) + list(
                            info.get('target_paths', {}).items()):
                    if not os.path.isfile(p):
                        missing.append(f'{m} file for stem "{stem}": {p}')
            data_list.append(info)
        if missing:
            shown = '\n  '.join(missing[:10])
            more = f'\n  ... and {len(missing) - 10} more' if len(missing) > 10 else ''
            raise DatasetLayoutError(
                f'{self.data_root}: {len(missing)} file(s) listed in {split_file} are missing:\n'
                f'  {shown}{more}')
        return data_list
