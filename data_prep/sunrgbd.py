"""SUN RGB-D (Song, Lichtenberg, Xiao, CVPR 2015; 10,335 RGB-D frames, 37 classes) -> crossmodal
layout.

Inputs as distributed:

- ``--root``: the folder that contains ``SUNRGBD/`` from the official SUNRGBD.zip; each frame folder
  has ``image/<f>.jpg``, ``depth/<f>.png`` (raw) and ``depth_bfx/<f>.png`` (in-painted).
- ``--train-list`` / ``--test-list``: the official split as image-path lists (5285 / 5050 lines such
  as ``SUNRGBD/kv2/kinect2data/<seq>/image/<f>.jpg``; ankurhanda/sunrgbd-meta-data
  ``sunrgbd_training_images.txt`` / ``sunrgbd_testing_images.txt``, the order of the toolbox's
  allsplit.mat).
- ``--labels``: folder of the 37-class label PNGs ``img-XXXXXX.png`` extracted from the toolbox's
  SUNRGBD2Dseg.mat (ankurhanda/sunrgbd-meta-data): numbered from 1 through the test list and then
  the train list (test line i -> ``img-{i:06d}``, train line j -> ``img-{len(test)+j:06d}``; 5050 +
  5285). Stored 0 = unlabeled, 1..37 (``label_offset`` -1).

Depth PNGs store millimetres with the 16-bit word rotated by 3 bits; the SUN RGB-D toolbox
(read3dPoints.m) decodes ``mm = (d >> 3) | (d << 13)`` (16-bit) and clips at 8 m. Output ``Depth``
is that decoded value in uint16 mm, clipped at 8000 (0 stays 0 = missing).

Stems are the label numbers (``img-000001`` ...), so train/test stems never collide. With
``--rgb-ext .jpg`` (default) the distributed JPEG is copied unchanged (same bytes); ``.png`` stores
its decoded pixels losslessly.

Usage::

    python data_prep/sunrgbd.py --root SUNRGBD_parent --labels sunrgbd_labels --train-list
        sunrgbd_training_images.txt --test-list sunrgbd_testing_images.txt --out data/SUNRGBD
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List

import numpy as np

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data_prep.common import (
    DatasetWriter,
    PrepError,
    add_common_args,
    progress,
    read_image,  # noqa: E402
    read_split_lines,
    run_converter,
    to_rgb,
    voc_palette,
)
from data_prep.rgbt_folders import read_label  # noqa: E402

# default --out; equals data_root in configs/_base_/datasets/ (tests/data_prep/test_data_roots.py)
DEFAULT_OUT = 'data/SUNRGBD'

# SUN RGB-D 37 classes (seg37list.mat) = the first 37 NYU-40 classes; names as in the toolbox.
CLASSES = (
    'wall',
    'floor',
    'cabinet',
    'bed',
    'chair',
    'sofa',
    'table',
    'door',
    'window',
    'bookshelf',
    'picture',
    'counter',
    'blinds',
    'desk',
    'shelves',
    'curtain',
    'dresser',
    'pillow',
    'mirror',
    'floor_mat',
    'clothes',
    'ceiling',
    'books',
    'fridge',
    'tv',
    'paper',
    'towel',
    'shower_curtain',
    'box',
    'whiteboard',
    'person',
    'night_stand',
    'toilet',
    'sink',
    'lamp',
    'bathtub',
    'bag',
)
assert len(CLASSES) == 37
MAX_DEPTH_MM = 8000


def decode_depth(d: np.ndarray, clip_mm: int = MAX_DEPTH_MM) -> np.ndarray:
    """SUN RGB-D depth PNG (uint16, bit-rotated) -> uint16 millimetres, clipped at ``clip_mm``.

    ``mm = ((d >> 3) | (d << 13)) & 0xFFFF`` (SUNRGBD toolbox read3dPoints.m), then
    ``min(mm, clip_mm)``.
    """
    if d.dtype != np.uint16:
        raise ValueError(f'SUN RGB-D depth must be uint16, got {d.dtype}')
    d32 = d.astype(np.uint32)
    mm = ((d32 >> 3) | (d32 << 13)) & 0xFFFF
    return np.minimum(mm, clip_mm).astype(np.uint16)


def encode_depth(mm: np.ndarray) -> np.ndarray:
    """Inverse of the rotation in :func:`decode_depth` (for writing test fixtures): uint16 mm -> PNG
    word."""
    m32 = mm.astype(np.uint32)
    return (((m32 << 3) | (m32 >> 13)) & 0xFFFF).astype(np.uint16)


def frame_dir(list_line: str) -> str:
    """``SUNRGBD/.../<seq>/image/<f>.jpg`` -> ``SUNRGBD/.../<seq>`` (the frame folder)."""
    parts = list_line.replace('\\', '/').split('/')
    if len(parts) < 3 or parts[-2] != 'image':
        raise PrepError(
            f'split list line {list_line!r} is not of the form <frame>/image/<name>.jpg'
        )
    return '/'.join(parts[:-2])


def read_list(path: str) -> List[str]:
    """Image paths of an official split list (checked for form and duplicates)."""
    lines = read_split_lines(path)
    for ln in lines:
        frame_dir(ln)
    if len(set(lines)) != len(lines):
        raise PrepError(f'{path}: duplicate lines')
    return lines


def _single_png(folder: str) -> str:
    if not os.path.isdir(folder):
        raise PrepError(f'{folder}: folder not found')
    pngs = sorted(n for n in os.listdir(folder) if n.lower().endswith('.png'))
    if len(pngs) != 1:
        raise PrepError(f'{folder}: expected exactly one .png, found {len(pngs)}')
    return os.path.join(folder, pngs[0])


def convert(
    root: str,
    labels: str,
    train_list: str,
    test_list: str,
    out: str,
    *,
    depth_source: str = 'bfx',
    rgb_ext: str = '.jpg',
    force: bool = False,
    quiet: bool = False,
) -> str:
    """Convert SUN RGB-D (see the module docstring); returns ``out``."""
    if depth_source not in ('bfx', 'raw'):
        raise ValueError(f'depth_source must be "bfx" or "raw", got {depth_source!r}')
    train, test = read_list(train_list), read_list(test_list)
    if set(train) & set(test):
        raise PrepError(f'{train_list} and {test_list} share frames')
    numbered = [(i + 1, ln) for i, ln in enumerate(test)] + [
        (len(test) + j + 1, ln) for j, ln in enumerate(train)
    ]
    mods = {
        'rgb': {'folder': 'RGB', 'ext': rgb_ext, 'dtype': 'uint8', 'channels': 3},
        'depth': {
            'folder': 'Depth',
            'ext': '.png',
            'dtype': 'uint16',
            'channels': 1,
            'unit': 'mm',
            'scale': 0.001,
            'source': (
                'depth_bfx (in-painted)' if depth_source == 'bfx' else 'depth (raw, 0 = missing)'
            )
            + '; bit rotation undone, clipped at 8 m',
        },
    }
    # 'rgb_jpeg': 'copied' keeps an unfinished run of the older, re-encoding converter from being
    # resumed
    writer = DatasetWriter(
        out,
        converter='sunrgbd',
        options={'depth_source': depth_source, 'rgb_ext': rgb_ext, 'rgb_jpeg': 'copied'},
        modalities=mods,
        force=force,
    )
    depth_dir = 'depth_bfx' if depth_source == 'bfx' else 'depth'
    for k, ln in progress(numbered, 'SUNRGBD', quiet=quiet):
        stem = f'img-{k:06d}'
        if writer.is_done(stem):
            continue
        ipath = os.path.join(root, ln)
        rgb = read_image(ipath)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise PrepError(f'{ipath}: expected a 3-channel colour image, got shape {rgb.shape}')
        dpath = _single_png(os.path.join(root, frame_dir(ln), depth_dir))
        raw = read_image(dpath)
        if raw.dtype != np.uint16 or raw.ndim != 2:
            raise PrepError(
                f'{dpath}: expected a 1-channel uint16 depth PNG, got {raw.dtype} {raw.shape}'
            )
        lpath = os.path.join(labels, f'{stem}.png')
        label = read_label(lpath, allowed_max=37, allow_255=False)
        for p, a in ((dpath, raw), (lpath, label)):
            if a.shape[:2] != rgb.shape[:2]:
                raise PrepError(f'{p}: size {a.shape[:2]} differs from {ipath} {rgb.shape[:2]}')
        # the distributed JPEG is copied byte for byte (re-encoding it at quality 95 changed pixels
        # by up to 38 levels); it was decoded above with the loader's strict reader, so it is
        # complete
        src_ext = os.path.splitext(ipath)[1].lower()
        same_format = src_ext in (('.jpg', '.jpeg') if rgb_ext == '.jpg' else (rgb_ext,))
        writer.write(
            stem,
            label=label,
            rgb=to_rgb(rgb),
            depth=decode_depth(raw),
            source=ipath,
            copy_from={'rgb': ipath} if same_format else None,
        )
    index = ''.join(f'img-{k:06d}\t{frame_dir(ln)}\n' for k, ln in numbered)
    with open(os.path.join(out, 'frame_index.txt'), 'w') as f:
        f.write(index)
    writer.finalize(
        name='SUNRGBD',
        classes=CLASSES,
        palette=voc_palette(38)[1:],
        label_offset=-1,
        splits={
            'train': [f'img-{len(test) + j + 1:06d}' for j in range(len(train))],
            'test': [f'img-{i + 1:06d}' for i in range(len(test))],
        },
        split_source=f'official SUN RGB-D split lists ({os.path.basename(train_list)} '
        f'{len(train)}, {os.path.basename(test_list)} {len(test)}; toolbox allsplit.mat order)',
        extra={
            'label_encoding': 'stored 0 = unlabeled (void), 1..37 (seg37list)',
            'frame_index': 'frame_index.txt (stem<TAB>SUNRGBD frame folder)',
            'palette_source': 'PASCAL-VOC bit-interleaved colour map indexed by stored label',
        },
    )
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=' '.join(__doc__.split('\n\n')[0].split('\n')))
    p.add_argument(
        '--root', required=True, help='folder containing SUNRGBD/ (official SUNRGBD.zip)'
    )
    p.add_argument('--labels', required=True, help='folder of 37-class label PNGs img-XXXXXX.png')
    p.add_argument('--train-list', required=True, help='sunrgbd_training_images.txt (5285 lines)')
    p.add_argument('--test-list', required=True, help='sunrgbd_testing_images.txt (5050 lines)')
    p.add_argument(
        '--depth-source',
        choices=('bfx', 'raw'),
        default='bfx',
        help='depth_bfx (in-painted, default) or depth (raw, 0 = missing)',
    )
    p.add_argument('--rgb-ext', default='.jpg', choices=('.jpg', '.png'))
    add_common_args(p, default_out=DEFAULT_OUT)
    a = p.parse_args(argv)
    return run_converter(
        convert,
        a.root,
        a.labels,
        a.train_list,
        a.test_list,
        out=a.out,
        depth_source=a.depth_source,
        rgb_ext=a.rgb_ext,
        force=a.force,
        quiet=a.quiet,
    )


if __name__ == '__main__':
    sys.exit(main())
