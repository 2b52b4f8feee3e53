"""Reading and validating a dataset's ``meta.json`` (the data contract of DESIGN.md §3).

Schema (fields marked * are required)::

    {
      "name": "NYUDepthv2",
      "classes"*: ["wall", ...],            # index = train id
      "palette"*: [[r, g, b], ...],         # one per class
      "ignore_index"*: 255,                 # train id meaning void
      "label_offset"*: -1,                  # train_id = stored + offset; < 0 or stored == 255 -> void
      "label"*: {"folder": "Label", "ext": ".png"},
      "modalities"*: {"rgb": {"folder": "RGB", "ext": ".jpg", "dtype": "uint8", "channels": 3},
                      "depth": {"folder": "Depth", "ext": ".png", "dtype": "uint16", "channels": 1,
                                "unit": "mm", "scale": 0.001}, ...},
      "targets": {"chm": {"folder": "CHM", "ext": ".npy", "unit": "m"}, ...},   # regression, optional
      "task": "regression",                 # optional: then "classes" may be [] and "label" null
      "splits": {"train": "train.txt", "test": "test.txt", "unlabelled": "unlabelled.txt"},
      "unlabelled_splits": ["unlabelled"]  # optional: splits whose frames have no label file
    }

``splits`` is optional (decided once, for the loader and ``tools/check_dataset.py`` alike, in
:mod:`crossmodal.datasets.validation`): when present only its names are splits; when absent a
split ``<name>`` is ``<name>.txt``. Converters always write it.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict

REQUIRED_FIELDS = ('classes', 'palette', 'ignore_index', 'label_offset', 'label', 'modalities')
REQUIRED_MODALITY_FIELDS = ('folder', 'ext')


class DatasetMetaError(ValueError):
    """A dataset's meta.json is missing, unreadable or lacks a required field."""


def load_meta(data_root: str, meta_file: str = 'meta.json') -> Dict[str, Any]:
    """Load and validate ``<data_root>/<meta_file>``.

    Raises:
        DatasetMetaError: naming the file and the problem (missing file, invalid JSON, missing
            field, inconsistent classes/palette, a modality without folder/ext, no 'rgb').
    """
    path = meta_file if os.path.isabs(meta_file) else os.path.join(data_root, meta_file)
    if not os.path.isfile(path):
        raise DatasetMetaError(
            f'{path}: meta.json is missing. Every crossmodal dataset root needs one (classes, '
            f'palette, ignore_index, label_offset, label, modalities); data_prep/ writes it.')
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise DatasetMetaError(f'{path}: cannot parse meta.json: {e}') from e
    if not isinstance(meta, dict):
        raise DatasetMetaError(f'{path}: meta.json must hold a JSON object, got {type(meta).__name__}')
    missing = [k for k in REQUIRED_FIELDS if k not in meta]
    if missing:
        raise DatasetMetaError(f'{path}: meta.json lacks required field(s) {missing}')
    classes, palette = meta['classes'], meta['palette']
    # a regression-only dataset ("task": "regression", e.g. the LiDAR forest tiles) has no classes
    # and no label folder ("classes": [], "label": null) but must declare its "targets"
    regression_only = meta.get('task') == 'regression'
    if regression_only:
        targets = meta.get('targets')
        if not isinstance(targets, dict) or not targets:
            raise DatasetMetaError(f'{path}: a "task": "regression" dataset must declare "targets"')
        for name, spec in targets.items():
            if not isinstance(spec, dict) or any(f not in spec for f in REQUIRED_MODALITY_FIELDS):
                raise DatasetMetaError(f'{path}: target "{name}" must be an object with "folder" and "ext"')
    if not isinstance(classes, list) or (not classes and not regression_only):
        raise DatasetMetaError(f'{path}: "classes" must be a non-empty list')
    if not isinstance(palette, list) or len(palette) != len(classes):
        raise DatasetMetaError(
            f'{path}: "palette" must have one [r, g, b] per class ({len(classes)} classes, '
            f'{len(palette) if isinstance(palette, list) else "no"} colours)')
    if not isinstance(meta['ignore_index'], int) or not isinstance(meta['label_offset'], int):
        raise DatasetMetaError(f'{path}: "ignore_index" and "label_offset" must be integers')
    for key in ('label', ):
        spec = meta[key]
        if spec is None and regression_only:
            continue
        if not isinstance(spec, dict) or any(f not in spec for f in REQUIRED_MODALITY_FIELDS):
            raise DatasetMetaError(f'{path}: "{key}" must be an object with "folder" and "ext"')
    mods = meta['modalities']
    if not isinstance(mods, dict) or 'rgb' not in mods:
        raise DatasetMetaError(f'{path}: "modalities" must be an object that includes "rgb"')
    for name, spec in mods.items():
        if not isinstance(spec, dict) or any(f not in spec for f in REQUIRED_MODALITY_FIELDS):
            raise DatasetMetaError(
                f'{path}: modality "{name}" must be an object with "folder" and "ext"')
    splits = meta.get('splits')
    if splits is not None and (not isinstance(splits, dict)
                               or not all(isinstance(v, str) for v in splits.values())):
        raise DatasetMetaError(f'{path}: "splits" must map split names to split file names')
    unl = meta.get('unlabelled_splits')
    if unl is not None:
        if not isinstance(unl, list) or not all(isinstance(u, str) for u in unl):
            raise DatasetMetaError(f'{path}: "unlabelled_splits" must be a list of split names')
        unknown = [u for u in unl if splits is not None and u not in splits]
        if unknown:
            raise DatasetMetaError(f'{path}: "unlabelled_splits" names {unknown}, which "splits" '
                                   f'does not list ({sorted(splits)})')
    meta['_path'] = path
    return meta
