"""One set of rules for a dataset's files (docs/design.md §3), shared by every reader.

Used by :class:`~crossmodal.datasets.transforms.LoadMultiModalFromFile` (full decode, raises on the
first problem), :class:`~crossmodal.datasets.RGBXSegDataset` (header reads of every listed file at
construction, collects and raises once), ``tools/check_dataset.py`` (``data_prep/check.py``: full
decode of every file, collects every problem) and the converters' readers (``data_prep/common.py``),
so that what the checker passes the loader loads and vice versa.

A rule reports a problem to a :class:`Problems` sink: ``Problems()`` collects them (the checker),
``Problems(raise_as=SampleLoadError)`` raises the first one. Every message starts with, or names,
the file concerned. Problem kinds:

- ``missing_file``       a listed file does not exist
- ``unreadable``         a file exists but cannot be read or decoded (truncated JPEG/PNG included:
                         decoding uses ``cv2.imdecode``, which refuses what ``cv2.imread`` pads)
- ``wrong_dtype``        stored dtype / bit depth differs from meta.json (label: uint8; regression
                         target: float32 unless declared)
- ``wrong_channels``     channel count differs from meta.json (label: 1, a palette PNG counts as 1;
                         ``rgb``: the declared 3 or 4, default 3; target: a 2-D array)
- ``nonfinite``          NaN or +-inf in a float input modality (any), or +-inf in a regression
                         target (NaN there means "no data", docs/design.md §3)
- ``size_mismatch``      the files of one stem differ in height x width
- ``label_out_of_range`` stored label values that are neither a class
                         (``0 <= v + label_offset < C``) nor void (stored 255,
                         ``v + label_offset < 0`` or ``== ignore_index``)
- ``missing_split_file`` / ``empty_split`` / ``duplicate_stem``  split file problems

Decisions recorded here once:

- ``splits`` in meta.json is optional (:func:`crossmodal.datasets.contract.split_files`): when
  absent the checker checks the conventional split files that exist.
- ``unlabelled_splits`` (optional) names splits whose frames have no label file (inference,
  label-free distillation); their stems need every modality but no label.
- A label is an 8-bit single-channel map of stored class ids, or a palette ("P") PNG whose pixel
  indices are the ids (VOC style). A 3-channel label is refused even if its channels are equal.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

import cv2
import numpy as np

# meta.json helpers and the label rule belong to the contract; imported here for the rules and
# old imports
from .contract import (
    label_void_and_class,
    split_files,  # noqa: F401
)
from .contract import CONVENTIONAL_SPLITS, file_specs, unlabelled_splits  # noqa: F401

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


class SampleLoadError(ValueError):
    """A file of a sample is unreadable, has the wrong format, or disagrees with the others."""


class DatasetLayoutError(ValueError):
    """The dataset on disk does not match its meta.json or the config's request."""


class DataFileError(DatasetLayoutError, SampleLoadError):
    """Files listed in a split break the data contract; found when the dataset is constructed.

    Both a :class:`DatasetLayoutError` and a :class:`SampleLoadError`: it is the error the loader
    would raise on the sample later, raised before training starts.
    """


class Problems:
    """Where rules report problems: collected in :attr:`items`, or raised at once as
    ``raise_as``."""

    def __init__(self, raise_as: Optional[type] = None):
        self.raise_as = raise_as
        self.items: List[Dict[str, Any]] = []

    def add(self, kind: str, message: str, **fields) -> None:
        problem = dict(kind=kind, message=message, **fields)
        if self.raise_as is not None:
            err = self.raise_as(message)
            err.problem = problem
            raise err
        self.items.append(problem)

    def __len__(self) -> int:
        return len(self.items)


# ----------------------------------------------------------------------------- split files


def read_split(path: str, problems: Problems, split: str) -> Optional[List[str]]:
    """Stems of a split file (bare stems, one a line); missing, empty or duplicate stems
    reported."""
    if not os.path.isfile(path):
        problems.add(
            'missing_split_file',
            f'{path}: split file for split "{split}" is missing',
            split=split,
            path=path,
        )
        return None
    with open(path) as f:
        stems = [ln.strip() for ln in f if ln.strip()]
    if not stems:
        problems.add(
            'empty_split',
            f'{path}: split file for split "{split}" is empty',
            split=split,
            path=path,
        )
    seen, dup = set(), []
    for s in stems:
        if s in seen and s not in dup:
            dup.append(s)
        seen.add(s)
    for s in dup:
        problems.add(
            'duplicate_stem',
            f'{path}: stem {s!r} listed more than once',
            split=split,
            stem=s,
            path=path,
        )
    return stems


# ----------------------------------------------------------------------------- headers


