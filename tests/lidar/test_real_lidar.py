"""Real data: PDAL/laspy Autzen LAZ + co-registered orthophoto, lidR forest plots
(../shared/data/real)."""

import json
import math
import os

import numpy as np
import pytest

from crossmodal.datasets.lidar import Grid, RasterParams, compute_rasters, read_ortho, read_points
from crossmodal.datasets.lidar.crs import check_compatible
from crossmodal.datasets.lidar.pipeline import prepare_lidar_dataset


_AUTZEN = {}


@pytest.fixture
def autzen(shared_real):
    """(root, PointCloud, Ortho) for Autzen, read once per session (skips without ../shared)."""
    root = os.path.join(shared_real, 'lidar')
    if root in _AUTZEN:
        return _AUTZEN[root]
    pc = read_points(os.path.join(root, 'laspy', 'autzen_trim.laz'))
    orth = read_ortho(os.path.join(root, 'pdal_autzen', 'autzen.jpg'))
    _AUTZEN[root] = (root, pc, orth)
    return _AUTZEN[root]


def _colour_corr(pc, orth, dx, dy, n=20000):
    sel = np.random.default_rng(0).choice(len(pc), n, replace=False)
    r, c, inside = orth.grid.cell_of(pc.x[sel] + dx, pc.y[sel] + dy)
    a = pc.rgb8[sel][inside].astype(float).ravel()
    b = orth.image[r[inside], c[inside]].astype(float).ravel()
    return np.corrcoef(a, b)[0, 1]


def test_autzen_units_crs_and_alignment(autzen):
    _root, pc, orth = autzen
    # Autzen is NAD83(HARN) Oregon Lambert in INTERNATIONAL feet
    # (WKT UNIT["foot",0.3048], GeoKey 9002)
    assert pc.crs.unit_m == pytest.approx(0.3048) and pc.z_to_m == pytest.approx(0.3048)
    assert orth.crs.unit_m == pytest.approx(0.3048)
    check_compatible(pc.crs, orth.crs)
    assert pc.rgb_bits == 8  # LAS RGB stored 8-bit (max 236)
    # world file: C, F = centre of the UL pixel -> outer corner half a pixel up-left
    assert orth.grid.x0 == pytest.approx(635615.9278659122 - 0.5)
    assert orth.grid.y0 == pytest.approx(853362.1430851521 + 0.5)
    # point colours were sampled from this ortho: correlation ~0.997 at zero offset, lower when
    # shifted
    c0 = _colour_corr(pc, orth, 0.0, 0.0)
    c5 = _colour_corr(pc, orth, 5.0, 0.0)
    assert c0 > 0.99
    assert c5 < c0 - 0.03
    assert _colour_corr(pc, orth, 0.0, 5.0) < c0 - 0.03


def test_autzen_end_to_end(autzen, tmp_path):
    root, pc, orth = autzen
    out = str(tmp_path / 'autzen')
    meta = prepare_lidar_dataset(
        os.path.join(root, 'laspy', 'autzen_trim.laz'),
        out,
        ortho=os.path.join(root, 'pdal_autzen', 'autzen.jpg'),
        cell_multiple=10,
        tile_size=250,
        min_valid_fraction=0.3,
        progress=False,
    )
    with open(os.path.join(out, 'meta.json')) as fh:
        disk = json.load(fh)
    assert disk['units']['horizontal'] == 'foot' and disk['grid']['metric_cell_m'][
        0
    ] == pytest.approx(3.048)
    assert (
        disk['raster_params']['pai_estimator'] == 'first_return'
        and disk['raster_params']['min_height'] == 2.0
    )
    stems = (
        open(os.path.join(out, 'train.txt')).read().split()
        + open(os.path.join(out, 'test.txt')).read().split()
    )
    assert len(stems) == meta['n_tiles'] >= 2 and meta['n_test'] >= 1
    # RGB tile = the orthophoto crop named by the stem (global pixel indices)
    import cv2

    stem = stems[0]
    r0, c0 = int(stem.split('_r')[1][:6]), int(stem.split('_c')[-1])
    tile = cv2.imread(os.path.join(out, 'RGB', stem + '.png'))[:, :, ::-1]
    np.testing.assert_array_equal(tile, orth.image[r0 : r0 + 250, c0 : c0 + 250])
    lid = np.load(os.path.join(out, 'LiDAR', stem + '.npy'))
    assert (
        lid.shape == (250, 250, disk['modalities']['lidar']['channels']) and lid.dtype == np.float32
    )
    assert np.isfinite(lid).all()
    chm, pai, fhd = (np.load(os.path.join(out, k, stem + '.npy')) for k in ('CHM', 'PAI', 'FHD'))
    assert chm.shape == (250, 250) and chm.dtype == np.float32
    # sanity ranges (metres after the foot conversion): Autzen has ~30 m conifers around the stadium
    s = meta['summary']
    assert 20.0 < s['chm']['max'] < 45.0 and s['chm']['median'] < 2.0 and s['chm']['min'] >= 0.0
    assert 0.0 <= s['pai']['min'] and s['pai']['max'] < 12.0
    assert 0.0 <= s['fhd']['min'] and s['fhd']['max'] < math.log(40)
    # the CHM channel of the LiDAR input equals the CHM target where valid
    v = np.isfinite(chm)
    np.testing.assert_allclose(lid[..., 0][v], chm[v])


@pytest.mark.parametrize(
    'name,chm_max,chm_median,fhd_median',
    [
        # height-normalised plot (z 0-30 m): data.md quotes CHM max 30.0, median 20.7, FHD median
        # 2.25 (5 m cells)
        ('Megaplot', (29.0, 30.5), (18.0, 23.0), (1.8, 2.6)),
        # non-normalised tile (z 789-830 m): CHM comes from DSM - DTM
        ('Topography', (15.0, 30.0), (3.0, 15.0), (1.0, 2.2)),
    ],
)
def test_lidr_forest_plots(shared_real, name, chm_max, chm_median, fhd_median):
    pc = read_points(os.path.join(shared_real, 'lidar', 'lidr', name + '.laz'))
    assert pc.crs.unit_m == 1.0
    g = Grid.from_extent(pc.x.min(), pc.y.min(), pc.x.max(), pc.y.max(), 5.0)
    r = compute_rasters(pc, g, RasterParams())
    chm, pai, fhd = r['chm'], r['pai'], r['fhd']
    assert chm_max[0] < np.nanmax(chm) < chm_max[1]
    assert chm_median[0] < np.nanmedian(chm) < chm_median[1]
    assert fhd_median[0] < np.nanmedian(fhd) < fhd_median[1]
    # PAI: non-negative and bounded by the clipping saturation ln(N+1)/k
    bound = np.log(r['n_points'] + 1.0) / 0.5
    v = np.isfinite(pai)
    assert (
        (pai[v] >= 0).all() and (pai[v] <= bound[v] + 1e-5).all() and 1.0 < np.nanmedian(pai) < 8.0
    )
