"""Per-cell forest structure from height-above-ground (HAG) returns: PAI, FHD, vertical profiles.

All functions take flat per-point arrays plus ``cell`` (int64 flat cell index in [0, n_cells)) and
return per-cell arrays of length ``n_cells``; heights are metres above ground.

PAI (plant area index, m^2/m^2) — Beer-Lambert gap fraction for near-nadir airborne scans
(MacArthur & Horn 1969; lidR / Kamoske et al. 2019 conventions, see docs/lidar.md):
    P_gap = exp(-k * PAI)   ->   PAI = -ln(P_gap) / k,
    k = G * Omega (default 0.5: spherical leaves).
Gap-fraction estimators (h0 = ``min_height``; a return "reaches the ground" if HAG < h0):
    first_return:     P = N_first(HAG < h0) / N_first
    all_return:       P = N_all(HAG < h0) / N_all       (= the MacArthur-Horn profile PAI summed
                                                          from h0 upwards, which telescopes to this)
    return_weighted:  P = sum_{HAG<h0} 1/n_returns / sum 1/n_returns
    intensity:        P = sum_{HAG<h0} I / sum I        (Hopkinson & Chasmer 2009)
P is clipped to [1/(N+1), 1] (N = returns used), so PAI saturates at ln(N+1)/k instead of inf.
Cells without returns (for the estimator) are NaN; ground-only cells give PAI = 0.

FHD (foliage height diversity; MacArthur & MacArthur 1961) = Shannon entropy of the vertical
distribution of returns: bins of width ``bin_width`` from ``min_height`` upwards,
p_i = share of returns with HAG >= min_height that fall in bin i, FHD = -sum p_i log_b p_i (empty
bins skipped). ``normalise=True`` divides by log_b(n_bins) with n_bins = bins from min_height up to
the cell's highest return (lidR ``entropy`` convention, range [0, 1]). Cells with returns but none
above ``min_height`` get FHD = 0 (one-layer / bare ground); cells without returns are NaN.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

PAI_ESTIMATORS = ('first_return', 'all_return', 'return_weighted', 'intensity')


def _bincount(cell, n_cells, weights=None):
    return np.bincount(cell, weights=weights, minlength=n_cells).astype(np.float64)


def gap_fraction(
    cell: np.ndarray,
    hag: np.ndarray,
    n_cells: int,
    estimator: str = 'first_return',
    min_height: float = 2.0,
    return_number: Optional[np.ndarray] = None,
    number_of_returns: Optional[np.ndarray] = None,
    intensity: Optional[np.ndarray] = None,
):
    """Return (P_gap, n_used) per cell; P_gap is NaN where no return was usable.

    Shapes: per-point arrays (N,), outputs (n_cells,). P_gap is NOT clipped here.
    """
    if estimator not in PAI_ESTIMATORS:
        raise ValueError(f'unknown PAI estimator {estimator!r}; choose one of {PAI_ESTIMATORS}')
    below = hag < min_height
    if estimator == 'first_return':
        if return_number is None:
            raise ValueError('first_return estimator needs return numbers')
        first = return_number == 1
        tot = _bincount(cell[first], n_cells)
        gnd = _bincount(cell[first & below], n_cells)
        used = tot
    elif estimator == 'all_return':
        tot = _bincount(cell, n_cells)
        gnd = _bincount(cell[below], n_cells)
        used = tot
    elif estimator == 'return_weighted':
        if number_of_returns is None:
            raise ValueError('return_weighted estimator needs number_of_returns')
        w = 1.0 / np.maximum(number_of_returns.astype(np.float64), 1.0)
        tot = _bincount(cell, n_cells, w)
        gnd = _bincount(cell[below], n_cells, w[below])
        used = _bincount(cell, n_cells)
    else:  # intensity
        if intensity is None:
            raise ValueError('intensity estimator needs point intensities (the file has none)')
        w = intensity.astype(np.float64)
        tot = _bincount(cell, n_cells, w)
        gnd = _bincount(cell[below], n_cells, w[below])
        used = _bincount(cell, n_cells)
    with np.errstate(invalid='ignore', divide='ignore'):
        p = np.where(tot > 0, gnd / np.where(tot > 0, tot, 1.0), np.nan)
    return p, used


def pai_from_gap(p_gap: np.ndarray, n_used: np.ndarray, k: float = 0.5) -> np.ndarray:
    """PAI = -ln(clip(P, 1/(N+1), 1)) / k; NaN where P is NaN."""
    if k <= 0:
        raise ValueError(f'extinction coefficient k must be > 0, got {k}')
    eps = 1.0 / (n_used + 1.0)
    with np.errstate(invalid='ignore'):
        pc = np.clip(p_gap, eps, 1.0)
        pai = -np.log(pc) / k
    pai[np.isnan(p_gap)] = np.nan
    return pai + 0.0  # turn -0.0 into 0.0


def plant_area_index(
    cell,
    hag,
    n_cells,
    estimator='first_return',
    min_height=2.0,
    k=0.5,
    return_number=None,
    number_of_returns=None,
    intensity=None,
) -> np.ndarray:
    """PAI per cell (m^2/m^2), see module docstring."""
    p, used = gap_fraction(
        cell, hag, n_cells, estimator, min_height, return_number, number_of_returns, intensity
    )
    return pai_from_gap(p, used, k)


def foliage_height_diversity(
    cell: np.ndarray,
    hag: np.ndarray,
    n_cells: int,
    min_height: float = 2.0,
    bin_width: float = 1.0,
    log_base: float = math.e,
    normalise: bool = False,
) -> np.ndarray:
    """FHD per cell (Shannon entropy of the return height distribution above ``min_height``)."""
    if bin_width <= 0:
        raise ValueError(f'FHD bin width must be > 0, got {bin_width}')
    has_pts = _bincount(cell, n_cells) > 0
    above = hag >= min_height
    fhd = np.where(has_pts, 0.0, np.nan)
    if not above.any():
        return fhd
    c = cell[above]
    b = np.floor((hag[above] - min_height) / bin_width).astype(np.int64)
    n_bins = int(b.max()) + 1
    counts = (
        np.bincount(c * n_bins + b, minlength=n_cells * n_bins)
        .reshape(n_cells, n_bins)
        .astype(np.float64)
    )
    tot = counts.sum(1, keepdims=True)
    with np.errstate(invalid='ignore', divide='ignore'):
        p = counts / np.where(tot > 0, tot, 1.0)
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    ent = -terms.sum(1) / math.log(log_base)
    sel = tot[:, 0] > 0
    fhd[sel] = ent[sel]
    if normalise:
        top = np.full(n_cells, -1, np.int64)
        np.maximum.at(top, c, b)
        nb = top + 1
        with np.errstate(invalid='ignore', divide='ignore'):
            norm = np.where(nb > 1, np.log(np.maximum(nb, 1)) / math.log(log_base), np.nan)
            fhd = np.where(sel, np.where(nb > 1, fhd / norm, 0.0), fhd)
    return fhd + 0.0


def vertical_profile(
    cell: np.ndarray,
    hag: np.ndarray,
    n_cells: int,
    bin_width: float = 2.0,
    max_height: float = 40.0,
) -> np.ndarray:
    """Share of each cell's returns per HAG bin, (n_cells, n_bins) float32.

    Bins: [0, w), [w, 2w), ..., the last bin also takes every return >= max_height; returns with
    HAG < 0 go into the first bin. Rows sum to 1 for cells with returns, 0 for empty cells.
    """
    n_bins = int(math.ceil(max_height / bin_width))
    b = np.clip(np.floor(hag / bin_width).astype(np.int64), 0, n_bins - 1)
    counts = np.bincount(cell * n_bins + b, minlength=n_cells * n_bins).reshape(n_cells, n_bins)
    tot = counts.sum(1, keepdims=True)
    return (counts / np.maximum(tot, 1)).astype(np.float32)


def profile_bin_names(bin_width: float, max_height: float) -> list:
    n_bins = int(math.ceil(max_height / bin_width))
    names = []
    for i in range(n_bins):
        lo, hi = i * bin_width, (i + 1) * bin_width
        names.append(f'profile_{lo:g}_{hi:g}m' if i < n_bins - 1 else f'profile_{lo:g}m_up')
    return names