@dataclass
class FileHeader:
    """What a file holds, as the loader would decode it: ``shape`` (H, W) or (H, W, C), ``dtype``.

    ``dtype``/``shape[2:]`` are None where the header alone cannot tell (then not checked before
    the full decode). ``palette``: a palette PNG (read as indices for a label).
    """

    shape: Tuple[int, ...]
    dtype: Optional[str]
    palette: bool = False
    channels_known: bool = True

    @property
    def hw(self) -> Tuple[int, int]:
        return tuple(self.shape[:2])


def _png_header(path: str) -> FileHeader:
    """Parse a PNG's IHDR (and walk the chunk headers up to IDAT for tRNS); raises ValueError."""
    with open(path, 'rb') as f:
        if f.read(8) != PNG_SIGNATURE:
            raise ValueError('not a PNG file (bad signature)')
        length, ctype = struct.unpack('>I4s', f.read(8))
        if ctype != b'IHDR' or length != 13:
            raise ValueError('PNG without an IHDR chunk')
        w, h, depth, colour = struct.unpack('>IIBB', f.read(10))
        f.seek(length - 10 + 4, 1)  # rest of IHDR + CRC
        has_trns = False
        while True:
            head = f.read(8)
            if len(head) < 8:
                raise ValueError('PNG ends before its image data (truncated)')
            length, ctype = struct.unpack('>I4s', head)
            if ctype == b'IDAT':
                break
            has_trns |= ctype == b'tRNS'
            f.seek(length + 4, 1)
    if w == 0 or h == 0 or colour not in (0, 2, 3, 4, 6):
        raise ValueError(f'invalid PNG header (size {w}x{h}, colour type {colour})')
    # channels as cv2.imdecode(IMREAD_UNCHANGED) returns them (verified on OpenCV 5.0)
    channels = {0: 1, 2: 4 if has_trns else 3, 3: 4 if has_trns else 3, 4: 4, 6: 4}[colour]
    dtype = 'uint16' if depth == 16 else 'uint8'
    return FileHeader((h, w) if channels == 1 else (h, w, channels), dtype, palette=colour == 3)


def _npy_header(path: str) -> FileHeader:
    with open(path, 'rb') as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    if len(shape) < 2:
        raise ValueError(f'array of shape {shape} is not an image (needs H x W)')
    return FileHeader(tuple(shape), str(dtype))


# PIL mode -> (channels, dtype) as cv2 IMREAD_UNCHANGED decodes the file
_PIL_MODES = {
    '1': (1, 'uint8'),
    'L': (1, 'uint8'),
    'RGB': (3, 'uint8'),
    'YCbCr': (3, 'uint8'),
    'CMYK': (3, 'uint8'),
    'RGBA': (4, 'uint8'),
    'I;16': (1, 'uint16'),
    'I;16B': (1, 'uint16'),
    'I;16L': (1, 'uint16'),
    'F': (1, 'float32'),
}


def _pil_header(path: str) -> Optional[FileHeader]:
    """Header via PIL (reads only the header); None where PIL cannot tell what cv2 would decode."""
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
        mode = im.mode
        bits = getattr(im, 'tag_v2', {}).get(258) if im.format == 'TIFF' else None
    if mode not in _PIL_MODES:
        return FileHeader((h, w), None, palette=mode == 'P', channels_known=False)
    c, dtype = _PIL_MODES[mode]
    if bits is not None and c > 1 and any(int(b) != 8 for b in np.atleast_1d(bits)):
        dtype = None  # PIL opens 16-bit colour TIFFs as 8-bit modes; cv2 keeps 16 bits
    return FileHeader((h, w) if c == 1 else (h, w, c), dtype)


def read_header(
    path: str, problems: Problems, name: str = '', stem: str = ''
) -> Optional[FileHeader]:
    """Read only a file's header (size, channels, dtype): PNG IHDR, .npy header, else PIL.

    Files PIL cannot identify are decoded fully (with cv2, as the loader does) instead of being
    refused on the header alone. Reports ``missing_file`` / ``unreadable``; returns None then.
    """
    ctx = dict(stem=stem, modality=name, path=path)
    if not os.path.isfile(path):
        problems.add(
            'missing_file', f'{name or "a"} file for stem "{stem}" is missing: {path}', **ctx
        )
        return None
    low = path.lower()
    try:
        if low.endswith('.npy'):
            return _npy_header(path)
        if low.endswith('.png'):
            return _png_header(path)
        try:
            return _pil_header(path)
        except Exception:  # noqa: BLE001 - not identified by PIL: let the real decoder decide
            pass
        arr = _decode(path)
        if arr is None:
            raise ValueError('cv2 cannot decode it')
        return FileHeader(arr.shape, str(arr.dtype))
    except Exception as e:  # noqa: BLE001
        problems.add('unreadable', f'{path}: unreadable or corrupt image file ({e})', **ctx)
        return None


