"""Point cloud -> terrain / canopy rasters on a given grid (DTM, DSM, CHM, PAI, FHD, profiles).

Steps (docs/lidar.md; conventions follow lidR / PyForestScan):
1. Drop noise (ASPRS classes 7 and 18) and points outside the grid.
2. DTM: per-cell minimum z of ground-classified points (class 2), gaps filled by inverse-distance
   weighting of the 8 nearest ground cells (TIN or IDW are the usual choices; docs/lidar.md).
   Without ground points: ``dtm_fallback='error'`` (default) raises, ``'lowest'`` uses the lowest
   return of each cell as ground (biased high under closed canopy), ``'zero'`` takes z as height
   above ground already (height-normalised files such as lidR's Megaplot). The choice is recorded.
3. HAG per point = z - DTM bilinearly interpolated at the point (the point-normalised form of
   lidR ``p2r`` / PyForestScan), DSM = per-cell max z, CHM = per-cell max HAG clipped at 0
   (equal to DSM - DTM on flat ground). Cells without returns are NaN.
4. PAI, FHD, vertical profiles, cover, height percentiles (:mod:`structure`).
All heights are metres (z converted with the file's vertical unit).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from .grid import Grid
from .io import PointCloud, PointCloudError
from .structure import (
    PAI_ESTIMATORS,
    foliage_height_diversity,
    plant_area_index,
    profile_bin_names,
    vertical_profile,
)

NOISE_CLASSES = (7, 18)
GROUND_CLASS = 2


@dataclass
class RasterParams:
    """Parameters of :func:`compute_rasters` (all recorded in meta.json).

    Attributes:
        min_height: m; HAG threshold for ground vs vegetation in PAI, FHD lower bound, cover.
        pai_estimator: one of ``structure.PAI_ESTIMATORS``.
        pai_k: Beer-Lambert extinction coefficient k = G*Omega.
        fhd_bin_width: m; FHD bin width.
        fhd_log_base: logarithm base of the entropy (e = nats).
        fhd_normalise: divide FHD by log(n_bins) (lidR convention).
        profile_bin_width / profile_max_height: m; vertical-profile input channels.
        dtm_fallback: 'error' | 'lowest' | 'zero' (see module docstring).
        dtm_reduce: 'min' | 'mean' per-cell reduction of ground z.
    """

    min_height: float = 2.0
    pai_estimator: str = 'first_return'
    pai_k: float = 0.5
    fhd_bin_width: float = 1.0
    fhd_log_base: float = math.e
    fhd_normalise: bool = False
    profile_bin_width: float = 2.0
    profile_max_height: float = 40.0
    dtm_fallback: str = 'error'
    dtm_reduce: str = 'min'

    def validate(self):
        if self.pai_estimator not in PAI_ESTIMATORS:
            raise ValueError(
                f'unknown PAI estimator {self.pai_estimator!r}; choose one of {PAI_ESTIMATORS}'
            )
        if self.dtm_fallback not in ('error', 'lowest', 'zero'):
            raise ValueError(
                f"dtm_fallback must be 'error', 'lowest' or 'zero', got {self.dtm_fallback!r}"
            )
        if self.dtm_reduce not in ('min', 'mean'):
            raise ValueError(f"dtm_reduce must be 'min' or 'mean', got {self.dtm_reduce!r}")
        if self.fhd_log_base <= 1:
            raise ValueError(f'FHD log base must be > 1, got {self.fhd_log_base}')

    def to_meta(self) -> dict:
        return asdict(self)


def reduce_cells(cell: np.ndarray, values: np.ndarray, n_cells: int, how: str) -> np.ndarray:
    """Per-cell 'min' | 'max' | 'mean' of ``values``; NaN for empty cells. Output (n_cells,)
    float64."""
    if how == 'mean':
        cnt = np.bincount(cell, minlength=n_cells)
        s = np.bincount(cell, weights=values, minlength=n_cells)
        with np.errstate(invalid='ignore', divide='ignore'):
            return np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan)
    fill, op = (np.inf, np.minimum) if how == 'min' else (-np.inf, np.maximum)
    out = np.full(n_cells, fill)
    op.at(out, cell, values)
    out[np.isinf(out)] = np.nan
    return out


def cell_percentile(cell: np.ndarray, values: np.ndarray, n_cells: int, q: float) -> np.ndarray:
    """Per-cell percentile (nearest-rank on the sorted values, q in [0, 100]); NaN for empty
    cells."""
    order = np.lexsort((values, cell))
    c, v = cell[order], values[order]
    cnt = np.bincount(c, minlength=n_cells)
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    out = np.full(n_cells, np.nan)
    has = cnt > 0
    idx = start[has] + np.round(q / 100.0 * (cnt[has] - 1)).astype(np.int64)
    out[has] = v[idx]
    return out


def fill_gaps(raster: np.ndarray, k: int = 8, power: float = 2.0) -> np.ndarray:
    """Fill NaN cells by inverse-distance weighting of the ``k`` nearest valid cells (weights
    1/d^power).

    Only valid cells on the rim of a gap are used as sources (the interior of a gap is interpolated
    from its rim). IDW instead of a Delaunay TIN: scipy's triangulation of lattice points is
    pathologically slow (seconds for a few thousand cells).
    """
    from scipy.ndimage import binary_dilation
    from scipy.spatial import cKDTree

    valid = ~np.isnan(raster)
    if valid.all():
        return raster.copy()
    if not valid.any():
        raise ValueError('fill_gaps: the raster has no valid cell')
    rim = valid & binary_dilation(~valid, structure=np.ones((3, 3), bool))
    pts = np.stack(np.nonzero(rim), 1).astype(np.float64)
    vals = raster[rim]
    q = np.stack(np.nonzero(~valid), 1).astype(np.float64)
    kk = min(k, pts.shape[0])
    d, idx = cKDTree(pts).query(q, k=kk)
    if kk == 1:
        d, idx = d[:, None], idx[:, None]
    w = 1.0 / np.maximum(d, 1e-12) ** power
    out = raster.copy()
    out[~valid] = (w * vals[idx]).sum(1) / w.sum(1)
    return out


def bilinear_at(raster: np.ndarray, grid: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of a gap-free raster (values at cell centres) at points (x, y)."""
    from scipy.ndimage import map_coordinates

    r = (grid.y0 - y) / grid.py - 0.5
    c = (x - grid.x0) / grid.px - 0.5
    return map_coordinates(raster, [r, c], order=1, mode='nearest')


