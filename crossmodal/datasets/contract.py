"""The dataset contract (docs/design.md §3): what a crossmodal dataset root holds, in one place.

- the **schema** of ``meta.json`` (:data:`META_FIELDS`, :data:`FILE_FIELDS`: required or optional,
  defaults, units) and its **validation** (:func:`validate_meta`, :func:`load_meta`), with the split
  rules (:func:`split_files`, :func:`unlabelled_splits`, :func:`file_specs`);
- **label decoding** (stored value -> train id): :func:`stored_to_train_ids`, :func:`label_lut`,
  :func:`label_void_and_class`, defined in :mod:`crossmodal_runtime.labels` (numpy only, so that
  ``tools/infer.py`` shares it without torch) and re-exported here;
- the **modality channel table** :data:`MODALITY_CHANNELS` (:mod:`crossmodal.modalities`);
- the **writer** :class:`DatasetFiles`: per-modality files, split files (both styles, the unlabelled
  split) and meta.json, every file written atomically. The converters (``data_prep/common.py``
  ``DatasetWriter`` adds the output guard and resume), the LiDAR tiler and the synthetic generators
  write through it.

The rules for the files themselves (dtype, channels, finite values, sizes, label values) are in
:mod:`crossmodal.datasets.validation`, shared by the loader, the dataset, the checker and the
converters.

Example meta.json (fields marked * are required)::

    {
      "name": "NYUDepthv2",
      "classes"*: ["wall", ...],            # index = train id
      "palette"*: [[r, g, b], ...],         # one per class
      "ignore_index"*: 255,                 # train id meaning void
      "label_offset"*: -1,                  # train_id = stored + offset;
                                            # < 0 or stored == 255 -> void
      "label"*: {"folder": "Label", "ext": ".png"},
      "modalities"*: {"rgb": {"folder": "RGB", "ext": ".jpg", "dtype": "uint8", "channels": 3},
                      "depth": {"folder": "Depth", "ext": ".png", "dtype": "uint16", "channels": 1,
                                "unit": "mm", "scale": 0.001}, ...},
      "targets": {"chm": {"folder": "CHM", "ext": ".npy", "unit": "m"},   # regression, optional
                  ...},
      "task": "regression",                 # optional: then "classes" may be [] and "label" null
      "splits": {"train": "train.txt", "test": "test.txt", "unlabelled": "unlabelled.txt"},
      "unlabelled_splits": ["unlabelled"]  # optional: splits whose frames have no label file
    }

``splits`` is optional: when present only its names are splits; when absent a split ``<name>`` is
``<name>.txt`` (the conventional ones, :data:`CONVENTIONAL_SPLITS`). Converters always write it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple

import numpy as np

from crossmodal_runtime.labels import label_lut, label_void_and_class, stored_to_train_ids  # noqa: F401

from ..modalities import MODALITY_CHANNELS  # noqa: F401


# ----------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Field:
    """One meta.json field: required or not, the default a writer uses, what it means (and its
    unit)."""

    required: bool
    default: Any
    meaning: str


META_FIELDS: Dict[str, Field] = {
    'name': Field(False, None, 'dataset name'),
    'classes': Field(True, None, 'class names, index = train id; [] only for "task": "regression"'),
    'palette': Field(True, None, 'one [r, g, b] (0..255) per class'),
    'ignore_index': Field(True, 255, 'train id meaning void'),
    'label_offset': Field(True, 0, 'train_id = stored + label_offset; < 0 or stored 255 -> void'),
    'label': Field(
        True,
        {'folder': 'Label', 'ext': '.png'},
        'label files (uint8 stored ids or palette PNG); null for "task": "regression"',
    ),
    'modalities': Field(True, None, 'modality name -> file spec (FILE_FIELDS); must include "rgb"'),
    'task': Field(False, 'segmentation', '"regression": "classes" may be [] and "label" null'),
    'targets': Field(
        False, None, 'regression target name -> file spec; required for "task": "regression"'
    ),
    'splits': Field(False, None, 'split name -> split file of bare stems; absent: <name>.txt'),
    'unlabelled_splits': Field(False, [], 'splits whose frames have no label file'),
    'pair_split_files': Field(False, None, 'stems file -> SA-Gate/DFormer-style pairs file'),
}
FILE_FIELDS: Dict[str, Field] = {
    'folder': Field(True, None, 'folder under the root; a file is <folder>/<stem><ext>'),
    'ext': Field(True, None, 'file extension with the dot (.png, .jpg, .npy, ...)'),
    'dtype': Field(
        False, None, 'stored dtype (uint8 | uint16 | float32); label: uint8; target default float32'
    ),
    'channels': Field(False, None, 'stored channel count; "rgb" default 3 (4 = R,G,B,NIR)'),
    'unit': Field(False, None, 'unit of the stored values (mm, m, raw, ...; see LENGTH_UNITS)'),
    'scale': Field(False, None, 'in-memory value = stored * scale (depth mm -> m: 0.001)'),
    'channel_names': Field(False, None, 'names of the channels of a multi-channel array'),
    'nodata': Field(False, None, 'how missing data is stored (targets: NaN)'),
}
REQUIRED_FIELDS = tuple(k for k, f in META_FIELDS.items() if f.required)
REQUIRED_MODALITY_FIELDS = tuple(k for k, f in FILE_FIELDS.items() if f.required)
IGNORE_INDEX = META_FIELDS['ignore_index'].default
DEFAULT_LABEL = META_FIELDS['label'].default
CONVENTIONAL_SPLITS = ('train', 'val', 'test', 'trainval', 'unlabelled')
# metres per unit, for depth-like modalities declared in a length unit
LENGTH_UNITS = {'mm': 0.001, 'cm': 0.01, 'dm': 0.1, 'm': 1.0}


class DatasetMetaError(ValueError):
    """A dataset's meta.json is missing, unreadable or lacks a required field."""