# ----------------------------------------------------------------------------- full decode


def _decode(path: str) -> Optional[np.ndarray]:
    buf = np.fromfile(path, dtype=np.uint8)
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None


def read_array(
    path: str, problems: Problems, role: str = 'modality', name: str = '', stem: str = ''
) -> Optional[np.ndarray]:
    """Decode a file unchanged (bit depth and channels kept) as every reader of the project does.

    - ``.npy``: ``np.load(allow_pickle=False)``;
    - a palette PNG read for a ``label``: its pixel indices (PIL), uint8 HxW;
    - any other image: ``cv2.imdecode(IMREAD_UNCHANGED)``, BGR(A) order; truncated files fail.

    Reports ``missing_file`` / ``unreadable`` and returns None then.
    """
    ctx = dict(stem=stem, modality=name, path=path)
    if not os.path.isfile(path):
        problems.add(
            'missing_file', f'{name or "a"} file for stem "{stem}" is missing: {path}', **ctx
        )
        return None
    if path.lower().endswith('.npy'):
        try:
            return np.load(path, allow_pickle=False)
        except Exception as e:  # noqa: BLE001
            problems.add('unreadable', f'{path}: cannot read .npy array: {e}', **ctx)
            return None
    if role == 'label' and path.lower().endswith('.png'):
        try:
            palette = _png_header(path).palette
        except Exception as e:  # noqa: BLE001
            problems.add('unreadable', f'{path}: unreadable or corrupt image file ({e})', **ctx)
            return None
        if palette:
            try:
                from PIL import Image

                with Image.open(path) as im:
                    im.load()
                    return np.array(im, dtype=np.uint8)  # mode 'P': the indices, not the colours
            except Exception as e:  # noqa: BLE001
                problems.add(
                    'unreadable', f'{path}: unreadable or corrupt palette PNG ({e})', **ctx
                )
                return None
    arr = _decode(path)
    if arr is None:
        problems.add('unreadable', f'{path}: unreadable or corrupt image file', **ctx)
    return arr


# ----------------------------------------------------------------------------- per-file rules


def expected_format(role: str, name: str, spec: Mapping) -> Tuple[Optional[str], Optional[int]]:
    """(dtype, channels) a file must have; None = not constrained."""
    if role == 'label':
        return 'uint8', 1
    if role == 'target':
        return spec.get('dtype', 'float32'), 1
    channels = spec.get('channels')
    if name == 'rgb' and channels is None:
        channels = 3
    return spec.get('dtype'), (int(channels) if channels is not None else None)


def check_format(
    shape: Tuple[int, ...],
    dtype: Optional[str],
    spec: Mapping,
    path: str,
    problems: Problems,
    role: str = 'modality',
    name: str = '',
    stem: str = '',
    channels_known: bool = True,
) -> bool:
    """Dtype and channel count of one file (from its header or its decoded array) against meta.json.

    Returns True when nothing was reported.
    """
    ctx = dict(stem=stem, modality=name, path=path)
    want_dtype, want_ch = expected_format(role, name, spec)
    ok = True
    if want_dtype and dtype and dtype != want_dtype:
        ok = False
        hint = ''
        if np.dtype(dtype).kind in 'ui' and np.dtype(want_dtype).kind in 'ui':
            hint = ' (wrong bit depth; was a 16-bit image saved as 8-bit?)'
        what = 'label' if role == 'label' else name
        problems.add(
            'wrong_dtype',
            f'{path}: {what} stored as {dtype} but meta.json declares {want_dtype}'
            + (' (labels are 8-bit maps of class ids)' if role == 'label' else hint),
            found=dtype,
            expected=want_dtype,
            **ctx,
        )
    got = 1 if len(shape) == 2 else int(shape[2])
    if role == 'target' and len(shape) != 2:
        ok = False
        problems.add(
            'wrong_channels',
            f'{path}: regression target must be HxW, got shape {tuple(shape)}',
            found=got,
            expected=1,
            **ctx,
        )
    elif want_ch is not None and (
        (channels_known and got != want_ch)
        or (name == 'rgb' and role == 'modality' and want_ch not in (3, 4))
    ):
        ok = False
        if role == 'label':
            msg = (
                f'{path}: label has {got} channels (a colour or RGB-saved image); expected a '
                f'single-channel map of class ids (or a palette PNG)'
            )
        elif name == 'rgb':
            msg = (
                f'{path}: the "rgb" image must have 3 channels (or 4 = R,G,B,NIR when meta.json '
                f'declares "channels": 4): expected {want_ch} channels, got {got}'
                + ('' if want_ch in (3, 4) else f' (meta.json declares "channels": {want_ch})')
            )
        elif want_ch == 1:
            msg = f'{path}: expected a single-channel image, got {got} channels ({name})'
        else:
            msg = f'{path}: expected {want_ch} channels, got {got} ({name}, meta.json "channels")'
        problems.add('wrong_channels', msg, found=got, expected=want_ch, **ctx)
    return ok


