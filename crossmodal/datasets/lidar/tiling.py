"""Cut aligned orthophoto / LiDAR rasters into patches and write the crossmodal dataset layout.

Layout (docs/design.md §3)::

    <out>/RGB/<stem>.png      uint8 (or uint16) RGB, or 4-channel R,G,B,NIR stored as PNG RGBA
    <out>/LiDAR/<stem>.npy    float32 (H, W, C): planar metrics + vertical-profile shares (NaN -> 0)
    <out>/CHM|PAI|FHD/<stem>.npy  float32 (H, W) regression targets, NaN = no data
    <out>/DTM|DSM/<stem>.npy  float32 (H, W) terrain / surface heights in metres (extra rasters)
    <out>/train.txt, test.txt (bare stems), meta.json

Metrics are computed on a grid ``f`` times coarser than the orthophoto (``cell_multiple``); with
``store_resolution='ortho'`` (default) every metric cell is repeated f x f times (nearest) so all
arrays of a sample share the RGB size, with ``'metric'`` they are stored at (H/f, W/f).
The split is spatial (no leakage between neighbouring tiles): the eastmost ``test_fraction`` of tile
columns is the test set (rows when all tiles share one column).
"""

from __future__ import annotations

import math
import os
import shutil
from typing import Optional

import numpy as np

from ..contract import DatasetFiles, write_image

TARGETS = {
    'chm': ('CHM', 'm', 'canopy height above ground (max HAG per cell, clipped at 0)'),
    'pai': ('PAI', 'm2/m2', 'plant area index, Beer-Lambert gap fraction'),
    'fhd': ('FHD', 'entropy', 'foliage height diversity, Shannon entropy of the return profile'),
}
EXTRA_RASTERS = {'dtm': ('DTM', 'm'), 'dsm': ('DSM', 'm')}
OUR_FOLDERS = ('RGB', 'LiDAR', 'CHM', 'PAI', 'FHD', 'DTM', 'DSM')
OUR_FILES = ('train.txt', 'test.txt', 'meta.json')


def check_out_dir(out: str, force: bool) -> list:
    """Return our dataset entries already in ``out``; raise FileExistsError if any and not
    ``force``."""
    if not os.path.isdir(out):
        return []
    ours = [p for p in OUR_FOLDERS + OUR_FILES if os.path.exists(os.path.join(out, p))]
    if ours and not force:
        raise FileExistsError(
            f'{out}: already holds a dataset ({", ".join(ours)}); pass --force to replace it'
        )
    return ours


def prepare_out_dir(out: str, force: bool) -> None:
    """Create ``out``; refuse to overwrite an existing dataset unless ``force`` (then remove only
    our own folders/files, never anything else in ``out``)."""
    if os.path.isdir(out):
        ours = check_out_dir(out, force)
        for p in ours:
            full = os.path.join(out, p)
            shutil.rmtree(full) if os.path.isdir(full) else os.remove(full)
    os.makedirs(out, exist_ok=True)


def write_png(path: str, image: np.ndarray) -> None:
    """Write (H, W, 3) RGB or (H, W, 4) R,G,B,NIR (as PNG RGBA) or (H, W, 1) gray (the contract's
    writer)."""
    write_image(path, image, error=OSError)


def spatial_split(tiles: list, test_fraction: float) -> tuple:
    """tiles: list of (stem, tile_row, tile_col). Return (train_stems, test_stems)."""
    if not tiles:
        return [], []
    cols = sorted({t[2] for t in tiles})
    axis = 2
    if len(cols) == 1:
        cols = sorted({t[1] for t in tiles})
        axis = 1
    n_test = (
        min(len(cols) - 1, max(1, int(math.ceil(test_fraction * len(cols)))))
        if len(cols) > 1
        else 0
    )
    test_keys = set(cols[len(cols) - n_test :]) if n_test else set()
    train = [t[0] for t in tiles if t[axis] not in test_keys]
    test = [t[0] for t in tiles if t[axis] in test_keys]
    return train, test


