"""Airborne LiDAR -> canopy rasters (CHM, PAI, FHD, vertical profiles) aligned to an orthophoto.

Data side of FSKD (docs/methods/fskd.md; a reconstruction — the authors released no code):
:mod:`.io` readers, :mod:`.crs` units/CRS checks, :mod:`.grid` ortho-aligned grids,
:mod:`.rasterize` DTM/DSM/CHM, :mod:`.structure` PAI/FHD/profiles, :mod:`.tiling` dataset writer,
:mod:`.synthetic` offline synthetic forest, :mod:`.pipeline` the end-to-end function.
"""

from .crs import CRSError, CRSInfo  # noqa: F401
from .grid import Grid  # noqa: F401
from .io import Ortho, OrthoError, PointCloud, PointCloudError, read_ortho, read_points  # noqa: F401
from .rasterize import RasterParams, compute_rasters, lidar_stack  # noqa: F401

__all__ = [
    'CRSError',
    'CRSInfo',
    'Grid',
    'Ortho',
    'OrthoError',
    'PointCloud',
    'PointCloudError',
    'read_ortho',
    'read_points',
    'RasterParams',
    'compute_rasters',
    'lidar_stack',
]