def compute_rasters(
    pc: PointCloud, grid: Grid, params: Optional[RasterParams] = None, progress=None
) -> dict:
    """Rasterise a point cloud on ``grid``.

    Args:
        pc: point cloud (coordinates in the grid's CRS units; z converted with ``pc.z_to_m``).
        grid: metric grid (e.g. the orthophoto grid coarsened by an integer factor).
        params: RasterParams.
        progress: optional callable(str) called after each step (for a progress bar).

    Returns dict with (H, W) float32 rasters 'dtm', 'dsm', 'chm', 'pai', 'fhd', 'cover', 'density',
    'hag_p50', 'hag_p95', optional 'intensity', 'profile' (H, W, B) float32, 'profile_names',
    'n_points' (H, W) int32, and 'notes' (list of str).
    Raises PointCloudError (naming ``pc.path``) when no point lies on the grid or no ground exists
    and ``dtm_fallback='error'``.
    """
    params = params or RasterParams()
    params.validate()
    step = progress or (lambda _msg: None)
    notes = []
    h, w = grid.height, grid.width
    n_cells = h * w
    keep = ~np.isin(pc.classification, NOISE_CLASSES)
    if (~keep).any():
        notes.append(f'dropped {int((~keep).sum())} noise points (classes 7/18)')
    row, col, inside = grid.cell_of(pc.x, pc.y)
    keep &= inside
    if not keep.any():
        xmin, ymin, xmax, ymax = grid.bounds
        raise PointCloudError(
            f'{pc.path}: no point falls on the raster grid (x {xmin:.2f}..{xmax:.2f}, '
            f'y {ymin:.2f}..{ymax:.2f}); '
            f'points span x {pc.x.min():.2f}..{pc.x.max():.2f}, '
            f'y {pc.y.min():.2f}..{pc.y.max():.2f}'
        )
    cell = (row * w + col)[keep]
    x, y = pc.x[keep], pc.y[keep]
    z = pc.z[keep] * pc.z_to_m
    rn = pc.return_number[keep]
    nr = pc.number_of_returns[keep]
    inten = pc.intensity[keep] if pc.intensity is not None else None
    cls = pc.classification[keep]
    step('points binned')

    ground = cls == GROUND_CLASS
    if ground.any():
        dtm = reduce_cells(cell[ground], z[ground], n_cells, params.dtm_reduce).reshape(h, w)
        notes.append(
            f'DTM from {int(ground.sum())} ground points (class 2), per-cell {params.dtm_reduce}'
        )
    elif params.dtm_fallback == 'lowest':
        dtm = reduce_cells(cell, z, n_cells, 'min').reshape(h, w)
        notes.append('no ground-classified points: DTM fallback = lowest return per cell')
    elif params.dtm_fallback == 'zero':
        dtm = np.zeros((h, w))
        notes.append(
            'no ground-classified points: DTM fallback = 0 (z taken as height above ground)'
        )
    else:
        raise PointCloudError(
            f'{pc.path}: no ground-classified points (class 2) on the grid; classify ground first '
            "or choose a DTM fallback ('lowest' or 'zero' for height-normalised files)"
        )
    dtm = fill_gaps(dtm)
    step('DTM')

    hag = z - bilinear_at(dtm, grid, x, y)
    dsm = reduce_cells(cell, z, n_cells, 'max').reshape(h, w)
    chm = np.clip(reduce_cells(cell, hag, n_cells, 'max'), 0.0, None).reshape(h, w)
    n_pts = np.bincount(cell, minlength=n_cells).reshape(h, w)
    empty = n_pts == 0
    step('DSM/CHM')

    pai = plant_area_index(
        cell, hag, n_cells, params.pai_estimator, params.min_height, params.pai_k, rn, nr, inten
    ).reshape(h, w)
    fhd = foliage_height_diversity(
        cell,
        hag,
        n_cells,
        params.min_height,
        params.fhd_bin_width,
        params.fhd_log_base,
        params.fhd_normalise,
    ).reshape(h, w)
    step('PAI/FHD')

    first = rn == 1
    n_first = np.bincount(cell[first], minlength=n_cells)
    n_first_veg = np.bincount(cell[first & (hag >= params.min_height)], minlength=n_cells)
    with np.errstate(invalid='ignore', divide='ignore'):
        cover = np.where(n_first > 0, n_first_veg / np.maximum(n_first, 1), np.nan).reshape(h, w)
    cell_area_m2 = grid.px * grid.py * pc.xy_to_m**2
    density = (n_pts / cell_area_m2).astype(np.float64)
    p50 = cell_percentile(cell, hag, n_cells, 50).reshape(h, w)
    p95 = cell_percentile(cell, hag, n_cells, 95).reshape(h, w)
    profile = vertical_profile(
        cell, hag, n_cells, params.profile_bin_width, params.profile_max_height
    ).reshape(h, w, -1)
    out = {
        'dtm': dtm,
        'dsm': dsm,
        'chm': chm,
        'pai': pai,
        'fhd': fhd,
        'cover': cover,
        'density': density,
        'hag_p50': np.clip(p50, 0, None),
        'hag_p95': np.clip(p95, 0, None),
    }
    if inten is not None:
        scale = float(np.percentile(inten, 99)) or 1.0
        out['intensity'] = reduce_cells(cell, inten / scale, n_cells, 'mean').reshape(h, w)
        notes.append(f'intensity channel = per-cell mean intensity / {scale:g} (99th percentile)')
    for key in ('dsm', 'chm', 'pai', 'fhd', 'cover', 'hag_p50', 'hag_p95'):
        out[key] = np.where(empty, np.nan, out[key])
    out = {k: v.astype(np.float32) for k, v in out.items()}
    out['profile'] = profile
    out['profile_names'] = profile_bin_names(params.profile_bin_width, params.profile_max_height)
    out['n_points'] = n_pts.astype(np.int32)
    out['hag_range_m'] = (float(hag.min()), float(hag.max()))
    out['notes'] = notes
    step('profiles')
    return out


PLANAR_CHANNELS = ('chm', 'hag_p50', 'hag_p95', 'cover', 'density')


def lidar_stack(rasters: dict) -> tuple:
    """Stack LiDAR input channels (H, W, C) float32 with NaN -> 0, and their names.

    Channels: chm, hag_p50, hag_p95 (m), cover (0-1), density (returns/m^2; 0 = no data),
    [intensity], then the vertical profile shares.
    """
    names = list(PLANAR_CHANNELS) + (['intensity'] if 'intensity' in rasters else [])
    planes = [rasters[n] for n in names]
    stack = np.concatenate([np.stack(planes, -1), rasters['profile']], -1).astype(np.float32)
    stack = np.nan_to_num(stack, nan=0.0)
    return stack, names + list(rasters['profile_names'])
