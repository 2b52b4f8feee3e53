"""The data_prep CLIs: argument wiring, exit codes, error messages naming the file."""

import importlib.util
import json
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(name):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(ROOT, 'data_prep', name + '.py')
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_lidar_cli(tmp_path, las_writer, png_writer, capsys):
    cli = load('lidar')
    rng = np.random.default_rng(0)
    n = 400
    x, y = 500000 + rng.uniform(0, 8, n), 4000000 + rng.uniform(0, 8, n)
    cls = np.where(np.arange(n) % 3 == 0, 2, 1)
    z = np.where(cls == 2, 50.0, 50.0 + rng.uniform(0, 20, n))
    las = las_writer(str(tmp_path / 'pts.las'), x, y, z, cls, epsg=26917)
    img = png_writer(
        str(tmp_path / 'o.png'), np.full((16, 16, 3), 90, np.uint8), 500000.25, 4000007.75, 0.5
    )
    out = str(tmp_path / 'ds')
    rc = cli.main(
        [
            '--points',
            las,
            '--ortho',
            img,
            '--out',
            out,
            '--cell-multiple',
            '4',
            '--tile-size',
            '8',
            '--pai-estimator',
            'all_return',
            '--fhd-bins',
            '2',
            '--min-height',
            '1.5',
            '--no-progress',
        ]
    )
    assert rc == 0
    meta = json.load(open(os.path.join(out, 'meta.json')))
    assert meta['raster_params']['pai_estimator'] == 'all_return'
    assert (
        meta['raster_params']['fhd_bin_width'] == 2.0 and meta['raster_params']['min_height'] == 1.5
    )
    assert meta['cell_multiple'] == 4 and meta['n_tiles'] == 4
    printed = json.loads(capsys.readouterr().out)
    assert printed['n_train'] + printed['n_test'] == 4
    # no ground points -> exit code 2 and a message naming the file
    las2 = las_writer(str(tmp_path / 'veg_only.las'), x, y, z, np.ones(n), epsg=26917)
    rc = cli.main(
        [
            '--points',
            las2,
            '--ortho',
            img,
            '--out',
            str(tmp_path / 'ds2'),
            '--tile-size',
            '8',
            '--no-progress',
        ]
    )
    assert rc == 2 and 'veg_only.las: no ground-classified points' in capsys.readouterr().err
    assert not os.path.exists(str(tmp_path / 'ds2'))  # nothing written on failure


def test_synthetic_cli(tmp_path, capsys):
    cli = load('synthetic_forest')
    out = str(tmp_path / 'syn')
    assert (
        cli.main(
            ['--out', out, '--size', '128', '--tile-size', '64', '--seed', '5', '--no-progress']
        )
        == 0
    )
    meta = json.load(open(os.path.join(out, 'meta.json')))
    assert meta['synthetic_config']['seed'] == 5 and meta['n_tiles'] == 4
    assert (
        cli.main(['--out', out, '--size', '128', '--tile-size', '64', '--no-progress']) == 2
    )  # exists, no --force
