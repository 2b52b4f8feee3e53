"""MFNet (Ha et al., IROS 2017; RGB-T, 9 classes counting "unlabeled") -> crossmodal layout.

Input as distributed (also RTFNet's re-host): ``<root>/images/<name>.png`` = 4-channel PNG with
channels R, G, B, thermal (thermal in the alpha channel; read here with IMREAD_UNCHANGED -- a plain
cv2.imread drops it), ``<root>/labels/<name>.png`` uint8 0..8, and split lists ``train.txt`` (784),
``val.txt`` (392), ``test.txt`` (393), optionally ``test_day.txt`` / ``test_night.txt``.

Output: ``RGB/<name>.png``, ``Thermal/<name>.png`` (uint8, 1 channel), ``Label/<name>.png`` (0..8 as
stored, ``label_offset`` 0: unlabeled is class 0, as RTFNet/CMX count it), split files, meta.json.
``--trainval`` also writes ``trainval.txt`` (train + val = 1176, Sigma's ``train2.txt``) and makes
it the training split in meta.json (``splits``: ``train`` and ``trainval`` -> trainval.txt, no
``val``: validate on test then).

Usage::

    python data_prep/mfnet.py --root ir_seg_dataset --out data/MFNet [--trainval]
"""

from __future__ import annotations

import argparse
import os
import sys

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
)
from data_prep.rgbt_folders import read_label  # noqa: E402

# default --out; equals data_root in configs/_base_/datasets/ (tests/data_prep/test_data_roots.py)
DEFAULT_OUT = 'data/MFNet'

CLASSES = (
    'unlabeled',
    'car',
    'person',
    'bike',
    'curve',
    'car_stop',
    'guardrail',
    'color_cone',
    'bump',
)
PALETTE = (
    (0, 0, 0),
    (64, 0, 128),
    (64, 64, 0),
    (0, 128, 192),
    (0, 0, 192),
    (128, 128, 0),
    (64, 64, 128),
    (192, 128, 128),
    (192, 64, 0),
)
SPLITS = ('train', 'val', 'test')
OPTIONAL_SPLITS = ('test_day', 'test_night')


def read_rgbt(path: str):
    """4-channel MFNet PNG -> (RGB HxWx3 uint8, thermal HxW uint8)."""
    img = read_image(path)  # IMREAD_UNCHANGED: B, G, R, T
    if img.ndim != 3 or img.shape[2] != 4:
        ch = 1 if img.ndim == 2 else img.shape[2]
        raise PrepError(
            f'{path}: expected 4 channels (R, G, B, thermal in alpha), got {ch}; an image '
            f're-saved without alpha has lost its thermal channel'
        )
    if img.dtype != np.uint8:
        raise PrepError(f'{path}: expected 8-bit channels, got {img.dtype}')
    return np.ascontiguousarray(img[:, :, 2::-1]), np.ascontiguousarray(img[:, :, 3])


def _stem(line: str) -> str:
    return os.path.splitext(os.path.basename(line))[0] if line.lower().endswith('.png') else line


def convert(
    root: str, out: str, *, trainval: bool = False, force: bool = False, quiet: bool = False
) -> str:
    """Convert MFNet from ``root`` (with images/, labels/ and the split lists) into ``out``."""
    if not os.path.isdir(root):
        raise PrepError(f'{root}: dataset root not found')
    splits = {
        s: [_stem(x) for x in read_split_lines(os.path.join(root, f'{s}.txt'))] for s in SPLITS
    }
    for s in OPTIONAL_SPLITS:
        if os.path.isfile(os.path.join(root, f'{s}.txt')):
            splits[s] = [_stem(x) for x in read_split_lines(os.path.join(root, f'{s}.txt'))]
    for a, b in (('train', 'val'), ('train', 'test'), ('val', 'test')):
        both = set(splits[a]) & set(splits[b])
        if both:
            raise PrepError(
                f'{root}: {a}.txt and {b}.txt share {len(both)} name(s), e.g. {sorted(both)[:3]}'
            )
    for s in OPTIONAL_SPLITS:
        extra = set(splits.get(s, [])) - set(splits['test'])
        if extra:
            raise PrepError(
                f'{root}: {s}.txt lists names not in test.txt, e.g. {sorted(extra)[:3]}'
            )
    mods = {
        'rgb': {'folder': 'RGB', 'ext': '.png', 'dtype': 'uint8', 'channels': 3},
        'thermal': {
            'folder': 'Thermal',
            'ext': '.png',
            'dtype': 'uint8',
            'channels': 1,
            'source': 'alpha channel of images/<name>.png',
        },
    }
    writer = DatasetWriter(
        out, converter='mfnet', options={'trainval': trainval}, modalities=mods, force=force
    )
    names = [n for s in SPLITS for n in splits[s]]
    for n in progress(names, 'MFNet', quiet=quiet):
        if writer.is_done(n):
            continue
        ipath = os.path.join(root, 'images', n + '.png')
        lpath = os.path.join(root, 'labels', n + '.png')
        rgb, thermal = read_rgbt(ipath)
        label = read_label(lpath, allowed_max=8, allow_255=False)
        if label.shape != rgb.shape[:2]:
            raise PrepError(f'{lpath}: size {label.shape} differs from {ipath} {rgb.shape[:2]}')
        writer.write(n, label=label, rgb=rgb, thermal=thermal, source=ipath)
    roles = None
    if trainval:
        splits['trainval'] = splits['train'] + splits['val']
        # no 'val' role: its frames are training frames now (validate on test, as CMX/Sigma do)
        roles = {'train': 'trainval.txt', 'trainval': 'trainval.txt', 'test': 'test.txt'}
        roles.update({s: f'{s}.txt' for s in OPTIONAL_SPLITS if s in splits})
    writer.finalize(
        name='MFNet',
        classes=CLASSES,
        palette=PALETTE,
        label_offset=0,
        splits=splits,
        train_split=roles,
        split_source='official MFNet lists train.txt/val.txt/test.txt (784/392/393)'
        + ('; training split = train+val (trainval.txt, 1176)' if trainval else ''),
        extra={'label_encoding': 'stored 0..8, 0 = unlabeled (counted as a class, RTFNet/CMX)'},
    )
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument(
        '--root',
        required=True,
        help='MFNet folder with images/, labels/, train.txt, val.txt, test.txt',
    )
    p.add_argument(
        '--trainval', action='store_true', help='train on train+val (writes trainval.txt)'
    )
    add_common_args(p, default_out=DEFAULT_OUT)
    a = p.parse_args(argv)
    return run_converter(
        convert, a.root, out=a.out, trainval=a.trainval, force=a.force, quiet=a.quiet
    )


if __name__ == '__main__':
    sys.exit(main())