def check_finite(
    arr: np.ndarray,
    path: str,
    problems: Problems,
    role: str = 'modality',
    name: str = '',
    stem: str = '',
) -> bool:
    """Float inputs must be finite; float targets may hold NaN (no data) but not +-inf."""
    if arr.dtype.kind != 'f':
        return True
    bad = ~np.isfinite(arr) if role != 'target' else np.isinf(arr)
    if bad.ndim == 3:
        bad = bad.any(axis=2)
    n = int(bad.sum())
    if not n:
        return True
    n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
    if role == 'target':
        msg = f'{path}: {n} pixel(s) of regression target {name!r} are +-inf; no data must be NaN'
    else:
        msg = (
            f'{path}: {n} non-finite pixel(s) in {name or "a"} input (NaN values {n_nan}, '
            f'inf values {n_inf}); inputs must be finite: fill no-data with a value and declare it '
            'in meta.json'
        )
    problems.add(
        'nonfinite', msg, count=n, nan=n_nan, inf=n_inf, stem=stem, modality=name, path=path
    )
    return False


def check_array(
    arr: np.ndarray,
    spec: Mapping,
    path: str,
    problems: Problems,
    role: str = 'modality',
    name: str = '',
    stem: str = '',
) -> bool:
    """Every per-file rule on a decoded array: dtype, channels, finite values."""
    ok = check_format(arr.shape, str(arr.dtype), spec, path, problems, role, name, stem)
    return check_finite(arr, path, problems, role, name, stem) and ok


def check_label_values(
    lab: np.ndarray,
    path: str,
    problems: Problems,
    label_offset: int,
    num_classes: int,
    ignore_index: int = 255,
    stem: str = '',
) -> np.ndarray:
    """Histogram (256 bins) of stored values of a uint8 HxW label; out-of-range values reported."""
    counts = np.bincount(lab.ravel(), minlength=256)
    _, void, is_class = label_void_and_class(label_offset, num_classes, ignore_index)
    bad = np.nonzero((counts > 0) & ~void & ~is_class)[0]
    if bad.size:
        problems.add(
            'label_out_of_range',
            f'{path}: label values {bad.tolist()[:10]} are outside the {num_classes} classes '
            f'(label_offset {label_offset}) and are not the ignore index',
            values=bad.tolist(),
            stem=stem,
            modality='label',
            path=path,
        )
    return counts


def check_sizes(
    shapes: Mapping[str, Tuple[str, Tuple[int, int]]], problems: Problems, stem: str = ''
) -> bool:
    """The files of one stem (``{name: (path, (h, w))}``) must agree in size; reference: label, else
    rgb."""
    if len({tuple(hw) for _, hw in shapes.values()}) <= 1:
        return True
    ref = 'label' if 'label' in shapes else ('rgb' if 'rgb' in shapes else next(iter(shapes)))
    rh, rw = shapes[ref][1]
    listing = ', '.join(f'{k} {tuple(hw)} ({p})' for k, (p, hw) in shapes.items())
    for name, (path, hw) in shapes.items():
        if tuple(hw) != (rh, rw):
            problems.add(
                'size_mismatch',
                f'{path}: {name} is {hw[0]}x{hw[1]} but {ref} is {rh}x{rw} (stem "{stem}": '
                f'modalities of different sizes in one sample: {listing})',
                stem=stem,
                modality=name,
                path=path,
                found=list(hw),
                expected=[rh, rw],
            )
    return False


def check_stem_headers(
    paths: Mapping[str, Tuple[str, str, Mapping]], problems: Problems, stem: str = ''
) -> None:
    """Header rules for one stem: ``paths`` = ``{name: (role, path, spec)}``. Used at dataset
    construction."""
    shapes = {}
    for name, (role, path, spec) in paths.items():
        head = read_header(path, problems, name, stem)
        if head is None:
            continue
        if role == 'label' and head.palette:
            head = FileHeader(head.hw, 'uint8')  # indices
        check_format(
            head.shape, head.dtype, spec, path, problems, role, name, stem, head.channels_known
        )
        shapes[name] = (path, head.hw)
    check_sizes(shapes, problems, stem)
