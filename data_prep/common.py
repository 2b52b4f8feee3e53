"""Shared writer utilities for the dataset converters in ``data_prep/``.

Every converter writes the crossmodal layout of docs/design.md §3::

    <out>/RGB/<stem>.<ext>, <out>/<X>/<stem>.<ext>, <out>/Label/<stem>.png
    <out>/<split>.txt          bare stems, one per line (CMX / Sigma / CMNeXt style)
    <out>/<split>_pairs.txt    "RGB/<stem>.jpg<TAB>Label/<stem>.png" per line (SA-Gate / DFormer
                               style; DFormer parses ``line.split('/')[1].split('.jpg')[0]``, which
                               works too)
    <out>/meta.json            classes, palette, ignore_index, label_offset, modalities, splits, ...

Safety and resume (:class:`DatasetWriter`):

- an output folder that is not empty is never touched without ``--force`` -- except to *resume* an
  interrupted run of the same converter with the same options (recorded in ``.prep_state.json``,
  which exists only while a run is unfinished; ``meta.json`` is written last);
- every file is written atomically (encoded in memory, written to a temporary name, renamed), so a
  file that exists is complete and a stem whose files all exist is skipped on resume;
- ``--force`` removes only what a converter writes (its folders, split files, meta.json).
"""

from __future__ import annotations

import json
import os
import sys
import shutil
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import cv2
import numpy as np

from crossmodal.datasets import contract
from crossmodal.datasets.contract import (
    DEFAULT_LABEL,
    IGNORE_INDEX,
    DatasetFiles,  # noqa: F401
    DatasetWriteError,
    label_lut,
    split_file_names,
)
from crossmodal.datasets.contract import dump_json  # noqa: F401  (re-exported for converters)
from crossmodal.datasets.contract import atomic_write_bytes as _atomic_write_bytes

STATE_FILE = '.prep_state.json'


class PrepError(DatasetWriteError):
    """A converter cannot proceed: bad input (the message names the file) or unsafe output."""


# ----------------------------------------------------------------------------- image I/O


def read_image(path: str, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """Read an image with cv2 (default IMREAD_UNCHANGED: keeps uint16 and alpha); raise naming the
    file.

    Colour images come back in cv2's BGR(A) order; use :func:`to_rgb` to convert.
    """
    if not os.path.isfile(path):
        raise PrepError(f'{path}: file not found')
    # cv2.imdecode, as the loader reads (crossmodal.datasets.validation): it refuses a truncated
    # JPEG that cv2.imread would pad with grey, so a converter never copies or re-encodes a broken
    # frame
    buf = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(buf, flags) if buf.size else None
    if img is None:
        raise PrepError(f'{path}: cannot be decoded as an image (unreadable, corrupt or truncated)')
    return img


def read_label_image(path: str) -> np.ndarray:
    """Read a stored label: a palette ("P") PNG gives its indices (VOC style), anything else as
    :func:`read_image`; rules of :func:`crossmodal.datasets.validation.read_array`."""
    from crossmodal.datasets.validation import Problems, read_array

    if not os.path.isfile(path):
        raise PrepError(f'{path}: file not found')
    try:
        return read_array(path, Problems(raise_as=PrepError), role='label')
    except PrepError as e:
        raise PrepError(f'{e} (label)') from None


def to_rgb(img_bgr: np.ndarray) -> np.ndarray:
    """BGR (HxWx3) -> RGB, or BGRA (HxWx4) -> RGBA. 2-D arrays are returned unchanged."""
    if img_bgr.ndim == 3 and img_bgr.shape[2] == 3:
        return np.ascontiguousarray(img_bgr[:, :, ::-1])
    if img_bgr.ndim == 3 and img_bgr.shape[2] == 4:
        return np.ascontiguousarray(img_bgr[:, :, [2, 1, 0, 3]])
    return img_bgr


def single_channel(img: np.ndarray, path: str) -> np.ndarray:
    """Return a 2-D array from a 1-channel image or a 3/4-channel image with identical colour
    channels.

    Raises PrepError naming ``path`` if the colour channels differ (the image is not grey).
    """
    if img.ndim == 2:
        return img
    if img.ndim == 3 and img.shape[2] == 1:
        return img[:, :, 0]
    if img.ndim == 3 and img.shape[2] in (3, 4):
        c = img[:, :, :3]
        if not (np.array_equal(c[:, :, 0], c[:, :, 1]) and np.array_equal(c[:, :, 0], c[:, :, 2])):
            raise PrepError(
                f'{path}: expected a single-channel image, got {img.shape[2]} channels '
                f'that are not identical'
            )
        return np.ascontiguousarray(c[:, :, 0])
    raise PrepError(f'{path}: unexpected image shape {img.shape}')


def write_image(
    path: str, array: np.ndarray, *, rgb_order: bool = True, jpeg_quality: int = 95
) -> None:
    """:func:`crossmodal.datasets.contract.write_image` (atomic, dtype kept), raising
    :class:`PrepError`."""
    contract.write_image(
        path, array, rgb_order=rgb_order, jpeg_quality=jpeg_quality, error=PrepError
    )


# ----------------------------------------------------------------------------- palettes


def voc_palette(n: int) -> List[List[int]]:
    """PASCAL-VOC bit-interleaved colour map (entry 0 = black), as used by CMX/DFormer for NYU."""
    pal = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal.append([r, g, b])
    return pal


def colorize(
    label: np.ndarray,
    palette: Sequence[Sequence[int]],
    label_offset: int = 0,
    void_color: Sequence[int] = (0, 0, 0),
) -> np.ndarray:
    """Colour a stored label map (HxW uint8) with the per-train-id ``palette`` -> HxWx3 uint8 RGB.

    train id = stored + label_offset; void (train id < 0, >= len(palette), or stored 255) ->
    void_color.
    """
    ids = label_lut(label_offset)  # the contract's stored -> train id rule (255 = void)
    lut = np.tile(np.asarray(void_color, np.uint8), (256, 1))
    known = ids < len(palette)
    lut[known] = np.asarray(palette, np.uint8).reshape(-1, 3)[ids[known]]
    return lut[label]


# ----------------------------------------------------------------------------- split files


def write_split_files(
    root: str,
    split: str,
    stems: Sequence[str],
    rgb_spec: Mapping[str, str],
    label_spec: Optional[Mapping[str, str]],
) -> Dict[str, str]:
    """``<split>.txt`` and ``<split>_pairs.txt``
    (:func:`crossmodal.datasets.contract.write_split_files`)."""
    return contract.write_split_files(root, split, stems, rgb_spec, label_spec)


def read_split_lines(path: str) -> List[str]:
    """Non-empty stripped lines of a text file (raises PrepError naming a missing file)."""
    if not os.path.isfile(path):
        raise PrepError(f'{path}: split file not found')
    with open(path) as f:
        return [ln.strip() for ln in f if ln.strip()]


# ----------------------------------------------------------------------------- progress


def progress(iterable: Iterable, desc: str, total: Optional[int] = None, quiet: bool = False):
    """tqdm progress bar (stderr), or the bare iterable when ``quiet``."""
    if quiet:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, unit='img', dynamic_ncols=True)


