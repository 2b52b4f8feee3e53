"""NYU Depth v2 (labeled subset, 1449 frames) -> crossmodal layout (RGB + Depth [+ HHA], 40
classes).

Input as distributed: ``nyu_depth_v2_labeled.mat`` (MATLAB v7.3 = HDF5, read with h5py) and the
official ``splits.mat`` (``trainNdxs`` 795, ``testNdxs`` 654; 1-based frame indices). h5py sees
MATLAB's column-major arrays with reversed axes: ``images`` (N, 3, W, H),
``depths``/``rawDepths``/``labels`` (N, W, H); frame k is transposed back to (H, W[, 3]) here.

Output (``<out>``): ``RGB/<i>.jpg``, ``Depth/<i>.png`` (uint16 millimetres, from the filled
``depths`` by default), ``HHA/<i>.png`` with ``--hha`` (see data_prep/hha.py), ``Label/<i>.png``
(uint8, 0 = void, 1..40 = NYU-40 classes of Gupta et al. 2013, i.e. ``label_offset`` -1),
``train.txt``/``test.txt`` (stems ``i`` = 0-based frame index, as SA-Gate/CMX: frame k (1-based) ->
``k-1``) and meta.json.

Usage::

    python data_prep/nyudv2.py --mat nyu_depth_v2_labeled.mat --splits splits.mat \
        --out data/nyudv2 [--hha]
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
    progress,  # noqa: E402
    run_converter,
    voc_palette,
)
from data_prep.nyu40 import MAP_894_TO_40, NYU40_CLASSES  # noqa: E402

# default --out; equals data_root in configs/_base_/datasets/ (tests/data_prep/test_data_roots.py)
DEFAULT_OUT = 'data/nyudv2'

NUM_FRAMES = 1449


def load_splits(path: str):
    """(train, test) 1-based frame indices from splits.mat (v5 via scipy, or v7.3 via h5py)."""
    if not os.path.isfile(path):
        raise PrepError(f'{path}: splits file not found')
    try:
        import scipy.io

        m = scipy.io.loadmat(path)
        train, test = m.get('trainNdxs'), m.get('testNdxs')
    except NotImplementedError:  # v7.3
        import h5py

        with h5py.File(path, 'r') as f:
            train = f['trainNdxs'][()] if 'trainNdxs' in f else None
            test = f['testNdxs'][()] if 'testNdxs' in f else None
    if train is None or test is None:
        raise PrepError(f'{path}: needs variables trainNdxs and testNdxs')
    train = [int(v) for v in np.asarray(train).ravel()]
    test = [int(v) for v in np.asarray(test).ravel()]
    if set(train) & set(test):
        raise PrepError(f'{path}: trainNdxs and testNdxs overlap')
    if min(train + test) < 1:
        raise PrepError(f'{path}: indices must be 1-based (found {min(train + test)})')
    return train, test


def load_class_map(path: str = None) -> np.ndarray:
    """Lookup table stored-894 -> stored-40 (index 0 -> 0), from the embedded table or
    classMapping40.mat."""
    if path:
        import scipy.io

        if not os.path.isfile(path):
            raise PrepError(f'{path}: class mapping file not found')
        mp = np.asarray(scipy.io.loadmat(path)['mapClass']).ravel()
    else:
        mp = np.asarray(MAP_894_TO_40)
    if mp.size != 894 or mp.min() < 1 or mp.max() > 40:
        raise PrepError(f'{path or "embedded table"}: mapClass must hold 894 values in 1..40')
    return np.concatenate([[0], mp]).astype(np.uint8)


class NYULabeledMat:
    """Lazy reader of nyu_depth_v2_labeled.mat (h5py); frames come out as (H, W[, 3]) arrays."""

    REQUIRED = ('images', 'depths', 'labels')

    def __init__(self, path: str):
        import h5py

        if not os.path.isfile(path):
            raise PrepError(f'{path}: file not found')
        try:
            self.f = h5py.File(path, 'r')
        except OSError as e:
            raise PrepError(f'{path}: not a MATLAB v7.3 (HDF5) file: {e}') from e
        self.path = path
        missing = [k for k in self.REQUIRED if k not in self.f]
        if missing:
            raise PrepError(f'{path}: lacks variable(s) {missing}')
        n, c = self.f['images'].shape[:2]
        if c != 3 or self.f['depths'].shape[0] != n or self.f['labels'].shape[0] != n:
            raise PrepError(
                f'{path}: unexpected shapes images {self.f["images"].shape}, depths '
                f'{self.f["depths"].shape}, labels {self.f["labels"].shape} (expected h5py order '
                f'(N, 3, W, H) and (N, W, H))'
            )
        if 'names' in self.f and self.f['names'].size != 894:
            raise PrepError(f'{path}: "names" has {self.f["names"].size} entries, expected 894')
        self.n = n

    def rgb(self, i: int) -> np.ndarray:
        return np.ascontiguousarray(self.f['images'][i].transpose(2, 1, 0))

    def depth(self, i: int, raw: bool = False) -> np.ndarray:
        key = 'rawDepths' if raw else 'depths'
        if key not in self.f:
            raise PrepError(f'{self.path}: lacks variable {key}')
        return np.ascontiguousarray(self.f[key][i].T).astype(np.float64)

    def label(self, i: int) -> np.ndarray:
        return np.ascontiguousarray(self.f['labels'][i].T)

    def close(self):
        self.f.close()


def metres_to_mm(depth_m: np.ndarray, where: str) -> np.ndarray:
    """float metres -> uint16 mm (rounded; NaN/negative -> 0); raises if beyond the uint16 range."""
    d = np.nan_to_num(np.asarray(depth_m, np.float64), nan=0.0)
    d = np.where(d > 0, d, 0.0)
    mm = np.round(d * 1000.0)
    if mm.max(initial=0) > 65535:
        raise PrepError(f'{where}: depth {mm.max() / 1000:.1f} m does not fit uint16 millimetres')
    return mm.astype(np.uint16)


def convert(
    mat: str,
    splits: str,
    out: str,
    *,
    hha: bool = False,
    hha_raw_mask: bool = False,
    depth_source: str = 'filled',
    class_map: str = None,
    rgb_ext: str = '.jpg',
    force: bool = False,
    quiet: bool = False,
) -> str:
    """Convert NYU Depth v2; returns ``out``. See the module docstring."""
    if depth_source not in ('filled', 'raw'):
        raise ValueError(f'depth_source must be "filled" or "raw", got {depth_source!r}')
    train, test = load_splits(splits)
    lut = load_class_map(class_map)
    reader = NYULabeledMat(mat)
    try:
        bad = [k for k in train + test if k > reader.n]
        if bad:
            raise PrepError(f'{splits}: index {bad[0]} exceeds the {reader.n} frames of {mat}')
        mods = {
            'rgb': {'folder': 'RGB', 'ext': rgb_ext, 'dtype': 'uint8', 'channels': 3},
            'depth': {
                'folder': 'Depth',
                'ext': '.png',
                'dtype': 'uint16',
                'channels': 1,
                'unit': 'mm',
                'scale': 0.001,
                'source': 'depths (in-painted)'
                if depth_source == 'filled'
                else 'rawDepths (0 = missing)',
            },
        }
        if hha:
            mods['hha'] = {
                'folder': 'HHA',
                'ext': '.png',
                'dtype': 'uint8',
                'channels': 3,
                'encoding': 'HHA (Gupta et al. ECCV 2014): disparity, height cm, angle+38 deg; '
                'NYU colour camera; data_prep/hha.py',
                'missing_mask': 'rawDepths == 0' if hha_raw_mask else 'none (MATLAB reference)',
            }
        options = dict(
            hha=hha,
            hha_raw_mask=hha_raw_mask,
            depth_source=depth_source,
            class_map=bool(class_map),
            rgb_ext=rgb_ext,
        )
        writer = DatasetWriter(
            out, converter='nyudv2', options=options, modalities=mods, force=force
        )
        frames = sorted(train + test)
        for k in progress(frames, 'NYUDv2', quiet=quiet):
            stem = str(k - 1)
            if writer.is_done(stem):
                continue
            i = k - 1
            where = f'{mat} frame {k} (1-based)'
            label894 = reader.label(i)
            if label894.max(initial=0) > 894:
                raise PrepError(f'{where}: label value {int(label894.max())} outside 0..894')
            depth_m = reader.depth(i, raw=depth_source == 'raw')
            arrays = {'rgb': reader.rgb(i), 'depth': metres_to_mm(depth_m, where)}
            if hha:
                from data_prep.hha import depth_to_hha

                filled = depth_m if depth_source == 'filled' else reader.depth(i)
                raw = reader.depth(i, raw=True) if hha_raw_mask else None
                arrays['hha'] = depth_to_hha(filled, raw)
            writer.write(stem, label=lut[label894], source=where, **arrays)
        writer.finalize(
            name='NYUDepthv2',
            classes=NYU40_CLASSES,
            palette=voc_palette(41)[1:],
            label_offset=-1,
            splits={'train': [str(k - 1) for k in train], 'test': [str(k - 1) for k in test]},
            split_source=f'official splits.mat ({os.path.basename(splits)}; 1-based '
            f'trainNdxs/testNdxs, stem = index - 1)',
            extra={
                'source': os.path.basename(mat),
                'label_encoding': 'stored 0 = unlabeled (void), 1..40 = NYU-40 (894 -> 40 map of '
                'Gupta et al. 2013, classMapping40.mat)',
                'palette_source': (
                    'PASCAL-VOC bit-interleaved colour map indexed by stored label (CMX/DFormer)'
                ),
            },
        )
    finally:
        reader.close()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=' '.join(__doc__.split('\n\n')[0].split('\n')))
    p.add_argument('--mat', required=True, help='nyu_depth_v2_labeled.mat (v7.3)')
    p.add_argument(
        '--splits', required=True, help='official splits.mat (trainNdxs/testNdxs, 1-based)'
    )
    p.add_argument(
        '--hha', action='store_true', help='also write HHA/<i>.png (slower, ~0.5 s/frame)'
    )
    p.add_argument(
        '--hha-raw-mask',
        action='store_true',
        help="HHA: leave raw-depth holes out of the normal fits (paper variant; default "
        "reproduces the MATLAB reference HHA)",
    )
    p.add_argument(
        '--depth-source',
        choices=('filled', 'raw'),
        default='filled',
        help='depths (in-painted, default) or rawDepths (0 = missing)',
    )
    p.add_argument(
        '--class-map', help='classMapping40.mat to use instead of the embedded 894->40 table'
    )
    p.add_argument('--rgb-ext', default='.jpg', choices=('.jpg', '.png'))
    add_common_args(p, default_out=DEFAULT_OUT)
    a = p.parse_args(argv)
    return run_converter(
        convert,
        a.mat,
        a.splits,
        out=a.out,
        hha=a.hha,
        hha_raw_mask=a.hha_raw_mask,
        depth_source=a.depth_source,
        class_map=a.class_map,
        rgb_ext=a.rgb_ext,
        force=a.force,
        quiet=a.quiet,
    )


if __name__ == '__main__':
    sys.exit(main())
