#!/usr/bin/env python
"""Write a small synthetic forest dataset (RGBI + LiDAR metrics + CHM/PAI/FHD) in the crossmodal
layout.

    python data_prep/synthetic_forest.py --out data/synthetic_forest [--seed 0] [--size 512] \
        [--tile-size 64]

Deterministic for a seed; runs offline (no files read). Scene model:
crossmodal/datasets/lidar/synthetic.py.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from crossmodal.datasets.lidar.synthetic import SyntheticForestConfig, write_synthetic_forest  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument('--out', required=True)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument(
        '--size', type=int, default=512, help='scene edge in pixels (tiles = (size/tile)^2)'
    )
    p.add_argument('--gsd', type=float, default=0.5, help='image pixel size in metres')
    p.add_argument('--tile-size', type=int, default=64)
    p.add_argument('--cell-multiple', type=int, default=2, help='metric cell = N x N image pixels')
    p.add_argument('--pulse-density', type=float, default=8.0, help='LiDAR pulses per m^2')
    p.add_argument('--trees-per-ha', type=float, default=250.0)
    p.add_argument('--force', action='store_true')
    p.add_argument('--no-progress', action='store_true')
    a = p.parse_args(argv)
    if a.size % a.tile_size:
        p.error(f'--size {a.size} must be a multiple of --tile-size {a.tile_size}')
    cfg = SyntheticForestConfig(
        seed=a.seed,
        size_px=a.size,
        gsd=a.gsd,
        pulse_density=a.pulse_density,
        trees_per_ha=a.trees_per_ha,
    )
    try:
        meta = write_synthetic_forest(
            a.out,
            cfg,
            tile_size=a.tile_size,
            cell_multiple=a.cell_multiple,
            force=a.force,
            progress=not a.no_progress,
        )
    except (ValueError, FileExistsError) as exc:
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