class DatasetWriteError(RuntimeError):
    """A dataset file cannot be written (wrong dtype for the format, encoder failure)."""


# ----------------------------------------------------------------------------- validation


def _file_spec_ok(spec) -> bool:
    return isinstance(spec, dict) and all(f in spec for f in REQUIRED_MODALITY_FIELDS)


def validate_meta(meta: Any, path: str = 'meta.json') -> None:
    """Raise :class:`DatasetMetaError` (message starts with ``path``) if ``meta`` breaks the schema:
    a missing required field, classes/palette inconsistent, a file spec without folder/ext, no
    'rgb', malformed splits / unlabelled_splits."""
    if not isinstance(meta, dict):
        raise DatasetMetaError(
            f'{path}: meta.json must hold a JSON object, got {type(meta).__name__}'
        )
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
            if not _file_spec_ok(spec):
                raise DatasetMetaError(
                    f'{path}: target "{name}" must be an object with "folder" and "ext"'
                )
    if not isinstance(classes, list) or (not classes and not regression_only):
        raise DatasetMetaError(f'{path}: "classes" must be a non-empty list')
    if not isinstance(palette, list) or len(palette) != len(classes):
        raise DatasetMetaError(
            f'{path}: "palette" must have one [r, g, b] per class ({len(classes)} classes, '
            f'{len(palette) if isinstance(palette, list) else "no"} colours)'
        )
    if not isinstance(meta['ignore_index'], int) or not isinstance(meta['label_offset'], int):
        raise DatasetMetaError(f'{path}: "ignore_index" and "label_offset" must be integers')
    if not (meta['label'] is None and regression_only) and not _file_spec_ok(meta['label']):
        raise DatasetMetaError(f'{path}: "label" must be an object with "folder" and "ext"')
    mods = meta['modalities']
    if not isinstance(mods, dict) or 'rgb' not in mods:
        raise DatasetMetaError(f'{path}: "modalities" must be an object that includes "rgb"')
    for name, spec in mods.items():
        if not _file_spec_ok(spec):
            raise DatasetMetaError(
                f'{path}: modality "{name}" must be an object with "folder" and "ext"'
            )
    splits = meta.get('splits')
    if splits is not None and (
        not isinstance(splits, dict) or not all(isinstance(v, str) for v in splits.values())
    ):
        raise DatasetMetaError(f'{path}: "splits" must map split names to split file names')
    unl = meta.get('unlabelled_splits')
    if unl is not None:
        if not isinstance(unl, list) or not all(isinstance(u, str) for u in unl):
            raise DatasetMetaError(f'{path}: "unlabelled_splits" must be a list of split names')
        unknown = [u for u in unl if splits is not None and u not in splits]
        if unknown:
            raise DatasetMetaError(
                f'{path}: "unlabelled_splits" names {unknown}, which "splits" '
                f'does not list ({sorted(splits)})'
            )


