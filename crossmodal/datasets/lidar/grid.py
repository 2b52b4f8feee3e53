"""Raster grids aligned to an orthophoto (north-up, no rotation).

A grid is the GDAL-style geotransform ``(x0, px, 0, y0, 0, -py)``: ``x0, y0`` are the coordinates of
the OUTER upper-left corner of pixel (0, 0), ``px, py`` the pixel sizes (positive, CRS units). A
point (x, y) falls in ``col = floor((x - x0) / px)``, ``row = floor((y0 - y) / py)``.

ESRI world files (.wld/.jgw/.pgw/.tfw) hold six lines A, D, B, E, C, F where (C, F) is the CENTRE of
the upper-left pixel, so ``x0 = C - A/2`` and ``y0 = F - E/2`` (E is negative). A metric grid that
is an integer multiple ``f`` of the ortho grid keeps ``x0, y0`` and uses ``f*px, f*py`` so each
metric cell covers exactly f x f ortho pixels.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    """North-up raster grid. Units are those of the CRS (feet or metres).

    Attributes:
        x0, y0: outer upper-left corner.
        px, py: cell width and height (> 0).
        width, height: number of columns and rows.
    """

    x0: float
    y0: float
    px: float
    py: float
    width: int
    height: int

    def __post_init__(self):
        if not (self.px > 0 and self.py > 0):
            raise ValueError(f'grid cell sizes must be > 0, got px={self.px}, py={self.py}')
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f'grid must be non-empty, got {self.width}x{self.height}')

    @property
    def geotransform(self) -> tuple:
        return (self.x0, self.px, 0.0, self.y0, 0.0, -self.py)

    @property
    def bounds(self) -> tuple:
        """(xmin, ymin, xmax, ymax) of the outer edges."""
        return (self.x0, self.y0 - self.height * self.py, self.x0 + self.width * self.px, self.y0)

    def coarsen(self, factor: int) -> 'Grid':
        """Grid whose cells are ``factor`` x ``factor`` cells of this one (partial edge cells
        dropped)."""
        factor = int(factor)
        if factor < 1:
            raise ValueError(f'cell multiple must be a positive integer, got {factor}')
        w, h = self.width // factor, self.height // factor
        if w == 0 or h == 0:
            raise ValueError(f'grid {self.width}x{self.height} is smaller than one {factor}x cell')
        return Grid(self.x0, self.y0, self.px * factor, self.py * factor, w, h)

    def cell_of(self, x: np.ndarray, y: np.ndarray):
        """Return (row, col, inside) integer arrays for points (x, y)."""
        col = np.floor((np.asarray(x, np.float64) - self.x0) / self.px).astype(np.int64)
        row = np.floor((self.y0 - np.asarray(y, np.float64)) / self.py).astype(np.int64)
        inside = (col >= 0) & (col < self.width) & (row >= 0) & (row < self.height)
        return row, col, inside

    def centres(self):
        """(xc, yc): 1-D arrays of column-centre x and row-centre y coordinates."""
        xc = self.x0 + (np.arange(self.width) + 0.5) * self.px
        yc = self.y0 - (np.arange(self.height) + 0.5) * self.py
        return xc, yc

    def to_meta(self) -> dict:
        return {
            'x0': self.x0,
            'y0': self.y0,
            'px': self.px,
            'py': self.py,
            'width': self.width,
            'height': self.height,
            'origin': 'outer upper-left corner of pixel (0,0)',
            'geotransform': list(self.geotransform),
        }

    @classmethod
    def from_extent(cls, xmin: float, ymin: float, xmax: float, ymax: float, cell: float) -> 'Grid':
        """Grid snapped to multiples of ``cell`` that covers the extent (used without an
        orthophoto)."""
        x0 = math.floor(xmin / cell) * cell
        y0 = math.ceil(ymax / cell) * cell
        if y0 == ymax:
            y0 += cell  # keep the top edge strictly above the highest point
        w = int(math.floor((xmax - x0) / cell)) + 1
        h = int(math.floor((y0 - ymin) / cell)) + 1
        return cls(x0, y0, cell, cell, w, h)


WORLD_FILE_EXTS = {
    '.jpg': ('.jgw', '.jpgw', '.wld'),
    '.jpeg': ('.jgw', '.jpegw', '.wld'),
    '.png': ('.pgw', '.pngw', '.wld'),
    '.tif': ('.tfw', '.tifw', '.wld'),
    '.tiff': ('.tfw', '.tiffw', '.wld'),
}


def find_world_file(image_path: str):
    """Return the path of the world file next to ``image_path`` or None."""
    stem, ext = os.path.splitext(image_path)
    for wext in WORLD_FILE_EXTS.get(ext.lower(), ('.wld',)):
        for cand in (stem + wext, stem + wext.upper()):
            if os.path.isfile(cand):
                return cand
    return None


def read_world_file(path: str, width: int, height: int) -> Grid:
    """Parse an ESRI world file into a Grid for an image of ``width`` x ``height`` pixels."""
    try:
        with open(path) as fh:
            vals = [float(v) for v in fh.read().split()]
    except (OSError, ValueError) as exc:
        raise ValueError(f'{path}: not a readable world file ({exc})') from exc
    if len(vals) != 6:
        raise ValueError(f'{path}: a world file needs 6 numbers, found {len(vals)}')
    a, d, b, e, c, f = vals
    if d != 0 or b != 0:
        raise ValueError(f'{path}: rotated/sheared world files (D={d}, B={b}) are not supported')
    if a <= 0 or e >= 0:
        raise ValueError(f'{path}: expected a north-up image (A > 0, E < 0), got A={a}, E={e}')
    return Grid(c - a / 2.0, f - e / 2.0, a, -e, width, height)
