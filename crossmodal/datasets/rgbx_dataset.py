"""``RGBXSegDataset``: paired multimodal frames in the crossmodal layout (docs/design.md §3).

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

from .contract import load_meta, unlabelled_splits
from .validation import DataFileError, DatasetLayoutError, Problems, check_stem_headers, read_split

__all__ = ['RGBXSegDataset', 'DatasetLayoutError', 'DataFileError']

# construction shows a progress bar when it validates more files than this
PROGRESS_MIN_FILES = 200


@DATASETS.register_module()
class RGBXSegDataset(BaseDataset):
    """Semantic segmentation over paired modalities.

    Args:
        data_root: dataset root holding ``meta.json``.
        split: name of the split (key of ``meta['splits']``, e.g. ``'train'``) or a split file
            path relative to ``data_root``.
        modalities: modalities to load, e.g. ``('rgb', 'thermal')``. Each must be declared in
            meta.json; asking for one the dataset lacks is an error naming the available ones.
        with_label: load ``Label/``. None (default): True, except on a split meta.json lists under
            ``unlabelled_splits`` (e.g. ``'unlabelled'``: frames without label files, for
            inference and label-free distillation), where it is False; True on such a split is an
            error. False for unlabelled use of any split (e.g. distillation stage 1). A dataset
            without labels refuses a pipeline whose ``LoadMultiModalFromFile`` has
            ``with_label=True``.
        with_targets: regression targets to load (names under ``meta['targets']``).
        check_files: verify at construction that every file of every requested modality exists.
        validate_files: also read every listed file's *header* at construction (PNG IHDR, .npy
            header, PIL for JPEG/TIFF; no full decode) and check it against meta.json: readable,
            dtype/bit depth, channel count, same size within a stem. Problems are collected and
            raised once as :class:`DataFileError` naming every bad file, before any training
            starts; a progress bar is shown above 200 files. About 0.1-0.2 ms per file on a local
            disk; set False for very large datasets on slow (network) storage, where each header
            read is a round trip -- then problems surface when a sample is loaded. Full decodes
            (truncated data, label values, NaN/inf) are the loader's and
            ``tools/check_dataset.py``'s.
        pipeline, test_mode, indices, serialize_data, lazy_init, max_refetch: as in
            :class:`mmengine.dataset.BaseDataset`.
    """

    def __init__(
        self,
        data_root: str,
        split: str = 'train',
        modalities: Sequence[str] = ('rgb',),
        with_label: Optional[bool] = None,
        with_targets: Sequence[str] = (),
        meta_file: str = 'meta.json',
        check_files: bool = True,
        validate_files: bool = True,
        pipeline: Sequence = (),
        test_mode: bool = False,
        indices: Optional[int] = None,
        serialize_data: bool = True,
        lazy_init: bool = False,
        max_refetch: int = 1000,
    ):
        self.split = split
        self.modalities = tuple(modalities)
        self.with_targets = tuple(with_targets)
        self.check_files = check_files
        self.validate_files = validate_files
        self.meta = load_meta(data_root, meta_file)
        self.unlabelled = self._is_unlabelled_split()
        if with_label is None:
            with_label = not self.unlabelled
        elif with_label and self.unlabelled:
            raise DatasetLayoutError(
                f'{self.meta["_path"]}: split "{split}" holds frames without labels (meta.json '
                f'"unlabelled_splits": {list(unlabelled_splits(self.meta))}), but the config asks '
                f'for labels (with_label=True); use it with with_label=False (or unset) and a '
                f'label-free pipeline and loss (inference, label-free distillation)'
            )
        self.with_label = with_label
        self._validate_request()
        metainfo = dict(
            classes=tuple(self.meta['classes']),
            palette=[list(c) for c in self.meta['palette']],
            ignore_index=self.meta['ignore_index'],
            label_offset=self.meta['label_offset'],
            modalities=self.modalities,
        )
        # not in metainfo: mmengine treats string metainfo values as file paths and warns
        self.dataset_name = self.meta.get('name', os.path.basename(os.path.normpath(data_root)))
        super().__init__(
            data_root=data_root,
            metainfo=metainfo,
            pipeline=list(pipeline),
            test_mode=test_mode,
            indices=indices,
            serialize_data=serialize_data,
            lazy_init=lazy_init,
            max_refetch=max_refetch,
        )
        self._check_pipeline()

    def _is_unlabelled_split(self) -> bool:
        names = unlabelled_splits(self.meta)
        if self.split in names:
            return True
        files = {os.path.normpath(self.meta.get('splits', {}).get(n, f'{n}.txt')) for n in names}
        return self.split.endswith('.txt') and os.path.normpath(self.split) in files

    def _check_pipeline(self) -> None:
        """A dataset without labels refuses a loader that requires them (a clear error now, not
        later)."""
        if self.with_label:
            return
        from .transforms.loading import LoadMultiModalFromFile

        for t in getattr(self.pipeline, 'transforms', []):
            if isinstance(t, LoadMultiModalFromFile) and t.with_label is True:
                why = (
                    f'split "{self.split}" is unlabelled (meta.json "unlabelled_splits")'
                    if self.unlabelled
                    else 'the dataset is built with with_label=False'
                )
                raise DatasetLayoutError(
                    f'{self.meta["_path"]}: {why}, but the pipeline\'s LoadMultiModalFromFile has '
                    f'with_label=True (it needs labels); use '
                    f'LoadMultiModalFromFile(with_label=False) '
                    f'and a label-free loss'
                )

    def _validate_request(self) -> None:
        available = sorted(self.meta['modalities'])
        if 'rgb' not in self.modalities and not self.modalities:
            raise DatasetLayoutError('modalities must name at least one modality')
        for m in self.modalities:
            if m not in self.meta['modalities']:
                raise DatasetLayoutError(
                    f'{self.meta["_path"]}: the config asks for modality "{m}", but this dataset '
                    f'only has {available}'
                )
        if self.with_label and not self.meta.get('label'):
            raise DatasetLayoutError(
                f'{self.meta["_path"]}: this dataset has no label folder ("label": null, task '
                f'{self.meta.get("task")!r}); build it with with_label=False (and with_targets=...)'
            )
        targets = sorted(self.meta.get('targets', {}))
        for t in self.with_targets:
            if t not in self.meta.get('targets', {}):
                raise DatasetLayoutError(
                    f'{self.meta["_path"]}: the config asks for regression target "{t}", but this '
                    f'dataset only has {targets}'
                )

    def _split_file(self) -> str:
        """Path of the split file: ``meta['splits'][split]``, or ``split`` itself if it ends in
        .txt.

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
                f'{sorted(splits)} (split source: '
                f'{self.meta.get("split_source", "not recorded")}); '
                f'set the dataloader\'s dataset.split to one of them or give a split file '
                f'"<name>.txt"'
            )
        else:
            name = f'{self.split}.txt'
        return os.path.join(self.data_root, name)

    def load_data_list(self) -> List[Dict]:
        split_file = self._split_file()
        split_problems = Problems()
        stems = read_split(split_file, split_problems, self.split)
        if split_problems.items:
            first = split_problems.items[0]
            extra = (
                f' (meta.json splits: {self.meta.get("splits", {})})'
                if first['kind'] == 'missing_split_file'
                else ''
            )
            raise DatasetLayoutError('\n'.join(p['message'] for p in split_problems.items) + extra)
        specs = {m: dict(self.meta['modalities'][m]) for m in self.modalities}
        label_spec = self.meta['label']
        target_specs = {t: dict(self.meta['targets'][t]) for t in self.with_targets}
        data_list = []
        problems = Problems()
        n_files = len(stems) * (len(specs) + int(self.with_label) + len(target_specs))
        stem_iter = stems
        if self.validate_files and n_files > PROGRESS_MIN_FILES:
            from tqdm import tqdm

            stem_iter = tqdm(
                stems,
                desc=f'checking {n_files} files of split "{self.split}"',
                unit='stem',
                dynamic_ncols=True,
                leave=False,
            )
        for idx, stem in enumerate(stem_iter):
            paths = {
                m: os.path.join(self.data_root, s['folder'], stem + s['ext'])
                for m, s in specs.items()
            }
            info = dict(
                sample_idx=idx,
                stem=stem,
                modality_paths=paths,
                modality_specs=specs,
                img_path=paths.get('rgb', next(iter(paths.values()))),
                label_offset=self.meta['label_offset'],
                ignore_index=self.meta['ignore_index'],
                num_classes=len(self.meta['classes']),
                reduce_zero_label=False,
                seg_fields=[],
            )
            if self.with_label:
                info['seg_map_path'] = os.path.join(
                    self.data_root, label_spec['folder'], stem + label_spec['ext']
                )
            if target_specs:
                info['target_paths'] = {
                    t: os.path.join(self.data_root, s['folder'], stem + s['ext'])
                    for t, s in target_specs.items()
                }
                info['target_specs'] = target_specs
            files = {m: ('modality', p, specs[m]) for m, p in paths.items()}
            if self.with_label:
                files['label'] = ('label', info['seg_map_path'], label_spec)
            for t, p in info.get('target_paths', {}).items():
                files[f'target:{t}'] = ('target', p, target_specs[t])
            if self.validate_files:
                check_stem_headers(files, problems, stem)
            elif self.check_files:
                for name, (_, p, _) in files.items():
                    if not os.path.isfile(p):
                        problems.add(
                            'missing_file',
                            f'{name} file for stem "{stem}" is missing: {p}',
                            stem=stem,
                            modality=name,
                            path=p,
                        )
            data_list.append(info)
        if problems.items:
            items = problems.items
            missing = sum(p['kind'] == 'missing_file' for p in items)
            shown = '\n  '.join(p['message'] for p in items[:10])
            more = f'\n  ... and {len(items) - 10} more' if len(items) > 10 else ''
            what = (
                f'{missing} file(s) listed in {split_file} are missing'
                if missing == len(items)
                else f'{len(items)} problem(s) with the files listed in {split_file} '
                f'({missing} missing)'
            )
            raise DataFileError(
                f'{self.data_root}: {what} (checked at construction; tools/check_dataset.py '
                f'{self.data_root} lists every problem):\n  {shown}{more}'
            )
        return data_list