def load_meta(data_root: str, meta_file: str = 'meta.json') -> Dict[str, Any]:
    """Load and validate ``<data_root>/<meta_file>`` (:func:`validate_meta`); adds ``'_path'``.

    Raises:
        DatasetMetaError: naming the file and the problem (missing file, invalid JSON, missing
            field, inconsistent classes/palette, a modality without folder/ext, no 'rgb').
    """
    path = meta_file if os.path.isabs(meta_file) else os.path.join(data_root, meta_file)
    if not os.path.isfile(path):
        raise DatasetMetaError(
            f'{path}: meta.json is missing. Every crossmodal dataset root needs one (classes, '
            f'palette, ignore_index, label_offset, label, modalities); data_prep/ writes it.'
        )
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise DatasetMetaError(f'{path}: cannot parse meta.json: {e}') from e
    validate_meta(meta, path)
    meta['_path'] = path
    return meta


def split_files(meta: Mapping, root: str) -> Dict[str, str]:
    """Split name -> file name of every split of a dataset (see the module docstring)."""
    if meta.get('splits'):
        return dict(meta['splits'])
    return {
        s: f'{s}.txt' for s in CONVENTIONAL_SPLITS if os.path.isfile(os.path.join(root, f'{s}.txt'))
    }


def unlabelled_splits(meta: Mapping) -> Tuple[str, ...]:
    """Names of the splits whose frames have no label (meta.json ``unlabelled_splits``)."""
    return tuple(meta.get('unlabelled_splits') or ())


def file_specs(
    meta: Mapping,
    modalities: Optional[Iterable[str]] = None,
    with_label: bool = True,
    targets: Optional[Iterable[str]] = None,
) -> Dict[str, Tuple[str, Dict]]:
    """``{name: (role, spec)}`` of the files of one stem; role is 'modality', 'label' or 'target'.

    ``modalities``/``targets`` default to all declared ones; the label is included when
    ``with_label`` and meta.json declares one.
    """
    out: Dict[str, Tuple[str, Dict]] = {}
    for m in meta['modalities'] if modalities is None else modalities:
        out[m] = ('modality', dict(meta['modalities'][m]))
    if with_label and meta.get('label'):
        out['label'] = ('label', dict(meta['label']))
    for t in (meta.get('targets') or {}) if targets is None else targets:
        out[f'target:{t}'] = ('target', dict(meta['targets'][t]))
    return out


# ----------------------------------------------------------------------------- writing

# cv2 needs the extension to pick the encoder; lossless ones keep uint16.
_LOSSLESS_16BIT = ('.png', '.tif', '.tiff')


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``<path>.part`` and rename it: a file that exists is complete."""
    tmp = f'{path}.part'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def write_image(
    path: str,
    array: np.ndarray,
    *,
    rgb_order: bool = True,
    jpeg_quality: int = 95,
    error: type = DatasetWriteError,
) -> None:
    """Write ``array`` atomically, keeping its dtype (uint8, or uint16 for lossless formats).

    Args:
        path: destination; the extension selects the encoder (.png, .jpg, .npy ...).
        array: HxW, HxWx1, HxWx3 (RGB order when ``rgb_order``) or HxWx4 (R,G,B,NIR/alpha when
            ``rgb_order``, stored as PNG RGBA); converted to cv2's B,G,R(,A) here. ``.npy``
            destinations are saved with numpy as they are.
        error: exception class raised on an unwritable array.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext == '.npy':
        tmp = f'{path}.part.npy'
        np.save(tmp, array)
        os.replace(tmp, path)
        return
    import cv2

    if array.dtype == np.uint16 and ext not in _LOSSLESS_16BIT:
        raise error(f'{path}: uint16 data needs a lossless 16-bit format (.png), not {ext}')
    if array.dtype not in (np.uint8, np.uint16):
        raise error(f'{path}: refusing to write dtype {array.dtype} as an image')
    arr = array
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    elif rgb_order and arr.ndim == 3 and arr.shape[2] == 3:
        arr = arr[:, :, ::-1]
    elif rgb_order and arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, [2, 1, 0, 3]]
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext in ('.jpg', '.jpeg') else []
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(arr), params)
    if not ok:
        raise error(f'{path}: cv2 could not encode an array of shape {array.shape}')
    atomic_write_bytes(path, buf.tobytes())


def split_file_names(split: str) -> Dict[str, str]:
    """File names of one split in both styles:
    ``{'stems': 'train.txt', 'pairs': 'train_pairs.txt'}``."""
    return {'stems': f'{split}.txt', 'pairs': f'{split}_pairs.txt'}


