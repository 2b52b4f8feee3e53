#!/usr/bin/env python
"""Airborne LiDAR (+ orthophoto) -> aligned CHM / PAI / FHD training tiles (FSKD data side).

Example (real Autzen sample, 1 ft ortho pixels, 5 ft metric cells):
    python data_prep/lidar.py --points ../shared/data/real/lidar/laspy/autzen_trim.laz \
        --ortho ../shared/data/real/lidar/pdal_autzen/autzen.jpg --out data/autzen \
        --cell-multiple 5 --tile-size 250

The target definitions (docs/methods/fskd.md (b)) are a reconstruction of FSKD (no code released).
See crossmodal/datasets/lidar/ for the formulas; every parameter is written to meta.json.
"""

import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from crossmodal.datasets.lidar.pipeline import prepare_lidar_dataset  # noqa: E402
from crossmodal.datasets.lidar.rasterize import RasterParams  # noqa: E402
from crossmodal.datasets.lidar.structure import PAI_ESTIMATORS  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        '--points', required=True, help='LAS/LAZ/COPC (laspy) or PLY/PCD (open3d) point cloud'
    )
    p.add_argument(
        '--ortho',
        help='orthophoto: GeoTIFF, or JPEG/PNG with a world file (.wld/.jgw/.pgw) '
        'and optional .wkt/.prj CRS; omit only for a LiDAR-only dataset (then --cell-size)',
    )
    p.add_argument('--out', required=True, help='output dataset root')
    p.add_argument(
        '--cell-multiple', type=int, default=1, help='metric cell = N x N ortho pixels (default 1)'
    )
    p.add_argument(
        '--cell-size', type=float, help='metric cell size in CRS units when there is no --ortho'
    )
    p.add_argument(
        '--tile-size', type=int, default=256, help='tile edge in ortho pixels (cells without ortho)'
    )
    p.add_argument(
        '--store-resolution',
        choices=('ortho', 'metric'),
        default='ortho',
        help='store LiDAR/targets at ortho resolution (nearest upsampling) or on the metric grid',
    )
    p.add_argument('--pai-estimator', choices=PAI_ESTIMATORS, default='first_return')
    p.add_argument(
        '--pai-k', type=float, default=0.5, help='Beer-Lambert extinction k = G*Omega (default 0.5)'
    )
    p.add_argument(
        '--fhd-bins', type=float, default=1.0, help='FHD bin width in metres (default 1)'
    )
    p.add_argument(
        '--fhd-log-base', type=float, default=math.e, help='entropy log base (default e = nats)'
    )
    p.add_argument(
        '--fhd-normalise', action='store_true', help='divide FHD by log(n_bins) (lidR convention)'
    )
    p.add_argument(
        '--min-height', type=float, default=2.0, help='ground/vegetation HAG threshold in metres'
    )
    p.add_argument('--profile-bins', type=float, default=2.0, help='vertical-profile bin width (m)')
    p.add_argument(
        '--profile-max-height', type=float, default=40.0, help='top of the vertical profile (m)'
    )
    p.add_argument(
        '--dtm-fallback',
        choices=('error', 'lowest', 'zero'),
        default='error',
        help='without ground-classified points: error (default), lowest return per cell, '
        'or zero (file is already height-normalised)',
    )
    p.add_argument(
        '--units',
        choices=('m', 'ft', 'us-ft'),
        help='horizontal unit when the point file states none',
    )
    p.add_argument('--z-units', choices=('m', 'ft', 'us-ft'), help='vertical unit override')
    p.add_argument(
        '--min-valid-fraction',
        type=float,
        default=0.5,
        help='skip tiles with fewer valid CHM cells',
    )
    p.add_argument(
        '--test-fraction', type=float, default=0.2, help='share of tile columns used as test split'
    )
    p.add_argument('--name', help='stem prefix (default: point file name)')
    p.add_argument('--force', action='store_true', help='replace an existing dataset in --out')
    p.add_argument('--no-progress', action='store_true')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    params = RasterParams(
        min_height=a.min_height,
        pai_estimator=a.pai_estimator,
        pai_k=a.pai_k,
        fhd_bin_width=a.fhd_bins,
        fhd_log_base=a.fhd_log_base,
        fhd_normalise=a.fhd_normalise,
        profile_bin_width=a.profile_bins,
        profile_max_height=a.profile_max_height,
        dtm_fallback=a.dtm_fallback,
    )
    try:
        meta = prepare_lidar_dataset(
            a.points,
            a.out,
            ortho=a.ortho,
            cell_multiple=a.cell_multiple,
            cell_size=a.cell_size,
            tile_size=a.tile_size,
            params=params,
            units=a.units,
            z_units=a.z_units,
            name=a.name,
            min_valid_fraction=a.min_valid_fraction,
            test_fraction=a.test_fraction,
            store_resolution=a.store_resolution,
            force=a.force,
            progress=not a.no_progress,
        )
    except (ValueError, FileExistsError, OSError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                'out': a.out,
                'n_train': meta['n_train'],
                'n_test': meta['n_test'],
                'summary': meta['summary'],
            },
            indent=2,
        )
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