def write_tiles(
    out: str,
    name: str,
    rgb: Optional[np.ndarray],
    rasters: dict,
    lidar: np.ndarray,
    lidar_names: list,
    factor: int,
    tile_size: int,
    origin_rc: tuple = (0, 0),
    min_valid_fraction: float = 0.5,
    test_fraction: float = 0.2,
    store_resolution: str = 'ortho',
    meta: Optional[dict] = None,
    progress: bool = True,
) -> dict:
    """Tile and write one scene.

    Args:
        out: output root (created by :func:`prepare_out_dir`).
        name: stem prefix.
        rgb: (H*f, W*f, C) orthophoto window aligned with the metric rasters, or None (no RGB
            written).
        rasters: output of ``compute_rasters`` on the (H, W) metric grid.
        lidar: (H, W, C) LiDAR input stack, ``lidar_names`` its channel names.
        factor: cell multiple f (ortho pixels per metric cell).
        tile_size: tile edge in ortho pixels (multiple of f).
        origin_rc: ortho pixel (row, col) of the window's upper-left corner (stems use global
            indices).
        min_valid_fraction: skip tiles whose CHM is finite in fewer cells than this.
    Returns the meta dict written to ``meta.json``.
    """
    from tqdm import tqdm

    if tile_size % factor:
        raise ValueError(f'tile size {tile_size} must be a multiple of the cell multiple {factor}')
    if store_resolution not in ('ortho', 'metric'):
        raise ValueError(f"store_resolution must be 'ortho' or 'metric', got {store_resolution!r}")
    mt = tile_size // factor
    h, w = rasters['chm'].shape
    n_r, n_c = h // mt, w // mt
    modalities = {
        'lidar': {
            'folder': 'LiDAR',
            'ext': '.npy',
            'dtype': 'float32',
            'channels': int(lidar.shape[-1]),
            'channel_names': list(lidar_names),
            'unit': 'mixed (see channel_names)',
            'nodata': 'no returns -> 0 in every channel (density = 0 marks it)',
        },
    }
    if rgb is not None:
        ch = 1 if rgb.ndim == 2 else int(rgb.shape[2])
        modalities['rgb'] = {
            'folder': 'RGB',
            'ext': '.png',
            'dtype': str(rgb.dtype),
            'channels': ch,
            'bands': {1: ['gray'], 3: ['R', 'G', 'B'], 4: ['R', 'G', 'B', 'NIR']}.get(ch),
            'note': 'a 4-band image is stored as PNG RGBA = R,G,B,NIR; read it with '
            'cv2.IMREAD_UNCHANGED (cv2 returns B,G,R,NIR)'
            if ch == 4
            else 'PNG, read with cv2 (BGR) or PIL (RGB)',
        }
    targets = {
        key: {
            'folder': folder,
            'ext': '.npy',
            'unit': unit,
            'dtype': 'float32',
            'nodata': 'NaN',
            'description': desc,
        }
        for key, (folder, unit, desc) in TARGETS.items()
    }
    extra = {
        key: {'folder': folder, 'ext': '.npy', 'unit': unit, 'dtype': 'float32', 'nodata': 'NaN'}
        for key, (folder, unit) in EXTRA_RASTERS.items()
    }
    # the layout is stated once: these specs name the files written and are meta.json's entries
    files = DatasetFiles(out, {**modalities, **targets, **extra}, error=OSError)
    files.make_folders()
    rep = factor if store_resolution == 'ortho' else 1

    def up(a):
        if rep == 1:
            return a
        return np.repeat(np.repeat(a, rep, axis=0), rep, axis=1)

    tiles, skipped = [], 0
    it = [(i, j) for i in range(n_r) for j in range(n_c)]
    for i, j in tqdm(it, desc=f'tiles {name}', disable=not progress):
        sl = (slice(i * mt, (i + 1) * mt), slice(j * mt, (j + 1) * mt))
        chm = rasters['chm'][sl]
        if np.isfinite(chm).mean() < min_valid_fraction:
            skipped += 1
            continue
        r0, c0 = origin_rc[0] + i * tile_size, origin_rc[1] + j * tile_size
        stem = f'{name}_r{r0:06d}_c{c0:06d}'
        if rgb is not None:
            files.write(
                'rgb',
                stem,
                rgb[i * tile_size : (i + 1) * tile_size, j * tile_size : (j + 1) * tile_size],
            )
        files.write('lidar', stem, up(lidar[sl]).astype(np.float32))
        for key in (*TARGETS, *EXTRA_RASTERS):
            files.write(key, stem, up(rasters[key][sl]).astype(np.float32))
        tiles.append((stem, i, j))
    if not tiles:
        raise ValueError(
            f'{name}: no tile has at least {min_valid_fraction:.0%} cells with LiDAR returns '
            f'(grid {h}x{w} cells, tile {mt}x{mt} cells); lower --min-valid-fraction or --tile-size'
        )
    train, test = spatial_split(tiles, test_fraction)
    files.write_splits({'train': train, 'test': test}, pairs=False)
    size = tile_size if store_resolution == 'ortho' else mt
    full = {
        'name': name,
        'task': 'regression',
        'classes': [],
        'palette': [],
        'ignore_index': 255,
        'label_offset': 0,
        'label': None,
        'modalities': {'lidar': modalities['lidar']},
        'targets': targets,
        'rasters': extra,
        'splits': {'train': 'train.txt', 'test': 'test.txt'},
        'split_source': 'spatial: eastmost tile columns are test (rows if a single column)',
        'tile_size': size,
        'tile_size_ortho_px': tile_size,
        'cell_multiple': factor,
        'store_resolution': store_resolution,
        'n_tiles': len(tiles),
        'n_train': len(train),
        'n_test': len(test),
        'n_skipped_tiles': skipped,
        'min_valid_fraction': min_valid_fraction,
        'test_fraction': test_fraction,
    }
    if rgb is not None:
        full['modalities']['rgb'] = modalities['rgb']
    if meta:
        full.update(meta)
    # a LiDAR-only dataset (no orthophoto) has no "rgb" modality, which load_meta requires
    files.write_meta(full, style='plain', validate=rgb is not None)
    return full


def summarise(rasters: dict, keys=('chm', 'pai', 'fhd')) -> dict:
    """min / median / p95 / max and valid fraction of the target rasters (for meta.json and
    logs)."""
    out = {}
    for k in keys:
        v = rasters[k]
        fin = v[np.isfinite(v)]
        if fin.size == 0:
            out[k] = {'valid_fraction': 0.0}
            continue
        out[k] = {
            'min': float(fin.min()),
            'median': float(np.median(fin)),
            'p95': float(np.percentile(fin, 95)),
            'max': float(fin.max()),
            'valid_fraction': float(fin.size / v.size),
        }
    return out