def write_split_files(
    root: str,
    split: str,
    stems: Sequence[str],
    rgb_spec: Optional[Mapping[str, str]] = None,
    label_spec: Optional[Mapping[str, str]] = None,
) -> Dict[str, str]:
    """Write ``<split>.txt`` (bare stems, one a line) and, when ``rgb_spec`` is given,
    ``<split>_pairs.txt`` (``RGB/<s>.jpg\\tLabel/<s>.png``; only ``RGB/<s>.jpg`` when ``label_spec``
    is None: an unlabelled split). Returns the names written (``'pairs'`` only with
    ``rgb_spec``)."""
    names = split_file_names(split)
    atomic_write_bytes(
        os.path.join(root, names['stems']), ''.join(f'{s}\n' for s in stems).encode()
    )
    if rgb_spec is None:
        return {'stems': names['stems']}
    pairs_txt = ''.join(
        f"{rgb_spec['folder']}/{s}{rgb_spec['ext']}"
        + (f"\t{label_spec['folder']}/{s}{label_spec['ext']}" if label_spec else '')
        + '\n'
        for s in stems
    )
    atomic_write_bytes(os.path.join(root, names['pairs']), pairs_txt.encode())
    return names


def _json_default(obj):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f'not JSON serialisable: {type(obj)}')


def dump_json(obj) -> str:
    """json.dumps with indent 2, but lists of numbers (palette colours) kept on one line."""
    text = json.dumps(obj, indent=2, default=_json_default)
    return re.sub(
        r'\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]',
        lambda m: '[' + ', '.join(x.strip() for x in m.group(1).split(',')) + ']',
        text,
    )


class DatasetFiles:
    """The files of one dataset root: ``<folder>/<stem><ext>`` per named file spec, split files,
    meta.json.

    Every file is written atomically (temporary name, then rename). No output guard here: the
    callers decide what may be replaced (``data_prep/common.py`` ``DatasetWriter``: refuse / resume
    / ``--force``; the LiDAR tiler and the synthetic generators: their own rules).

    Args:
        root: dataset root.
        specs: ``{name: {'folder', 'ext', ...}}``: modalities, ``'label'``, targets, extra rasters.
        error: exception class for unwritable arrays.
    """

    def __init__(self, root: str, specs: Mapping[str, Mapping], error: type = DatasetWriteError):
        self.root = root
        self.specs = {k: dict(v) for k, v in specs.items() if v is not None}
        self.error = error

    def make_folders(self) -> None:
        for spec in self.specs.values():
            os.makedirs(os.path.join(self.root, spec['folder']), exist_ok=True)

    def path(self, name: str, stem: str) -> str:
        spec = self.specs[name]
        return os.path.join(self.root, spec['folder'], f"{stem}{spec['ext']}")

    def write(
        self, name: str, stem: str, array: np.ndarray, copy_from: Optional[str] = None
    ) -> None:
        """Write one file; ``copy_from``: a byte copy of that source file instead of encoding
        ``array``."""
        if copy_from is not None:
            with open(copy_from, 'rb') as f:
                atomic_write_bytes(self.path(name, stem), f.read())
        else:
            write_image(self.path(name, stem), array, error=self.error)

    def write_splits(
        self,
        splits: Mapping[str, Sequence[str]],
        unlabelled: Sequence[str] = (),
        pairs: bool = True,
    ) -> Dict[str, str]:
        """Write every split (``{split: stems}``); ``pairs``: also the pairs files (unlabelled
        splits: RGB only). Returns ``{stems file: pairs file}`` (empty without ``pairs``)."""
        out = {}
        for split, stems in splits.items():
            names = write_split_files(
                self.root,
                split,
                stems,
                self.specs['rgb'] if pairs else None,
                None if split in unlabelled else self.specs.get('label'),
            )
            if pairs:
                out[names['stems']] = names['pairs']
        return out

    def write_meta(self, meta: Mapping, *, style: str = 'compact', validate: bool = True) -> None:
        """Validate (:func:`validate_meta`) and write meta.json, last (its presence marks a complete
        dataset).

        ``style``: 'compact' (number lists on one line, trailing newline: the converters) or 'plain'
        (``json.dump(indent=2)``, no trailing newline: the synthetic generators and the LiDAR tiler,
        kept byte-identical to the datasets they wrote before).
        """
        path = os.path.join(self.root, 'meta.json')
        if validate:
            validate_meta(dict(meta), path)
        if style == 'compact':
            text = dump_json(meta) + '\n'
        elif style == 'plain':
            text = json.dumps(meta, indent=2, default=_json_default)
        else:
            raise ValueError(f"style must be 'compact' or 'plain', got {style!r}")
        atomic_write_bytes(path, text.encode())
