"""Tiny raw datasets in each benchmark's *distributed* format, for tests (and for trying the
converters).

Each ``write_<dataset>_raw(directory, ...)`` writes a few small frames (default 24x32 px) laid out
exactly as the dataset's authors distribute it and returns a dict with the converter's keyword
arguments (``'args'``) and the ground truth it wrote (``'truth'``: stem -> arrays, ``'splits'``).
``convert_fixture`` runs the matching converter on it, so any test can get a converted dataset in
one call::

    out = convert_fixture('mfnet', tmp_path / 'raw', tmp_path / 'MFNet')

Contents are deterministic (seeded) and label maps use every class id present in the fixture,
including void values where the dataset has them.
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

DEFAULT_HW = (24, 32)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _rgb(rng, hw) -> np.ndarray:
    """Smooth-ish RGB uint8 image (gradients + noise, survives JPEG reasonably)."""
    h, w = hw
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack(
        [
            xx * 255 // max(w - 1, 1),
            yy * 255 // max(h - 1, 1),
            np.full((h, w), int(rng.integers(0, 255))),
        ],
        axis=2,
    )
    return np.clip(base + rng.integers(-8, 8, (h, w, 3)), 0, 255).astype(np.uint8)


def _label(rng, hw, values) -> np.ndarray:
    """Blocky label map (4x4 blocks) drawing from ``values``; every value appears at least once."""
    h, w = hw
    bh, bw = (h + 3) // 4, (w + 3) // 4
    vals = np.asarray(values)
    blocks = rng.choice(vals, size=(bh, bw))
    blocks.ravel()[: len(vals)] = vals[: bh * bw]
    return np.kron(blocks, np.ones((4, 4), dtype=blocks.dtype))[:h, :w]


def _imwrite(path: str, arr: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, arr):
        raise OSError(f'cannot write {path}')


# ----------------------------------------------------------------------------- NYU Depth v2

# 894-class ids with their NYU-40 ids (classMapping40.mat; hand-checked against the shared .tsv).
NYU_KNOWN_894_TO_40 = {1: 40, 3: 3, 4: 22, 5: 5, 11: 2, 19: 7, 21: 1, 85: 23, 331: 31, 894: 40}


def write_nyu_mat(path: str, rgbs, depths, raw_depths, labels) -> str:
    """Write frames into a MATLAB v7.3 file laid out like ``nyu_depth_v2_labeled.mat`` (HDF5 +
    MATLAB user block).

    Args: lists of (H, W, 3) uint8 RGB, (H, W) float32 metres (filled and raw), (H, W) uint16
    894-class ids. MATLAB stores column-major, so h5py sees images (N, 3, W, H) and depths/labels
    (N, W, H); 894 ``names`` are object references to char arrays, as MATLAB writes cell arrays.
    """
    import h5py

    with h5py.File(path, 'w', userblock_size=512) as f:
        f['images'] = np.stack([r.transpose(2, 1, 0) for r in rgbs])
        f['depths'] = np.stack([np.asarray(d, np.float32).T for d in depths])
        f['rawDepths'] = np.stack([np.asarray(d, np.float32).T for d in raw_depths])
        f['labels'] = np.stack([np.asarray(lb, np.uint16).T for lb in labels])
        refs_grp = f.create_group('#refs#')
        refs = []
        for i in range(894):
            ds = refs_grp.create_dataset(
                f'n{i}',
                data=np.frombuffer(f'class{i + 1}'.encode('utf-16-le'), dtype=np.uint16)[:, None],
            )
            refs.append(ds.ref)
        f.create_dataset('names', data=np.array([refs], dtype=h5py.ref_dtype))
    header = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: fixture HDF5 schema 1.00 .'
    with open(path, 'r+b') as fh:
        fh.write(header.ljust(116, b' ') + b'\x00' * 8 + b'\x00\x02' + b'IM')
    return path


def write_nyu_raw(directory, n: int = 5, hw: Tuple[int, int] = DEFAULT_HW, seed: int = 0) -> Dict:
    """Write ``nyu_depth_v2_labeled.mat`` (MATLAB v7.3 = HDF5 with a MATLAB user block) and
    ``splits.mat``.

    Arrays are stored as MATLAB would (h5py sees reversed axes): images (N, 3, W, H) uint8, depths
    and rawDepths (N, W, H) float32 metres, labels (N, W, H) uint16 with 894-class ids, names (894
    refs). Split: frames 1-based; odd frames train, even frames test (frame 1 is test, as in the
    real split).
    """
    import scipy.io

    directory = str(directory)
    os.makedirs(directory, exist_ok=True)
    rng = _rng(seed)
    h, w = hw
    rgbs, depths, raws, labels = [], [], [], []
    for _ in range(n):
        rgbs.append(_rgb(rng, hw))
        yy, xx = np.mgrid[0:h, 0:w]
        d = (1.0 + 3.0 * yy / h + 0.5 * xx / w + rng.uniform(0, 0.05, hw)).astype(np.float32)
        raw = d.copy()
        raw[rng.random(hw) < 0.1] = 0
        depths.append(d)
        raws.append(raw)
        labels.append(_label(rng, hw, [0] + sorted(NYU_KNOWN_894_TO_40)).astype(np.uint16))
    mat = write_nyu_mat(
        os.path.join(directory, 'nyu_depth_v2_labeled.mat'), rgbs, depths, raws, labels
    )
    k = np.arange(1, n + 1)
    train, test = k[k % 2 == 0], k[k % 2 == 1]
    splits = os.path.join(directory, 'splits.mat')
    scipy.io.savemat(
        splits,
        {
            'trainNdxs': train.astype(np.uint16)[:, None],
            'testNdxs': test.astype(np.uint16)[:, None],
        },
    )
    truth = {
        str(i): {
            'rgb': rgbs[i],
            'depth_m': depths[i],
            'raw_depth_m': raws[i],
            'label894': labels[i],
        }
        for i in range(n)
    }
    return {
        'args': {'mat': mat, 'splits': splits},
        'truth': truth,
        'splits': {'train': [str(i - 1) for i in train], 'test': [str(i - 1) for i in test]},
    }


# ----------------------------------------------------------------------------- SUN RGB-D


def write_sunrgbd_raw(
    directory,
    n_train: int = 3,
    n_test: int = 2,
    seed: int = 0,
    hw: Optional[Tuple[int, int]] = None,
) -> Dict:
    """Write a SUNRGBD/ frame tree (image/, depth/, depth_bfx/ with bit-rotated uint16 PNGs),
    37-class label PNGs ``labels/img-XXXXXX.png`` (test first, then train) and the two split lists.

    Frames use different sizes per sensor, as in the real data (``hw``: the size of the first
    sensor's frames, the others scaled alike; default 24x32). Depth values include a few above 8 m,
    which the converter clips to 8000 mm.
    """
    from data_prep.sunrgbd import encode_depth

    directory = str(directory)
    rng = _rng(seed)
    sensors = [
        ('kv1/NYUdata/NYU{:04d}', 'NYU{:04d}', (24, 32)),
        ('kv2/kinect2data/{:06d}_seq', '{:07d}', (26, 36)),
        ('realsense/lg/{:04d}_rs', '{:07d}', (27, 34)),
        ('xtion/sun3ddata/{:04d}_x', '{:07d}', (24, 32)),
    ]
    if hw is not None:
        sensors = [
            (f, n, (round(s[0] * hw[0] / 24), round(s[1] * hw[1] / 32))) for f, n, s in sensors
        ]
    lines, truth = [], []
    for i in range(n_train + n_test):
        folder_t, name_t, hw = sensors[i % len(sensors)]
        frame = 'SUNRGBD/' + folder_t.format(i + 1)
        name = name_t.format(i + 1)
        rgb = _rgb(rng, hw)
        mm = rng.integers(500, 7000, hw).astype(np.uint16)
        mm[0, :3] = [0, 8500, 9000]  # missing, and two values beyond 8 m
        raw_mm = mm.copy()
        raw_mm[rng.random(hw) < 0.2] = 0
        _imwrite(os.path.join(directory, frame, 'image', name + '.jpg'), rgb[:, :, ::-1])
        _imwrite(os.path.join(directory, frame, 'depth_bfx', name + '.png'), encode_depth(mm))
        _imwrite(os.path.join(directory, frame, 'depth', name + '.png'), encode_depth(raw_mm))
        lines.append(f'{frame}/image/{name}.jpg')
        truth.append(
            {
                'rgb': rgb,
                'depth_mm': mm,
                'raw_depth_mm': raw_mm,
                'label': _label(rng, hw, list(range(0, 38))).astype(np.uint8),
            }
        )
    test_lines, train_lines = lines[:n_test], lines[n_test:]
    labels = os.path.join(directory, 'labels')
    out_truth = {}
    for k, t in enumerate(truth, start=1):  # label numbering: test list first, then train list
        _imwrite(os.path.join(labels, f'img-{k:06d}.png'), t['label'])
        out_truth[f'img-{k:06d}'] = t
    tr = os.path.join(directory, 'sunrgbd_training_images.txt')
    te = os.path.join(directory, 'sunrgbd_testing_images.txt')
    with open(tr, 'w') as f:
        f.write('\n'.join(train_lines) + '\n')
    with open(te, 'w') as f:
        f.write('\n'.join(test_lines) + '\n')
    return {
        'args': {'root': directory, 'labels': labels, 'train_list': tr, 'test_list': te},
        'truth': out_truth,
        'splits': {
            'train': [f'img-{n_test + j + 1:06d}' for j in range(n_train)],
            'test': [f'img-{i + 1:06d}' for i in range(n_test)],
        },
    }


# ----------------------------------------------------------------------------- MFNet


def write_mfnet_raw(
    directory, n_train: int = 3, n_val: int = 2, n_test: int = 2, hw=DEFAULT_HW, seed: int = 0
) -> Dict:
    """Write ``images/<name>.png`` (4-channel R,G,B,thermal-in-alpha), ``labels/<name>.png`` (0..8)
    and ``train.txt``/``val.txt``/``test.txt``/``test_day.txt``/``test_night.txt`` (names like
    ``00001D``)."""
    directory = str(directory)
    rng = _rng(seed)
    names = [f'{i + 1:05d}{"D" if i % 2 == 0 else "N"}' for i in range(n_train + n_val + n_test)]
    truth = {}
    for nm in names:
        rgb = _rgb(rng, hw)
        thermal = rng.integers(8, 244, hw).astype(np.uint8)
        label = _label(rng, hw, list(range(9))).astype(np.uint8)
        bgra = np.dstack([rgb[:, :, ::-1], thermal])
        _imwrite(os.path.join(directory, 'images', nm + '.png'), bgra)
        _imwrite(os.path.join(directory, 'labels', nm + '.png'), label)
        truth[nm] = {'rgb': rgb, 'thermal': thermal, 'label': label}
    splits = {
        'train': names[:n_train],
        'val': names[n_train : n_train + n_val],
        'test': names[n_train + n_val :],
    }
    splits['test_day'] = [s for s in splits['test'] if s.endswith('D')]
    splits['test_night'] = [s for s in splits['test'] if s.endswith('N')]
    for s, v in splits.items():
        with open(os.path.join(directory, f'{s}.txt'), 'w') as f:
            f.write('\n'.join(v) + '\n')
    return {'args': {'root': directory}, 'truth': truth, 'splits': splits}


# ----------------------------------------------------------------------------- PST900 / FMB


def _write_split_folders(directory, dirs, counts, hw, label_values, seed, name_fmt, thermal_3ch):
    directory = str(directory)
    rng = _rng(seed)
    truth, splits, i = {}, {}, 0
    for split, n in counts.items():
        splits[split] = []
        for _ in range(n):
            nm = name_fmt.format(i)
            i += 1
            rgb = _rgb(rng, hw)
            thermal = rng.integers(0, 256, hw).astype(np.uint8)
            label = _label(rng, hw, label_values).astype(np.uint8)
            _imwrite(os.path.join(directory, split, dirs['rgb'], nm + '.png'), rgb[:, :, ::-1])
            _imwrite(
                os.path.join(directory, split, dirs['thermal'], nm + '.png'),
                np.dstack([thermal] * 3) if thermal_3ch else thermal,
            )
            _imwrite(os.path.join(directory, split, dirs['label'], nm + '.png'), label)
            truth[nm] = {'rgb': rgb, 'thermal': thermal, 'label': label}
            splits[split].append(nm)
    return {
        'args': {'root': directory},
        'truth': truth,
        'splits': {k: sorted(v) for k, v in splits.items()},
    }


def write_pst900_raw(
    directory, n_train: int = 3, n_test: int = 2, hw=DEFAULT_HW, seed: int = 0
) -> Dict:
    """Write ``{train,test}/{rgb,thermal,labels}/<name>.png`` (thermal 1-channel, labels 0..4)."""
    from data_prep.pst900 import DIRS

    return _write_split_folders(
        directory,
        DIRS,
        {'train': n_train, 'test': n_test},
        hw,
        list(range(5)),
        seed,
        '31_bag1a_rect_rgb_frame{:010d}',
        thermal_3ch=False,
    )


def write_fmb_raw(
    directory, n_train: int = 3, n_test: int = 2, hw=DEFAULT_HW, seed: int = 0
) -> Dict:
    """Write ``{train,test}/{Visible,Infrared,Label}/<name>.png`` (Infrared saved as 3 identical
    channels, labels 0..14 and a few 255)."""
    from data_prep.fmb import DIRS

    return _write_split_folders(
        directory,
        DIRS,
        {'train': n_train, 'test': n_test},
        hw,
        list(range(15)) + [255],
        seed,
        '{:05d}',
        thermal_3ch=True,
    )


# ----------------------------------------------------------------------------- paired frames


def write_paired_frames_raw(
    directory,
    n: int = 4,
    hw=DEFAULT_HW,
    seed: int = 0,
    rgb_dir: str = 'RGB',
    thermal_dir: str = 'Thermal',
    classes_like: str = 'mfnet',
) -> Dict:
    """Write ``<rgb_dir>/<name>.png`` (uint8 RGB) and ``<thermal_dir>/<name>.png`` (uint8,
    1 channel), no labels, names like MSRS's (``00004D``, ``00008N``): the input of
    ``data_prep/paired_frames.py``."""
    directory = str(directory)
    rng = _rng(seed)
    names = [f'{4 * (i + 1):05d}{"D" if i % 2 == 0 else "N"}' for i in range(n)]
    truth = {}
    for nm in names:
        rgb = _rgb(rng, hw)
        thermal = rng.integers(8, 244, hw).astype(np.uint8)
        _imwrite(os.path.join(directory, rgb_dir, nm + '.png'), rgb[:, :, ::-1])
        _imwrite(os.path.join(directory, thermal_dir, nm + '.png'), thermal)
        truth[nm] = {'rgb': rgb, 'thermal': thermal}
    args = {'src': directory, 'classes_like': classes_like}
    if rgb_dir != 'RGB':
        args['rgb_dir'] = rgb_dir
    if thermal_dir != 'Thermal':
        args['thermal_dir'] = thermal_dir
    return {'args': args, 'truth': truth, 'splits': {'unlabelled': names}}


WRITERS = {
    'nyudv2': write_nyu_raw,
    'sunrgbd': write_sunrgbd_raw,
    'mfnet': write_mfnet_raw,
    'pst900': write_pst900_raw,
    'fmb': write_fmb_raw,
    'paired_frames': write_paired_frames_raw,
}


def convert_fixture(
    dataset: str, raw_dir, out_dir, fixture_kwargs: Optional[Dict] = None, **convert_kwargs
) -> str:
    """Write the tiny raw fixture of ``dataset`` into ``raw_dir`` and convert it into ``out_dir``.

    Args:
        dataset: 'nyudv2', 'sunrgbd', 'mfnet', 'pst900', 'fmb' or 'paired_frames' (an unlabelled
            pool of RGB-T frames).
        fixture_kwargs: options of the fixture writer (e.g. ``{'hw': (64, 64), 'n_train': 4}``).
        convert_kwargs: extra converter options (e.g. ``hha=True``, ``trainval=True``,
            ``force=True``).
    Returns the converted dataset root (``str(out_dir)``).
    """
    import importlib

    fx = WRITERS[dataset](raw_dir, **(fixture_kwargs or {}))
    mod = importlib.import_module(f'data_prep.{dataset}')
    mod.convert(out=str(out_dir), quiet=True, **fx['args'], **convert_kwargs)
    return str(out_dir)
