"""Bad input: each case is a clear error naming the file (or a recorded, stated fallback)."""

import json
import os

import numpy as np
import pytest

from crossmodal.datasets.lidar.crs import CRSError, check_compatible
from crossmodal.datasets.lidar.io import OrthoError, PointCloudError, read_ortho, read_points
from crossmodal.datasets.lidar.pipeline import prepare_lidar_dataset
from crossmodal.datasets.lidar.rasterize import RasterParams, compute_rasters
from crossmodal.datasets.lidar.grid import Grid

FOOT_WKT = (
    'PROJCS["NAD_1983_HARN_Lambert_Conformal_Conic",GEOGCS["GCS_North_American_1983_HARN",'
    'DATUM["NAD83_High_Accuracy_Regional_Network",SPHEROID["GRS_1980",6378137,298.257222101]],'
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic_2SP"],'
    'PARAMETER["standard_parallel_1",43],PARAMETER["standard_parallel_2",45.5],'
    'PARAMETER["latitude_of_origin",41.75],PARAMETER["central_meridian",-120.5],'
    'PARAMETER["false_easting",1312335.958005249],PARAMETER["false_northing",0],UNIT["foot",0.3048]]'
)


def small_scene(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = 500000 + rng.uniform(0, 8, n)
    y = 4000000 + rng.uniform(0, 8, n)
    cls = np.where(np.arange(n) % 2 == 0, 2, 1)
    z = np.where(cls == 2, 100.0, 100.0 + rng.uniform(3, 15, n))
    return x, y, z, cls


def test_empty_point_cloud(tmp_path, las_writer):
    p = las_writer(str(tmp_path / 'empty.las'), [], [], [], epsg=26917)
    with pytest.raises(PointCloudError, match=r'empty\.las.*empty'):
        read_points(p)


def test_tile_without_points(tmp_path, las_writer, png_writer):
    # points at x ~ 500000, orthophoto 1 km away: no point lies in the image
    x, y, z, cls = small_scene()
    p = las_writer(str(tmp_path / 'far.las'), x, y, z, cls, epsg=26917)
    img = png_writer(
        str(tmp_path / 'ortho.png'), np.zeros((16, 16, 3), np.uint8), 501000.25, 4000007.75, 0.5
    )
    with pytest.raises(ValueError, match=r'far\.las: no point lies inside the orthophoto'):
        prepare_lidar_dataset(p, str(tmp_path / 'out'), ortho=img, tile_size=8, progress=False)
    # the rasteriser itself refuses a grid without points
    pc = read_points(p)
    with pytest.raises(PointCloudError, match=r'far\.las: no point falls on the raster grid'):
        compute_rasters(pc, Grid(0.0, 10.0, 1.0, 1.0, 4, 4))


def test_no_ground_points_error_and_stated_fallback(tmp_path, las_writer):
    x, y, z, _ = small_scene()
    p = las_writer(str(tmp_path / 'noground.las'), x, y, z, np.ones_like(x), epsg=26917)
    pc = read_points(p)
    grid = Grid(500000.0, 4000008.0, 2.0, 2.0, 4, 4)
    with pytest.raises(PointCloudError, match=r'noground\.las: no ground-classified points'):
        compute_rasters(pc, grid)
    r = compute_rasters(pc, grid, RasterParams(dtm_fallback='lowest'))
    assert any('DTM fallback = lowest' in n for n in r['notes'])
    assert np.nanmin(r['chm']) == 0.0  # each cell's lowest return is its ground


def test_crs_units_disagree(tmp_path, las_writer, png_writer):
    x, y, z, cls = small_scene()
    p = las_writer(str(tmp_path / 'metres.las'), x, y, z, cls, epsg=26917)  # UTM 17N, metres
    img = png_writer(
        str(tmp_path / 'feet.png'),
        np.zeros((16, 16, 3), np.uint8),
        500000.25,
        4000007.75,
        0.5,
        prj=FOOT_WKT,
    )
    pc, orth = read_points(p), read_ortho(img)
    assert pc.crs.unit_m == 1.0 and orth.crs.unit_m == pytest.approx(0.3048)
    with pytest.raises(CRSError, match=r'metres\.las.*metre.*feet\.png.*foot'):
        check_compatible(pc.crs, orth.crs)
    # same unit but a different CRS (UTM 17N vs UTM 18N) is refused as well
    p18 = las_writer(str(tmp_path / 'utm18.las'), x, y, z, cls, epsg=26918)
    with pytest.raises(CRSError, match=r'CRS disagree: .*metres\.las.*utm18\.las'):
        check_compatible(pc.crs, read_points(p18).crs)
    # and the CLI path fails before writing anything
    with pytest.raises(CRSError):
        prepare_lidar_dataset(p, str(tmp_path / 'out'), ortho=img, tile_size=8, progress=False)
    assert not os.path.exists(tmp_path / 'out')


def test_orthophoto_without_georeference(tmp_path, png_writer):
    img = png_writer(
        str(tmp_path / 'plain.png'), np.zeros((8, 8, 3), np.uint8), 0, 0, 1.0, world=False
    )
    with pytest.raises(OrthoError, match=r'plain\.png: orthophoto has no georeference'):
        read_ortho(img)


def test_las_rgb_8_vs_16_bit(tmp_path, las_writer, png_writer):
    x, y, z, cls = small_scene()
    rgb8 = np.stack([np.arange(40) * 6, np.full(40, 255), np.zeros(40)], 1)
    p8 = las_writer(str(tmp_path / 'rgb8.las'), x, y, z, cls, rgb=rgb8, epsg=26917)
    p16 = las_writer(str(tmp_path / 'rgb16.las'), x, y, z, cls, rgb=rgb8 * 257, epsg=26917)
    a, b = read_points(p8), read_points(p16)
    assert (a.rgb_bits, b.rgb_bits) == (8, 16)
    np.testing.assert_array_equal(a.rgb8, rgb8.astype(np.uint8))
    np.testing.assert_array_equal(b.rgb8, rgb8.astype(np.uint8))
    assert any('16-bit' in n for n in b.notes)
    # the detected depth is recorded in meta.json
    img = png_writer(
        str(tmp_path / 'o.png'), np.zeros((16, 16, 3), np.uint8), 500000.25, 4000007.75, 0.5
    )
    meta = prepare_lidar_dataset(
        p16,
        str(tmp_path / 'out'),
        ortho=img,
        tile_size=8,
        cell_multiple=2,
        min_valid_fraction=0.0,
        progress=False,
    )
    with open(tmp_path / 'out' / 'meta.json') as fh:
        assert json.load(fh)['las_rgb_bits'] == 16 == meta['las_rgb_bits']


def test_existing_output_needs_force(tmp_path, las_writer, png_writer):
    x, y, z, cls = small_scene()
    p = las_writer(str(tmp_path / 'a.las'), x, y, z, cls, epsg=26917)
    img = png_writer(
        str(tmp_path / 'o.png'), np.zeros((16, 16, 3), np.uint8), 500000.25, 4000007.75, 0.5
    )
    kw = dict(ortho=img, tile_size=8, cell_multiple=2, min_valid_fraction=0.0, progress=False)
    prepare_lidar_dataset(p, str(tmp_path / 'out'), **kw)
    with pytest.raises(FileExistsError, match='--force'):
        prepare_lidar_dataset(p, str(tmp_path / 'out'), **kw)
    prepare_lidar_dataset(p, str(tmp_path / 'out'), force=True, **kw)


def test_unknown_units_need_an_override(tmp_path, las_writer):
    x, y, z, cls = small_scene()
    p = las_writer(str(tmp_path / 'nocrs.las'), x, y, z, cls)
    with pytest.raises(CRSError, match=r'nocrs\.las: the file states no CRS'):
        read_points(p)
    pc = read_points(p, units='ft')
    assert pc.z_to_m == pytest.approx(0.3048)
    with pytest.raises(CRSError, match='contradicts'):
        read_points(las_writer(str(tmp_path / 'm.las'), x, y, z, cls, epsg=26917), units='ft')