# ----------------------------------------------------------------------------- writer


class DatasetWriter:
    """Writes one dataset in the crossmodal layout, with the output guard and resume described
    above.

    Args:
        out: output root.
        converter: converter name (e.g. ``'nyudv2'``), recorded for resume.
        options: the converter's options (JSON-serialisable); a resume with other options is
            refused.
        modalities: meta.json ``modalities`` entries, must include ``'rgb'``; each has folder, ext,
            dtype ('uint8'|'uint16'|'float32') and channels.
        label: meta.json ``label`` entry ({'folder', 'ext'}).
        force: remove this converter's previous output first.
        labels: False for a dataset without any label file (a pool of unlabelled frames, e.g.
            ``data_prep/paired_frames.py``): no label folder is created, :meth:`write` refuses a
            label and :meth:`finalize` needs every split in ``unlabelled_splits``. meta.json still
            declares ``label`` (the contract requires it), where labels would go.
    """

    def __init__(
        self,
        out: str,
        *,
        converter: str,
        options: Mapping,
        modalities: Mapping[str, Mapping],
        label: Optional[Mapping[str, str]] = None,
        force: bool = False,
        labels: bool = True,
    ):
        if 'rgb' not in modalities:
            raise ValueError('modalities must include "rgb"')
        self.out = out
        self.converter = converter
        self.options = json.loads(json.dumps(dict(options)))
        self.modalities = {k: dict(v) for k, v in modalities.items()}
        self.label = dict(label or DEFAULT_LABEL)
        self.labels = bool(labels)
        specs = {**self.modalities, **({'label': self.label} if self.labels else {})}
        self.files = DatasetFiles(out, specs, error=PrepError)
        self.resumed = False
        self._prepare(force)

    # -- output guard ------------------------------------------------------------------
    def _managed(self) -> List[str]:
        folders = [m['folder'] for m in self.modalities.values()]
        return folders + ([self.label['folder']] if self.labels else [])

    def _prepare(self, force: bool) -> None:
        out = self.out
        state_path = os.path.join(out, STATE_FILE)
        if os.path.isdir(out) and os.listdir(out):
            if force:
                self._remove_previous()
            elif os.path.isfile(state_path) and not os.path.isfile(os.path.join(out, 'meta.json')):
                with open(state_path) as f:
                    state = json.load(f)
                if state.get('converter') != self.converter or state.get('options') != self.options:
                    raise PrepError(
                        f'{out}: holds an unfinished run of {state.get("converter")!r} with '
                        f'options {state.get("options")}; this run is {self.converter!r} with '
                        f'{self.options}. Pass --force to discard it and start again.'
                    )
                self.resumed = True
            else:
                raise PrepError(
                    f'{out}: output exists and is not empty (no unfinished run to resume); '
                    f'pass --force to overwrite it'
                )
        elif os.path.exists(out) and not os.path.isdir(out):
            raise PrepError(f'{out}: exists and is not a directory')
        os.makedirs(out, exist_ok=True)
        self.files.make_folders()
        _atomic_write_bytes(
            state_path,
            json.dumps({'converter': self.converter, 'options': self.options}, indent=1).encode(),
        )

    def _remove_previous(self) -> None:
        """--force: delete what converters write (folders of any known modality, split files,
        meta)."""
        known = set(self._managed()) | {
            'RGB',
            'Depth',
            'HHA',
            'Thermal',
            'Label',
            'ColoredLabel',
            'LiDAR',
        }
        ours = any(os.path.isfile(os.path.join(self.out, n)) for n in ('meta.json', STATE_FILE))
        for name in os.listdir(self.out):
            p = os.path.join(self.out, name)
            if os.path.isdir(p) and name in known:
                shutil.rmtree(p)
            elif os.path.isfile(p) and (
                name in ('meta.json', STATE_FILE) or (ours and name.endswith('.txt'))
            ):
                os.remove(p)  # split/index .txt files only when the folder is a converter's output

    # -- samples -----------------------------------------------------------------------
    def path(self, modality: str, stem: str) -> str:
        """Output path of ``stem`` for a modality name or ``'label'``."""
        return self.files.path(modality, stem)

    def is_done(self, stem: str, labelled: bool = True) -> bool:
        """True when every file of ``stem`` exists (files are written atomically, so they are
        complete); ``labelled=False``: every modality file (an unlabelled frame has no label
        file)."""
        names = list(self.modalities) + (['label'] if labelled and self.labels else [])
        return all(os.path.isfile(self.path(m, stem)) for m in names)

    def write(
        self,
        stem: str,
        *,
        label: Optional[np.ndarray],
        source: str = '',
        copy_from: Optional[Mapping[str, str]] = None,
        **arrays: np.ndarray,
    ) -> None:
        """Validate and write one sample.

        Args:
            stem: file stem.
            label: HxW uint8 stored label, or None for an unlabelled frame (no label file is
                written; list its stem in an ``unlabelled_splits`` split of :meth:`finalize`).
            source: where the sample came from (used in error messages).
            copy_from: ``{modality: source file}``: write these modalities as a byte copy of the
                source file instead of re-encoding the array (a JPEG stays bit-identical; the array,
                decoded from that file, is still validated). The source extension must match the
                output's (.jpg and .jpeg count as the same).
            **arrays: one array per modality name (``rgb`` HxWx3 uint8 RGB order, ``depth`` HxW
                uint16, ``thermal`` HxW uint8, ``hha`` HxWx3 uint8 ...), matching the declared
                dtype/channels.
        """
        where = f'{source or stem}'
        if set(arrays) != set(self.modalities):
            raise PrepError(
                f'{where}: got modalities {sorted(arrays)}, expected {sorted(self.modalities)}'
            )
        if label is not None and not self.labels:
            raise PrepError(f'{where}: this dataset has no labels (labels=False), got a label map')
        if label is not None and (label.dtype != np.uint8 or label.ndim != 2):
            raise PrepError(f'{where}: label must be HxW uint8, got {label.dtype} {label.shape}')
        ref, hw = (
            ('the label', label.shape) if label is not None else ('rgb', arrays['rgb'].shape[:2])
        )
        for name, arr in arrays.items():
            spec = self.modalities[name]
            ch = 1 if arr.ndim == 2 else arr.shape[2]
            if arr.shape[:2] != hw:
                raise PrepError(f'{where}: {name} is {arr.shape[:2]} but {ref} is {hw}')
            if str(arr.dtype) != spec['dtype'] or ch != spec['channels']:
                raise PrepError(
                    f'{where}: {name} is {arr.dtype} with {ch} channel(s), expected '
                    f"{spec['dtype']} with {spec['channels']}"
                )
        copy_from = dict(copy_from or {})
        for name, src in copy_from.items():
            if name not in self.modalities:
                raise PrepError(
                    f'{where}: copy_from names {name!r}, not a modality of this dataset'
                )
            same = {'.jpeg': '.jpg'}
            a = os.path.splitext(src)[1].lower()
            b = self.modalities[name]['ext'].lower()
            if same.get(a, a) != same.get(b, b):
                raise PrepError(
                    f'{src}: cannot copy a {a} file to a {b} output; re-encode it instead'
                )
        for name, arr in arrays.items():
            self.files.write(name, stem, arr, copy_from=copy_from.get(name))
        if label is not None:
            self.files.write('label', stem, label)

    # -- finish --------------------------------------------------------------------------
    def finalize(
        self,
        *,
        name: str,
        classes: Sequence[str],
        palette: Sequence[Sequence[int]],
        label_offset: int,
        splits: Mapping[str, Sequence[str]],
        split_source: str,
        train_split: Optional[Mapping[str, str]] = None,
        extra: Optional[Mapping] = None,
        unlabelled_splits: Sequence[str] = (),
    ) -> Dict:
        """Write the split files (both styles) and meta.json (last), remove the resume state.

        Args:
            splits: split name -> stems; each gets ``<split>.txt`` and ``<split>_pairs.txt``. A
                split without stems is not written and not listed in meta ``splits`` (the loader and
                the checker refuse empty split files); meta ``omitted_empty_splits`` names it.
            train_split: optional override of meta ``splits`` (split role -> file), e.g. MFNet
                --trainval ``{'train': 'trainval.txt', 'test': 'test.txt'}``; default: every split
                as written.
            extra: more provenance fields for meta.json.
            unlabelled_splits: splits whose frames have no label file (written with ``label=None``);
                recorded as meta ``unlabelled_splits``.
        Returns the meta dict written.
        """
        unknown = [u for u in unlabelled_splits if u not in splits]
        if unknown:
            raise ValueError(f'unlabelled_splits {unknown} are not in splits {sorted(splits)}')
        labelled = [sp for sp in splits if sp not in unlabelled_splits]
        if labelled and not self.labels:
            raise ValueError(
                f'splits {labelled} are not in unlabelled_splits, but this dataset has no labels '
                f'(labels=False)'
            )
        missing = [
            s
            for sp, stems in splits.items()
            for s in stems
            if not self.is_done(s, labelled=sp not in unlabelled_splits)
        ]
        if missing:
            raise PrepError(
                f'{self.out}: {len(missing)} stem(s) listed in splits were not written, '
                f'e.g. {missing[:3]}'
            )
        omitted = [sp for sp, stems in splits.items() if not stems]
        splits = {sp: stems for sp, stems in splits.items() if stems}
        pair_files = {split_file_names(sp)['stems']: split_file_names(sp)['pairs'] for sp in splits}
        if train_split:
            train_split = {
                role: f for role, f in train_split.items() if f in pair_files
            }  # roles of omitted empty splits go too
        meta = {
            'name': name,
            'classes': list(classes),
            'palette': [list(map(int, c)) for c in palette],
            'ignore_index': IGNORE_INDEX,
            'label_offset': int(label_offset),
            'label': dict(self.label),
            'modalities': self.modalities,
            'splits': dict(train_split) if train_split else {s: f'{s}.txt' for s in splits},
            'split_source': split_source,
            'pair_split_files': pair_files,  # stems file -> SA-Gate/DFormer-style pairs file
            'split_sizes': {s: len(v) for s, v in splits.items()},
            **(
                {'unlabelled_splits': [u for u in unlabelled_splits if u in splits]}
                if any(u in splits for u in unlabelled_splits)
                else {}
            ),
            **({'omitted_empty_splits': omitted} if omitted else {}),
            'converter': f'data_prep/{self.converter}.py',
            'converter_options': self.options,
        }
        if extra:
            meta.update(extra)
        contract.validate_meta(
            meta, os.path.join(self.out, 'meta.json')
        )  # before any split file is written
        self.files.write_splits(splits, unlabelled_splits)
        self.files.write_meta(meta, style='compact', validate=False)
        os.remove(os.path.join(self.out, STATE_FILE))
        return meta


def add_common_args(parser, default_out: Optional[str] = None) -> None:
    """--out, --force and --quiet, shared by every converter CLI.

    ``default_out``: the converter's default output root, which is the ``data_root`` of the
    dataset's config in ``configs/_base_/datasets/`` (so a converted dataset is found without
    editing the config); None makes ``--out`` required.
    """
    if default_out is None:
        parser.add_argument('--out', required=True, help='output dataset root')
    else:
        parser.add_argument(
            '--out',
            default=default_out,
            help='output dataset root (default %(default)s, the config\'s data_root)',
        )
    parser.add_argument(
        '--force',
        action='store_true',
        help='overwrite an existing output (default: refuse; an unfinished run resumes)',
    )
    parser.add_argument('--quiet', action='store_true', help='no progress bar')


def run_converter(convert_fn, *args, out: str, **kwargs) -> int:
    """CLI wrapper of a converter: a :class:`PrepError` becomes ``error: ...`` and exit status 1."""
    try:
        convert_fn(*args, out, **kwargs)
    except PrepError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f'wrote {out}')
    return 0
